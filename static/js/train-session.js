// The "Train a model" view's work, without the DOM: a drop of training plates (images, layouts, the plate
// reader's OD450 exports) read with the page's own import path (plate-import.js, layouts.js) and matched
// well by well (readings.js); the matched wells trained on in named stages (features in a pool of
// workers of their own, cross-validation folds, the final head, the server's evaluation, the trust block:
// train/*.js) with progress and cancel; the results the view shows (measured vs predicted OD450 of the
// held-out series, their Hill curves fitted by the server); and the lab's kept models (IndexedDB: listed, scored like bundled
// ones, deleted, exported and imported as the models/<id>/ folder). main.js holds the state; ui-train.js
// draws it.
import { fitCurves } from './api.js';
import { parseHtdChannelNames } from './instruments.js';
import { parseLayout, parseReader, readSheets } from './layouts.js';
import { initBackend } from './model.js';
import { sortDrop } from './plate-import.js';
import { defaultPoolSize, WorkerPool } from './pool.js';
import { markedSynthetic, matchLabData } from './readings.js';
import { exportFiles, importFiles, unzipFiles, zipFiles } from './train/bundle.js';
import { computeFeatures } from './train/features.js';
import { firstViews, predictHead } from './train/head.js';
import * as store from './train/store.js';
import { trainModel } from './train/trainer.js';
import { N_VIEWS } from './train/views.js';
import { WASM_PATH, workerModel } from './worker-model.js';

/**
 * A sheet whose file name (not its folders) says it holds plate-reader readings: OD, OD450, absorbance,
 * reader, reading(s), CCK-8, MTT as a word of it. Other sheets in a drop are layouts.
 */
export const READER_NAME_RE =
  /(?:^|[^a-z])(?:od(?:[ _-]?\d{3})?|absorbance|reader|readings?|cck-?8|mtt)(?:[^a-z/\\][^/\\]*)?$/i;
/** The text of a CSV/TSV/TXT file's start that may hold the simulator's mark (XLSX is zipped). */
const HEAD_BYTES = 4096;
const TEXT_RE = /\.(?:csv|tsv|txt)$/i;
const NOT_USED = 'neither an image nor a layout or reader file (CSV, TSV, TXT, XLSX) by its name';

/**
 * The stages of a training run, in order, with the share of the progress bar each takes (features dominate
 * the time: 8 views of every image through the backbone).
 */
export const STAGES = [
  { key: 'features', label: 'features', share: 0.5 },
  { key: 'cross-validation', label: 'cross-validation folds', share: 0.32 },
  { key: 'model', label: 'final head', share: 0.12 },
  { key: 'evaluation', label: 'evaluation', share: 0.03 },
  { key: 'trust', label: 'trust block', share: 0.03 },
];

// ------------------------------------------------------------------------------------------ the drop

/**
 * Sort a training drop: images (and .HTD channel names) as the scoring import sorts them; sheets into
 * layouts and readings — a sheet picked as readings, or whose name says so (od450.csv, reader.xlsx,
 * absorbance.csv, …), is readings; any other sheet is a layout.
 *
 * @param {{file: File, path: string}[]} entries  the plates' drop (folders walked; dropped.js)
 * @param {{file: File, path: string}[]} [readerEntries]  files picked as plate-reader exports
 * @returns {{images: object[], layouts: object[], readings: object[], channelNames: object[],
 *   others: object[]}}  each the entries, in the order given
 */
export function sortTrainingDrop(entries, readerEntries = []) {
  const sorted = sortDrop(entries);
  const readings = [...sorted.sheets.filter((e) => READER_NAME_RE.test(e.path)), ...readerEntries];
  return {
    images: sorted.images,
    layouts: sorted.sheets.filter((e) => !READER_NAME_RE.test(e.path)),
    readings,
    channelNames: sorted.channelNames,
    others: sorted.others,
  };
}

/** A sheet file's parse ([name, {plates, problems}]); unreadable files give no plate and say why. */
async function parseSheetFile({ file, path }, parse) {
  const read = await readSheets(file);
  if (read.problems.length) return [path, { plates: [], problems: read.problems }];
  return [path, parse(read.sheets, { source: path })];
}

/**
 * Read a sorted drop's layouts, readings and channel names.
 *
 * @param {ReturnType<typeof sortTrainingDrop>} sorted
 * @returns {Promise<{images: {file: File, path: string}[], layouts: Array, readings: Array,
 *   channelNames: Object<number, string>, synthetic: boolean, others: {path: string, reason: string}[]}>}
 *   layouts, readings: [path, parsed] as readings.js takes them (a layout that describes no plate is among
 *   `others`, with the reason); synthetic: a layout or reader file holds the simulator's mark
 */
export async function readTrainingDrop(sorted) {
  const sheets = await Promise.all(sorted.layouts.map((e) => parseSheetFile(e, parseLayout)));
  // A sheet taken for a layout by its name that describes no plate (notes.txt) is set aside, named.
  const layouts = sheets.filter(([, parsed]) => parsed.plates.length);
  const notLayouts = sheets
    .filter(([, parsed]) => !parsed.plates.length)
    .map(([path, parsed]) => ({ path, reason: `not a layout: ${parsed.problems.join('; ')}` }));
  const readings = await Promise.all(sorted.readings.map((e) => parseSheetFile(e, parseReader)));
  const channelNames = {};
  for (const { file } of sorted.channelNames)
    Object.assign(channelNames, parseHtdChannelNames(await file.text()));
  const texts = await Promise.all(
    [...sorted.layouts, ...sorted.readings]
      .filter((e) => TEXT_RE.test(e.path))
      .map((e) => e.file.slice(0, HEAD_BYTES).text()),
  );
  return {
    images: sorted.images,
    layouts,
    readings,
    channelNames,
    synthetic: markedSynthetic(texts),
    others: [...sorted.others.map(({ path }) => ({ path, reason: NOT_USED })), ...notLayouts],
  };
}

/**
 * Match a read drop's images to its readings (readings.js matchLabData).
 *
 * @param {Awaited<ReturnType<typeof readTrainingDrop>>} drop
 * @param {{drug?: string|null, brightField?: number|string|null}} [options]  drug: of wells whose layout
 *   names none
 * @returns {object}  matchLabData's result
 */
export function matchDrop(drop, { drug = null, brightField = null } = {}) {
  return matchLabData(
    drop.images.map((e) => e.path),
    drop.layouts,
    drop.readings,
    { drug: drug || null, brightField, channelNames: drop.channelNames, synthetic: drop.synthetic },
  );
}

/**
 * Why training cannot start (the matching's refusal, a missing field), or null when it can.
 *
 * @param {object|null} lab  matchDrop's result
 * @param {{cellLine: string, name: string, nViews?: number}} form  nViews: views per image (1 to N_VIEWS)
 */
export function refusalOf(lab, { cellLine, name, nViews = N_VIEWS }) {
  if (!lab) return 'drop the training plates, their layout and the OD450 readings first';
  if (lab.refused) return lab.refused.message;
  if (!cellLine.trim()) return 'give the cell line the model is for';
  if (!name.trim()) return 'give the model a name';
  if (!(Number.isInteger(nViews) && nViews >= 1 && nViews <= N_VIEWS))
    return `views per image must be a whole number from 1 to ${N_VIEWS}`;
  return null;
}

/** The default name of a model: "MCF7 · cisplatin (your images)". */
export function defaultModelName(cellLine, drug) {
  const parts = [cellLine.trim(), drug.trim()].filter(Boolean);
  return parts.length ? `${parts.join(' · ')} (your images)` : '';
}

/**
 * The images to train on: one per matched well, its first field (as `python -m training manifest` writes a
 * manifest: one image per well), with the well's series, plate, concentration and reading.
 *
 * @param {object} lab  matchDrop's result (not refused)
 * @param {{file: File, path: string}[]} images  the drop's images
 * @param {string} cellLine
 * @returns {{files: File[], images: {path: string, well: string, series: string, plate: string,
 *   cellLine: string, concentrationUm: number, od450: number}[], extraFields: number}}
 */
export function trainingSet(lab, images, cellLine) {
  const byPath = new Map(images.map((e) => [e.path, e.file]));
  const rows = lab.matched.map((m) => ({
    path: m.images[0],
    well: m.well,
    series: m.series,
    plate: m.plate,
    cellLine: cellLine.trim(),
    concentrationUm: m.concentration_um,
    od450: m.od450,
  }));
  return {
    files: rows.map((r) => byPath.get(r.path)),
    images: rows,
    extraFields: lab.matched.reduce((n, m) => n + m.images.length - 1, 0),
  };
}

// ------------------------------------------------------------------------------------------ training

/**
 * Where a progress report puts the bar: the stage's label and the fraction of the whole run done.
 *
 * @param {{stage: string, done?: number, total?: number, fold?: number, folds?: number, epoch?: number,
 *   epochs?: number}} p  features.js ({done, total}) or trainer.js (epochs, folds) progress, with its stage
 * @returns {{stage: string, label: string, fraction: number}}
 */
export function stageProgress(p) {
  const index = STAGES.findIndex((s) => s.key === p.stage);
  if (index < 0) throw new RangeError(`unknown stage ${JSON.stringify(p.stage)}`);
  const stage = STAGES[index];
  const before = STAGES.slice(0, index).reduce((sum, s) => sum + s.share, 0);
  let within = 0;
  let label = stage.label;
  if (p.stage === 'features' && p.total) {
    within = p.done / p.total;
    label = `features: ${p.done} of ${p.total} images`;
  } else if (p.epochs) {
    const epoch = Math.min(1, (p.epoch + 1) / p.epochs);
    const fold = p.folds ? (p.fold - 1 + epoch) / p.folds : epoch;
    within = fold;
    label = p.folds
      ? `cross-validation: fold ${p.fold} of ${p.folds}, epoch ${p.epoch + 1}`
      : `${stage.label}: epoch ${p.epoch + 1}`;
  }
  return { stage: p.stage, label, fraction: Math.min(1, before + stage.share * within) };
}

/** The features of the readable images only (rows of unreadable ones dropped), and those images. */
export function readableRows(computed, images) {
  const bad = new Set(computed.problems.map((p) => p.index));
  if (!bad.size) return { computed, images };
  const perImage = computed.nViews * computed.nFeatures;
  const keep = images.flatMap((_, i) => (bad.has(i) ? [] : [i]));
  const features = new Float32Array(keep.length * perImage);
  keep.forEach((i, j) => {
    features.set(computed.features.subarray(i * perImage, (i + 1) * perImage), j * perImage);
  });
  return {
    computed: { ...computed, features, stats: keep.map((i) => computed.stats[i]) },
    images: keep.map((i) => images[i]),
  };
}

/**
 * The training images with their files' size and scale (features.js `scales`, in the same order), as the
 * card's `imaging` block takes them (card.js imagingBlock: name, widthPx, heightPx, pixelSizeUm,
 * pixelSizeSource, objective); an unreadable image (scale null) keeps its row as it is.
 */
export function withScales(images, scales) {
  return images.map((image, i) => ({ name: image.path, ...image, ...scales[i] }));
}

/**
 * Measured and predicted OD450 of the final model's test series (view 0, as scoring sees the images).
 *
 * @returns {{series: string, concentrationUm: number, measured: number, predicted: number, path: string}[]}
 */
export function testPredictions(model, computed, images, testSeries) {
  const wanted = new Set(testSeries);
  const rows = images.flatMap((image, i) => (wanted.has(image.series) ? [i] : []));
  const shape = { nViews: computed.nViews, nFeatures: computed.nFeatures };
  const od450 = images.map((i) => i.od450);
  const { testX } = firstViews(computed.features, od450, rows, shape, 'test');
  const predicted = predictHead(model, testX, computed.nFeatures);
  return rows.map((i, j) => ({
    series: images[i].series,
    concentrationUm: images[i].concentrationUm,
    measured: images[i].od450,
    predicted: predicted[j],
    path: images[i].path,
  }));
}

/**
 * The Hill curves of the test series, fitted by the server (POST /api/fit) to the measured and to the
 * predicted OD450: [{series, measured: fit result, predicted: fit result}].
 */
export async function testCurves(points) {
  const series = [...new Set(points.map((p) => p.series))].sort();
  const curves = series.flatMap((s) => {
    const mine = points.filter((p) => p.series === s);
    const concentrations_um = mine.map((p) => p.concentrationUm);
    return [
      { label: `${s} measured`, concentrations_um, responses: mine.map((p) => p.measured) },
      { label: `${s} predicted`, concentrations_um, responses: mine.map((p) => p.predicted) },
    ];
  });
  const fits = await fitCurves(curves);
  return series.map((s, i) => ({ series: s, measured: fits[2 * i], predicted: fits[2 * i + 1] }));
}

/**
 * Workers holding the shared backbone for the features (a pool of their own, so that scoring goes on).
 *
 * @param {object} card  a served card on the backbone (its head is loaded too, and not used)
 * @param {{backend: string}} backend  model.chooseBackend's choice
 */
export async function backbonePool(card, backend) {
  const pool = new WorkerPool({ size: defaultPoolSize(backend.backend) });
  try {
    await pool.load({ backend: backend.backend, wasmPath: WASM_PATH, model: workerModel(card) });
  } catch (err) {
    closePool(pool);
    throw err;
  }
  return pool;
}

/**
 * TF.js in the page itself, for the head (the workers have their own): loaded on the first training run,
 * on the wasm engine with one thread (the workers' engine; the head is small).
 */
export async function startTf() {
  if (!globalThis.tf) {
    await import('../vendor/tf.min.js'); // UMD: sets globalThis.tf
    await import('../vendor/tf-backend-wasm.min.js');
  }
  if (globalThis.tf.getBackend() !== 'wasm') await initBackend({ backend: 'wasm', wasmPath: WASM_PATH });
}

/** Stop a pool's workers (their memory is freed). */
export function closePool(pool) {
  for (const worker of pool.workers) worker.terminate();
}

/** The backbone a model trained on a served card's features is built on (card.js about.backbone). */
export function backboneOf(card) {
  return {
    ...card.backbone,
    size: card.input.size,
    input: card.input,
    weights_origin: card.weights_origin ?? null,
  };
}

/**
 * Train a model on a training set, in stages, then keep it.
 *
 * @param {object} input
 * @param {object} input.pool  a WorkerPool holding a model on the shared backbone (pool.js)
 * @param {ReturnType<typeof trainingSet>} input.set
 * @param {{name: string, cellLine: string, drug: string, backbone: object, pixelSizeUm?: number|null}}
 *   input.about  backbone: the served card's backbone with its input (card.js)
 * @param {boolean} [input.synthetic]  the inputs are the simulator's (the card then says so)
 * @param {{nViews?: number, seed?: number}} [options]  views per image (the paper's 8)
 * @param {{onProgress?: (p: object) => void, signal?: AbortSignal}} [hooks]  p: stageProgress's output
 * @returns {Promise<{card: object, head: object, warnings: string[], problems: object[], timings: object,
 *   test: object[], curves: object[]}>}  problems: images that could not be read (left out, named)
 */
export async function trainOnSet({ pool, set, about, synthetic = false }, options = {}, hooks = {}) {
  const { onProgress, signal } = hooks;
  const report = (p) => onProgress?.(stageProgress(p));
  const nViews = options.nViews ?? N_VIEWS;
  const seed = options.seed ?? 0;
  const t0 = performance.now();
  report({ stage: 'features', done: 0, total: set.files.length });
  const all = await computeFeatures(
    pool,
    set.files,
    { nViews, seed },
    { onProgress: (p) => report({ stage: 'features', ...p }), signal },
  );
  const featuresS = (performance.now() - t0) / 1000;
  const problems = all.problems.map((p) => ({ ...p, path: set.images[p.index].path }));
  const { computed, images } = readableRows(all, withScales(set.images, all.scales));
  signal?.throwIfAborted();
  await startTf();
  const result = await trainModel(
    { computed, images, about },
    { seed },
    { onProgress: (p) => report(p), signal },
  );
  try {
    const { card } = result;
    if (synthetic) markSynthetic(card);
    const test = testPredictions(result.model, computed, images, card.training_data.series.test);
    const curves = await testCurves(test);
    return {
      card,
      head: result.head,
      warnings: result.warnings,
      problems,
      timings: { features_s: featuresS, ...result.timings },
      test,
      curves,
    };
  } finally {
    result.model.dispose();
  }
}

/** A card trained on the simulator's files says so (card.js writes a lab's images as not synthetic). */
function markSynthetic(card) {
  card.synthetic = true;
  card.training_data.synthetic = true;
  card.training_data.origin = `${card.training_data.origin}; the inputs are nostain's simulator's (synthetic)`;
  card.summary = `${card.summary} Synthetic: trained on simulated images and readings.`;
}

// ------------------------------------------------------------------------------------------ kept models

/**
 * The kept models as the page's cards (store.pageCard), newest first, and those that cannot be used here.
 *
 * @param {object[]} servedCards  the server's cards (with backbone_url)
 * @returns {Promise<{cards: object[], problems: string[]}>}
 */
export async function ownPageCards(servedCards) {
  const cards = [];
  const problems = [];
  for (const card of await store.listModels()) {
    try {
      cards.push(store.pageCard(await store.loadModel(card.id), servedCards));
    } catch (err) {
      problems.push(err.message);
    }
  }
  return { cards, problems };
}

/** Keep a model (card + head) in the browser; returns its page card. */
export async function keepModel(record, servedCards) {
  const card = store.pageCard(record, servedCards); // refuses a model whose backbone is not served first
  await store.saveModel(record);
  return card;
}

/** Forget a kept model. */
export const forgetModel = (id) => store.deleteModel(id);

/** A kept model as one zip of its models/<id>/ folder: {blob, filename}. */
export async function exportModel(id) {
  const record = await store.loadModel(id);
  if (!record) throw new Error(`no kept model ${id}`);
  const zip = zipFiles(exportFiles(record));
  return { blob: new Blob([zip], { type: 'application/zip' }), filename: `${id}.zip` };
}

/**
 * A model from picked files: one zip (as Export writes it) or the files of a models/<id>/ folder.
 *
 * @param {{file: File, path: string}[]} entries
 * @returns {Promise<{card: object, head: object}>}  rejects with the reason in plain words
 */
export async function readModelFiles(entries) {
  const zips = entries.filter((e) => /\.zip$/i.test(e.path));
  if (zips.length > 1) throw new Error('import one model at a time: one zip or one models/<id>/ folder');
  const files = zips.length
    ? unzipFiles(new Uint8Array(await zips[0].file.arrayBuffer()))
    : await Promise.all(
        entries.map(async (e) => ({ path: e.path, bytes: new Uint8Array(await e.file.arrayBuffer()) })),
      );
  return importFiles(files);
}

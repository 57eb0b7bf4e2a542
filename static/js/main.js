// Wiring: the session's state, the worker pool, the API and the UI. Only this module holds state.
import * as api from './api.js';
import {
  formatConcentration,
  parseTypedConcentration,
  plateLineCount,
  plateMapFromForm,
  UNITS,
} from './concentrations.js';
import { renderCurve, downloadPlot, clearPlot } from './plot.js';
import { WorkerPool, defaultPoolSize } from './pool.js';
import { chooseBackend } from './model.js';
import { curveWarning, judgeWell } from './ood.js';
import * as session from './session.js';
import * as ui from './ui.js';

const WASM_PATH = '/static/vendor/';
const UNIT_LABEL = { uM: 'µM', nM: 'nM' };
const RENDER_INTERVAL_MS = 200;

const state = {
  cards: [],
  backend: null, // {backend, renderer, reason}
  pool: null,
  loaded: null, // {modelId, generation, promise}
  generation: 0,
  curves: [],
  activeId: null,
  nextCurveId: 1,
  nextWellId: 1,
  tableUnit: 'uM',
  run: null, // {start, n, end} of the current scoring run, for the progress line and benchmarks
  fitTimer: null,
  renderQueued: false,
  lastRender: 0,
  plotKey: null, // what the chart shows, to redraw only when it changes
  plotCurve: null, // the curve it shows
  attributionFor: null, // well id whose occlusion map is shown
  oodFetch: new Map(), // card id → promise of its card.json (when the page did not embed `ood`)
};

/** Diagnostics read by the end-to-end tests and the benchmark (never used by the page itself). */
const debug = {
  runs: [],
  numTensors: [],
  timings: [],
  fits: 0,
  ready: false,
  backend: null,
  modelError: null,
  attributions: [],
};
globalThis.nostainDebug = debug;

const active = () => state.curves.find((c) => c.id === state.activeId);
const cardOf = (id) => state.cards.find((c) => c.id === id) ?? null;

function fail(message, err) {
  ui.showPageError(`${message}: ${err?.message ?? err}`, err);
}

// ---------------------------------------------------------------- model and workers

async function loadModel(card) {
  if (state.loaded?.modelId === card.id) return state.loaded.promise;
  const generation = ++state.generation;
  for (const c of state.curves) for (const w of c.wells) if (w.status === 'scoring') w.status = 'queued';
  state.run = null; // a run cut short by a model change never completes
  state.pool?.terminate();
  state.pool ??= new WorkerPool({ size: defaultPoolSize() });
  ui.showBackend(`loading ${card.name}…`, state.backend.reason);
  const promise = state.pool
    .start({
      modelUrl: card.model_url,
      size: card.input.size,
      backend: state.backend.backend,
      wasmPath: WASM_PATH,
    })
    .then((info) => {
      if (generation !== state.generation) return info;
      const where =
        info.backend === 'webgl'
          ? 'GPU'
          : state.backend.backend === 'webgl'
            ? 'CPU: the GPU backend failed'
            : 'CPU, no GPU found';
      ui.showBackend(
        `${info.backend} (${where}) · ${state.pool.size} worker${state.pool.size > 1 ? 's' : ''}`,
        `${state.backend.reason}. Model ${card.name} v${card.version} loaded in each worker.`,
      );
      debug.backend = info.backend;
      debug.modelError = null;
      debug.ready = true;
      debug.numTensors.push({ model: card.id, after: 'warm-up', n: info.numTensors });
      return info;
    });
  state.loaded = { modelId: card.id, generation, promise };
  debug.ready = false;
  try {
    await promise;
  } catch (err) {
    if (generation === state.generation) {
      state.loaded = null;
      debug.modelError = String(err.message);
      ui.showBackend('failed', String(err.message));
      fail(`The model ${card.name} could not be loaded`, err);
    }
    throw err;
  }
  schedule();
  return promise;
}

/** Send every queued well whose curve uses the loaded model to the pool. */
function schedule() {
  const loaded = state.loaded;
  if (!loaded || !debug.ready) return;
  const generation = loaded.generation;
  for (const curve of state.curves) {
    if (curve.model?.id !== loaded.modelId) continue;
    for (const well of curve.wells) {
      if (well.status !== 'queued') continue;
      well.status = 'scoring';
      if (!state.run || state.run.end !== null)
        state.run = { start: performance.now(), n: 0, end: null, total: 0 };
      state.run.total++;
      state.pool.score(well.file).then(
        (msg) => {
          if (generation === state.generation) applyResult(curve, well, msg);
        },
        (err) => {
          if (generation !== state.generation) return; // model changed: the well was re-queued
          well.status = 'error';
          well.problem = { kind: 'error', message: `could not be scored: ${err.message}` };
          console.error(`scoring ${well.name} failed`, err, err.workerStack);
          afterResult();
        },
      );
    }
  }
  queueRender();
}

function applyResult(curve, well, msg) {
  if (!curve.wells.includes(well)) {
    afterResult(); // removed meanwhile: counted, not shown
    return;
  }
  if (msg.type === 'problem') {
    well.status = 'problem';
    well.problem = { kind: msg.kind, message: msg.message };
  } else {
    Object.assign(well, {
      status: 'done',
      od450: msg.od450,
      features: msg.features,
      stats: msg.stats ?? null,
      judgement: null,
      judgedWith: null,
      trustFlags: [],
      width: msg.width,
      height: msg.height,
      warnings: msg.warnings,
      timings: msg.timings,
      problem: null,
    });
    if (well.thumbUrl) URL.revokeObjectURL(well.thumbUrl);
    well.thumbUrl = URL.createObjectURL(msg.thumbnail);
    debug.numTensors.push({ model: curve.model?.id, after: well.name, n: msg.numTensors });
    debug.timings.push(msg.timings);
  }
  afterResult();
}

function afterResult() {
  const run = state.run;
  if (run) {
    run.n++;
    if (run.n === run.total) {
      run.end = performance.now();
      debug.runs.push({ images: run.total, seconds: (run.end - run.start) / 1000 });
      requestFit();
    }
  }
  queueRender();
}

// ---------------------------------------------------------------- fitting

function requestFit(delay = 0) {
  clearTimeout(state.fitTimer);
  state.fitTimer = setTimeout(() => fitStale().catch((err) => fail('Fitting failed', err)), delay);
}

/** Fit every curve whose plate is scored and whose data changed since its last fit (one request). */
async function fitStale() {
  const jobs = [];
  for (const curve of state.curves) {
    const counts = session.curveCounts(curve);
    if (counts.queued + counts.scoring > 0) continue; // fit once the plate is scored
    const request = session.fitRequestCurve(curve);
    const key = request ? JSON.stringify(request) : null;
    if (key === curve.fitKey) continue;
    curve.fitKey = key;
    curve.fit = null;
    curve.fitError = null;
    if (request) jobs.push({ curve, key, request });
  }
  if (!jobs.length) return renderAll();
  if (jobs.some((j) => j.curve === active())) ui.renderFitStatus({ kind: 'busy', text: 'Fitting…' });
  let results = null;
  let error = null;
  try {
    results = await api.fitCurves(jobs.map((j) => j.request));
  } catch (err) {
    error = err;
    console.error('fit failed', err);
  }
  jobs.forEach((job, i) => {
    if (job.curve.fitKey !== job.key) return; // superseded by a newer request
    job.curve.fit = results ? results[i] : null;
    job.curve.fitError = error ? error.message : null;
  });
  debug.fits++;
  renderAll();
}

// ---------------------------------------------------------------- trust (out-of-distribution checks)

/** The `ood` block of a card: embedded in the page, or fetched once from the model's card.json. */
function oodOf(card) {
  if (!card) return null;
  if (card.ood !== undefined) return card.ood;
  if (!state.oodFetch.has(card.id)) {
    const url = card.model_url.replace(/[^/]*$/, 'card.json');
    state.oodFetch.set(
      card.id,
      fetch(url)
        .then((r) => (r.ok ? r.json() : {}))
        .then((full) => {
          card.ood = full.ood ?? null;
          queueRender();
        })
        .catch((err) => {
          card.ood = null;
          console.warn(`model card ${url} could not be read: no out-of-distribution check`, err);
        }),
    );
  }
  return null;
}

/** Judge a curve's scored wells against its model's card and set the curve's warning (or null). */
function updateTrust(curve) {
  const card = cardOf(curve.model?.id);
  const ood = oodOf(card);
  const scored = curve.wells.filter((w) => w.status === 'done');
  // Other bundled models on the same backbone: a well that one of them describes better is flagged too.
  const rivals = state.cards.filter(
    (c) => c !== card && c.ood?.features && ood?.backbone_fingerprint && c.ood.backbone_fingerprint === ood.backbone_fingerprint,
  );
  const judgeKey = `${card?.id}|${rivals.map((c) => c.id).join(',')}`;
  for (const w of scored) {
    if (!ood || w.judgedWith === judgeKey) continue;
    w.judgement = judgeWell(ood, w.features, w.stats, rivals);
    w.trustFlags = w.judgement.flags;
    w.judgedWith = judgeKey;
  }
  for (const c of state.cards) oodOf(c); // the other models' blocks, to name a better one
  const counts = session.curveCounts(curve);
  curve.trustWarning =
    ood && !counts.queued && !counts.scoring
      ? curveWarning(
          scored.filter((w) => w.judgedWith === judgeKey),
          card,
          state.cards.filter((c) => c !== card && c.ood),
        )
      : null;
}

// ---------------------------------------------------------------- rendering

/** Render soon, at most every RENDER_INTERVAL_MS: while a plate is scored the workers need the CPU. */
function queueRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  const wait = Math.max(0, state.lastRender + RENDER_INTERVAL_MS - performance.now());
  setTimeout(
    () =>
      requestAnimationFrame(() => {
        state.renderQueued = false;
        renderAll();
      }),
    wait,
  );
}

function concDisplay(um) {
  if (um === null) return '';
  return String(Number((um / UNITS[state.tableUnit]).toPrecision(6)));
}

function renderAll() {
  state.lastRender = performance.now();
  const curve = active();
  if (!curve) return;
  updateTrust(curve);
  ui.renderTrustWarning(curve.trustWarning);
  const { lines } = session.plateLines(curve);
  const listed = curve.wells.map((w) => ({ w, c: session.concentrationOf(w, curve, lines) }));
  listed.sort(byConcentrationThenWell);
  ui.renderWells(
    listed.map(({ w, c }) => {
      return {
        id: w.id,
        thumbUrl: w.thumbUrl,
        name: w.name,
        well: w.well,
        concValue: concDisplay(c.um),
        concSource: c.source,
        concNote: w.status === 'problem' ? null : c.note,
        od450: w.od450,
        status: w.status,
        problem: w.problem?.message ?? null,
        warnings: [...w.trustFlags, ...w.warnings],
        excluded: w.excluded,
      };
    }),
    { onToggle: toggleWell, onConcentration: typeConcentration, onThumb: showAttribution },
  );
  renderProgressLine(curve);
  renderResults(curve);
  renderCurveList();
}

/** Table order: concentration (missing last), then well ID, then file name. */
function byConcentrationThenWell(a, b) {
  const ca = a.c.um ?? Infinity;
  const cb = b.c.um ?? Infinity;
  if (ca !== cb) return ca < cb ? -1 : 1;
  return (
    (a.w.well || '~').localeCompare(b.w.well || '~') ||
    a.w.name.localeCompare(b.w.name, undefined, { numeric: true })
  );
}

function renderProgressLine(curve) {
  const n = session.curveCounts(curve);
  const finished = n.done + n.problems;
  const parts = [];
  if (!n.total) parts.push('No images yet.');
  else parts.push(`${finished} of ${n.total} images scored`);
  const run = state.run;
  if (run && run.end !== null && n.total && !n.queued && !n.scoring) {
    parts.push(
      `in ${((run.end - run.start) / 1000).toFixed(1)} s (${((run.end - run.start) / run.total).toFixed(0)} ms per image)`,
    );
  }
  if (n.problems) parts.push(`${n.problems} could not be scored (see Notes)`);
  if (n.missingConc) parts.push(`${n.missingConc} without a concentration`);
  if (curve.model && state.loaded?.modelId !== curve.model.id && (n.queued || n.scoring)) {
    parts.push(`waiting for model ${curve.model.name}`);
  }
  ui.renderProgress({ done: finished, total: n.total, text: parts.join(' · ') });
}

function renderResults(curve) {
  const plotEl = ui.byId('plot');
  const entries = session.scoredWells(curve);
  const groups = session.replicates(curve);
  const n = session.curveCounts(curve);
  ui.renderReplicates(groups);
  const request = session.fitRequestCurve(curve);
  const current = request !== null && curve.fitKey === JSON.stringify(request);
  const fit = current ? curve.fit : null;
  ui.renderParams(fit);
  let status = { kind: null, text: '' };
  if (n.queued + n.scoring > 0)
    status = { kind: 'busy', text: 'Scoring images… the curve is fitted when all are done.' };
  else if (current && curve.fitError) status = { kind: 'error', text: `The fit failed: ${curve.fitError}` };
  else if (fit) status = { kind: fit.status === 'ok' ? 'ok' : 'warn', text: fit.message };
  else if (request) status = { kind: 'busy', text: 'Fitting…' };
  else if (entries.length)
    status = { kind: 'warn', text: 'Every scored well is excluded: include some to fit the curve.' };
  else if (n.total) status = { kind: null, text: 'No scored image has a concentration yet.' };
  ui.renderFitStatus(status);
  const hasPoints = entries.length > 0;
  ui.byId('download-png').disabled = !hasPoints;
  ui.byId('download-svg').disabled = !hasPoints;
  if (!hasPoints) {
    if (state.plotKey !== null) clearPlot(plotEl);
    state.plotKey = null;
    state.plotCurve = null;
    return;
  }
  if (n.queued + n.scoring > 0 && state.plotCurve === curve.id) return; // redraw when the plate is scored
  const others = state.curves
    .filter((c) => c !== curve && c.fit?.curve?.concentrations_um?.length)
    .map((c) => ({ label: c.label, curve: c.fit.curve }));
  const data = {
    points: entries.map((e) => ({
      id: e.well.id,
      name: e.well.name,
      well: e.well.well,
      um: e.um,
      od450: e.well.od450,
      excluded: e.well.excluded,
    })),
    groups,
    fit,
    others,
    title:
      [curve.label, curve.cellLine, curve.drug].filter(Boolean).join(' · ') +
      (curve.model
        ? ` — model ${curve.model.name}${curve.model.synthetic ? ' (synthetic training data)' : ''}`
        : ''),
  };
  const key = JSON.stringify([curve.id, data]);
  if (key === state.plotKey) return;
  renderCurve(plotEl, data, (id) => toggleWell(id, null));
  state.plotKey = key;
  state.plotCurve = curve.id;
}

function renderCurveList() {
  ui.renderCurveList(
    state.curves.map((c) => {
      const n = session.curveCounts(c);
      const waiting = n.queued + n.scoring;
      return {
        id: c.id,
        label: c.label,
        model: c.model?.name,
        n: n.total,
        ic50: c.fit?.ic50_um ?? null,
        ci: c.fit?.ic50_ci_um,
        message: c.fit?.message,
        pending: waiting ? `${waiting} waiting to be scored` : null,
      };
    }),
    state.activeId,
    { onOpen: openCurve, onRemove: removeCurve },
  );
}

// ---------------------------------------------------------------- user actions

function addFiles(fileList) {
  const curve = active();
  const files = [...fileList];
  if (!files.length) return;
  if (!curve.model) {
    ui.showPageError('No model is installed, so images cannot be scored.');
    return;
  }
  const known = new Set(curve.wells.map((w) => `${w.name}|${w.file.size}|${w.file.lastModified}`));
  for (const file of files) {
    if (known.has(`${file.name}|${file.size}|${file.lastModified}`)) continue; // dropped twice
    curve.wells.push(session.newWell({ id: state.nextWellId++, file }));
  }
  schedule();
  renderAll();
}

/** Compute and show a well's occlusion map (in a worker; jumps the scoring queue). */
function showAttribution(id) {
  const curve = active();
  const well = curve?.wells.find((w) => w.id === id);
  if (!well || well.status !== 'done' || !state.pool || state.loaded?.modelId !== curve.model?.id) return;
  const base = { name: well.name, thumbUrl: well.thumbUrl };
  ui.renderAttribution({ ...base, busy: true });
  state.attributionFor = id;
  state.pool.attribute(well.file, { grid: 8, batch: 8 }).then(
    (msg) => {
      if (state.attributionFor !== id) return;
      if (msg.type === 'problem') return ui.renderAttribution({ ...base, error: msg.message });
      debug.attributions.push({ name: well.name, ms: msg.ms, grid: msg.grid, numTensors: msg.numTensors });
      ui.renderAttribution({ ...base, grid: msg.grid, map: msg.map, od450: msg.od450, ms: msg.ms });
    },
    (err) => {
      if (state.attributionFor === id) ui.renderAttribution({ ...base, error: `could not be computed: ${err.message}` });
    },
  );
}

function toggleWell(id, use) {
  const curve = active();
  const well = curve.wells.find((w) => w.id === id);
  if (!well || well.status !== 'done') return;
  well.excluded = use === null ? !well.excluded : !use;
  renderAll();
  requestFit();
}

function typeConcentration(id, text) {
  const curve = active();
  const well = curve.wells.find((w) => w.id === id);
  if (!well) return;
  const parsed = parseTypedConcentration(text, state.tableUnit);
  if (parsed.error) {
    ui.showPageError(`${well.name}: ${parsed.error}`);
    renderAll();
    return;
  }
  const current = session.concentrationOf(well, curve);
  if (parsed.um === null) well.typedUm = null;
  else if (current.um === null || Math.abs(current.um - parsed.um) > 1e-12 * Math.max(1, parsed.um))
    well.typedUm = parsed.um;
  renderAll();
  requestFit();
}

function readConstraint(id, label) {
  const text = ui.value(id).trim();
  if (!text) return { value: null, error: null };
  const v = Number(text.replace(',', '.'));
  return Number.isFinite(v)
    ? { value: v, error: null }
    : { value: null, error: `${label} must be a number or empty (got "${text}")` };
}

function updateCurveForm() {
  const curve = active();
  curve.label = ui.value('curve-label').trim() || `curve ${curve.id}`;
  curve.cellLine = ui.value('curve-cell-line').trim();
  curve.drug = ui.value('curve-drug').trim();
  const top = readConstraint('fix-top', 'Fix top');
  const bottom = readConstraint('fix-bottom', 'Fix bottom');
  ui.showConstraintError(top.error ?? bottom.error);
  if (!top.error) curve.fixTop = top.value;
  if (!bottom.error) curve.fixBottom = bottom.value;
  renderAll();
  requestFit(300);
}

function applyPlateMap() {
  const curve = active();
  const status = ui.byId('pm-status');
  try {
    const map = plateMapFromForm(ui.readPlateMapForm());
    curve.plateMap = map;
    const { lines, error } = session.plateLines(curve);
    if (error) throw new RangeError(error);
    const name = (line) => (map.axis === 'row' ? String.fromCharCode(64 + line) : String(line));
    const described = [...lines]
      .sort((a, b) => a[0] - b[0])
      .map(([line, um]) => `${name(line)}: ${formatConcentration(um)}`);
    const withWell = curve.wells.filter((w) => w.well).length;
    status.textContent =
      `Plate map applied (${described.join(', ')}). ` +
      `${withWell} of ${curve.wells.length} images have a well ID in their name.`;
    status.className = 'hint';
  } catch (err) {
    curve.plateMap = null;
    status.textContent = `Plate map not applied: ${err.message}`;
    status.className = 'field-error';
  }
  renderAll();
  requestFit();
}

function refreshTypedPlateMap() {
  const form = ui.readPlateMapForm();
  const typed = form.mode === 'typed';
  ui.byId('pm-typed').hidden = !typed;
  ui.byId('pm-dilution').hidden = typed;
  if (typed) ui.renderTypedPlateMap(plateLineCount(form.plate, form.axis), form.axis, UNIT_LABEL[form.unit]);
}

async function changeModel(id) {
  const card = cardOf(id);
  const curve = active();
  if (!card || !curve) return;
  const previous = cardOf(curve.model?.id);
  if (curve.model?.id !== card.id) {
    // Predictions belong to a model: score this curve's images again with the new one.
    for (const w of curve.wells)
      if (w.status !== 'problem' || w.problem?.kind === 'too_small') session.resetPrediction(w);
    curve.fit = null;
    curve.fitKey = null;
    if (!curve.cellLine || curve.cellLine === previous?.cell_line) curve.cellLine = card.cell_line ?? '';
    if (!curve.drug || curve.drug === previous?.drug) curve.drug = card.drug ?? '';
    curve.model = session.modelRef(card);
    ui.fillCurveForm(curve);
  }
  ui.renderModelCard(card);
  renderAll();
  await loadModel(card).catch(() => {});
}

function newCurve() {
  const card = cardOf(ui.byId('model-select')?.value) ?? state.cards[0] ?? null;
  const curve = session.newCurve({ id: state.nextCurveId++, card });
  state.curves.push(curve);
  openCurve(curve.id);
}

function openCurve(id) {
  state.activeId = id;
  const curve = active();
  if (curve.fitError) curve.fitKey = null; // try again
  ui.fillCurveForm(curve);
  const select = ui.byId('model-select');
  if (select && curve.model) select.value = curve.model.id;
  ui.renderModelCard(cardOf(curve.model?.id));
  const status = ui.byId('pm-status');
  status.textContent = curve.plateMap ? 'This curve has a plate map.' : '';
  renderAll();
  requestFit();
  if (curve.model) loadModel(cardOf(curve.model.id)).catch(() => {});
}

function removeCurve(id) {
  const curve = state.curves.find((c) => c.id === id);
  if (!curve) return;
  if (
    curve.wells.length &&
    !window.confirm(`Remove the curve "${curve.label}" and its ${curve.wells.length} images?`)
  )
    return;
  for (const w of curve.wells) if (w.thumbUrl) URL.revokeObjectURL(w.thumbUrl);
  state.curves = state.curves.filter((c) => c !== curve);
  if (!state.curves.length) newCurve();
  else if (state.activeId === id) openCurve(state.curves[state.curves.length - 1].id);
  else renderAll();
}

function clearImages() {
  const curve = active();
  if (!curve.wells.length || !window.confirm(`Remove all ${curve.wells.length} images of "${curve.label}"?`))
    return;
  for (const w of curve.wells) if (w.thumbUrl) URL.revokeObjectURL(w.thumbUrl);
  curve.wells = [];
  curve.fit = null;
  curve.fitKey = null;
  renderAll();
}

async function downloadReport() {
  const status = ui.byId('report-status');
  for (const c of state.curves) updateTrust(c);
  const parts = state.curves.map(session.reportCurve);
  const curves = parts.filter((p) => p.curve).map((p) => p.curve);
  const skipped = parts.filter((p) => p.skipped).map((p) => p.skipped);
  if (!curves.length) {
    status.textContent = `Nothing to report yet: ${skipped.join('; ')}`;
    status.className = 'field-error';
    return;
  }
  status.textContent = 'Preparing the report…';
  status.className = 'hint';
  try {
    const { blob, filename } = await api.reportCsv({ curves, title: 'nostain IC50 report' });
    ui.saveBlob(blob, filename);
    status.textContent =
      `Report with ${curves.length} curve${curves.length > 1 ? 's' : ''} downloaded` +
      (skipped.length ? `; left out: ${skipped.join('; ')}` : '.');
  } catch (err) {
    status.textContent = `The report failed: ${err.message}`;
    status.className = 'field-error';
    console.error('report failed', err);
  }
}

function plotFilename() {
  const c = active();
  return `nostain-${[c.label, c.cellLine, c.drug].filter(Boolean).join('-')}`.replace(
    /[^A-Za-z0-9_.-]+/g,
    '_',
  );
}

// ---------------------------------------------------------------- start

function wire() {
  const drop = ui.byId('drop-zone');
  const input = ui.byId('file-input');
  input.addEventListener('change', () => {
    addFiles(input.files);
    input.value = '';
  });
  drop.addEventListener('click', (e) => {
    if (e.target.tagName !== 'LABEL' && e.target !== input) input.click();
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('dragging');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dragging');
    addFiles(e.dataTransfer.files);
  });
  // A file dropped beside the zone would make the browser navigate away from the session.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  ui.byId('model-select')?.addEventListener('change', (e) => changeModel(e.target.value));
  for (const id of ['curve-label', 'curve-cell-line', 'curve-drug', 'fix-top', 'fix-bottom']) {
    ui.byId(id).addEventListener('change', updateCurveForm);
  }
  ui.byId('pm-apply').addEventListener('click', applyPlateMap);
  ui.byId('pm-clear').addEventListener('click', () => {
    active().plateMap = null;
    ui.byId('pm-status').textContent = 'Plate map removed.';
    renderAll();
    requestFit();
  });
  for (const id of ['pm-mode', 'pm-axis', 'pm-plate', 'pm-unit'])
    ui.byId(id).addEventListener('change', refreshTypedPlateMap);
  ui.byId('table-unit').addEventListener('change', (e) => {
    state.tableUnit = e.target.value;
    renderAll();
  });
  ui.byId('clear-images').addEventListener('click', clearImages);
  ui.byId('new-curve').addEventListener('click', newCurve);
  ui.byId('download-csv').addEventListener('click', downloadReport);
  ui.byId('download-png').addEventListener('click', () =>
    downloadPlot(ui.byId('plot'), 'png', plotFilename()),
  );
  ui.byId('download-svg').addEventListener('click', () =>
    downloadPlot(ui.byId('plot'), 'svg', plotFilename()),
  );
  window.addEventListener('error', (e) => ui.showPageError(`Unexpected error: ${e.message}`));
  window.addEventListener('unhandledrejection', (e) =>
    ui.showPageError(`Unexpected error: ${e.reason?.message ?? e.reason}`),
  );
}

function start() {
  state.cards = ui.readCards();
  state.backend = chooseBackend();
  wire();
  if (!state.cards.length) {
    ui.showBackend('no model', 'No models are installed');
    for (const id of ['drop-zone', 'file-input']) ui.byId(id).setAttribute('aria-disabled', 'true');
    ui.byId('drop-zone').classList.add('disabled');
  }
  newCurve();
}

start();

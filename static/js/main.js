// The page's state and wiring: the session (curves, wells, their fits), the user's actions, and the modules
// that do the work — scoring.js (workers), trust.js (out-of-distribution check), view.js (state → page),
// api.js (network) and ui.js (the DOM, which only ui*.js touch). Only this module holds the session.
import * as api from './api.js';
import {
  formatConcentration,
  parseTypedConcentration,
  plateLineCount,
  plateMapFromForm,
} from './concentrations.js';
import { channelQuestions, imageOptionsOf, staleImages } from './image-options.js';
import { placeImport, readDrop } from './importer.js';
import { layoutTemplate } from './layouts.js';
import { chooseBackend } from './model.js';
import { fitOptions, parseIcPercents } from './results.js';
import { Scorer } from './scoring.js';
import * as session from './session.js';
import { refreshTimeCourse } from './time-course.js';
import * as training from './train-session.js';
import { TrustCheck } from './trust.js';
import * as ui from './ui.js';
import { View } from './view.js';

const UNIT_LABEL = { uM: 'µM', nM: 'nM' };

const state = {
  cards: ui.readCards(), // the served models', then the lab's own (kept in this browser; `own: true`)
  limits: null, // the server's request limits (session.checkLimits)
  curves: [],
  activeId: null,
  nextCurveId: 1,
  nextWellId: 1,
  tableUnit: 'uM',
  fitTimer: null,
  attributionFor: null, // well id whose occlusion map is shown
  analysis: { fitOn: 'response', icPercents: [], icText: '', outliers: false }, // the fit panel's options
  timeCourse: null, // {key, course, status}: the open curve's course (its plate's reads over time)
  imports: [], // one record per drop, newest first (imports.js): what became of every file
  nextImportId: 1,
  layout: { sources: [], plates: [] }, // the plate layout imported last (layouts.js plates, with `source`)
  // The "Train a model" view: its drop (plates; files picked as readings), what was read and matched, the
  // run's AbortController while it trains.
  training: { entries: [], readerEntries: [], drop: null, lab: null, controller: null },
};
const servedCards = [...state.cards];

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
  training: null, // the last training run: {card, timings, warnings} or {error}
};
globalThis.nostainDebug = debug;

const backend = chooseBackend();
const trust = new TrustCheck(state.cards, { onCardRead: () => view.queue() });
const scorer = new Scorer({
  backend,
  debug,
  curves: () => state.curves,
  onChange: () => view.queue(),
  onRunDone: () => {
    rescoreStale();
    requestFit();
  },
});
const view = new View({
  state,
  scorer,
  trust,
  on: {
    onToggle: toggleWell,
    onConcentration: typeConcentration,
    onThumb: showAttribution,
    onOpen: openCurve,
    onRemove: removeCurve,
    onControl: setControl,
    onAccept: acceptOutlier,
    onUndo: (id) => setOutlierExempt(id, true),
    onRedo: (id) => setOutlierExempt(id, false),
    onField: useField,
    onChannel: chooseChannel,
    onFileChannel: chooseFileChannel,
    onImageOptions: setImageOptions,
  },
});

const active = () => state.curves.find((c) => c.id === state.activeId);
const cardOf = (id) => state.cards.find((c) => c.id === id) ?? null;

function fail(message, err) {
  ui.showPageError(`${message}: ${err?.message ?? err}`, err);
}

// ---------------------------------------------------------------- fitting

function requestFit(delay = 0) {
  clearTimeout(state.fitTimer);
  state.fitTimer = setTimeout(() => fitStale().catch((err) => fail('Fitting failed', err)), delay);
}

/**
 * Fit every curve whose plate is scored and whose data or analysis options changed since its last fit (one
 * request), then bring the time course up to date.
 */
async function fitStale() {
  const options = fitOptions(state.analysis);
  const jobs = [];
  for (const curve of state.curves) {
    const counts = session.curveCounts(curve);
    if (counts.queued + counts.scoring > 0) continue; // fit once the plate is scored
    const job = session.fitJob(curve, state.curves, state.limits, options);
    const key = job?.key ?? null;
    if (key === curve.fitKey) continue;
    curve.fitKey = key;
    curve.fit = null;
    curve.fitError = null;
    if (job) jobs.push({ curve, ...job });
  }
  // The request goes out first: the server fits while this thread redraws (a full redraw takes tens of ms).
  const fitting = jobs.length
    ? api.fitCurves(
        jobs.map((j) => j.request),
        options,
      )
    : null;
  fitting?.catch(() => {}); // awaited below
  refreshTimeCourse(state, () => view.render()).catch((err) => fail('The time course failed', err));
  if (!fitting) return view.render();
  if (jobs.some((j) => j.curve === active())) ui.renderFitStatus({ kind: 'busy', text: 'Fitting…' });
  let results = null;
  let error = null;
  try {
    results = await fitting;
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
  view.render();
}

// ---------------------------------------------------------------- user actions

/**
 * Take in a drop (files, folders, layouts): every file is accounted for in the import's summary. Images
 * go into curves as their names and the layout say; a layout alone is applied to the drops placed without
 * one.
 *
 * @param {{files: {file: File, path: string}[], unreadable: {path: string, reason: string}[]}} drop
 */
async function importFiles(drop) {
  const curve = active();
  if (!drop.files.length && !drop.unreadable.length) return;
  const record = await readDrop(state, drop, curve);
  if (record.images.length && !curve.model) {
    ui.showPageError('No model is installed, so images cannot be scored.');
    return;
  }
  state.imports.unshift(record);
  const again = record.newLayout ? state.imports.filter((r) => r.images.length && !r.layoutUsed) : [];
  const filled = [];
  for (const r of record.images.length ? [record, ...again.filter((r) => r !== record)] : again)
    filled.push(...placeImport(state, r, curveFor));
  placed(filled);
}

/** A new curve for a plate-curves.js spec, with the open curve's model. */
function curveFor(spec) {
  const card = cardOf(active()?.model?.id) ?? cardOf(ui.selectedModelId()) ?? state.cards[0] ?? null;
  const curve = session.newCurve({ id: state.nextCurveId++, card, label: spec.label });
  state.curves.push(curve);
  return curve;
}

/**
 * After a drop was placed: score its images, open the first curve it filled (unless it is open: then show
 * the label and drug the drop gave it), fit.
 */
function placed(filled) {
  scorer.schedule();
  if (filled.length && !filled.includes(active())) openCurve(filled[0].id);
  else {
    if (filled.includes(active())) ui.fillCurveForm(active());
    view.render();
  }
  requestFit();
}

/** The person chose the bright-field channel of a drop: place it again with that channel. */
function chooseChannel(importId, value) {
  const record = state.imports.find((r) => r.id === importId);
  if (!record) return;
  record.brightField = value;
  placed(placeImport(state, record, curveFor));
}

/**
 * The person chose which of the files' own channels is bright field (files that answered 'choose_channel'
 * with the same channels): score them again with it.
 */
function chooseFileChannel(importId, key, index) {
  const record = state.imports.find((r) => r.id === importId);
  const question = record && channelQuestions(record.records.values()).find((q) => q.key === key);
  if (!question) return;
  for (const image of question.images) {
    image.channel = index;
    session.resetPrediction(image);
  }
  scorer.schedule();
  view.render();
}

/** The person changed the open curve's image options (plane, window): score its images again with them. */
function setImageOptions(change) {
  const curve = active();
  curve.imageOptions = { ...imageOptionsOf(curve), ...change };
  rescoreStale();
  view.render();
  requestFit();
}

/**
 * Queue again every image scored with other options than its curve asks for now (a choice changed, or a
 * plate's window is known only once its images were read): image-options.js staleImages.
 */
function rescoreStale() {
  const stale = state.curves.flatMap((curve) => staleImages(curve));
  for (const image of stale) session.resetPrediction(image);
  if (stale.length) scorer.schedule();
}

/** Use a field in its well's mean, or leave it out (a bubble, a scratch, an empty field). */
function useField(id, use) {
  const image = active().wells.find((w) => w.id === id);
  if (image?.status !== 'done') return;
  image.fieldLeftOut = !use;
  view.render();
  requestFit();
}

/** Download an empty plate layout to fill in (96 or 384 wells). */
function downloadTemplate(nWells) {
  const blob = new Blob([layoutTemplate(nWells)], { type: 'text/csv' });
  ui.saveBlob(blob, `nostain-layout-${nWells}.csv`);
}

/** Compute and show a well's occlusion map (in a worker; jumps the scoring queue). */
function showAttribution(id) {
  const curve = active();
  const well = curve?.wells.find((w) => w.id === id);
  if (well?.status !== 'done' || !scorer.canAttribute(curve.model?.id)) return;
  const base = { name: well.name, thumb: well.thumb };
  ui.renderAttribution({ ...base, busy: true });
  state.attributionFor = id;
  scorer.attribute(well).then(
    (msg) => {
      if (state.attributionFor !== id) return;
      if (msg.type === 'problem') return ui.renderAttribution({ ...base, error: msg.message });
      debug.attributions.push({
        name: well.name,
        od450: msg.od450,
        ms: msg.ms,
        grid: msg.grid,
        numTensors: msg.numTensors,
        map: Array.from(msg.map),
      });
      ui.renderAttribution({ ...base, grid: msg.grid, map: msg.map, od450: msg.od450, ms: msg.ms });
    },
    (err) => {
      if (state.attributionFor === id)
        ui.renderAttribution({ ...base, error: `could not be computed: ${err.message}` });
    },
  );
}

/**
 * Apply `change(well, group)` to a well of the open curve (`well`: the image record holding its state,
 * `group`: session.plateWells' entry), then redraw and refit (unless it returns false).
 */
function changeWell(id, change) {
  const group = session.plateWells(active()).find((g) => g.id === id);
  if (!group || change(group.rep, group) === false) return;
  view.render();
  requestFit();
}

function toggleWell(id, use) {
  changeWell(id, (well, group) => {
    if (group.status !== 'done') return false;
    well.excluded = use === null ? !well.excluded : !use;
    if (!well.excluded) well.outlierReason = null;
  });
}

/** Mark a well as a blank or kill control (the 0 % of % viability), or as a treated well again (null). */
function setControl(id, kind) {
  changeWell(id, (well) => {
    well.control = kind;
  });
}

/** Undo the outlier test's flag (the well goes back into the fit), or let the test leave it out again. */
function setOutlierExempt(id, exempt) {
  changeWell(id, (well) => {
    well.outlierExempt = exempt;
  });
}

/** Accept the outlier test's flag: the well is excluded like any the user excludes, with the reason kept. */
function acceptOutlier(id) {
  const curve = active();
  const fitted = session.fittedWells(curve).map((x) => x.well);
  changeWell(id, (well) => {
    const entry = (curve.fit?.outliers?.wells ?? []).find((o) => fitted[o.index] === well);
    if (!entry) return false;
    well.excluded = true;
    well.outlierReason = entry.reason;
  });
}

/** The fit panel's options (fit on, IC levels, outlier test) and the open curve's read time. */
function updateAnalysisForm() {
  const form = ui.readAnalysisForm();
  const levels = parseIcPercents(form.icText);
  const hours = form.readTime.trim() === '' ? null : Number(form.readTime.trim().replace(',', '.'));
  const badTime = hours !== null && !(Number.isFinite(hours) && hours >= 0);
  ui.showAnalysisError(
    levels.error ?? (badTime ? `the read time must be hours ≥ 0 or empty (got "${form.readTime}")` : null),
  );
  if (!levels.error) state.analysis.icPercents = levels.values; // a bad entry keeps the last good levels
  Object.assign(state.analysis, { icText: form.icText, fitOn: form.fitOn, outliers: form.outliers });
  if (!badTime) active().readTimeH = hours;
  view.render();
  requestFit(300);
}

function typeConcentration(id, text) {
  const curve = active();
  const well = curve.wells.find((w) => w.id === id);
  if (!well) return;
  const parsed = parseTypedConcentration(text, state.tableUnit);
  if (parsed.error) {
    ui.showPageError(`${well.name}: ${parsed.error}`);
    view.render();
    return;
  }
  const current = session.concentrationOf(well, curve);
  if (parsed.um === null) well.typedUm = null;
  else if (current.um === null || Math.abs(current.um - parsed.um) > 1e-12 * Math.max(1, parsed.um))
    well.typedUm = parsed.um;
  view.render();
  requestFit();
}

function readConstraint(text, label) {
  const trimmed = text.trim();
  if (!trimmed) return { value: null, error: null };
  const v = Number(trimmed.replace(',', '.'));
  return Number.isFinite(v)
    ? { value: v, error: null }
    : { value: null, error: `${label} must be a number or empty (got "${trimmed}")` };
}

function updateCurveForm() {
  const curve = active();
  const form = ui.readCurveForm();
  curve.label = form.label.trim() || `curve ${curve.id}`;
  curve.cellLine = form.cellLine.trim();
  curve.drug = form.drug.trim();
  const top = readConstraint(form.fixTop, 'Fix top');
  const bottom = readConstraint(form.fixBottom, 'Fix bottom');
  ui.showConstraintError(top.error ?? bottom.error);
  if (!top.error) curve.fixTop = top.value;
  if (!bottom.error) curve.fixBottom = bottom.value;
  view.render();
  requestFit(300);
}

function applyPlateMap() {
  const curve = active();
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
    ui.showPlateMapStatus(
      `Plate map applied (${described.join(', ')}). ` +
        `${withWell} of ${curve.wells.length} images have a well ID in their name.`,
      'hint',
    );
  } catch (err) {
    curve.plateMap = null;
    ui.showPlateMapStatus(`Plate map not applied: ${err.message}`, 'error');
  }
  view.render();
  requestFit();
}

function clearPlateMap() {
  active().plateMap = null;
  ui.showPlateMapStatus('Plate map removed.');
  view.render();
  requestFit();
}

function refreshTypedPlateMap() {
  const form = ui.readPlateMapForm();
  const typed = form.mode === 'typed';
  ui.showPlateMapMode(typed);
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
  ui.showOwnModelActions(Boolean(card.own));
  view.render();
  await scorer.load(card).catch(() => {});
}

function newCurve() {
  const card = cardOf(ui.selectedModelId()) ?? state.cards[0] ?? null;
  const curve = session.newCurve({ id: state.nextCurveId++, card });
  state.curves.push(curve);
  openCurve(curve.id);
}

function openCurve(id) {
  state.activeId = id;
  const curve = active();
  if (curve.fitError) curve.fitKey = null; // try again
  ui.fillCurveForm(curve);
  if (curve.model) ui.showSelectedModel(curve.model.id);
  ui.renderModelCard(cardOf(curve.model?.id));
  ui.showOwnModelActions(Boolean(cardOf(curve.model?.id)?.own));
  ui.showPlateMapStatus(curve.plateMap ? 'This curve has a plate map.' : '');
  view.render();
  requestFit();
  if (curve.model) scorer.load(cardOf(curve.model.id)).catch(() => {});
}

function removeCurve(id) {
  const curve = state.curves.find((c) => c.id === id);
  if (!curve) return;
  if (
    curve.wells.length &&
    !window.confirm(`Remove the curve "${curve.label}" and its ${curve.wells.length} images?`)
  )
    return;
  state.curves = state.curves.filter((c) => c !== curve);
  if (!state.curves.length) newCurve();
  else if (state.activeId === id) openCurve(state.curves[state.curves.length - 1].id);
  else view.render();
}

function clearImages() {
  const curve = active();
  if (!curve.wells.length || !window.confirm(`Remove all ${curve.wells.length} images of "${curve.label}"?`))
    return;
  curve.wells = [];
  curve.fit = null;
  curve.fitKey = null;
  view.render();
}

/** Download the session's report: `fetchReport` is api.reportCsv (one CSV) or api.reportZip (tidy tables). */
async function downloadReport(fetchReport) {
  for (const c of state.curves) trust.update(c);
  const parts = state.curves.map((c) =>
    session.reportCurve(c, state.limits, session.timeZeroReads(c, state.curves)),
  );
  const curves = parts.filter((p) => p.curve).map((p) => p.curve);
  const skipped = parts.filter((p) => p.skipped).map((p) => p.skipped);
  if (!curves.length) {
    ui.showReportStatus(`Nothing to report yet: ${skipped.join('; ')}`, 'error');
    return;
  }
  ui.showReportStatus('Preparing the report…', 'hint');
  try {
    const request = { curves, title: 'nostain IC50 report', ...fitOptions(state.analysis) };
    const { blob, filename } = await fetchReport(request);
    ui.saveBlob(blob, filename);
    ui.showReportStatus(
      `Report with ${curves.length} curve${curves.length > 1 ? 's' : ''} downloaded` +
        (skipped.length ? `; left out: ${skipped.join('; ')}` : '.'),
    );
  } catch (err) {
    ui.showReportStatus(`The report failed: ${err.message}`, 'error');
    console.error('report failed', err);
  }
}

function downloadPlot(format) {
  const c = active();
  const name = `nostain-${[c.label, c.cellLine, c.drug].filter(Boolean).join('-')}`;
  ui.downloadPlot(format, name.replace(/[^A-Za-z0-9_.-]+/g, '_'));
}

// ---------------------------------------------------------------- your own models

/** Add (or replace) a kept model's page card among the cards and in the model menu. */
function addOwnCard(card) {
  const at = state.cards.findIndex((c) => c.id === card.id);
  if (at >= 0) state.cards.splice(at, 1); // in place: the trust check holds this array
  state.cards.push(card);
  ui.renderOwnModels(state.cards.filter((c) => c.own));
}

/** The lab's kept models into the model menu (at start-up). */
async function listOwnModels() {
  const { cards, problems } = await training.ownPageCards(servedCards);
  for (const card of cards.reverse()) addOwnCard(card); // oldest first: the menu lists them as kept
  if (problems.length) ui.showOwnModelStatus(`Not usable here: ${problems.join('; ')}`, 'error');
}

async function deleteOwnModel() {
  const card = cardOf(ui.selectedModelId());
  if (!card?.own || !window.confirm(`Delete your model "${card.name}" from this browser?`)) return;
  await training.forgetModel(card.id);
  state.cards.splice(state.cards.indexOf(card), 1);
  ui.renderOwnModels(state.cards.filter((c) => c.own));
  ui.showOwnModelStatus(`Deleted "${card.name}".`);
  const fallback = servedCards[0];
  if (fallback) {
    ui.showSelectedModel(fallback.id);
    await changeModel(fallback.id);
  }
}

async function exportOwnModel() {
  const card = cardOf(ui.selectedModelId());
  if (!card?.own) return;
  const { blob, filename } = await training.exportModel(card.id);
  ui.saveBlob(blob, filename);
  ui.showOwnModelStatus(`Exported "${card.name}" as ${filename}.`);
}

async function importOwnModel(files) {
  try {
    const card = await training.keepModel(await training.readModelFiles(files), servedCards);
    addOwnCard(card);
    ui.showSelectedModel(card.id);
    ui.showOwnModelStatus(`Imported "${card.name}": it is in the model menu under "your models".`);
    await changeModel(card.id);
  } catch (err) {
    ui.showOwnModelStatus(`The model could not be imported: ${err.message}`, 'error');
  }
}

// ---------------------------------------------------------------- training a model

/** Add files to the training drop (plates, or files picked as readings) and match them again. */
async function addTrainingFiles(entries, { readings = false } = {}) {
  const t = state.training;
  if (readings) t.readerEntries.push(...entries);
  else t.entries.push(...entries);
  t.drop = await training.readTrainingDrop(training.sortTrainingDrop(t.entries, t.readerEntries));
  matchTraining();
}

/** The drug a model is for: the one typed, else the matched wells' (from the layout). */
function trainingDrug(form, lab) {
  return form.drug.trim() || [...new Set(lab?.matched.map((m) => m.drug) ?? [])].join(', ');
}

/** Match the training drop with the view's fields and show the match. */
function matchTraining() {
  const t = state.training;
  let form = ui.readTrainForm();
  t.lab = t.drop ? training.matchDrop(t.drop, { drug: form.drug }) : null;
  ui.suggestTrainName(training.defaultModelName(form.cellLine, trainingDrug(form, t.lab)));
  form = ui.readTrainForm();
  if (!t.drop) return ui.renderTrainMatch(null);
  const names = (files) => files.map(([name]) => name);
  ui.renderTrainMatch({
    lab: t.lab,
    files: {
      layouts: names(t.drop.layouts),
      readings: names(t.drop.readings),
      others: t.drop.others.map((e) => `${e.path}: ${e.reason}`),
    },
    extraFields: t.lab.matched.reduce((n, m) => n + m.images.length - 1, 0),
    refusal: training.refusalOf(t.lab, form),
  });
}

function clearTraining() {
  Object.assign(state.training, { entries: [], readerEntries: [], drop: null, lab: null });
  ui.renderTrainMatch(null);
  ui.renderTrainProgress(null);
  ui.renderTrainResults(null);
  ui.showTrainStatus('');
}

/** Train on the matched wells, in stages with progress; keep the model and show how well it does. */
async function trainOwnModel() {
  const t = state.training;
  const form = ui.readTrainForm();
  const refusal = training.refusalOf(t.lab, form);
  const donor = servedCards.find((c) => c.backbone_url);
  if (refusal || !donor) {
    ui.showTrainStatus(`Cannot train: ${refusal ?? 'this server serves no shared backbone'}.`, 'error');
    return;
  }
  const set = training.trainingSet(t.lab, t.drop.images, form.cellLine);
  const about = {
    name: form.name.trim(),
    cellLine: form.cellLine.trim(),
    drug: trainingDrug(form, t.lab),
    backbone: training.backboneOf(donor),
  };
  t.controller = new AbortController();
  const { signal } = t.controller;
  ui.showTrainRunning(true);
  ui.renderTrainResults(null);
  ui.showTrainStatus(`Loading the backbone to compute the features of ${set.files.length} images…`);
  let pool = null;
  try {
    pool = await training.backbonePool(donor, backend);
    const options = { nViews: form.nViews };
    const results = await training.trainOnSet({ pool, set, about, synthetic: t.lab.synthetic }, options, {
      onProgress: ui.renderTrainProgress,
      signal,
    });
    const card = await training.keepModel({ card: results.card, head: results.head }, servedCards);
    addOwnCard(card);
    ui.renderTrainResults(results);
    debug.training = { card: results.card, timings: results.timings, warnings: results.warnings };
    ui.showTrainStatus(
      `Kept in this browser as "${card.name}": choose it in the model menu under "your models".`,
      'ok',
    );
  } catch (err) {
    debug.training = { error: String(err.message ?? err) };
    ui.renderTrainProgress(null);
    if (signal.aborted) ui.showTrainStatus('Training cancelled: nothing was kept.');
    else {
      ui.showTrainStatus(`Training failed: ${err.message ?? err}`, 'error');
      console.error('training failed', err);
    }
  } finally {
    if (pool) training.closePool(pool);
    t.controller = null;
    ui.showTrainRunning(false);
  }
}

// ---------------------------------------------------------------- start

/**
 * The server's request limits: embedded in the page, else GET /api/limits.
 *
 * @returns {Promise<object|null>}  null (after showing why) when neither gives them: the page does not guess
 */
async function readLimits() {
  try {
    return session.checkLimits(ui.readConfig()?.limits ?? (await api.fetchLimits()));
  } catch (err) {
    ui.showPageError(
      `The page could not read the server's limits (${err.message}), so it cannot fit curves. ` +
        'Reload the page; if this persists, restart nostain.',
      err,
    );
    return null;
  }
}

async function start() {
  if (!state.cards.length) {
    ui.showBackend('no model', 'No models are installed');
    ui.disableUploads();
  }
  state.limits = await readLimits();
  if (!state.limits) {
    ui.disableUploads();
    return;
  }
  ui.bindControls({
    onFiles: (files) =>
      importFiles({ files, unreadable: [] }).catch((err) => fail('The files could not be read', err)),
    onDrop: (dropped) => dropped.then(importFiles).catch((err) => fail('The drop could not be read', err)),
    onTemplate: downloadTemplate,
    onModel: changeModel,
    onCurveForm: updateCurveForm,
    onPlateMapApply: applyPlateMap,
    onPlateMapClear: clearPlateMap,
    onPlateMapForm: refreshTypedPlateMap,
    onTableUnit: (unit) => {
      state.tableUnit = unit;
      view.render();
    },
    onClearImages: clearImages,
    onNewCurve: newCurve,
    onReport: () => downloadReport(api.reportCsv),
    onTables: () => downloadReport(api.reportZip),
    onAnalysisForm: updateAnalysisForm,
    onPlotDownload: downloadPlot,
  });
  ui.bindTrainControls({
    onDrop: (dropped) =>
      dropped.then((d) => addTrainingFiles(d.files)).catch((err) => fail('The drop could not be read', err)),
    onFiles: (files) => addTrainingFiles(files).catch((err) => fail('The files could not be read', err)),
    onReaderFiles: (files) =>
      addTrainingFiles(files, { readings: true }).catch((err) => fail('The files could not be read', err)),
    onForm: matchTraining,
    onTrain: trainOwnModel,
    onCancel: () => state.training.controller?.abort(),
    onClear: clearTraining,
    onDeleteModel: () => deleteOwnModel().catch((err) => fail('The model could not be deleted', err)),
    onExportModel: () => exportOwnModel().catch((err) => fail('The model could not be exported', err)),
    onImportModel: importOwnModel,
  });
  newCurve();
  await listOwnModels().catch((err) =>
    ui.showOwnModelStatus(`Your models could not be listed: ${err.message}`, 'error'),
  );
}

start();

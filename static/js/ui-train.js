// The "Train a model" view and the kept models' buttons, drawn from plain data: the training drop's match
// table (n images, n readings, n matched; plates paired; what was left out, each named with the reason;
// warnings; the refusal), the stage progress bar with Cancel, and the results (r², the per-series IC50s with
// the paired t-test, the scatter and the Hill curves). DOM only (part of the UI layer): main.js passes data
// in and handlers to call back.
import { pickedFiles } from './dropped.js';
import { clearChart, renderHillCurves, renderScatter } from './plot-train.js';
import { leftOutMessage } from './readings.js';
import { dropTarget, h, num, setText, sig } from './ui-kit.js';
import { scaleText } from './ui-tables.js';

const $ = (id) => document.getElementById(id);
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Connect the view's controls.
 *
 * @param {{onDrop: (dropped: Promise<{files: object[], unreadable: object[]}>) => void,
 *   onFiles: (files: {file: File, path: string}[]) => void, onReaderFiles: (files: object[]) => void,
 *   onForm: () => void, onTrain: () => void, onCancel: () => void, onClear: () => void,
 *   onDeleteModel: () => void, onExportModel: () => void, onImportModel: (files: object[]) => void}} on
 */
export function bindTrainControls(on) {
  for (const id of ['train-file-input', 'train-folder-input']) {
    const picker = $(id);
    picker.addEventListener('change', () => {
      on.onFiles(pickedFiles(picker.files));
      picker.value = '';
    });
  }
  const reader = $('train-reader-input');
  reader.addEventListener('change', () => {
    on.onReaderFiles(pickedFiles(reader.files));
    reader.value = '';
  });
  dropTarget($('train-drop'), on.onDrop);
  const name = $('train-name');
  name.addEventListener('input', () => {
    name.dataset.typed = String(name.value.trim() !== ''); // a typed name is no longer suggested
  });
  for (const id of ['train-cell-line', 'train-drug', 'train-name', 'train-views'])
    $(id).addEventListener('input', on.onForm);
  $('train-start').addEventListener('click', on.onTrain);
  $('train-cancel').addEventListener('click', on.onCancel);
  $('train-clear').addEventListener('click', on.onClear);
  $('model-delete')?.addEventListener('click', on.onDeleteModel);
  $('model-export')?.addEventListener('click', on.onExportModel);
  for (const id of ['model-import-zip', 'model-import-folder']) {
    const picker = $(id);
    picker?.addEventListener('change', () => {
      on.onImportModel(pickedFiles(picker.files));
      picker.value = '';
    });
  }
}

/** The view's fields: cell line, drug, model name, augmented views per image. */
export function readTrainForm() {
  return {
    cellLine: $('train-cell-line').value,
    drug: $('train-drug').value,
    name: $('train-name').value,
    nViews: Number($('train-views').value),
  };
}

/** Put a suggested model name in the name field, unless the person typed one. */
export function suggestTrainName(name) {
  const field = $('train-name');
  if (field.dataset.typed !== 'true') field.value = name;
}

function namedList(kind, title, items) {
  if (!items.length) return null;
  return h(
    'li',
    { dataset: { kind, count: items.length } },
    h(
      'details',
      {},
      h('summary', {}, `${title} (${items.length})`),
      h('ul', { class: 'reasons' }, ...items.map((text) => h('li', {}, text))),
    ),
  );
}

function platesTable(plates) {
  return h(
    'table',
    { class: 'replicates train-plates' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Plate'),
        h('th', {}, 'Readings'),
        h('th', {}, 'Images'),
        h('th', {}, 'Layout'),
      ),
    ),
    h(
      'tbody',
      {},
      ...plates.map((p) =>
        h(
          'tr',
          { dataset: { plate: p.plate } },
          h('td', {}, p.plate),
          h('td', {}, `plate ${p.reading}`),
          h('td', {}, p.images.map((i) => i || '(top folder)').join(', ') || 'none'),
          h('td', {}, p.layout === null ? 'none' : `plate ${p.layout}`),
        ),
      ),
    ),
  );
}

/**
 * The match of a training drop: what was read and how images met readings.
 *
 * @param {{lab: object|null, files: {layouts: string[], readings: string[], others: string[]},
 *   extraFields: number, refusal: string|null}|null} match  lab: readings.js matchLabData's result;
 *   refusal: why training cannot start (refusalOf)
 */
export function renderTrainMatch(match) {
  const box = $('train-match');
  if (!match) {
    box.replaceChildren();
    $('train-start').disabled = true;
    return;
  }
  const { lab, files, extraFields, refusal } = match;
  const counts = h(
    'p',
    {
      class: 'counts',
      dataset: {
        images: lab.n_images,
        readings: lab.n_readings,
        matched: lab.n_matched,
        series: lab.n_series,
      },
    },
    h(
      'strong',
      {},
      `${plural(lab.n_images, 'image')} · ${plural(lab.n_readings, 'reading')} · ` +
        `${lab.n_matched} matched wells in ${plural(lab.n_series, 'dose series', 'dose series')}`,
    ),
    ` (series from ${lab.series_from === 'layout' ? 'the layout' : 'plate rows'})`,
    lab.synthetic ? h('span', { class: 'badge badge-synthetic' }, 'synthetic: the simulator’s files') : null,
  );
  const sources = h(
    'p',
    { class: 'hint' },
    `Layout: ${files.layouts.join(', ') || 'none'} · readings: ${files.readings.join(', ') || 'none'}`,
  );
  const details = h(
    'ul',
    { class: 'import-details' },
    namedList(
      'without_image',
      'readings with no image',
      lab.readings_without_image.map((r) => `plate ${r.plate}, well ${r.well}`),
    ),
    namedList('without_reading', 'images with no reading', lab.images_without_reading),
    namedList('left_out', 'wells left out', lab.left_out.map(leftOutMessage)),
    namedList('unread', 'images giving no well', lab.unread_images),
    namedList(
      'channels',
      'files of other channels',
      lab.channels_left_out.map((c) => `${c.channel}: ${plural(c.files, 'file')}`),
    ),
    namedList('others', 'other files left out', files.others),
    namedList('problems', 'problems', lab.problems),
  );
  box.replaceChildren(
    counts,
    sources,
    lab.plates.length ? platesTable(lab.plates) : null,
    details,
    extraFields
      ? h(
          'p',
          { class: 'hint' },
          `${plural(extraFields, 'further field')} of matched wells not used: one image per well is trained on, ` +
            'as python -m training manifest does.',
        )
      : null,
    lab.thumbnails ? h('p', { class: 'hint' }, `${plural(lab.thumbnails, 'thumbnail')} skipped.`) : null,
    ...lab.warnings.map((w) => h('p', { class: 'note note-warn', dataset: { code: w.code } }, w.message)),
    refusal ? h('p', { class: 'field-error train-refusal' }, `Cannot train: ${refusal}.`) : null,
  );
  $('train-start').disabled = Boolean(refusal);
}

/** Show whether a run is going (Train disabled, Cancel shown). */
export function showTrainRunning(running) {
  $('train-start').hidden = running;
  $('train-cancel').hidden = !running;
  $('train-clear').disabled = running;
}

/** The stage progress bar: {label, fraction} (stageProgress), or null to empty it. */
export function renderTrainProgress(progress) {
  const bar = $('train-progress');
  bar.value = progress?.fraction ?? 0;
  bar.dataset.stage = progress?.stage ?? '';
  setText($('train-progress-text'), progress?.label ?? '');
}

/** The view's status line: ('hint' | 'error' | 'ok'). */
export function showTrainStatus(text, kind = 'hint') {
  const el = $('train-status');
  el.textContent = text;
  el.className = kind === 'error' ? 'field-error' : 'hint';
  el.dataset.kind = kind;
}

function metricRows(card, timings) {
  const ev = card.evaluation;
  const cv = ev.cross_validation;
  const rows = [
    ['Test r² (OD450)', num(ev.test_r2), 'test-r2'],
    ['Slope, intercept', `${num(ev.slope)}, ${num(ev.intercept)}`],
    ['Predicted − measured', `${num(ev.mean_difference)} ± ${num(ev.sd_difference)} OD450`],
    ['Test set', `${plural(ev.n_test_images, 'image')} in ${plural(ev.n_test_series, 'series', 'series')}`],
    [
      'Cross-validation',
      cv
        ? `${cv.k}-fold by series, pooled r² ${num(cv.r2_pooled)}`
        : 'none (too few series): one plain split',
      'cv',
    ],
    ['IC50, median |log10 error|', num(ev.ic50_log10_error_median)],
    ['Training images’ scale', scaleText(card.imaging) ?? '—', 'scale'],
    [
      'Paired t-test of the IC50s',
      ev.paired_t_p === null ? '— (fewer than 2 series with both IC50s)' : `p = ${sig(ev.paired_t_p)}`,
    ],
    [
      'Time per stage',
      `features ${num(timings.features_s, 1)} s · cross-validation ${num(timings.cross_validation_s, 1)} s · ` +
        `final head ${num(timings.model_s, 1)} s`,
    ],
  ];
  return rows.map(([label, value, key]) =>
    h('tr', { dataset: { metric: key ?? '' } }, h('th', {}, label), h('td', {}, value)),
  );
}

function seriesRows(perSeries) {
  return perSeries.map((s) =>
    h(
      'tr',
      { dataset: { series: s.series } },
      h('td', {}, s.series),
      h('td', {}, String(s.n_images)),
      h('td', {}, s.ic50_measured_um === null ? s.status_measured : `${sig(s.ic50_measured_um)} µM`),
      h('td', {}, s.ic50_predicted_um === null ? s.status_predicted : `${sig(s.ic50_predicted_um)} µM`),
      h('td', {}, num(s.log10_error, 2)),
    ),
  );
}

/**
 * The results of a run, or null to hide them.
 *
 * @param {{card: object, timings: object, test: object[], curves: object[], warnings: string[],
 *   problems: {path: string, message: string}[]}|null} results  train-session.js trainOnSet's output
 */
export function renderTrainResults(results) {
  const box = $('train-results');
  box.hidden = !results;
  if (!results) {
    clearChart($('train-scatter'));
    clearChart($('train-curves'));
    return;
  }
  const { card, timings, test, curves, warnings, problems } = results;
  $('train-metrics').tBodies[0].replaceChildren(...metricRows(card, timings));
  $('train-series').tBodies[0].replaceChildren(...seriesRows(card.evaluation.per_series));
  $('train-notes').replaceChildren(
    ...warnings.map((w) => h('p', { class: 'note note-warn' }, w)),
    ...problems.map((p) => h('p', { class: 'note note-warn' }, `${p.path}: left out, ${p.message}`)),
  );
  renderScatter($('train-scatter'), test, card.evaluation.test_r2);
  renderHillCurves($('train-curves'), test, curves);
}

/** Enable Delete and Export when the chosen model is one of the lab's own. */
export function showOwnModelActions(own) {
  for (const id of ['model-delete', 'model-export']) {
    const button = $(id);
    if (button) button.disabled = !own;
  }
}

/** The status line under the kept models' buttons. */
export function showOwnModelStatus(text, kind = 'hint') {
  const el = $('own-model-status');
  if (!el) return;
  el.textContent = text;
  el.className = kind === 'error' ? 'field-error' : 'hint';
}

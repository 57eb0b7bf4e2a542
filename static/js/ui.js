// The page's DOM layer: every element of templates/index.html is read, written or listened to here (and in
// ui-tables.js, re-exported below). No TF.js, no fetch, no session logic: main.js passes plain data in and
// handlers to call back, and never sees an element.
import { overlayRGBA } from './attribution.js';
import { pickedFiles } from './dropped.js';
import { clearPlot as clearChart, downloadPlot as downloadChart, renderCurve } from './plot.js';
import { dropTarget, h, num, sig, thumbCanvas } from './ui-kit.js';

export {
  fillAnalysisForm,
  readAnalysisForm,
  renderMetrics,
  renderOutliers,
  renderPlateQc,
  renderTimeCourseBox,
  showAnalysisError,
} from './ui-analysis.js';
export { renderImports, renderLayout } from './ui-import.js';
export { renderImageOptions } from './ui-options.js';
export {
  renderCurveList,
  renderModelCard,
  renderParams,
  renderReplicates,
  renderWells,
} from './ui-tables.js';
export {
  bindTrainControls,
  readTrainForm,
  renderTrainMatch,
  renderTrainProgress,
  renderTrainResults,
  showOwnModelActions,
  showOwnModelStatus,
  showTrainRunning,
  showTrainStatus,
  suggestTrainName,
} from './ui-train.js';

const $ = (id) => document.getElementById(id);

/** The model cards embedded in the page by the server (app/routes/pages.py). */
export function readCards() {
  const el = $('model-cards');
  return el ? JSON.parse(el.textContent) : [];
}

/**
 * The page configuration the server embeds (`<script type="application/json" id="nostain-config">`).
 *
 * @returns {{limits: object}|null}  null when the page has none (the caller then asks GET /api/limits)
 */
export function readConfig() {
  const el = $('nostain-config');
  return el ? JSON.parse(el.textContent) : null;
}

/** Show an error that concerns the whole page (never swallowed: also logged with its stack). */
export function showPageError(message, err = null) {
  if (err) console.error(message, err);
  const box = $('page-errors');
  const item = h(
    'div',
    { class: 'alert alert-error' },
    h('span', {}, message),
    h(
      'button',
      {
        type: 'button',
        class: 'close',
        title: 'Dismiss',
        'aria-label': 'Dismiss',
        onclick: () => item.remove(),
      },
      '×',
    ),
  );
  box.append(item);
}

/** The backend badge: e.g. "engine: wasm (CPU) · 2 workers". */
export function showBackend(text, title) {
  const el = $('backend-badge');
  el.textContent = `engine: ${text}`;
  el.title = title;
}

/** Progress bar and line. */
export function renderProgress({ done, total, text }) {
  const bar = $('progress');
  bar.max = Math.max(total, 1);
  bar.value = done;
  $('progress-text').textContent = text;
}

/** The fit's status line above the plot (plain words from the server's `message`). */
export function renderFitStatus({ kind, text }) {
  const el = $('fit-status');
  el.className = `fit-status ${kind ? `fit-${kind}` : ''}`;
  el.textContent = text ?? '';
}

/**
 * The warning above the curve when most wells do not look like the model's training images (or nothing).
 *
 * @param {{text: string}|null} warning  from ood.js curveWarning
 */
export function renderTrustWarning(warning) {
  const el = $('trust-warning');
  if (!el) return;
  const text = warning?.text ?? '';
  if (el.dataset.text === text) return;
  el.dataset.text = text;
  el.hidden = !text;
  el.replaceChildren(...(text ? [h('strong', {}, 'Check the model. '), text] : []));
}

/** Fill the curve form (label, cell line, drug, constraints). */
export function fillCurveForm({ label, cellLine, drug, fixTop, fixBottom }) {
  $('curve-label').value = label;
  $('curve-cell-line').value = cellLine;
  $('curve-drug').value = drug;
  $('fix-top').value = fixTop ?? '';
  $('fix-bottom').value = fixBottom ?? '';
}

/** Show or hide a field error under the constraints. */
export function showConstraintError(text) {
  const el = $('constraint-error');
  el.hidden = !text;
  el.textContent = text ?? '';
}

/** Per-line inputs of a typed plate map (kept when the count and axis stay the same). */
export function renderTypedPlateMap(count, axis, unitLabel) {
  const box = $('pm-typed');
  const name = (i) => (axis === 'row' ? String.fromCharCode(64 + i) : String(i));
  const inputs = box.querySelectorAll('input');
  if (inputs.length === count && box.dataset.axis === axis) {
    for (const input of inputs) input.placeholder = unitLabel;
    return;
  }
  box.dataset.axis = axis;
  box.replaceChildren(
    ...Array.from({ length: count }, (_, k) =>
      h(
        'label',
        { class: 'pm-cell' },
        h('span', {}, name(k + 1)),
        h('input', { type: 'text', inputmode: 'decimal', dataset: { line: k + 1 }, placeholder: unitLabel }),
      ),
    ),
  );
}

/** The plate-map form's raw values (parsed by concentrations.plateMapFromForm). */
export function readPlateMapForm() {
  const typed = {};
  for (const input of $('pm-typed').querySelectorAll('input')) typed[input.dataset.line] = input.value;
  return {
    axis: $('pm-axis').value,
    plate: $('pm-plate').value,
    mode: $('pm-mode').value,
    unit: $('pm-unit').value,
    top: $('pm-top').value,
    factor: $('pm-factor').value,
    doses: $('pm-doses').value,
    controls: $('pm-controls').value,
    reverse: $('pm-reverse').checked,
    typed,
  };
}

/** The curve form's raw text: {label, cellLine, drug, fixTop, fixBottom}. */
export function readCurveForm() {
  return {
    label: $('curve-label').value,
    cellLine: $('curve-cell-line').value,
    drug: $('curve-drug').value,
    fixTop: $('fix-top').value,
    fixBottom: $('fix-bottom').value,
  };
}

/** Show the inputs of the plate map's mode: one per line ("typed") or the serial dilution's fields. */
export function showPlateMapMode(typed) {
  $('pm-typed').hidden = !typed;
  $('pm-dilution').hidden = typed;
}

const STATUS_CLASS = { hint: 'hint', error: 'field-error' };

/** Write a status line; `kind` ('hint' or 'error') sets its style, null keeps the current one. */
function showStatus(id, text, kind) {
  const el = $(id);
  el.textContent = text;
  if (kind) el.className = STATUS_CLASS[kind];
}

/** The plate map's status line: (text, kind = null) as in showStatus. */
export const showPlateMapStatus = (text, kind = null) => showStatus('pm-status', text, kind);

/** The report's status line under the download button: (text, kind = null) as in showStatus. */
export const showReportStatus = (text, kind = null) => showStatus('report-status', text, kind);

/** The model chosen in the model menu (undefined when no model is installed, so there is no menu). */
export function selectedModelId() {
  return $('model-select')?.value;
}

/** Show `id` as the chosen model in the model menu (if there is one). */
export function showSelectedModel(id) {
  const select = $('model-select');
  if (select) select.value = id;
}

/**
 * The lab's own models in the model menu, under "your models" (after the bundled ones); the chosen model
 * stays chosen when it is still there.
 *
 * @param {{id: string, name: string, cell_line?: string, drug?: string}[]} cards  the kept models' page cards
 */
export function renderOwnModels(cards) {
  const select = $('model-select');
  if (!select) return;
  const chosen = select.value;
  select.querySelector('optgroup.own-models')?.remove();
  if (cards.length) {
    const group = h('optgroup', { label: 'your models', class: 'own-models' });
    for (const card of cards) {
      const about = [card.cell_line, card.drug].filter(Boolean).join(', ');
      group.append(h('option', { value: card.id }, `${card.name}${about ? ` — ${about}` : ''}`));
    }
    select.append(group);
  }
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

/** Grey out the drop zone: nothing can be scored (no model installed). */
export function disableUploads() {
  for (const id of ['drop-zone', 'file-input', 'folder-input']) $(id).setAttribute('aria-disabled', 'true');
  $('drop-zone').classList.add('disabled');
}

// ------------------------------------------------------------------------------------------ chart

/** Draw the dose-response chart (plot.js renderCurve); `onWellClick(id)` when a well's point is clicked. */
export function drawPlot(data, onWellClick) {
  renderCurve($('plot'), data, onWellClick);
}

/** Empty the chart. */
export function clearPlot() {
  clearChart($('plot'));
}

/** Save the chart as 'png' or 'svg'. */
export function downloadPlot(format, filename) {
  return downloadChart($('plot'), format, filename);
}

/** Enable the chart's download buttons only when it shows points. */
export function enablePlotDownloads(enabled) {
  $('download-png').disabled = !enabled;
  $('download-svg').disabled = !enabled;
}

/**
 * The occlusion map of one well, overlaid on its thumbnail (or a "computing…" line, or nothing).
 *
 * @param {{name: string, thumb: {rgba, width, height}, busy?: boolean, error?: string, grid?: number,
 *   map?: Float32Array, od450?: number, ms?: number}|null} a
 */
export function renderAttribution(a) {
  const box = $('attribution');
  if (!box) return;
  box.hidden = !a;
  if (!a) return box.replaceChildren();
  const title = h('h3', {}, `Occlusion map: ${a.name}`);
  const close = h(
    'button',
    { type: 'button', class: 'link', onclick: () => renderAttribution(null) },
    'close',
  );
  if (a.busy || a.error) {
    box.dataset.state = a.error ? 'error' : 'busy';
    box.replaceChildren(
      title,
      h('p', { class: a.error ? 'field-error' : 'hint' }, a.error ?? 'Computing…'),
      close,
    );
    return;
  }
  box.dataset.state = 'done';
  const canvas = h('canvas', {
    class: 'attribution-map',
    width: 288,
    height: Math.round((288 * a.thumb.height) / a.thumb.width),
  });
  const ctx = canvas.getContext('2d');
  ctx.drawImage(thumbCanvas(a.thumb), 0, 0, canvas.width, canvas.height);
  const { rgba } = overlayRGBA(a.map, a.grid);
  const cells = new OffscreenCanvas(a.grid, a.grid);
  cells.getContext('2d').putImageData(new ImageData(rgba, a.grid, a.grid), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(cells, 0, 0, canvas.width, canvas.height);
  const scale = Math.max(...Array.from(a.map, Math.abs));
  box.replaceChildren(
    title,
    canvas,
    h(
      'p',
      { class: 'hint' },
      `Method: occlusion. Each of ${a.grid}×${a.grid} cells of the model input was covered in turn by a patch ` +
        "of the image's mean colour and the image scored again. Red: covering it lowers the predicted OD450 " +
        '(this region drives the prediction up); blue: covering it raises it. Strongest change ' +
        `${sig(scale, 2)} OD450 from ${num(a.od450)}; computed in ${(a.ms / 1000).toFixed(1)} s.`,
    ),
    close,
  );
}

/** Start a browser download of a Blob. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ------------------------------------------------------------------------------------------ events

/**
 * Connect the page's controls to the session's handlers.
 *
 * @param {{onFiles: (files: {file: File, path: string}[]) => void, onDrop: (dropped: Promise<{files:
 *   {file: File, path: string}[], unreadable: {path: string, reason: string}[]}>) => void,
 *   onTemplate: (nWells: 96|384) => void, onModel: (id: string) => void, onCurveForm: () => void,
 *   onPlateMapApply: () => void, onPlateMapClear: () => void, onPlateMapForm: () => void,
 *   onTableUnit: (unit: string) => void, onClearImages: () => void, onNewCurve: () => void,
 *   onReport: () => void, onTables: () => void, onPlotDownload: (format: 'png'|'svg') => void,
 *   onAnalysisForm: () => void}} on
 */
export function bindControls(on) {
  const drop = $('drop-zone');
  const input = $('file-input');
  for (const picker of [input, $('folder-input'), $('layout-input')]) {
    picker.addEventListener('change', () => {
      on.onFiles(pickedFiles(picker.files));
      picker.value = '';
    });
  }
  $('template-96').addEventListener('click', () => on.onTemplate(96));
  $('template-384').addEventListener('click', () => on.onTemplate(384));
  drop.addEventListener('click', (e) => {
    if (e.target.tagName !== 'LABEL' && e.target !== input) input.click();
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  dropTarget(drop, on.onDrop);
  // A file dropped beside the zone would make the browser navigate away from the session.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  $('model-select')?.addEventListener('change', (e) => on.onModel(e.target.value));
  for (const id of ['curve-label', 'curve-cell-line', 'curve-drug', 'fix-top', 'fix-bottom']) {
    $(id).addEventListener('change', on.onCurveForm);
  }
  $('pm-apply').addEventListener('click', on.onPlateMapApply);
  $('pm-clear').addEventListener('click', on.onPlateMapClear);
  for (const id of ['pm-mode', 'pm-axis', 'pm-plate', 'pm-unit'])
    $(id).addEventListener('change', on.onPlateMapForm);
  $('table-unit').addEventListener('change', (e) => on.onTableUnit(e.target.value));
  $('clear-images').addEventListener('click', on.onClearImages);
  $('new-curve').addEventListener('click', on.onNewCurve);
  $('download-csv').addEventListener('click', on.onReport);
  $('download-zip').addEventListener('click', on.onTables);
  for (const id of ['fit-on', 'ic-percents', 'find-outliers', 'read-time'])
    $(id).addEventListener('change', on.onAnalysisForm);
  $('download-png').addEventListener('click', () => on.onPlotDownload('png'));
  $('download-svg').addEventListener('click', () => on.onPlotDownload('svg'));
  window.addEventListener('error', (e) => showPageError(`Unexpected error: ${e.message}`));
  window.addEventListener('unhandledrejection', (e) =>
    showPageError(`Unexpected error: ${e.reason?.message ?? e.reason}`),
  );
}

// The fit panel's analysis parts, drawn from plain data: the analysis form, the "Beyond the IC50" table, the
// outlier list with accept/undo, plate QC with its heatmaps, and the time-course chart. DOM only (part of the
// UI layer; main.js reaches these through ui.js).
import { clearTimeCourse as clearTimeChart, renderTimeCourse } from './plot-time.js';
import { h, setText, sig } from './ui-kit.js';

const $ = (id) => document.getElementById(id);

/** Fill the analysis form: {fitOn, icText, outliers, readTimeH} (read time of the open curve). */
export function fillAnalysisForm({ fitOn, icText, outliers, readTimeH }) {
  $('fit-on').value = fitOn;
  if (document.activeElement !== $('ic-percents')) $('ic-percents').value = icText;
  $('find-outliers').checked = outliers;
  if (document.activeElement !== $('read-time')) $('read-time').value = readTimeH ?? '';
}

/** The analysis form's raw values: {fitOn, icText, outliers, readTime}. */
export function readAnalysisForm() {
  return {
    fitOn: $('fit-on').value,
    icText: $('ic-percents').value,
    outliers: $('find-outliers').checked,
    readTime: $('read-time').value,
  };
}

/** Show or hide the analysis form's error line. */
export function showAnalysisError(text) {
  const el = $('analysis-error');
  el.hidden = !text;
  el.textContent = text ?? '';
}

/**
 * The "Beyond the IC50" table and the notes on what could not be computed.
 *
 * @param {{key: string, label: string, value: string, title: string}[]} rows  results.js metricRows
 * @param {string[]} notes  the result's `notes`
 */
export function renderMetrics(rows, notes = []) {
  $('metrics').tBodies[0].replaceChildren(
    ...rows.map((r) =>
      h(
        'tr',
        { dataset: { metric: r.key }, title: r.title },
        h('th', { scope: 'row' }, r.label),
        h('td', {}, r.value),
      ),
    ),
  );
  const el = $('analysis-notes');
  el.hidden = !notes.length;
  el.textContent = notes.join(' ');
}

/**
 * The wells the outlier test flagged, each with accept and undo.
 *
 * @param {{id: number, name: string, well: string, reason: string, removed: boolean}[]|null} rows
 *   null hides the list (the test was not asked for)
 * @param {{onAccept: (id: number) => void, onUndo: (id: number) => void, onRedo: (id: number) => void}} on
 */
export function renderOutliers(rows, { onAccept, onUndo, onRedo }) {
  const box = $('outliers');
  box.hidden = rows === null;
  const button = (text, title, onclick) =>
    h('button', { type: 'button', class: 'link', title, onclick }, text);
  const empty = h('tr', {}, h('td', { colSpan: 4, class: 'hint' }, 'No well was flagged.'));
  const body = (rows ?? []).map((r) =>
    h(
      'tr',
      { dataset: { id: r.id, state: r.removed ? 'removed' : 'kept' } },
      h('td', { title: r.name }, r.well || r.name),
      h('td', {}, r.reason),
      h('td', {}, r.removed ? 'left out' : 'kept (you undid the flag)'),
      h(
        'td',
        { class: 'outlier-actions' },
        r.removed
          ? [
              button(
                'accept',
                'Keep it out: exclude the well (you can include it again in the Wells table)',
                () => onAccept(r.id),
              ),
              button('undo', 'Put the well back into the fit', () => onUndo(r.id)),
            ]
          : button('flag again', 'Let the outlier test leave it out again', () => onRedo(r.id)),
      ),
    ),
  );
  $('outlier-table').tBodies[0].replaceChildren(...(body.length ? body : [empty]));
}

/** Linear colour between two RGB triples (t in [0, 1]). */
const mix = (a, b, t) => `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * t)).join(', ')})`;
const WHITE = [248, 250, 252];
const BLUE = [29, 78, 216];
const RED = [185, 28, 28];

/**
 * A plate heatmap: one cell per well (rows A–H or A–P), coloured by value; empty wells grey.
 *
 * @param {HTMLElement} el
 * @param {{rows: number, columns: number, values: Map<string, number>, diverging: boolean, unit: string}} map
 */
function drawHeatmap(el, { rows, columns, values, diverging, unit }) {
  const finite = [...values.values()].filter(Number.isFinite);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = diverging ? Math.max(Math.abs(lo), Math.abs(hi)) || 1 : hi - lo || 1;
  const colour = (v) =>
    diverging
      ? v < 0
        ? mix(WHITE, BLUE, -v / span)
        : mix(WHITE, RED, v / span)
      : mix(WHITE, BLUE, (v - lo) / span);
  const head = h(
    'tr',
    {},
    h('th', {}),
    ...Array.from({ length: columns }, (_, c) => h('th', { scope: 'col' }, c + 1)),
  );
  const body = Array.from({ length: rows }, (_, r) => {
    const letter = String.fromCharCode(65 + r);
    const cells = Array.from({ length: columns }, (_, c) => {
      const id = `${letter}${String(c + 1).padStart(2, '0')}`;
      const v = values.get(id);
      const known = v !== undefined && Number.isFinite(v);
      return h('td', {
        class: known ? 'cell' : 'cell empty',
        dataset: known ? { well: id, value: String(v) } : { well: id },
        title: known ? `${id}: ${sig(v)} ${unit}` : `${id}: no value`,
        style: known ? `background: ${colour(v)}` : null,
      });
    });
    return h('tr', {}, h('th', { scope: 'row' }, letter), ...cells);
  });
  const legend = diverging
    ? `blue −${sig(span)} · white 0 · red +${sig(span)} ${unit}`
    : `${sig(lo)} – ${sig(hi)} ${unit}`;
  el.replaceChildren(
    h('table', { class: `plate plate-${columns}` }, h('thead', {}, head), h('tbody', {}, ...body)),
    h('p', { class: 'hint' }, legend),
  );
}

function qcLine(entry) {
  const s = entry.control_separation;
  const e = entry.edge_effect;
  const parts = [`${entry.plate}${entry.plate_size ? ` (${entry.plate_size} wells)` : ''}:`];
  if (s)
    parts.push(
      `Z′ ${sig(s.z_prime, 2)} (${s.quality}), robust Z′ ${sig(s.z_prime_robust, 2)}, SSMD ${sig(s.ssmd, 2)}`,
    );
  if (e) parts.push(`edge ${sig(e.ratio, 3)}× the inner wells (Welch p ${sig(e.p_welch, 2)})`);
  return parts.join(' ');
}

/**
 * Plate QC of the open curve: Z′, SSMD and the edge effect per plate, warnings in plain words, and heatmaps
 * of predicted OD450 and of the fit's residuals.
 *
 * @param {object[]|null} qc  the result's `qc` block (null hides the section)
 * @param {{rows: number, columns: number, od450: Map, residual: Map}|null} maps  results.js plateMaps
 * @param {string} unit  the unit of the residuals
 */
export function renderPlateQc(qc, maps, unit) {
  const box = $('plate-qc');
  box.hidden = !qc && !maps;
  if (box.hidden) return;
  const lines = (qc ?? []).map((entry) =>
    h(
      'div',
      { class: 'qc-plate', dataset: { plate: entry.plate } },
      h('p', {}, qcLine(entry)),
      ...entry.warnings.map((w) => h('div', { class: 'note note-warn' }, w)),
      ...entry.notes.map((n) => h('div', { class: 'hint' }, n)),
    ),
  );
  $('qc-summary').replaceChildren(...lines);
  const od = $('heatmap-od450');
  const residual = $('heatmap-residual');
  if (!maps) {
    od.replaceChildren(h('p', { class: 'hint' }, 'No well IDs in the file names: no plate map.'));
    residual.replaceChildren();
    return;
  }
  drawHeatmap(od, { ...maps, values: maps.od450, diverging: false, unit: 'OD450' });
  setText($('heatmap-residual-caption'), `Residual (observed − fitted, ${unit})`);
  if (maps.residual.size) drawHeatmap(residual, { ...maps, values: maps.residual, diverging: true, unit });
  else residual.replaceChildren(h('p', { class: 'hint' }, 'No fitted curve yet.'));
}

/**
 * The time-course chart (viability and GR over time) and its status line; null data hides it.
 *
 * @param {object|null} course  the /api/timecourse response
 * @param {string} status  plain words under the chart
 */
export function renderTimeCourseBox(course, status) {
  const box = $('timecourse');
  box.hidden = !course && !status;
  setText($('timecourse-status'), status ?? '');
  if (course) renderTimeCourse($('timecourse-plot'), course);
  else clearTimeChart($('timecourse-plot'));
}

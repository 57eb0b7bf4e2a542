// Everything that touches the DOM: rendering the model card, the wells table, progress, fit results and the
// curve list, and reporting errors. No TF.js, no fetch; main.js passes data in and handlers to call back.
import { overlayRGBA } from './attribution.js';
import { formatConcentration } from './concentrations.js';

const $ = (id) => document.getElementById(id);

/** Create an element with attributes/properties and children. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && k !== 'list') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const num = (x, digits = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : Number(x).toFixed(digits);
const sig = (x, n = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : String(Number(Number(x).toPrecision(n)));

/** The model cards embedded in the page by the server (app/routes/pages.py). */
export function readCards() {
  const el = $('model-cards');
  return el ? JSON.parse(el.textContent) : [];
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

function evaluationRows(ev) {
  if (!ev) return [h('dd', { class: 'muted' }, 'not evaluated')];
  const rows = [];
  const r2 = ev.test_r2;
  rows.push(
    h(
      'dd',
      {},
      `test r² ${r2 === null || r2 === undefined ? 'not evaluated' : sig(r2)}` +
        (ev.n_test_images ? ` on ${ev.n_test_images} images` : '') +
        (ev.n_test_series ? ` (${ev.n_test_series} series)` : ''),
    ),
  );
  const e = ev.ic50_log10_error_median;
  rows.push(
    h(
      'dd',
      {},
      e === null || e === undefined
        ? 'IC50 accuracy: not evaluated'
        : `IC50 accuracy: median error ${sig(e, 2)} log10 units (×${sig(10 ** e, 2)})`,
    ),
  );
  return rows;
}

/** Render a model card (the registry's card.json) into the panel. */
export function renderModelCard(card) {
  const el = $('model-card');
  if (!el) return;
  el.replaceChildren();
  if (!card) return;
  const td = card.training_data ?? {};
  if (card.synthetic || td.synthetic) {
    el.append(
      h(
        'div',
        { class: 'alert alert-warn banner-synthetic', role: 'note' },
        h('strong', {}, 'Trained on synthetic (simulated) images, not validated on real cells.'),
        ' Treat its IC50s as a demonstration, not a measurement.',
      ),
    );
  }
  if (card.summary) el.append(h('p', { class: 'summary' }, card.summary));
  const trained = [
    td.description,
    td.n_images ? `${td.n_images} images` : null,
    td.n_series ? `${td.n_series} series` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  el.append(
    h(
      'dl',
      {},
      h('dt', {}, 'Cell line'),
      h('dd', {}, card.cell_line ?? '—'),
      h('dt', {}, 'Drug'),
      h('dd', {}, card.drug ?? '—'),
      h('dt', {}, 'Trained on'),
      h('dd', {}, trained || '—'),
      h('dt', {}, 'Test accuracy'),
      ...evaluationRows(card.evaluation),
      h('dt', {}, 'Expects'),
      h('dd', {}, card.imaging ?? '—'),
      h('dt', {}, 'Model'),
      h('dd', {}, `${card.backbone ?? ''} · input ${card.input?.size ?? '?'} px · v${card.version ?? '?'}`),
    ),
  );
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

/** The parameter table of a fit result (or empty): estimates ± standard errors, in plain words. */
export function renderParams(fit) {
  const body = $('params').tBodies[0];
  body.replaceChildren();
  if (!fit) return;
  const se = fit.se ?? {};
  const withSe = (name, text) =>
    se[name] === null || se[name] === undefined || text === '—' ? text : `${text} ± ${sig(se[name], 2)}`;
  const fixed = (value) => (value === null || value === undefined ? null : ' (fixed)');
  const ci = fit.ic50_ci_um;
  const level = fit.ci_level ? `${Math.round(fit.ci_level * 100)} % CI` : '95 % CI';
  const rows = [
    ['Status', fit.message ?? fit.status],
    ['IC50', fit.ic50_um === null ? '—' : `${sig(fit.ic50_um)} µM`],
    [level, ci && ci[0] !== null && ci[1] !== null ? `${sig(ci[0])} – ${sig(ci[1])} µM` : '—'],
  ];
  if (fit.ic50_abs_um !== undefined)
    rows.push(['Absolute IC50', fit.ic50_abs_um === null ? '—' : `${sig(fit.ic50_abs_um)} µM`]);
  rows.push(
    ['Hill slope', withSe('hill', sig(fit.hill))],
    ['Top', fixed(fit.fixed_top) ? `${num(fit.top)}${fixed(fit.fixed_top)}` : withSe('top', num(fit.top))],
    [
      'Bottom',
      fixed(fit.fixed_bottom)
        ? `${num(fit.bottom)}${fixed(fit.fixed_bottom)}`
        : withSe('bottom', num(fit.bottom)),
    ],
    ['r²', num(fit.r2)],
  );
  if (fit.p_no_effect !== undefined && fit.p_no_effect !== null)
    rows.push(['p (no effect)', sig(fit.p_no_effect, 2)]);
  if (fit.n_wells !== undefined) rows.push(['Wells fitted', String(fit.n_wells)]);
  for (const [k, v] of rows) {
    body.append(h('tr', { dataset: { param: k } }, h('th', { scope: 'row' }, k), h('td', {}, v)));
  }
  if (fit.se_method || fit.ci_method) {
    body.append(
      h(
        'tr',
        {},
        h(
          'td',
          { colSpan: 2, class: 'hint' },
          [
            fit.se_method ? `± standard errors: ${fit.se_method}` : null,
            fit.ci_method ? `CI: ${fit.ci_method}` : null,
          ]
            .filter(Boolean)
            .join('; '),
        ),
      ),
    );
  }
}

/** Replicates per concentration. */
export function renderReplicates(groups) {
  const body = $('replicates').tBodies[0];
  body.replaceChildren(
    ...groups.map((g) =>
      h(
        'tr',
        {},
        h('td', {}, formatConcentration(g.um)),
        h('td', {}, g.n),
        h('td', {}, num(g.mean)),
        h('td', {}, g.sd === null ? '—' : num(g.sd)),
      ),
    ),
  );
}

/**
 * The wells table, keyed by well id so that updates keep focus and scroll.
 *
 * @param {object[]} rows  {id, thumbUrl, name, well, concValue, concSource, concNote, od450, status, problem,
 *   warnings, excluded}
 * @param {{onToggle: (id, use) => void, onConcentration: (id, text) => void, onThumb?: (id) => void}} handlers
 */
export function renderWells(rows, handlers) {
  const body = $('wells').tBodies[0];
  const existing = new Map([...body.rows].map((tr) => [Number(tr.dataset.id), tr]));
  const keep = new Set(rows.map((r) => r.id));
  for (const [id, tr] of existing) if (!keep.has(id)) tr.remove();
  let previous = null;
  for (const r of rows) {
    let tr = existing.get(r.id);
    if (!tr) tr = createWellRow(r, handlers);
    updateWellRow(tr, r);
    const want = previous ? previous.nextSibling : body.firstChild;
    if (tr !== want) body.insertBefore(tr, want);
    previous = tr;
  }
}

function createWellRow(r, { onToggle, onConcentration, onThumb }) {
  const use = h('input', {
    type: 'checkbox',
    class: 'use',
    title: 'Use this well in the fit (untick to exclude it)',
    onchange: (e) => onToggle(r.id, e.target.checked),
  });
  const conc = h('input', {
    type: 'text',
    class: 'conc',
    inputmode: 'decimal',
    placeholder: 'type…',
    'aria-label': `Concentration of ${r.name}`,
    oninput: (e) => {
      e.target.dataset.editing = '1';
    },
    onchange: (e) => {
      delete e.target.dataset.editing;
      onConcentration(r.id, e.target.value);
    },
  });
  return h(
    'tr',
    { dataset: { id: r.id } },
    h('td', { class: 'c-use' }, use),
    h('td', {
      class: 'c-thumb',
      title: 'Click for an occlusion map: which parts of the image drive the predicted OD450',
      onclick: () => onThumb?.(r.id),
    }),
    h('td', { class: 'c-name' }),
    h('td', { class: 'c-well' }),
    h('td', { class: 'c-conc' }, conc),
    h('td', { class: 'c-source' }),
    h('td', { class: 'c-od' }),
    h('td', { class: 'c-notes' }),
  );
}

function setText(td, text) {
  if (td.textContent !== text) td.textContent = text;
}

function updateWellRow(tr, r) {
  const [cUse, cThumb, cName, cWell, cConc, cSource, cOd, cNotes] = tr.cells;
  tr.className = [
    r.status,
    r.excluded ? 'excluded' : '',
    r.concValue === '' && r.status !== 'problem' ? 'missing-conc' : '',
  ].join(' ');
  tr.dataset.status = r.status;
  tr.dataset.name = r.name;
  tr.dataset.od450 = r.od450 === null ? '' : String(r.od450);
  const use = cUse.firstChild;
  use.checked = !r.excluded;
  use.disabled = r.status !== 'done';
  if (r.thumbUrl && cThumb.dataset.src !== r.thumbUrl) {
    cThumb.replaceChildren(h('img', { src: r.thumbUrl, alt: `thumbnail of ${r.name}`, loading: 'lazy' }));
    cThumb.dataset.src = r.thumbUrl;
  }
  setText(cName, r.name);
  cName.title = r.name;
  setText(cWell, r.well || '—');
  const input = cConc.firstChild;
  if (!input.dataset.editing && input.value !== r.concValue) input.value = r.concValue; // never while typing
  input.classList.toggle('typed', r.concSource === 'typed');
  setText(cSource, r.concSource ?? '');
  const od =
    r.status === 'done'
      ? num(r.od450)
      : r.status === 'scoring'
        ? '…'
        : r.status === 'queued'
          ? 'queued'
          : '—';
  setText(cOd, od);
  const notes = [];
  if (r.problem) notes.push(['error', r.problem]);
  if (r.concNote) notes.push([r.concValue === '' ? 'error' : 'warn', r.concNote]);
  for (const w of r.warnings) notes.push(['warn', w]);
  const key = JSON.stringify(notes);
  if (cNotes.dataset.key !== key) {
    cNotes.replaceChildren(...notes.map(([kind, text]) => h('div', { class: `note note-${kind}` }, text)));
    cNotes.dataset.key = key;
  }
}

/**
 * The session's curves, each with its IC50, status and buttons to open or remove it.
 *
 * @param {{id, label, model, n, ic50, ci, status, message, pending}[]} items
 * @param {number} activeId
 * @param {{onOpen: (id) => void, onRemove: (id) => void}} handlers
 */
export function renderCurveList(items, activeId, { onOpen, onRemove }) {
  const list = $('curve-list');
  list.replaceChildren(
    ...items.map((c) => {
      const ic50 =
        c.ic50 === null || c.ic50 === undefined
          ? 'no IC50'
          : `IC50 ${sig(c.ic50)} µM` +
            (c.ci && c.ci[0] !== null && c.ci[1] !== null ? ` (${sig(c.ci[0])}–${sig(c.ci[1])})` : '');
      return h(
        'li',
        { class: c.id === activeId ? 'active' : '', dataset: { id: c.id } },
        h(
          'div',
          { class: 'curve-main' },
          h('strong', {}, c.label),
          h('span', { class: 'muted' }, ` · ${c.model ?? 'no model'} · ${c.n} wells`),
        ),
        h(
          'div',
          { class: 'curve-ic50', title: c.message ?? '' },
          c.id === activeId ? `${ic50} · editing` : ic50,
          c.pending ? h('span', { class: 'note note-warn' }, ` ${c.pending}`) : null,
        ),
        h(
          'div',
          { class: 'curve-actions' },
          c.id === activeId
            ? null
            : h('button', { type: 'button', class: 'link', onclick: () => onOpen(c.id) }, 'open'),
          h('button', { type: 'button', class: 'link danger', onclick: () => onRemove(c.id) }, 'remove'),
        ),
      );
    }),
  );
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

/**
 * The occlusion map of one well, overlaid on its thumbnail (or a "computing…" line, or nothing).
 *
 * @param {{name: string, thumbUrl: string, busy?: boolean, error?: string, grid?: number,
 *   map?: Float32Array, od450?: number, ms?: number}|null} a
 */
export function renderAttribution(a) {
  const box = $('attribution');
  if (!box) return;
  box.hidden = !a;
  if (!a) return box.replaceChildren();
  const title = h('h3', {}, `Occlusion map: ${a.name}`);
  const close = h('button', { type: 'button', class: 'link', onclick: () => renderAttribution(null) }, 'close');
  if (a.busy || a.error) {
    box.dataset.state = a.error ? 'error' : 'busy';
    box.replaceChildren(title, h('p', { class: a.error ? 'field-error' : 'hint' }, a.error ?? 'Computing…'), close);
    return;
  }
  box.dataset.state = 'done';
  const img = new Image();
  const canvas = h('canvas', { class: 'attribution-map', width: 288, height: 288 });
  img.onload = () => {
    canvas.height = Math.round((288 * img.naturalHeight) / img.naturalWidth);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const { rgba } = overlayRGBA(a.map, a.grid);
    const cells = new OffscreenCanvas(a.grid, a.grid);
    cells.getContext('2d').putImageData(new ImageData(rgba, a.grid, a.grid), 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(cells, 0, 0, canvas.width, canvas.height);
  };
  img.src = a.thumbUrl;
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

/** Read a text input by id. */
export const value = (id) => $(id).value;

/** Element by id. */
export const byId = $;

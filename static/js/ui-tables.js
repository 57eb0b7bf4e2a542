// The page's tables, drawn from plain data: the model card, the fit's parameters, the replicates, the wells
// table and the curve list. DOM only (part of the UI layer; main.js reaches these through ui.js).
import { formatConcentration } from './concentrations.js';
import { concentrationText, icEntry } from './results.js';
import { h, num, setText, sig, thumbCanvas } from './ui-kit.js';

const $ = (id) => document.getElementById(id);

/**
 * The training images' scale in plain words, from a card's `imaging` (docs/model-card.md): "trained on
 * images at 0.65 µm/px, 10× objective — from the simulator's optics", or "pixel size not known: …" and why;
 * null for an older card whose `imaging` is a sentence.
 */
export function scaleText(imaging) {
  if (!imaging || typeof imaging !== 'object') return null;
  const source = typeof imaging.pixel_size_source === 'string' ? imaging.pixel_size_source : '';
  if (!(imaging.pixel_size_um > 0)) {
    const why = source.replace(/^unknown:\s*/, '');
    return (
      `pixel size not known${why ? `: ${why}` : ''} — the page cannot warn when a plate is imaged at ` +
      'another scale'
    );
  }
  const objective = imaging.objective ? `, ${imaging.objective} objective` : '';
  let from = '';
  if (source.startsWith('the simulator')) from = ' — from the simulator’s optics';
  else if (source) from = ` — from ${source}`;
  return `trained on images at ${imaging.pixel_size_um} µm/px${objective}${from}`;
}

/** A card's `imaging` as the panel's lines: its description, then its scale (scaleText) when it has one. */
function imagingRows(imaging) {
  if (!imaging) return [h('dd', {}, '—')];
  if (typeof imaging === 'string') return [h('dd', {}, imaging)];
  return [h('dd', {}, imaging.description || '—'), h('dd', { class: 'imaging-scale' }, scaleText(imaging))];
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

/** The backbone's network: a card/2 names it in `backbone.architecture`, an older card in `backbone`. */
function architecture(card) {
  const backbone = card.backbone;
  return (typeof backbone === 'string' ? backbone : backbone?.architecture) ?? '';
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
  if (card.own) {
    const when = card.created ? ` on ${card.created.slice(0, 10)}` : '';
    el.append(
      h(
        'p',
        { class: 'note own-model' },
        `Your model: trained on your images in the browser${when}; kept in this one.`,
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
      ...imagingRows(card.imaging),
      h('dt', {}, 'Model'),
      h('dd', {}, `${architecture(card)} · input ${card.input?.size ?? '?'} px · v${card.version ?? '?'}`),
    ),
  );
}

/** The IC50 rows: a number inside the tested range; outside it the censored text and no interval. */
function ic50Rows(fit) {
  const ci = fit.ic50_ci_um;
  const level = fit.ci_level ? `${Math.round(fit.ci_level * 100)} % CI` : '95 % CI';
  const censored = fit.ic50_censored && fit.ic50_censored.censor !== 'none';
  const rows = [
    ['IC50', censored ? fit.ic50_censored.text : fit.ic50_um === null ? '—' : `${sig(fit.ic50_um)} µM`],
    [level, !censored && ci && ci[0] !== null && ci[1] !== null ? `${sig(ci[0])} – ${sig(ci[1])} µM` : '—'],
  ];
  const absolute = icEntry(fit, 50, 'absolute');
  if (absolute) rows.push(['Absolute IC50', concentrationText(absolute.concentration)]);
  else if (fit.ic50_abs_um !== undefined)
    rows.push(['Absolute IC50', fit.ic50_abs_um === null ? '—' : `${sig(fit.ic50_abs_um)} µM`]);
  return rows;
}

/**
 * The fit's parameters.
 *
 * @param {object|null} fit  the /api/fit result
 * @param {string|null} [unit]  what was fitted ("% viability"), shown when given
 */
export function renderParams(fit, unit = null) {
  const body = $('params').tBodies[0];
  body.replaceChildren();
  if (!fit) return;
  const se = fit.se ?? {};
  const withSe = (name, text) =>
    se[name] === null || se[name] === undefined || text === '—' ? text : `${text} ± ${sig(se[name], 2)}`;
  const fixed = (value) => (value === null || value === undefined ? null : ' (fixed)');
  const rows = [['Status', fit.message ?? fit.status], ...ic50Rows(fit)];
  if (unit) rows.push(['Fitted on', unit]);
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
 * @param {object[]} rows  {id, thumb, name, well, plate, concValue, concSource, concNote, od450, status,
 *   problem, warnings, fields, excluded, control, outlier}; control: 'blank' | 'kill' | null; outlier: the
 *   outlier test's reason when it left the well out, else null; fields: null for a one-image well, else
 *   each field {id, label, name, thumb, od450, status, problem, warnings, leftOut} (the well's od450 is
 *   their mean)
 * @param {{onToggle: (id, use) => void, onConcentration: (id, text) => void, onThumb?: (id) => void,
 *   onControl?: (id, kind) => void, onField?: (id, use) => void}} handlers  onThumb and onField get the
 *   id of a field's image
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
    updateWellRow(tr, r, handlers);
    const want = previous ? previous.nextSibling : body.firstChild;
    if (tr !== want) body.insertBefore(tr, want);
    previous = tr;
  }
}

function createWellRow(r, { onToggle, onConcentration, onThumb, onControl }) {
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
    h(
      'td',
      { class: 'c-control' },
      h(
        'select',
        {
          class: 'control',
          'aria-label': `Control kind of ${r.name}`,
          onchange: (e) => onControl?.(r.id, e.target.value || null),
        },
        h('option', { value: '' }, '—'),
        h('option', { value: 'blank' }, 'blank'),
        h('option', { value: 'kill' }, 'kill'),
      ),
    ),
    h('td', { class: 'c-notes' }),
  );
}

/** The thumbnails each wells-table cell shows (drawn again only when they change). */
const shownThumbs = new WeakMap();

/** A well's thumbnail, or its fields' small thumbnails (each opens that field's occlusion map). */
function updateThumbs(cell, r, onThumb) {
  const images = r.fields ?? [{ id: r.id, thumb: r.thumb, label: r.name }];
  const shown = shownThumbs.get(cell);
  const same = shown?.length === images.length && images.every((f, i) => f.thumb === shown[i]);
  if (same || !images.some((f) => f.thumb)) return;
  shownThumbs.set(
    cell,
    images.map((f) => f.thumb),
  );
  cell.classList.toggle('field-thumbs', r.fields !== null);
  cell.replaceChildren(
    ...images.map((f) =>
      f.thumb
        ? thumbCanvas(f.thumb, {
            class: 'thumb',
            role: 'img',
            'aria-label': `thumbnail of ${f.label}`,
            title: r.fields ? `${f.label}: click for its occlusion map` : null,
            dataset: { field: f.id },
            onclick: (e) => {
              e.stopPropagation();
              onThumb?.(f.id);
            },
          })
        : h('span', { class: 'thumb-missing', title: f.label }),
    ),
  );
}

/** A well's fields: each with its own use box, predicted OD450, problem and flags. */
function fieldList(r, onField, open) {
  const used = r.fields.filter((f) => f.status === 'done' && !f.leftOut).length;
  return h(
    'details',
    { class: 'fields', open },
    h('summary', {}, `${r.fields.length} fields, OD450 = mean of ${used}`),
    ...r.fields.map((f) =>
      h(
        'div',
        {
          class: `field ${f.status}${f.leftOut ? ' left-out' : ''}`,
          dataset: {
            id: f.id,
            name: f.name,
            status: f.status,
            od450: f.od450 === null ? '' : String(f.od450),
          },
        },
        h(
          'label',
          { class: 'check', title: 'Use this field in the well’s mean' },
          h('input', {
            type: 'checkbox',
            class: 'field-use',
            checked: !f.leftOut,
            disabled: f.status !== 'done',
            onchange: (e) => onField?.(f.id, e.target.checked),
          }),
          ` ${f.label}`,
        ),
        h('span', { class: 'field-od' }, f.status === 'done' ? ` OD450 ${num(f.od450)}` : ` ${f.status}`),
        f.problem ? h('div', { class: 'note note-error' }, f.problem) : null,
        ...f.warnings.map((w) => h('div', { class: 'note note-warn' }, w)),
      ),
    ),
  );
}

function updateWellRow(tr, r, { onThumb, onField }) {
  const [cUse, cThumb, cName, cWell, cConc, cSource, cOd, cControl, cNotes] = tr.cells;
  tr.className = [
    r.status,
    r.excluded ? 'excluded' : '',
    r.outlier ? 'outlier' : '',
    r.control ? 'control-well' : '',
    r.concValue === '' && r.status !== 'problem' && !r.control ? 'missing-conc' : '',
  ].join(' ');
  tr.dataset.status = r.status;
  tr.dataset.name = r.name;
  tr.dataset.well = r.well;
  tr.dataset.plate = r.plate;
  tr.dataset.fields = String(r.fields?.length ?? 1);
  tr.dataset.od450 = r.od450 === null ? '' : String(r.od450);
  const use = cUse.firstChild;
  use.checked = !r.excluded;
  use.disabled = r.status !== 'done';
  updateThumbs(cThumb, r, onThumb);
  setText(cName, r.name);
  cName.title = r.name;
  setText(cWell, r.well ? [r.plate, r.well].filter(Boolean).join(' · ') : '—');
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
  const control = cControl.firstChild;
  control.value = r.control ?? '';
  control.disabled = r.status !== 'done';
  const notes = [];
  if (r.problem) notes.push(['error', r.problem]);
  if (r.outlier) notes.push(['warn', `Left out by the outlier test: ${r.outlier}`]);
  if (r.concNote && !r.control) notes.push([r.concValue === '' ? 'error' : 'warn', r.concNote]);
  for (const w of r.warnings) notes.push(['warn', w]);
  const key = JSON.stringify([notes, r.fields]);
  if (cNotes.dataset.key !== key) {
    const open = cNotes.querySelector('details.fields')?.open ?? false;
    cNotes.replaceChildren(
      ...notes.map(([kind, text]) => h('div', { class: `note note-${kind}` }, text)),
      ...(r.fields ? [fieldList(r, onField, open)] : []),
    );
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

// From a /api/fit result with its analysis blocks to what the fit panel shows: the options the page asks
// for, IC_x and metric rows, the outlier list, each well's plotted value, and the plate maps. Pure functions
// on plain data (no DOM, no fetch); the blocks' definitions are in docs/metrics.md.
import { formatConcentration, splitWell } from './concentrations.js';

/** What the fit's responses are, for axis titles and tables. */
export const UNIT_TEXT = { response: 'Predicted OD450', viability: '% viability' };

/** IC_x levels (%) the user may ask for besides the IC50 (the API takes 10 in all). */
export const MAX_IC_PERCENTS = 9;

const sig = (x, n = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : String(Number(Number(x).toPrecision(n)));

/**
 * The analysis options of every fit and report request: the IC50 censored, IC_x at 50 % (for the absolute
 * IC50) and the user's levels, Emax/Einf/AAC/DSS, plate QC and per-well values, on the unit the user chose.
 *
 * @param {{fitOn: 'response'|'viability', icPercents: number[], outliers: boolean}} analysis
 * @returns {object}  the request's option fields (app/schemas_analysis.py AnalysisOptions)
 */
export function fitOptions(analysis) {
  return {
    fit_on: analysis.fitOn,
    ic_percents: [...new Set([50, ...analysis.icPercents])],
    metrics: true,
    outliers: analysis.outliers,
    qc: true,
    per_well: true,
  };
}

/**
 * IC_x levels typed by the user: "20, 80" → [20, 80].
 *
 * @param {string} text  numbers separated by commas, semicolons or spaces (a decimal comma is not accepted)
 * @returns {{values: number[], error: string|null}}
 */
export function parseIcPercents(text) {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const values = [];
  for (const part of parts) {
    const x = Number(part.replace(/%$/, ''));
    if (!Number.isFinite(x) || x <= 0 || x >= 100)
      return { values: [], error: `IC levels must be numbers between 0 and 100 (got "${part}")` };
    if (!values.includes(x)) values.push(x);
  }
  if (values.length > MAX_IC_PERCENTS)
    return { values: [], error: `at most ${MAX_IC_PERCENTS} IC levels (got ${values.length})` };
  return { values, error: null };
}

/**
 * A concentration read off the curve as people should see it: a number inside the tested range, the
 * censored text ("> 10 µM", "not reached (> 10 µM)") outside it — never an extrapolated number.
 *
 * @param {object|null|undefined} censored  a CensoredConcentration block
 * @returns {string}
 */
export function concentrationText(censored) {
  if (!censored) return '—';
  return censored.censor === 'none' ? `${sig(censored.value_um)} µM` : censored.text;
}

/** The IC_x entry of a result at `percent` and `kind`, or null. */
export function icEntry(fit, percent, kind) {
  return fit?.ic_x?.find((x) => x.percent === percent && x.kind === kind) ?? null;
}

function icRows(fit, percents) {
  const rows = [];
  for (const p of percents) {
    const rel = icEntry(fit, p, 'relative');
    const abs = icEntry(fit, p, 'absolute');
    if (!rel) continue;
    const [low, high] = rel.ci_um ?? [null, null];
    const ci = low !== null && high !== null ? ` (95 % CI ${sig(low)}–${sig(high)})` : '';
    rows.push({
      key: `ic${p}`,
      label: `IC${p}`,
      value: concentrationText(rel.concentration) + ci,
      title: rel.message,
    });
    if (abs)
      rows.push({
        key: `ic${p}-abs`,
        label: `IC${p} absolute`,
        value: concentrationText(abs.concentration),
        title: abs.message,
      });
  }
  return rows;
}

function grRows(gr) {
  if (!gr?.metrics) return [];
  const m = gr.metrics;
  return [
    { key: 'gr50', label: 'GR50', value: concentrationText(m.gr50), title: gr.message },
    { key: 'grmax', label: 'GRmax', value: sig(m.gr_max), title: 'Smallest GR at the two highest doses' },
    { key: 'gr-aoc', label: 'GR AOC', value: sig(m.gr_aoc), title: 'Area over the GR curve, per log10 unit' },
    {
      key: 'gec50',
      label: 'GEC50',
      value: m.gec50_um === null ? '—' : `${sig(m.gec50_um)} µM`,
      title: m.message,
    },
  ];
}

/**
 * The rows of the "Beyond the IC50" table: the user's IC_x levels, Emax, Einf, AAC, DSS1–3 and GR metrics.
 *
 * @param {object|null} fit  a /api/fit result
 * @param {number[]} percents  the user's IC levels
 * @returns {{key: string, label: string, value: string, title: string}[]}
 */
export function metricRows(fit, percents) {
  if (!fit) return [];
  const rows = icRows(
    fit,
    percents.filter((p) => p !== 50),
  );
  const e = fit.efficacy;
  if (e) {
    const where = e.emax_conc_um === null ? '' : ` at ${formatConcentration(e.emax_conc_um)}`;
    const ref = `100 % = ${e.reference_source} (${sig(e.reference_level)})`;
    rows.push({
      key: 'emax',
      label: 'Emax (observed)',
      value: `${sig(e.emax_percent)} %${where}`,
      title: ref,
    });
    rows.push({ key: 'einf', label: 'Einf (fitted)', value: `${sig(e.einf_percent)} %`, title: ref });
  }
  if (fit.aac) {
    const [lo, hi] = fit.aac.range_um;
    rows.push({
      key: 'aac',
      label: `AAC (${sig(lo)}–${sig(hi)} µM)`,
      value: sig(fit.aac.aac),
      title: fit.aac.message,
    });
  }
  if (fit.dss) {
    const d = fit.dss;
    rows.push({
      key: 'dss',
      label: 'DSS1 · DSS2 · DSS3',
      value: `${sig(d.dss1)} · ${sig(d.dss2)} · ${sig(d.dss3)}`,
      title: `${d.message} Yadav et al., Sci Rep 4:5193 (2014).`,
    });
  }
  return [...rows, ...grRows(fit.gr)];
}

/**
 * The wells the outlier test flagged, named for people.
 *
 * @param {object|null} fit  a /api/fit result (its `outliers` block; indices in request order)
 * @param {object[]} fitted  the page's wells in request order (session.fittedWells(curve).map(x => x.well))
 * @returns {{id: number, name: string, well: string, reason: string, removed: boolean}[]}
 */
export function outlierRows(fit, fitted) {
  return (fit?.outliers?.wells ?? [])
    .filter((o) => fitted[o.index])
    .map((o) => ({
      id: fitted[o.index].id,
      name: fitted[o.index].name,
      well: o.well,
      reason: o.reason,
      removed: o.removed,
    }));
}

/**
 * What the fit says about each page well: its value in the fit's unit, the fitted curve there, the residual,
 * its role and whether the outlier test flagged it.
 *
 * @param {object|null} fit  a /api/fit result with `wells` (per_well)
 * @param {object[]} fitted  the page's wells in request order
 * @returns {Map<number, {value: number|null, fitted: number|null, residual: number|null, role: string,
 *   outlier: boolean, used: boolean}>}  by page well id
 */
export function wellValues(fit, fitted) {
  const out = new Map();
  const w = fit?.wells;
  if (!w) return out;
  fitted.forEach((well, k) => {
    out.set(well.id, {
      value: w.response[k],
      fitted: w.fitted[k],
      residual: w.residual[k],
      role: w.role[k],
      outlier: w.outlier[k],
      used: w.used_in_fit[k],
    });
  });
  return out;
}

/**
 * The value a well is plotted at: in the fit's unit. A well left out of the request (excluded by the user)
 * is put on the % viability scale with its plate's control levels.
 *
 * @param {object|null} fit  a /api/fit result
 * @param {{id: number, od450: number}} well  a page well
 * @param {Map<number, object>} values  wellValues
 * @param {boolean} viability  whether the fit is on % viability
 * @returns {number}
 */
export function plotValue(fit, well, values, viability) {
  const known = values.get(well.id)?.value;
  if (known !== null && known !== undefined) return known;
  const plate = fit?.controls?.[0];
  if (!viability || !plate) return well.od450;
  return (100 * (well.od450 - plate.blank_level)) / (plate.vehicle_level - plate.blank_level);
}

/**
 * The plate maps of a curve: predicted OD450 and fit residual at each well ID.
 *
 * @param {object[]} wells  the curve's page wells (status 'done' ones are shown)
 * @param {Map<number, object>} values  wellValues
 * @returns {{rows: number, columns: number, od450: Map<string, number>, residual: Map<string, number>}|null}
 *   null when no scored well has a well ID; 16 × 24 when a well lies beyond H or 12
 */
export function plateMaps(wells, values) {
  const od450 = new Map();
  const residual = new Map();
  let big = false;
  for (const w of wells) {
    if (w.status !== 'done' || !w.well) continue;
    const { rowIndex, column } = splitWell(w.well);
    if (rowIndex > 15 || column > 24) continue; // 1536-well IDs have no map here
    big ||= rowIndex > 7 || column > 12;
    od450.set(w.well, w.od450);
    const r = values.get(w.id)?.residual;
    if (r !== null && r !== undefined) residual.set(w.well, r);
  }
  if (!od450.size) return null;
  return big ? { rows: 16, columns: 24, od450, residual } : { rows: 8, columns: 12, od450, residual };
}

// Concentrations of wells: from file names, from well IDs through a plate map, or typed by hand.
// Pure functions (no DOM): every concentration is in µM; 0 is a vehicle control.

/** Units a concentration can be given in, and their factor to µM. */
export const UNITS = { uM: 1, nM: 1e-3, mM: 1e3, pM: 1e-6 };

const NUMBER = String.raw`(\d+(?:[.,p]\d+)?(?:[eE][-+]?\d+)?|[.]\d+)`;
// µ (micro sign U+00B5), μ (Greek mu U+03BC) or u; "um" in lower case is taken as µM too. "nm" is not
// (it is usually a wavelength: "450nm"), nor a bare "M".
const UNIT = '(µM|μM|uM|UM|um|µm|μm|nM|NM|mM|pM)';
const CONC_RE = new RegExp(String.raw`(?<![\d.,])${NUMBER}[\s_]?${UNIT}(?![A-Za-z])`, 'g');
const CONTROL_RE = /(?<![A-Za-z])(DMSO|vehicle|veh|control|ctrl|ctl|untreated|mock)(?![A-Za-z])/i;
// A well ID, A01–P24: 96- and 384-well plates. Row A–P, column 1–24, written B7, B07, B007, B-07 or B_07;
// the twin of training/manifest.py's _WELL_RE (tests/data/well_ids.json holds the cases both must pass). In
// a file name the row letter must be upper case ("d3", "f1", "p2" are days, fields and passages) and the ID
// must not be glued to other letters or digits before it, nor to digits after it ("A549" is a cell line).
const WELL_RE = /(?<![A-Za-z0-9])([A-P])[-_]?0*(2[0-4]|1\d|[1-9])(?![0-9])/g;

function unitFactor(unit) {
  if (/^[µμuU]/.test(unit)) return UNITS.uM;
  if (/^[nN]/.test(unit)) return UNITS.nM;
  if (unit === 'mM') return UNITS.mM;
  if (unit === 'pM') return UNITS.pM;
  throw new RangeError(`unknown concentration unit ${unit}`);
}

function toNumber(text) {
  return Number(text.replace(/[,p]/, '.'));
}

/** Round away float noise from unit conversion (500 nM → 0.5 µM, not 0.5000000001). */
function tidy(um) {
  return Number(um.toPrecision(12));
}

/**
 * The concentration a file name states.
 *
 * Recognised: `0.5uM`, `0.5 µM`, `0,5µM`, `0p5uM`, `500nM`, `1e-3uM`, `10mM`; `DMSO`, `vehicle`,
 * `control`, `ctrl`, `untreated` or `0uM` → 0 (vehicle control).
 *
 * @param {string} name  a file name
 * @returns {{um: number|null, text: string|null, span: [number, number]|null, error: string|null}}
 *   um is null when the name says nothing (error null) or is ambiguous (error says why)
 */
export function parseNameConcentration(name) {
  const stem = name.replace(/\.[A-Za-z0-9]{2,5}$/, '');
  const found = [...stem.matchAll(CONC_RE)].map((m) => ({
    um: tidy(toNumber(m[1]) * unitFactor(m[2])),
    text: m[0],
    span: [m.index, m.index + m[0].length],
  }));
  const values = [...new Set(found.map((f) => f.um))];
  if (values.length > 1) {
    return {
      um: null,
      text: null,
      span: null,
      error: `the name holds ${values.length} different concentrations (${found.map((f) => f.text).join(', ')})`,
    };
  }
  if (found.length) return { ...found[0], error: null };
  const control = stem.match(CONTROL_RE);
  if (control)
    return { um: 0, text: control[0], span: [control.index, control.index + control[0].length], error: null };
  return { um: null, text: null, span: null, error: null };
}

/**
 * The well ID a file name holds (e.g. `plate1_B07_…` → "B07"), ignoring the concentration's own characters.
 *
 * A01–P24: 96- and 384-well plates (see WELL_RE; training/manifest.py normalise_well reads the same IDs in a
 * manifest's `well` column).
 *
 * @param {string} name
 * @returns {string|null}  row letter + two-digit column ("B07"), or null when absent or ambiguous
 */
export function parseWellId(name) {
  let stem = name.replace(/\.[A-Za-z0-9]{2,5}$/, '');
  for (const m of stem.matchAll(CONC_RE))
    stem = stem.slice(0, m.index) + ' '.repeat(m[0].length) + stem.slice(m.index + m[0].length);
  const wells = [...new Set([...stem.matchAll(WELL_RE)].map((m) => formatWell(m[1], Number(m[2]))))];
  return wells.length === 1 ? wells[0] : null;
}

/** "B", 7 → "B07". */
export function formatWell(row, column) {
  return `${row.toUpperCase()}${String(column).padStart(2, '0')}`;
}

/** "B07" → {row: "B", rowIndex: 1, column: 7}. */
export function splitWell(well) {
  const m = /^([A-P])(\d{1,2})$/.exec(well);
  if (!m) throw new RangeError(`well must look like B07; got ${JSON.stringify(well)}`);
  return { row: m[1], rowIndex: m[1].charCodeAt(0) - 65, column: Number(m[2]) };
}

/**
 * A typed concentration → µM.
 *
 * @param {string} text  e.g. "0.5", "500 nM", "DMSO", "" (empty = not given)
 * @param {'uM'|'nM'} unit  the unit of a bare number
 * @returns {{um: number|null, error: string|null}}
 */
export function parseTypedConcentration(text, unit = 'uM') {
  const t = String(text ?? '').trim();
  if (t === '') return { um: null, error: null };
  if (CONTROL_RE.test(t) && !/\d/.test(t)) return { um: 0, error: null };
  const m = /^([-+]?\d*[.,]?\d+(?:[eE][-+]?\d+)?)\s*([µμu]M|um|nM|mM|pM)?$/.exec(t);
  if (!m) return { um: null, error: `"${t}" is not a concentration (write e.g. 0.5, 500 nM or DMSO)` };
  const value = Number(m[1].replace(',', '.'));
  if (!Number.isFinite(value) || value < 0) return { um: null, error: `concentration must be ≥ 0; got ${t}` };
  const factor = m[2] ? unitFactor(m[2]) : UNITS[unit];
  if (factor === undefined) return { um: null, error: `unknown unit ${unit}` };
  return { um: tidy(value * factor), error: null };
}

/**
 * Parse a list of plate columns or rows: "1, 12", "2-11", "1,3-5".
 *
 * @param {string} text
 * @param {number} max  highest allowed index (12 columns, 8 rows on a 96-well plate)
 * @returns {number[]}  sorted unique indices (1-based)
 */
export function parseIndexList(text, max) {
  const out = new Set();
  for (const part of String(text ?? '')
    .split(/[,;\s]+/)
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`"${part}" is not a column number or range (write e.g. 1, 12 or 2-11)`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (a < 1 || b > max || a > b) throw new RangeError(`"${part}" is outside 1–${max}`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * Concentration of every column (or row) of a plate map.
 *
 * Two ways to describe a plate:
 * - `{mode: 'dilution', topUm, factor, doseLines: number[], controlLines: number[], highestFirst}`: a serial
 *   dilution over `doseLines` (in order; the first holds the top concentration when `highestFirst`), each
 *   next line `factor`× lower; `controlLines` hold vehicle (0).
 * - `{mode: 'typed', values: {line: µM}}`: one concentration per line, typed.
 * `axis` says whether lines are columns (1–24) or rows (1 = A).
 *
 * @param {object} map
 * @returns {Map<number, number>}  line (1-based) → µM
 */
export function plateMapConcentrations(map) {
  const out = new Map();
  if (map.mode === 'typed') {
    for (const [line, um] of Object.entries(map.values ?? {})) {
      if (um !== null && um !== undefined && Number.isFinite(um)) out.set(Number(line), um);
    }
    return out;
  }
  const { topUm, factor, doseLines = [], controlLines = [], highestFirst = true } = map;
  if (!(topUm > 0)) throw new RangeError(`top concentration must be > 0 µM; got ${topUm}`);
  if (!(factor > 1)) throw new RangeError(`dilution factor must be > 1; got ${factor}`);
  const overlap = doseLines.filter((l) => controlLines.includes(l));
  if (overlap.length) throw new RangeError(`line ${overlap[0]} is both a dose and a control`);
  const ordered = highestFirst ? doseLines : [...doseLines].reverse();
  ordered.forEach((line, i) => {
    out.set(line, tidy(topUm / factor ** i));
  });
  for (const line of controlLines) out.set(line, 0);
  return out;
}

/** Lines (columns or rows) of a plate: 96 wells = 12 columns × 8 rows, 384 = 24 × 16. */
export function plateLineCount(plate, axis) {
  const wide = Number(plate) === 384;
  return axis === 'row' ? (wide ? 16 : 8) : wide ? 24 : 12;
}

/**
 * A plate map from the plate-map form's raw text (see plateMapConcentrations for the result).
 *
 * @param {{axis: 'column'|'row', plate: string, mode: 'dilution'|'typed', unit: 'uM'|'nM', top: string,
 *   factor: string, doses: string, controls: string, reverse: boolean, typed: Object<string, string>}} form
 *   doses/controls: lists such as "2-11" or "1, 12" (rows also as letters, "B-G"); typed: line → text
 * @returns {object}  the plate map
 * @throws {RangeError}  naming the field that is wrong
 */
export function plateMapFromForm(form) {
  const { axis, unit } = form;
  const count = plateLineCount(form.plate, axis);
  if (form.mode === 'typed') {
    const values = {};
    for (const [line, text] of Object.entries(form.typed ?? {})) {
      const parsed = parseTypedConcentration(text, unit);
      if (parsed.error) throw new RangeError(`${axis} ${line}: ${parsed.error}`);
      if (parsed.um !== null) values[line] = parsed.um;
    }
    if (!Object.keys(values).length) throw new RangeError('type at least one concentration');
    return { axis, mode: 'typed', values };
  }
  const top = parseTypedConcentration(form.top, unit);
  if (top.error || !(top.um > 0)) throw new RangeError(`top concentration: ${top.error ?? 'must be > 0'}`);
  const factor = Number(String(form.factor).replace(',', '.'));
  // Rows may be given as letters (A–P) as well as numbers.
  const lines = (text) =>
    parseIndexList(
      axis === 'row'
        ? String(text).replace(/[A-Pa-p]/g, (m) => String(m.toUpperCase().charCodeAt(0) - 64))
        : text,
      count,
    );
  const doseLines = lines(form.doses);
  if (!doseLines.length) throw new RangeError('give the dose lines (e.g. 2-11)');
  return {
    axis,
    mode: 'dilution',
    topUm: top.um,
    factor,
    doseLines,
    controlLines: lines(form.controls),
    highestFirst: !form.reverse,
  };
}

/**
 * A well's concentration through a plate map.
 *
 * @param {string} well  "B07"
 * @param {Map<number, number>} lines  from plateMapConcentrations
 * @param {'column'|'row'} axis
 * @returns {number|null}  µM, or null when the map does not cover the well
 */
export function wellConcentration(well, lines, axis = 'column') {
  const { rowIndex, column } = splitWell(well);
  const v = lines.get(axis === 'row' ? rowIndex + 1 : column);
  return v === undefined ? null : v;
}

/**
 * Group values by concentration (replicates), sorted by concentration.
 *
 * @param {{um: number, value: number}[]} points
 * @returns {{um: number, n: number, mean: number, sd: number|null, values: number[]}[]}
 *   sd is the sample SD (n − 1), null for a single well
 */
export function groupReplicates(points) {
  const groups = new Map();
  for (const { um, value } of points) {
    const key = um.toPrecision(10);
    if (!groups.has(key)) groups.set(key, { um, values: [] });
    groups.get(key).values.push(value);
  }
  return [...groups.values()]
    .sort((a, b) => a.um - b.um)
    .map(({ um, values }) => {
      const n = values.length;
      const mean = values.reduce((s, v) => s + v, 0) / n;
      const sd = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : null;
      return { um, n, mean, sd, values };
    });
}

/**
 * A concentration for people: "0.5 µM", "12.3 nM" below 1 µM… always with 3 significant digits.
 *
 * @param {number|null} um
 * @returns {string}
 */
export function formatConcentration(um) {
  if (um === null || um === undefined || !Number.isFinite(um)) return '—';
  if (um === 0) return '0 (control)';
  if (um < 1e-3) return `${sig(um * 1e6)} pM`;
  if (um < 1) return `${sig(um * 1e3)} nM`;
  if (um >= 1e3) return `${sig(um / 1e3)} mM`;
  return `${sig(um)} µM`;
}

function sig(x) {
  return String(Number(x.toPrecision(3)));
}

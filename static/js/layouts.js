// Plate layouts and plate-reader exports as labs write them: grids or long rows, in CSV or XLSX.
// Pure functions except readSheets (which reads a File); nothing throws on a user's file: problems come back
// in plain words naming the file, the sheet and the cell.
//
// The twin of training/layouts.py (its docstring gives the rules in full); the same files give the same
// results (tests/data/layouts/, tests/training/test_layouts.py, tests/e2e/test_layouts.py).
// - Grids: column numbers 1–12 (1–24) across, row letters A–H (A–P) down the column left of them. Text above
//   a grid names its plate ("Plate 2"); its title line (the line just above, and the corner cell) a unit
//   ("Concentration (nM)") and a kind ("series", "drug"/"compound"/"treatment" grids hold labels).
// - Long rows: a header row with "well" and "concentration" (layouts) or "od450" (reader exports), and
//   optionally "plate", "unit", "series", "drug".
// - Layout cells: numbers (in the grid's unit or their own: M, mM, µM/uM, nM, pM), "Dox 10 µM", DMSO/vehicle/
//   control/0 = vehicle, untreated, blank (no cells), kill; empty = no well. Reader cells: numbers are OD450;
//   OVER, Sat, >3.5… saturated; <0.01… below_range; other text invalid (never numbers).
// XLSX is read by the vendored read-excel-file (static/vendor/read-excel-file.min.js, MIT).

import { formatWell, parseWellId } from './concentrations.js';

/** Control kinds of a layout well: vehicle and untreated at 0 µM; blank (no cells) and kill without one. */
export const CONTROL_KINDS = ['vehicle', 'untreated', 'blank', 'kill'];

const TO_UM = { M: 1e6, mM: 1e3, µM: 1, nM: 1e-3, pM: 1e-6 };
const UNIT = 'µM|μM|uM|UM|um|nM|NM|mM|pM|M';
const NUMBER = String.raw`[-+]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][-+]?\d+)?`;
const CELL_RE = new RegExp(`^(${NUMBER})[ \\t]*(${UNIT})?$`);
const NUMBER_RE = new RegExp(`^${NUMBER}$`);
const EMBEDDED_RE = new RegExp(`(?<![A-Za-z0-9.,])(${NUMBER})[ \\t]*(${UNIT})(?![A-Za-z0-9])`, 'g');
const TITLE_UNIT_RE = /(?<![A-Za-z])(µM|μM|uM|UM|um|nM|NM|mM|pM)(?![A-Za-z])|[([]M[)\]]/g;
const TITLE_MOLAR_RE = /\b(micromolar|nanomolar|millimolar|picomolar|molar)\b/gi;
const MOLAR_UNITS = { micromolar: 'µM', nanomolar: 'nM', millimolar: 'mM', picomolar: 'pM', molar: 'M' };
const WORDS = {
  kill: ['kill', 'killed', 'max kill', 'dead', 'positive', 'positive control', 'pos', 'pos ctrl', 'triton'],
  blank: ['blank', 'medium', 'media', 'medium only', 'media only', 'background', 'bkg', 'no cells'],
  untreated: ['untreated', 'no treatment', 'no drug', 'cells only'],
  vehicle: ['dmso', 'vehicle', 'veh', 'control', 'ctrl', 'ctl', 'mock', 'negative', 'neg', 'neg ctrl'],
};
const NO_WELL = ['-', '—', '–', 'empty', 'unused', 'none', 'n/a'];
const PLATE_RE = /\bplate[ \t]*(?:no\.?|number|#|:|-|_)?[ \t]*([A-Za-z]?\d+[A-Za-z]?|[A-Za-z])\b/gi;
const SATURATED_RE = /^(?:over|ovrflw|overflow|sat|saturated|high|>.*)$/i;
const BELOW_RE = /^(?:low|<.*)$/i;
const CONCENTRATION_TITLE_RE = /conc|dose|dilution/i;
const LABEL_ROLES = [
  ['series', /series/i],
  ['drug', /drug|compound|treatment/i],
];
const HEADER_ALIASES = {
  plate: ['plate', 'plateid', 'platename', 'barcode'],
  well: ['well', 'wellid', 'wellname'],
  concentration: ['concentration', 'conc', 'dose'],
  unit: ['unit', 'units'],
  series: ['series'],
  drug: ['drug', 'compound', 'treatment'],
  od450: ['od450', 'od', 'absorbance', 'abs', 'od450nm', '450', 'value'],
};

// ------------------------------------------------------------------------------------------ cells

function isNumber(value) {
  return typeof value === 'number';
}

/** A cell as trimmed text; numbers as String(x), booleans TRUE/FALSE, dates "YYYY-MM-DDTHH:MM:SS". */
function text(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (isNumber(value)) return String(value);
  if (value instanceof Date) return value.toISOString().slice(0, 19);
  return String(value).trim();
}

/** Round away float noise of unit conversion (500 nM → 0.5 µM, not 0.5000000001). */
function tidy(um) {
  return Number(um.toPrecision(12));
}

function unitKey(written) {
  if ('µμuU'.includes(written[0])) return 'µM';
  if ('nN'.includes(written[0])) return 'nM';
  return written;
}

function toNumber(written) {
  return Number(written.replaceAll(',', '.'));
}

function controlKind(written) {
  const words = written
    .toLowerCase()
    .replace(/[^a-z0-9%.]+/g, ' ')
    .trim();
  for (const [kind, names] of Object.entries(WORDS)) {
    if (
      names.some((n) =>
        new RegExp(`(?<![a-z])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![a-z])`).test(words),
      )
    )
      return kind;
  }
  return null;
}

function fromNumber(written, number, unit) {
  if (!Number.isFinite(number) || number < 0)
    return { problem: `'${written}' is not a concentration (must be a number ≥ 0)` };
  if (number === 0) return { um: 0, control: 'vehicle' };
  if (unit === null) return { needsUnit: true };
  return { um: tidy(number * TO_UM[unit]), control: null };
}

/** A layout cell → {um, control, drug} | {problem} | {needsUnit}; null for an empty cell (no well). */
function concentration(value, unit) {
  const written = text(value);
  if (written === '' || NO_WELL.includes(written.toLowerCase())) return null;
  if (isNumber(value)) return fromNumber(written, value, unit);
  const m = CELL_RE.exec(written);
  if (m) return fromNumber(written, toNumber(m[1]), m[2] ? unitKey(m[2]) : unit);
  const embedded = [...written.matchAll(EMBEDDED_RE)];
  if (embedded.length === 1) {
    const [e] = embedded;
    const rest = `${written.slice(0, e.index)} ${written.slice(e.index + e[0].length)}`.replace(
      /^[\s,;:@_-]+|[\s,;:@_-]+$/g,
      '',
    );
    const found = fromNumber(written, toNumber(e[1]), unitKey(e[2]));
    return found.problem || !rest ? found : { um: found.um, control: found.control, drug: rest };
  }
  const kind = controlKind(written);
  if (kind !== null) return { um: kind === 'vehicle' || kind === 'untreated' ? 0 : null, control: kind };
  return {
    problem: `'${written}' is not a concentration (write e.g. 0.5, 500 nM, DMSO, untreated, blank or kill)`,
  };
}

/** A reader cell → {od450, flag, text}; null for an empty cell. */
function readerValue(value) {
  const written = text(value);
  if (written === '') return null;
  if (isNumber(value)) return { od450: value, flag: null, text: null };
  if (NUMBER_RE.test(written)) return { od450: toNumber(written), flag: null, text: null };
  if (SATURATED_RE.test(written)) return { od450: null, flag: 'saturated', text: written };
  if (BELOW_RE.test(written)) return { od450: null, flag: 'below_range', text: written };
  return { od450: null, flag: 'invalid', text: written };
}

// ------------------------------------------------------------------------------------------ places

/** 0 → A, 25 → Z, 26 → AA (spreadsheet column names). */
function columnLetters(index) {
  let letters = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26))
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}

function where(source, sheet, severalSheets) {
  return severalSheets ? `${source}, sheet '${sheet.name}'` : source;
}

function cellRef(row, column) {
  return `cell ${columnLetters(column)}${row + 1}`;
}

// ------------------------------------------------------------------------------------------ grids

function headerNumber(value) {
  if (isNumber(value)) return Number.isInteger(value) ? value : null;
  const m = /^0*(\d{1,2})$/.exec(text(value));
  return m ? Number(m[1]) : null;
}

function rowText(row) {
  return row
    .map(text)
    .filter((t) => t)
    .join(' ');
}

function cellAt(rows, r, c) {
  const row = rows[r] ?? [];
  return c < row.length ? row[c] : null;
}

/** [rows, columns] of the labels of a grid whose column-1 header is at (r, c), or null. */
function gridAt(sheet, r, c) {
  const row = sheet.rows[r];
  let nColumns = 0;
  while (c + nColumns < row.length && headerNumber(row[c + nColumns]) === nColumns + 1) nColumns++;
  let nRows = 0;
  while (r + 1 + nRows < sheet.rows.length && nRows < 16) {
    const below = sheet.rows[r + 1 + nRows];
    if (c - 1 >= below.length || text(below[c - 1]).toUpperCase() !== String.fromCharCode(65 + nRows)) break;
    nRows++;
  }
  return nColumns >= 1 && nRows >= 1 ? [nRows, nColumns] : null;
}

function makeGrid(sheet, row, column, nRows, nColumns, above, title) {
  return {
    sheet,
    row,
    column,
    nRows,
    nColumns,
    above,
    title,
    size: nRows * nColumns,
    value: (r, c) => cellAt(sheet.rows, row + 1 + r, column + c),
  };
}

/** Every plate grid of a sheet, top to bottom; grids of another size are reported. */
function findGrids(sheet, place, problems) {
  const grids = [];
  let start = 0;
  let r = 0;
  while (r < sheet.rows.length) {
    let found = null;
    for (let c = 1; c < sheet.rows[r].length && !found; c++) {
      const shape = headerNumber(sheet.rows[r][c]) === 1 ? gridAt(sheet, r, c) : null;
      if (shape) found = [c, ...shape];
    }
    if (!found) {
      r++;
      continue;
    }
    const [c, nRows, nColumns] = found;
    if (!((nRows === 8 && nColumns === 12) || (nRows === 16 && nColumns === 24))) {
      const last = String.fromCharCode(64 + nRows);
      problems.push(
        `${place}, ${cellRef(r, c)}: a grid of rows A–${last} and columns 1–${nColumns} is no plate ` +
          '(a plate grid is A–H × 1–12 or A–P × 1–24)',
      );
      r += 1 + nRows;
      continue;
    }
    const above = sheet.rows
      .slice(start, r)
      .map(rowText)
      .filter((t) => t);
    const corner = text(sheet.rows[r][c - 1]);
    const title = [above.at(-1) ?? '', corner].filter((t) => t).join(' ');
    grids.push(makeGrid(sheet, r, c, nRows, nColumns, above, title));
    r = r + 1 + nRows;
    start = r;
  }
  return grids;
}

function plateNamed(lines) {
  const names = lines.flatMap((line) => [...line.matchAll(PLATE_RE)].map((m) => m[1]));
  return names.length ? names.at(-1) : null;
}

/** {unit} or {problem} from a grid's title; {unit: null} when it names none. */
function titleUnit(title) {
  const units = new Set();
  for (const m of title.matchAll(TITLE_UNIT_RE)) units.add(m[1] ? unitKey(m[1]) : 'M');
  for (const m of title.matchAll(TITLE_MOLAR_RE)) units.add(MOLAR_UNITS[m[1].toLowerCase()]);
  if (units.size > 1)
    return { problem: `the title '${title}' names several units (${[...units].sort().join(', ')})` };
  return { unit: units.size ? [...units][0] : null };
}

function hasTitleUnit(title) {
  return [...title.matchAll(TITLE_UNIT_RE)].length > 0 || [...title.matchAll(TITLE_MOLAR_RE)].length > 0;
}

function role(title) {
  if (CONCENTRATION_TITLE_RE.test(title) || hasTitleUnit(title)) return 'concentration';
  for (const [name, pattern] of LABEL_ROLES) if (pattern.test(title)) return name;
  return 'concentration';
}

/** The plate of each grid (see training/layouts.py). */
function assignPlates(grids, roles, sheetNames, reader) {
  const plates = [];
  const kinds = new Map();
  grids.forEach((grid, i) => {
    let named = plateNamed(grid.above) ?? (sheetNames ? grid.sheet.name : null);
    if (named === null && plates.length) {
      const previous = plates.at(-1);
      if (reader || (grid.sheet === grids[i - 1].sheet && !kinds.get(previous).has(roles[i])))
        named = previous;
    }
    if (named === null) {
      let number = kinds.size + 1;
      while (kinds.has(String(number))) number++;
      named = String(number);
    }
    plates.push(named);
    if (!kinds.has(named)) kinds.set(named, new Set());
    kinds.get(named).add(roles[i]);
  });
  return plates;
}

// ------------------------------------------------------------------------------------------ long rows

function headerKey(written) {
  let unit = null;
  let rest = written;
  const m = /[([_ ](µM|μM|uM|um|nM|mM|pM|M)[)\]]?$/.exec(written);
  if (m) {
    unit = unitKey(m[1]);
    rest = written.slice(0, m.index);
  }
  const key = rest.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const [kind, aliases] of Object.entries(HEADER_ALIASES))
    if (aliases.includes(key)) return [kind, unit];
  return [null, null];
}

function longColumns(header) {
  const columns = {};
  header.forEach((cell, index) => {
    const [kind, unit] = headerKey(text(cell));
    if (kind !== null && !(kind in columns)) columns[kind] = [index, unit];
  });
  return columns;
}

/** The row of a long table's header: the first row with a "well" column (reader lines may precede it). */
function longHeader(sheet) {
  const i = sheet.rows.findIndex((row) => 'well' in longColumns(row));
  return i < 0 ? null : i;
}

function sizeOf(wells) {
  return wells.some((w) => w[0] > 'H' || Number(w.slice(1)) > 12) ? 384 : 96;
}

function newBuilder() {
  return { plates: new Map(), sizes: new Map(), problems: [] };
}

function plateOf(build, label, size = null) {
  if (size !== null && !build.sizes.has(label)) build.sizes.set(label, size);
  if (!build.plates.has(label)) build.plates.set(label, {});
  return build.plates.get(label);
}

function result(build) {
  return {
    plates: [...build.plates].map(([plate, wells]) => ({
      plate,
      size: build.sizes.get(plate) ?? sizeOf(Object.keys(wells)),
      wells,
    })),
    problems: build.problems,
  };
}

/** A layout well {concentration_um, control, series, drug}, or null (empty cell, or a problem reported). */
function layoutWell(value, unit, ref, problems, series, drug) {
  const found = concentration(value, unit);
  if (found === null) return null;
  if (found.needsUnit) {
    problems.push(`${ref}: '${text(value)}' has no unit (write e.g. 10 µM, or give the unit in the header)`);
    return null;
  }
  if (found.problem) {
    problems.push(`${ref}: ${found.problem}`);
    return null;
  }
  return { concentration_um: found.um, control: found.control, series, drug: drug ?? found.drug ?? null };
}

/** The wells of a long table whose header is row `first`. */
function longRows(sheet, first, place, build, reader, unit) {
  const columns = longColumns(sheet.rows[first]);
  const need = reader ? 'od450' : 'concentration';
  if (!(need in columns)) {
    build.problems.push(`${place}: the header row names 'well' but no '${need}' column`);
    return;
  }
  const cell = (row, kind) => (kind in columns ? (row[columns[kind][0]] ?? null) : null);
  for (let r = first + 1; r < sheet.rows.length; r++) {
    const row = sheet.rows[r];
    if (!rowText(row)) continue;
    const wellText = text(cell(row, 'well'));
    const well = wellOfCell(wellText);
    if (well === null) {
      build.problems.push(`${place}, row ${r + 1}: '${wellText}' is not a well (A01–P24)`);
      continue;
    }
    const plate = text(cell(row, 'plate')) || '1';
    const ref = `${place}, ${cellRef(r, columns[need][0])} (well ${well})`;
    let value;
    if (reader) {
      value = readerValue(cell(row, 'od450'));
    } else {
      const rowUnit = text(cell(row, 'unit'));
      if (rowUnit && !new RegExp(`^(?:${UNIT})$`).test(rowUnit)) {
        build.problems.push(`${place}, row ${r + 1}: '${rowUnit}' is not a unit (M, mM, µM, nM, pM)`);
        continue;
      }
      value = layoutWell(
        cell(row, 'concentration'),
        rowUnit ? unitKey(rowUnit) : (columns[need][1] ?? unit),
        ref,
        build.problems,
        text(cell(row, 'series')) || null,
        text(cell(row, 'drug')) || null,
      );
    }
    if (value === null) continue;
    const wells = plateOf(build, plate);
    if (well in wells) {
      build.problems.push(`${place}, row ${r + 1}: well ${well} of plate ${plate} is given twice`);
      continue;
    }
    wells[well] = value;
  }
}

/** A well cell of a long table ("B7", "b07", "B-07") → "B07", as training/manifest.py normalise_well. */
function wellOfCell(written) {
  const m = /^([A-Pa-p])[-_]?(\d{1,3})$/.exec(written.trim());
  return m ? parseWellId(`${m[1].toUpperCase()}${m[2]}`) : null;
}

// ------------------------------------------------------------------------------------------ parse

function wellId(r, c) {
  return formatWell(String.fromCharCode(65 + r), c + 1);
}

function severalSheetsOf(grids) {
  return new Set(grids.map((g) => g.sheet)).size > 1;
}

function layoutGrids(grids, source, several, build, unit) {
  const roles = grids.map((g) => role(g.title));
  const plates = assignPlates(grids, roles, severalSheetsOf(grids), false);
  const byPlate = new Map();
  grids.forEach((grid, i) => {
    if (!byPlate.has(plates[i])) byPlate.set(plates[i], new Map());
    const kinds = byPlate.get(plates[i]);
    if (!kinds.has(roles[i])) kinds.set(roles[i], []);
    kinds.get(roles[i]).push(grid);
  });
  for (const [plate, kinds] of byPlate) {
    const place = where(source, [...kinds.values()][0][0].sheet, several);
    const doubled = [...kinds].find(([, found]) => found.length > 1);
    if (doubled) {
      const rows = doubled[1].map((g) => g.row + 1).join(', ');
      build.problems.push(
        `${place}: plate ${plate} has ${doubled[1].length} ${doubled[0]} grids (rows ${rows})`,
      );
      continue;
    }
    if (!kinds.has('concentration')) {
      build.problems.push(`${place}: plate ${plate} has no concentration grid`);
      continue;
    }
    const sizes = [...new Set([...kinds.values()].map(([g]) => g.size))].sort((a, b) => a - b);
    if (sizes.length > 1) {
      build.problems.push(`${place}: the grids of plate ${plate} differ in size (${sizes.join(', ')})`);
      continue;
    }
    fillLayoutPlate(plate, new Map([...kinds].map(([k, [g]]) => [k, g])), source, several, build, unit);
  }
}

function fillLayoutPlate(plate, grids, source, several, build, unit) {
  const grid = grids.get('concentration');
  const place = where(source, grid.sheet, several);
  const found = titleUnit(grid.title);
  if (found.problem) {
    build.problems.push(`${place}, plate ${plate}: ${found.problem}`);
    return;
  }
  const gridUnit = found.unit ?? unit;
  const wells = plateOf(build, plate, grid.size);
  const bare = [];
  for (let r = 0; r < grid.nRows; r++) {
    for (let c = 0; c < grid.nColumns; c++) {
      const well = wellId(r, c);
      const ref = `${place}, ${cellRef(grid.row + 1 + r, grid.column + c)} (well ${well})`;
      const labels = {};
      for (const [kind, g] of grids) if (kind !== 'concentration') labels[kind] = text(g.value(r, c)) || null;
      const parsed = concentration(grid.value(r, c), gridUnit);
      if (parsed?.needsUnit) {
        bare.push(well);
        continue;
      }
      const value = layoutWell(
        grid.value(r, c),
        gridUnit,
        ref,
        build.problems,
        labels.series ?? null,
        labels.drug ?? null,
      );
      if (value !== null) wells[well] = value;
    }
  }
  if (bare.length)
    build.problems.push(
      `${place}, plate ${plate}: ${bare.length} wells (${bare[0]}…) hold bare numbers and the grid names no ` +
        "unit: write it in the title above the grid (e.g. 'Concentration (µM)') or in each cell (10 µM)",
    );
}

function readerGrids(grids, source, several, build) {
  const plates = assignPlates(
    grids,
    grids.map(() => 'od450'),
    severalSheetsOf(grids),
    true,
  );
  const byPlate = new Map();
  grids.forEach((grid, i) => {
    if (!byPlate.has(plates[i])) byPlate.set(plates[i], []);
    byPlate.get(plates[i]).push(grid);
  });
  for (const [plate, all] of byPlate) {
    let found = all;
    if (found.length > 1) {
      const at450 = found.filter((g) => [...g.above, g.title].join(' ').includes('450'));
      if (at450.length !== 1) {
        const rows = found.map((g) => g.row + 1).join(', ');
        build.problems.push(
          `${where(source, found[0].sheet, several)}: plate ${plate} has ${found.length} grids (rows ${rows}) ` +
            'and not exactly one of them says 450: keep only the OD450 grid',
        );
        continue;
      }
      found = at450;
    }
    const [grid] = found;
    const wells = plateOf(build, plate, grid.size);
    for (let r = 0; r < grid.nRows; r++) {
      for (let c = 0; c < grid.nColumns; c++) {
        const value = readerValue(grid.value(r, c));
        if (value !== null) wells[wellId(r, c)] = value;
      }
    }
  }
}

function parse(sheets, source, reader, unit) {
  const build = newBuilder();
  const several = sheets.length > 1;
  const grids = [];
  let tables = 0;
  for (const sheet of sheets) {
    // A sheet holds grids or, failing them, a long table.
    const place = where(source, sheet, several);
    const found = findGrids(sheet, place, build.problems);
    const header = found.length ? null : longHeader(sheet);
    if (header !== null) {
      tables++;
      longRows(sheet, header, place, build, reader, unit);
    }
    grids.push(...found);
  }
  if (reader) readerGrids(grids, source, several, build);
  else layoutGrids(grids, source, several, build, unit);
  if (!tables && !grids.length) {
    const what = reader ? 'OD450' : 'concentration';
    const size = 'rows A–H down and columns 1–12 across (or A–P, 1–24)';
    build.problems.push(
      `${source}: no plate grid (${size}) and no long table (a header row with 'well' and '${what}')`,
    );
  }
  return result(build);
}

/**
 * The plate layout(s) a file's sheets describe.
 *
 * @param {{name: string, rows: Array<Array<string|number|boolean|Date|null>>}[]} sheets  from readSheets
 * @param {{source: string, unit?: string|null}} options  source: the file's name, for the problems; unit:
 *   of bare numbers when the file names none ("uM", "nM" …); without it such numbers are a problem
 * @returns {{plates: {plate: string, size: number, wells: Object<string, {concentration_um: number|null,
 *   control: string|null, series: string|null, drug: string|null}>}[], problems: string[]}}
 *   plates in file order; concentration_um in µM (null for blank and kill wells)
 * @throws {RangeError}  only for a unit option that is no unit (a programmer's error)
 */
export function parseLayout(sheets, { source, unit = null }) {
  if (unit !== null && !new RegExp(`^(?:${UNIT})$`).test(unit))
    throw new RangeError(`unit must be one of M, mM, µM, uM, nM, pM; got ${JSON.stringify(unit)}`);
  return parse(sheets, source, false, unit === null ? null : unitKey(unit));
}

/**
 * The OD450 values of a plate reader's export.
 *
 * @param {{name: string, rows: Array<Array<*>>}[]} sheets  from readSheets
 * @param {{source: string}} options
 * @returns {{plates: {plate: string, size: number, wells: Object<string, {od450: number|null,
 *   flag: null|'saturated'|'below_range'|'invalid', text: string|null}>}[], problems: string[]}}
 */
export function parseReader(sheets, { source }) {
  return parse(sheets, source, true, null);
}

// ------------------------------------------------------------------------------------------ files

/** Tab, semicolon or comma: the first of them that some line (outside quotes) holds twice. */
function delimiter(csvText) {
  const lines = csvText.split(/\r\n|\n|\r/).map((line) => line.replace(/"[^"]*"/g, ''));
  for (const d of ['\t', ';', ',']) if (lines.some((line) => line.split(d).length - 1 >= 2)) return d;
  return ',';
}

/**
 * Rows of a CSV/TSV text, as Python's csv module reads them (quotes as RFC 4180), cells trimmed.
 *
 * @param {string} csvText
 * @returns {string[][]}
 */
export function parseCsvText(csvText) {
  const source = csvText.replace(/^\ufeff/, '');
  const sep = delimiter(source);
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  let started = false; // the current line has a cell (even an empty one)
  const endCell = () => {
    row.push(cell.trim());
    cell = '';
  };
  const endRow = () => {
    if (started || cell !== '') endCell();
    rows.push(row);
    row = [];
    started = false;
  };
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (quoted) {
      if (ch === '"' && source[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === '') {
      quoted = true;
      started = true;
    } else if (ch === sep) {
      endCell();
      started = true;
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && source[i + 1] === '\n') i++;
      endRow();
    } else cell += ch;
  }
  if (started || cell !== '') endRow();
  return rows;
}

function decode(bytes) {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    return new TextDecoder(bytes[0] === 0xff ? 'utf-16le' : 'utf-16be').decode(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

async function readXlsx(buffer) {
  if (!globalThis.readXlsxFile) await import('../vendor/read-excel-file.min.js'); // UMD: sets readXlsxFile
  const sheets = await globalThis.readXlsxFile(buffer);
  return sheets.map(({ sheet, data }) => ({ name: sheet, rows: data }));
}

/**
 * The sheets of a CSV/TSV/TXT or XLSX file, and the problems reading it (never throws on its content).
 *
 * @param {{name: string, arrayBuffer: () => Promise<ArrayBuffer>}} file  a File
 * @returns {Promise<{sheets: {name: string, rows: Array<Array<*>>}[], problems: string[]}>}
 */
export async function readSheets(file) {
  const suffix = (/\.[^.]+$/.exec(file.name)?.[0] ?? '').toLowerCase();
  try {
    if (['.csv', '.tsv', '.txt'].includes(suffix)) {
      const rows = parseCsvText(decode(new Uint8Array(await file.arrayBuffer())));
      return { sheets: [{ name: file.name, rows }], problems: [] };
    }
    if (suffix === '.xlsx') return { sheets: await readXlsx(await file.arrayBuffer()), problems: [] };
  } catch (error) {
    return { sheets: [], problems: [`${file.name}: cannot be read (${error.message ?? error})`] };
  }
  if (suffix === '.xls')
    return {
      sheets: [],
      problems: [`${file.name}: the old Excel format (.xls) is not read; save it as .xlsx or CSV`],
    };
  return { sheets: [], problems: [`${file.name}: not a CSV, TSV, TXT or XLSX file`] };
}

// ------------------------------------------------------------------------------------------ template

const TEMPLATE_NOTE =
  'nostain plate layout: one concentration grid per plate, in the unit of its title (or write the unit ' +
  'in a cell: 500 nM). DMSO or vehicle (or 0) = vehicle control; untreated; blank = no cells; kill = ' +
  "killed-cell control; an empty cell = no well. The series grid (optional) names each well's dilution " +
  "series; add a 'drug' grid the same way if the plate holds several drugs.";

function csvLine(cells) {
  return cells.map((c) => (/[,"\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',');
}

/**
 * The CSV text of an empty layout (concentration and series grids) to download and fill in.
 *
 * @param {96|384} nWells
 * @returns {string}
 * @throws {RangeError}  for another plate size (a programmer's error)
 */
export function layoutTemplate(nWells) {
  const shapes = { 96: [8, 12], 384: [16, 24] };
  if (!(nWells in shapes)) throw new RangeError(`nWells must be 96 or 384; got ${nWells}`);
  const [nRows, nColumns] = shapes[nWells];
  const numbers = Array.from({ length: nColumns }, (_, i) => String(i + 1));
  const lines = [csvLine([TEMPLATE_NOTE])];
  for (const title of ['Plate 1 - concentration (µM)', 'Plate 1 - series']) {
    lines.push('', title, csvLine(['', ...numbers]));
    for (let r = 0; r < nRows; r++)
      lines.push(csvLine([String.fromCharCode(65 + r), ...Array(nColumns).fill('')]));
  }
  return `${lines.join('\r\n')}\r\n`;
}

// A drop of files into the session: its plate layouts and .HTD channel names are read, its images are
// grouped into wells (plate-import.js) and sorted into curves as the layout says (plate-curves.js), and each
// file that cannot be used is kept with its reason (imports.js). Works on main.js's session state; no DOM.
import { newImport } from './imports.js';
import { parseHtdChannelNames } from './instruments.js';
import { parseLayout, readSheets } from './layouts.js';
import { arrangeCurves } from './plate-curves.js';
import { planImport, sortDrop } from './plate-import.js';
import * as session from './session.js';

const NOT_IMAGE =
  'neither an image (TIFF, PNG, JPEG, BMP, WebP, GIF) nor a plate layout (CSV, TSV, TXT, XLSX) by its name';

/** Files are the same when their path, size and date are: a file dropped twice is scored once. */
const fileKey = (path, file) => `${path}|${file.size}|${file.lastModified}`;

function plateSummary(plates) {
  return plates.map((p) => `plate ${p.plate}: ${Object.keys(p.wells).length} of ${p.size} wells`).join('; ');
}

/**
 * The images already dropped on a curve, by fileKey → the curve holding them: its own, and those of the
 * curves that drops on it made (a drop of a plate with two series fills two curves).
 */
function knownImages(state, target) {
  const mine = new Set(
    state.imports.filter((r) => r.targetCurveId === target.id).flatMap((r) => [...r.records.values()]),
  );
  const known = new Map();
  for (const curve of state.curves)
    for (const image of curve.wells)
      if (curve === target || mine.has(image)) known.set(fileKey(image.path, image.file), curve);
  return known;
}

/**
 * Read a drop: its layouts (the session's layout becomes theirs), its channel names, and which of its
 * images are new to the curve it was dropped on (the same files dropped on another curve are another read
 * of the plate).
 *
 * @param {{imports: object[], curves: object[], layout: {sources: string[], plates: object[]},
 *   nextImportId: number}} state  main.js's session state (nextImportId and layout are updated)
 * @param {{files: {file: File, path: string}[], unreadable: {path: string, reason: string}[]}} drop
 *   dropped.js's files
 * @param {object} target  the curve it was dropped on
 * @returns {Promise<object>}  the import record (imports.js newImport), with `newLayout`: whether the drop
 *   held a layout the session now uses
 */
export async function readDrop(state, { files, unreadable }, target) {
  const record = newImport(state.nextImportId++, files.length + unreadable.length);
  record.left.push(...unreadable.map(({ path, reason }) => ({ path, kind: 'corrupt', reason })));
  const sorted = sortDrop(files);
  for (const { path } of sorted.others) record.left.push({ path, kind: 'not_image', reason: NOT_IMAGE });
  for (const { file, path } of sorted.channelNames) {
    const names = parseHtdChannelNames(await file.text());
    Object.assign(record.channelNames, names);
    const said = Object.entries(names).map(([index, name]) => `w${index} = ${name}`);
    record.left.push({
      path,
      kind: 'channel_names',
      reason: `names the channels: ${said.join(', ') || 'none'}`,
    });
  }
  const plates = [];
  const sources = [];
  record.targetCurveId = target.id;
  for (const { file, path } of sorted.sheets) {
    const read = await readSheets(file);
    const layout = read.problems.length
      ? { plates: [], problems: read.problems }
      : parseLayout(read.sheets, { source: file.name });
    if (!layout.plates.length) {
      record.left.push({ path, kind: 'unreadable_layout', reason: layout.problems.join('; ') });
      continue;
    }
    plates.push(...layout.plates.map((p) => ({ ...p, source: file.name })));
    sources.push(file.name);
    record.notes.push(...layout.problems);
    record.left.push({ path, kind: 'layout', reason: plateSummary(layout.plates) });
  }
  record.newLayout = plates.length > 0;
  if (record.newLayout) state.layout = { sources, plates };
  const known = knownImages(state, target);
  for (const entry of sorted.images) {
    const curve = known.get(fileKey(entry.path, entry.file));
    if (curve) record.left.push({ path: entry.path, kind: 'duplicate', reason: `already in ${curve.label}` });
    else record.images.push(entry);
  }
  return record;
}

/** The session's image record for a planned image: the one placed before (unless it is being scored). */
function recordFor(state, record, image) {
  const before = record.records.get(image.path);
  const where = { site: image.site, plate: image.plate, layoutWell: image.layoutWell };
  if (before && before.status !== 'scoring') return session.placeWell(before, where);
  const made = session.newWell({ id: state.nextWellId++, file: image.file, path: image.path, ...where });
  made.importId = record.id;
  return made;
}

/**
 * Put an import's images into curves: one per plate, series and time point (plate-curves.js); a drop that
 * makes a single curve without a plate, series or time goes into the curve it was dropped on. Placing an
 * import again (after a channel choice or a new layout) first takes its images out of the session.
 *
 * @param {object} state  main.js's session state (curves, layout, nextWellId)
 * @param {object} record  readDrop's record, with `targetCurveId`: the curve it was dropped on
 * @param {(spec: object) => object} makeCurve  a new curve of the session for a plate-curves.js spec
 * @returns {object[]}  the curves that received its images, in the layout's order (made for it, or the one
 *   it was dropped on)
 */
export function placeImport(state, record, makeCurve) {
  const previous = [...record.records.values()];
  const gone = new Set(previous);
  for (const curve of state.curves) curve.wells = curve.wells.filter((w) => !gone.has(w));
  state.curves = state.curves.filter((c) => c.wells.length || !record.curveIds.includes(c.id));
  const plan = planImport(record.images, {
    channelNames: record.channelNames,
    brightField: record.brightField,
  });
  const arranged = arrangeCurves(plan.images, state.layout.plates);
  record.plan = plan;
  record.layoutUsed = state.layout.plates.length > 0;
  record.placeLeft = [...plan.left, ...arranged.left];
  record.placeNotes = arranged.notes;
  const records = new Map();
  const recordOf = (image) => {
    if (!records.has(image.path)) records.set(image.path, recordFor(state, record, image));
    return records.get(image.path);
  };
  const target = state.curves.find((c) => c.id === record.targetCurveId) ?? state.curves[0];
  const created = [];
  const filled = [];
  arranged.curves.forEach((spec, i) => {
    const alone = arranged.curves.length === 1 && !spec.label;
    const curve = alone || (i === 0 && !target.wells.length) ? target : makeCurve(spec);
    if (curve !== target || !alone) {
      Object.assign(curve, {
        label: spec.label || curve.label,
        readTimeH: spec.readTimeH,
        course: spec.course,
      });
      if (spec.drug) curve.drug = spec.drug;
      if (curve !== target) created.push(curve);
    }
    curve.wells.push(...spec.images.map(recordOf));
    if (!filled.includes(curve)) filled.push(curve);
  });
  record.records = records;
  record.curveIds = created.map((c) => c.id);
  return filled;
}

// The session's data: curves, their wells and fits, and the requests sent to /api/fit, /api/report.csv (.zip)
// and /api/timecourse. Pure functions on plain objects (no DOM, no TF.js, no fetch), so the page's logic can
// be tested alone.
//
// A curve's `wells` are its image records, one per file, as the scorer and the trust check see them; the
// images of one plate and well ID that an instrument named are one well's fields (well-fields.js), and every
// request here is made of wells (plateWells): a well's OD450 is the mean of its fields'.
import {
  groupReplicates,
  parseNameConcentration,
  parseWellId,
  plateMapConcentrations,
  wellConcentration,
} from './concentrations.js';
import { fieldFlags, groupFields, wellName } from './well-fields.js';

/** The server's limits these functions obey (the page's `nostain-config`, or GET /api/limits). */
const LIMIT_KEYS = ['max_label_length', 'max_well_id_length', 'max_flags_per_well', 'max_notes_per_curve'];

/**
 * Check the server's request limits before the session uses them.
 *
 * @param {object} limits  the `limits` object of the page config (app: GET /api/limits), e.g.
 *   {max_label_length: 200, max_well_id_length: 12, max_flags_per_well: 20, max_notes_per_curve: 20, …}
 * @returns {object}  the same object
 * @throws {TypeError}  naming the first limit that is missing or not a positive integer
 */
export function checkLimits(limits) {
  for (const key of LIMIT_KEYS) {
    const value = limits?.[key];
    if (!Number.isInteger(value) || value < 1)
      throw new TypeError(`the server's limits lack ${key} (got ${JSON.stringify(value)})`);
  }
  return limits;
}

/** Control kinds the user can give a well in the table; vehicle wells are the wells at 0 µM. */
export const CONTROL_KINDS = ['blank', 'kill'];

/** Text cut to `n` characters (the last one an ellipsis), so the server accepts it. */
const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** The card fields a report names: {id, name, version, synthetic}. */
export function modelRef(card) {
  if (!card) return null;
  return {
    id: card.id ?? null,
    name: card.name ?? null,
    version: card.version ?? null,
    synthetic: card.synthetic ?? null,
  };
}

/**
 * A new, empty curve.
 *
 * @param {{id: number, card?: object|null, label?: string}} options
 */
export function newCurve({ id, card = null, label = '' }) {
  return {
    id,
    label: label || `curve ${id}`,
    cellLine: card?.cell_line ?? '',
    drug: card?.drug ?? '',
    model: modelRef(card),
    wells: [],
    plateMap: null, // {axis, mode, topUm, factor, doseLines, controlLines, highestFirst, values} or null
    fixTop: null,
    fixBottom: null,
    fit: null, // the /api/fit result of fitKey
    fitKey: null,
    fitError: null,
    notes: [], // plain-words notes for the report (e.g. a warning that the images do not fit the model)
    readTimeH: null, // hours after treatment the plate was read (time courses, GR); null = not given
    course: null, // the key shared by the reads of one plate (and series) at several times; null = manual
    imageOptions: null, // {plane, window} the lab chose for its images (image-options.js); null = defaults
  };
}

/** Control kinds a plate layout can give a well that the page marks as such (vehicle wells are at 0 µM). */
const LAYOUT_CONTROLS = new Set(CONTROL_KINDS);

/**
 * A new image record for a file: its name parsed for a concentration and a well ID. A file with a plain name
 * is a well; an instrument's images of one plate and well are that well's fields.
 *
 * @param {{id: number, file: File, path?: string, site?: object|null, plate?: string|null,
 *   layoutWell?: object|null}} options  path: inside the drop; site: what an instrument's name says
 *   (instruments.js parseInstrumentPath: well, field, channel, time); plate: the plate label; layoutWell: the
 *   plate layout's entry for the well ({concentration_um, control, series, drug}, layouts.js)
 */
export function newWell({ id, file, path = null, site = null, plate = null, layoutWell = null }) {
  const well = {
    id,
    file,
    name: file.name,
    path: path ?? file.name,
    fieldLeftOut: false, // the person left this field out of its well's mean
    importId: null, // the drop it came with (importer.js)
    nameConc: parseNameConcentration(file.name), // {um, text, error}
    typedUm: null, // a concentration typed in the table overrides the rest
    status: 'queued', // queued | scoring | done | problem | error
    od450: null,
    features: null, // Float32Array (F,): pooled backbone features (for out-of-distribution checks)
    thumb: null, // {rgba, width, height} once scored (worker.js thumbnail)
    width: null,
    height: null,
    warnings: [],
    stats: null, // image statistics of the model input (ood.js imageStats)
    judgement: null, // ood.js judgeWell against the curve's model, and `judgedWith`: that model's id
    judgedWith: null,
    trustFlags: [], // plain-words out-of-distribution flags (judgement.flags)
    problem: null, // {kind, message, channels} for files that cannot be scored (channels: 'choose_channel')
    channel: null, // the in-file channel (index from 0) the lab chose as bright field; null = the file's own
    image: null, // what the worker read: {window, data_window, selection, …} (worker.js `image`)
    scoredWith: null, // the worker options {plane, channel, window} it was last scored with
    excluded: false,
    control: null, // 'blank' | 'kill' | null (a treated well, or vehicle at 0 µM)
    outlierExempt: false, // the user undid the outlier test's flag: it stays in the fit
    outlierReason: null, // why the outlier test flagged it, kept when the user accepts the flag
    timings: null,
  };
  return placeWell(well, { site, plate, layoutWell });
}

/**
 * Say where an image record sits: its plate, well and field, and the layout's entry for the well (a drop
 * placed again, after a channel choice or a layout, moves its images). A layout's blank or kill well is
 * marked as such.
 *
 * @param {object} well  an image record (newWell)
 * @param {{site?: object|null, plate?: string|null, layoutWell?: object|null}} where  as newWell's options
 * @returns {object}  the same record
 */
export function placeWell(well, { site = null, plate = null, layoutWell = null }) {
  const fromLayout = (entry) => (LAYOUT_CONTROLS.has(entry?.control) ? entry.control : null);
  // A kind the person chose stays; one the previous layout gave goes with that layout.
  const chosen = well.control && well.control !== fromLayout(well.layoutWell) ? well.control : null;
  return Object.assign(well, {
    site,
    plate: plate ?? '', // '' = one plate
    well: site?.well ?? parseWellId(well.name) ?? '',
    field: site?.field ?? null,
    layoutWell,
    control: fromLayout(layoutWell) ?? chosen,
  });
}

/** Reset a well's prediction (e.g. when the model changes). */
export function resetPrediction(well) {
  Object.assign(well, {
    status: 'queued',
    od450: null,
    features: null,
    warnings: [],
    stats: null,
    judgement: null,
    judgedWith: null,
    trustFlags: [],
    problem: null,
    timings: null,
  });
}

/**
 * The plate map's concentration per line (column or row), or an error in words.
 *
 * @returns {{lines: Map<number, number>|null, error: string|null}}
 */
export function plateLines(curve) {
  if (!curve.plateMap) return { lines: null, error: null };
  try {
    return { lines: plateMapConcentrations(curve.plateMap), error: null };
  } catch (err) {
    return { lines: null, error: err.message };
  }
}

/**
 * Where a well's concentration comes from: typed > file name > plate layout > plate map (via its well ID).
 *
 * @param {object} well  the well's image record (its first field's: plateWells `rep`)
 * @returns {{um: number|null, source: 'typed'|'file name'|'layout'|'plate map'|null, note: string|null}}
 *   note explains a missing concentration or a disagreement between the file name and the layout or map
 */
export function concentrationOf(well, curve, lines = plateLines(curve).lines) {
  const axis = curve.plateMap?.axis ?? 'column';
  const fromLayout = well.layoutWell?.concentration_um ?? null;
  const fromMap = lines && well.well ? wellConcentration(well.well, lines, axis) : null;
  const [fromPlate, plateSource] = fromLayout !== null ? [fromLayout, 'layout'] : [fromMap, 'plate map'];
  if (well.typedUm !== null) return { um: well.typedUm, source: 'typed', note: null };
  if (well.nameConc.um !== null) {
    const disagree =
      fromPlate !== null && Math.abs(fromPlate - well.nameConc.um) > 1e-9 * Math.max(1, fromPlate);
    return {
      um: well.nameConc.um,
      source: 'file name',
      note: disagree ? `the ${plateSource} says ${fromPlate} µM for ${well.well}; the file name wins` : null,
    };
  }
  if (fromPlate !== null) return { um: fromPlate, source: plateSource, note: null };
  let note = 'no concentration: type it, or name it in the file name (e.g. _0.5uM_)';
  if (well.nameConc.error) note = `no concentration: ${well.nameConc.error}`;
  else if (well.well && lines) note = `no concentration: the plate map does not cover well ${well.well}`;
  else if (well.well) note = `no concentration: well ${well.well} found in the name; set a plate map`;
  return { um: null, source: null, note };
}

/**
 * The curve's wells: its images grouped into wells (an instrument's fields of one well are one well).
 *
 * @param {object} curve
 * @returns {object[]}  well-fields.js groupFields, each with `name` (well-fields.js wellName)
 */
export function plateWells(curve) {
  return groupFields(curve.wells).map((group) => ({ ...group, name: wellName(group) }));
}

/** The key that matches a well across reads of its plate: plate and well ID (the well ID alone without plate). */
export function readKey(well) {
  return well.plate ? `${well.plate}|${well.well}` : well.well;
}

/**
 * Wells with a prediction and a concentration, or marked blank/kill (whose concentration is not used):
 * {well, od450, group, um, source, note}[] (excluded ones included). `well` is the image record holding the
 * well's state (its first field), `od450` the mean of its used fields, `group` the plateWells entry.
 */
export function scoredWells(curve) {
  const { lines } = plateLines(curve);
  return plateWells(curve)
    .filter((group) => group.status === 'done')
    .map((group) => {
      const w = group.rep;
      const base = { well: w, od450: group.od450, group };
      const c = concentrationOf(w, curve, lines);
      return w.control && c.um === null
        ? { ...base, um: 0, source: 'control', note: null }
        : { ...base, ...c };
    })
    .filter((x) => x.um !== null);
}

/** The wells /api/fit gets, in request order: the scored wells the user did not exclude. */
export function fittedWells(curve) {
  return scoredWells(curve).filter((x) => !x.well.excluded);
}

/**
 * The curve as /api/fit wants it (non-excluded wells), or null when nothing can be fitted yet. Control
 * kinds, well IDs, the wells the user kept despite the outlier test, and time-zero reads are sent only when
 * some well has one.
 *
 * @param {object} curve
 * @param {object} limits  see checkLimits
 * @param {Map<string, number>|null} [timeZero]  readKey → OD450 at the time of treatment (timeZeroReads)
 * @returns {{label: string, concentrations_um: number[], responses: number[], fix_top: number|null,
 *   fix_bottom: number|null, controls?: (string|null)[], well_ids?: string[], plates?: string[],
 *   outlier_exempt?: boolean[], time_zero?: (number|null)[]}|null}
 */
export function fitRequestCurve(curve, limits, timeZero = null) {
  const kept = fittedWells(curve);
  if (!kept.length) return null;
  const request = {
    label: clip(curve.label, limits.max_label_length),
    concentrations_um: kept.map((x) => x.um),
    responses: kept.map((x) => x.od450),
    fix_top: curve.fixTop,
    fix_bottom: curve.fixBottom,
  };
  const wells = kept.map((x) => x.well);
  if (wells.some((w) => w.control)) request.controls = wells.map((w) => w.control);
  if (wells.some((w) => w.well))
    request.well_ids = wells.map((w) => w.well.slice(0, limits.max_well_id_length));
  if (wells.some((w) => w.plate)) request.plates = wells.map((w) => clip(w.plate, limits.max_label_length));
  if (wells.some((w) => w.outlierExempt)) request.outlier_exempt = wells.map((w) => w.outlierExempt);
  const zero = timeZero ? wells.map((w) => timeZero.get(readKey(w)) ?? null) : [];
  if (zero.some((v) => v !== null)) request.time_zero = zero;
  return request;
}

/**
 * The /api/fit job of a curve: its request (with time-zero reads from the session) and the key that says
 * whether a fit result belongs to the curve's current data and the page's analysis options.
 *
 * @param {object} curve
 * @param {object[]} curves  the session's curves (for a time-zero read of the same plate)
 * @param {object} limits  see checkLimits
 * @param {object} options  the request's analysis options (results.js fitOptions)
 * @returns {{request: object, key: string}|null}  null when nothing can be fitted yet
 */
export function fitJob(curve, curves, limits, options) {
  const request = fitRequestCurve(curve, limits, timeZeroReads(curve, curves));
  return request ? { request, key: JSON.stringify([request, options]) } : null;
}

/** Replicates per concentration of the non-excluded scored wells that are not blank or kill controls. */
export function replicates(curve) {
  return groupReplicates(
    fittedWells(curve)
      .filter((x) => !x.well.control)
      .map((x) => ({ um: x.um, value: x.od450 })),
  );
}

/** The scored wells of a curve that have a well ID, by readKey: {well (rep), od450}. */
function readsByKey(curve) {
  return new Map(
    plateWells(curve)
      .filter((g) => g.status === 'done' && g.rep.well)
      .map((g) => [readKey(g.rep), { well: g.rep, od450: g.od450 }]),
  );
}

/**
 * The same plate read at the time of treatment: another curve of the session (of the same course) read at
 * 0 h, when this one was read later. Wells are matched by plate and well ID (readKey).
 *
 * @param {object} curve
 * @param {object[]} curves  the session's curves
 * @returns {Map<string, number>|null}  readKey → predicted OD450 at time zero
 */
export function timeZeroReads(curve, curves) {
  if (!(curve.readTimeH > 0)) return null;
  const zero = curves.find((c) => c !== curve && c.readTimeH === 0 && c.course === curve.course);
  if (!zero) return null;
  const reads = new Map([...readsByKey(zero)].map(([key, read]) => [key, read.od450]));
  return reads.size ? reads : null;
}

/**
 * One plate read at several times (the curves with a read time, matched by plate and well ID) as
 * /api/timecourse wants it, or null when fewer than two reads share wells. Concentrations and controls come
 * from the latest read.
 *
 * @param {object[]} curves  the reads of one course (courseOf)
 * @param {object} limits  see checkLimits
 * @returns {{label: string, times_h: number[], concentrations_um: number[], values: number[][],
 *   controls: (string|null)[], well_ids: string[], blank_level?: number}|null}
 */
export function timeCourseRequest(curves, limits) {
  const reads = curves
    .filter((c) => c.readTimeH !== null && c.readTimeH >= 0)
    .sort((a, b) => a.readTimeH - b.readTimeH);
  const times = [...new Set(reads.map((c) => c.readTimeH))];
  if (times.length < 2 || times.length !== reads.length) return null;
  const byWell = reads.map(readsByKey);
  const last = reads[reads.length - 1];
  const layout = new Map(
    scoredWells(last)
      .filter((x) => x.well.well)
      .map((x) => [readKey(x.well), x]),
  );
  const ids = [...layout.keys()].filter((id) => byWell.every((m) => m.has(id)));
  if (!ids.some((id) => layout.get(id).um === 0 && !layout.get(id).well.control)) return null;
  const request = {
    label: clip(last.label, limits.max_label_length),
    times_h: times,
    concentrations_um: ids.map((id) => layout.get(id).um),
    values: byWell.map((m) => ids.map((id) => m.get(id).od450)),
    controls: ids.map((id) => layout.get(id).well.control),
    well_ids: ids.map((id) => layout.get(id).well.well.slice(0, limits.max_well_id_length)),
  };
  if (!request.controls.some(Boolean)) request.blank_level = 0;
  return request;
}

/**
 * The curves read with `curve` over time: the session's curves of its course (an instrument's time points of
 * one plate and series), or every curve without a course for curves put together by hand.
 *
 * @param {object} curve
 * @param {object[]} curves  the session's curves
 * @returns {object[]}
 */
export function courseOf(curve, curves) {
  return curves.filter((c) => c.course === (curve?.course ?? null));
}

/**
 * The flags a well carries into the report (its fields', concentration source, notes).
 *
 * @param {{well: object, group?: object, source: string|null, note: string|null}} entry  from scoredWells
 * @param {object} limits  see checkLimits
 * @returns {string[]}
 */
export function wellFlags(entry, limits) {
  const flags = fieldFlags(entry.group ?? { images: [entry.well], used: [entry.well] });
  if (entry.well.excluded && entry.well.outlierReason)
    flags.push(`excluded as an outlier (ROUT-like test, accepted): ${entry.well.outlierReason}`);
  if (entry.well.outlierExempt) flags.push('flagged by the outlier test; kept in the fit by the user');
  if (entry.source) flags.push(`concentration from ${entry.source}`);
  if (entry.note) flags.push(entry.note);
  return flags.slice(0, limits.max_flags_per_well).map((f) => clip(f, limits.max_label_length));
}

/**
 * One curve of the /api/report.csv request, or the reason it cannot be reported.
 *
 * @param {object} curve
 * @param {object} limits  see checkLimits
 * @param {Map<string, number>|null} [timeZero]  readKey → OD450 at the time of treatment (timeZeroReads)
 * @returns {{curve: object|null, skipped: string|null}}
 */
export function reportCurve(curve, limits, timeZero = null) {
  const label = (text) => clip(text, limits.max_label_length);
  const entries = scoredWells(curve);
  if (!entries.length) return { curve: null, skipped: `${curve.label}: no scored well with a concentration` };
  if (entries.every((e) => e.well.excluded))
    return { curve: null, skipped: `${curve.label}: every well is excluded` };
  const reported = new Set(entries.map((e) => e.group.key));
  const left = plateWells(curve).filter((g) => !reported.has(g.key));
  const notes = [...curve.notes];
  if (curve.trustWarning) notes.unshift(curve.trustWarning.note);
  if (left.length) {
    notes.push(
      label(
        `${left.reduce((n, g) => n + g.images.length, 0)} image(s) not in the fit: ` +
          left
            .map((g) => `${g.name} (${g.problem ?? (g.status === 'done' ? 'no concentration' : g.status)})`)
            .join('; '),
      ),
    );
  }
  return {
    skipped: null,
    curve: {
      label: label(curve.label),
      cell_line: label(curve.cellLine),
      drug: label(curve.drug),
      model: curve.model,
      wells: entries.map((e) => ({
        image: label(
          e.group.images.length === 1
            ? e.well.name
            : `${e.group.images.length} fields: ${e.group.images.map((i) => i.name).join(', ')}`,
        ),
        well: e.well.well.slice(0, limits.max_well_id_length),
        plate: label(e.well.plate),
        concentration_um: e.um,
        od450: e.od450,
        excluded: e.well.excluded,
        flags: wellFlags(e, limits),
        control: e.well.control,
        outlier_exempt: e.well.outlierExempt,
        time_zero_od450: timeZero?.get(readKey(e.well)) ?? null,
      })),
      fix_top: curve.fixTop,
      fix_bottom: curve.fixBottom,
      notes: notes.slice(0, limits.max_notes_per_curve).map(label),
    },
  };
}

/**
 * Counts for the progress line: images {total, queued, scoring, done, problems}, and wells {wells,
 * missingConc} (wells without a concentration, among those not given up as problems and not blank/kill).
 */
export function curveCounts(curve) {
  const { lines } = plateLines(curve);
  const groups = plateWells(curve);
  const counts = {
    total: curve.wells.length,
    queued: 0,
    scoring: 0,
    done: 0,
    problems: 0,
    wells: groups.length,
    missingConc: 0,
  };
  for (const w of curve.wells) {
    if (w.status === 'queued') counts.queued++;
    else if (w.status === 'scoring') counts.scoring++;
    else if (w.status === 'done') counts.done++;
    else counts.problems++;
  }
  for (const g of groups) {
    const needed = g.status !== 'problem' && !g.rep.control; // a blank or kill well's is not used
    if (needed && concentrationOf(g.rep, curve, lines).um === null) counts.missingConc++;
  }
  return counts;
}

// The session's data: curves, their wells and fits, and the requests sent to /api/fit and /api/report.csv.
// Pure functions on plain objects (no DOM, no TF.js, no fetch), so the page's logic can be tested alone.
import {
  groupReplicates,
  parseNameConcentration,
  parseWellId,
  plateMapConcentrations,
  wellConcentration,
} from './concentrations.js';

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
  };
}

/**
 * A new well for a file: its name parsed for a concentration and a well ID.
 *
 * @param {{id: number, file: File}} options
 */
export function newWell({ id, file }) {
  const fromName = parseNameConcentration(file.name);
  return {
    id,
    file,
    name: file.name,
    well: parseWellId(file.name) ?? '',
    nameConc: fromName, // {um, text, error}
    typedUm: null, // a concentration typed in the table overrides the rest
    status: 'queued', // queued | scoring | done | problem | error
    od450: null,
    features: null, // Float32Array (F,): pooled backbone features (for out-of-distribution checks)
    thumbUrl: null,
    width: null,
    height: null,
    warnings: [],
    stats: null, // image statistics of the model input (ood.js imageStats)
    judgement: null, // ood.js judgeWell against the curve's model, and `judgedWith`: that model's id
    judgedWith: null,
    trustFlags: [], // plain-words out-of-distribution flags (judgement.flags)
    problem: null, // {kind, message} for files that cannot be scored
    excluded: false,
    timings: null,
  };
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
 * Where a well's concentration comes from: typed > file name > plate map (via its well ID).
 *
 * @returns {{um: number|null, source: 'typed'|'file name'|'plate map'|null, note: string|null}}
 *   note explains a missing concentration or a disagreement between the file name and the plate map
 */
export function concentrationOf(well, curve, lines = plateLines(curve).lines) {
  const axis = curve.plateMap?.axis ?? 'column';
  const fromPlate = lines && well.well ? wellConcentration(well.well, lines, axis) : null;
  if (well.typedUm !== null) return { um: well.typedUm, source: 'typed', note: null };
  if (well.nameConc.um !== null) {
    const disagree =
      fromPlate !== null && Math.abs(fromPlate - well.nameConc.um) > 1e-9 * Math.max(1, fromPlate);
    return {
      um: well.nameConc.um,
      source: 'file name',
      note: disagree ? `the plate map says ${fromPlate} µM for ${well.well}; the file name wins` : null,
    };
  }
  if (fromPlate !== null) return { um: fromPlate, source: 'plate map', note: null };
  let note = 'no concentration: type it, or name it in the file name (e.g. _0.5uM_)';
  if (well.nameConc.error) note = `no concentration: ${well.nameConc.error}`;
  else if (well.well && lines) note = `no concentration: the plate map does not cover well ${well.well}`;
  else if (well.well) note = `no concentration: well ${well.well} found in the name; set a plate map`;
  return { um: null, source: null, note };
}

/** Wells with a prediction and a concentration: {well, um, source, note}[] (excluded ones included). */
export function scoredWells(curve) {
  const { lines } = plateLines(curve);
  return curve.wells
    .filter((w) => w.status === 'done')
    .map((w) => ({ well: w, ...concentrationOf(w, curve, lines) }))
    .filter((x) => x.um !== null);
}

/**
 * The curve as /api/fit wants it (non-excluded wells), or null when nothing can be fitted yet.
 *
 * @param {object} curve
 * @param {object} limits  see checkLimits
 * @returns {{label: string, concentrations_um: number[], responses: number[], fix_top: number|null,
 *   fix_bottom: number|null}|null}
 */
export function fitRequestCurve(curve, limits) {
  const kept = scoredWells(curve).filter((x) => !x.well.excluded);
  if (!kept.length) return null;
  return {
    label: clip(curve.label, limits.max_label_length),
    concentrations_um: kept.map((x) => x.um),
    responses: kept.map((x) => x.well.od450),
    fix_top: curve.fixTop,
    fix_bottom: curve.fixBottom,
  };
}

/** Replicates per concentration of the non-excluded scored wells. */
export function replicates(curve) {
  return groupReplicates(
    scoredWells(curve)
      .filter((x) => !x.well.excluded)
      .map((x) => ({ um: x.um, value: x.well.od450 })),
  );
}

/**
 * The flags a well carries into the report (warnings, concentration source, notes).
 *
 * @param {{well: object, source: string|null, note: string|null}} entry  from scoredWells
 * @param {object} limits  see checkLimits
 * @returns {string[]}
 */
export function wellFlags(entry, limits) {
  const flags = [...(entry.well.trustFlags ?? []), ...entry.well.warnings];
  if (entry.source) flags.push(`concentration from ${entry.source}`);
  if (entry.note) flags.push(entry.note);
  return flags.slice(0, limits.max_flags_per_well).map((f) => clip(f, limits.max_label_length));
}

/**
 * One curve of the /api/report.csv request, or the reason it cannot be reported.
 *
 * @param {object} curve
 * @param {object} limits  see checkLimits
 * @returns {{curve: object|null, skipped: string|null}}
 */
export function reportCurve(curve, limits) {
  const label = (text) => clip(text, limits.max_label_length);
  const entries = scoredWells(curve);
  if (!entries.length) return { curve: null, skipped: `${curve.label}: no scored well with a concentration` };
  if (entries.every((e) => e.well.excluded))
    return { curve: null, skipped: `${curve.label}: every well is excluded` };
  const left = curve.wells.filter((w) => !entries.some((e) => e.well === w));
  const notes = [...curve.notes];
  if (curve.trustWarning) notes.unshift(curve.trustWarning.note);
  if (left.length) {
    notes.push(
      label(
        `${left.length} image(s) not in the fit: ` +
          left
            .map(
              (w) =>
                `${w.name} (${w.problem?.message ?? (w.status === 'done' ? 'no concentration' : w.status)})`,
            )
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
        image: label(e.well.name),
        well: e.well.well.slice(0, limits.max_well_id_length),
        concentration_um: e.um,
        od450: e.well.od450,
        excluded: e.well.excluded,
        flags: wellFlags(e, limits),
      })),
      fix_top: curve.fixTop,
      fix_bottom: curve.fixBottom,
      notes: notes.slice(0, limits.max_notes_per_curve).map(label),
    },
  };
}

/** Counts for the progress line: {total, queued, scoring, done, problems, missingConc}. */
export function curveCounts(curve) {
  const { lines } = plateLines(curve);
  const counts = { total: curve.wells.length, queued: 0, scoring: 0, done: 0, problems: 0, missingConc: 0 };
  for (const w of curve.wells) {
    if (w.status === 'queued') counts.queued++;
    else if (w.status === 'scoring') counts.scoring++;
    else if (w.status === 'done') counts.done++;
    else counts.problems++;
    if (w.status !== 'problem' && concentrationOf(w, curve, lines).um === null) counts.missingConc++;
  }
  return counts;
}

// What became of every file a person dropped: "n files → n wells → n fitted", and what happened to the
// difference, file by file with the reason. Pure functions on an import record (main.js keeps one per drop)
// and the session's curves; recomputed as the images are scored (a corrupt file is found by its decoder).
import * as session from './session.js';

/** Why a file is not used: kind → what the page calls it. */
export const LEFT_OUT = {
  layout: 'plate layout',
  channel_names: 'channel names (.HTD)',
  unreadable_layout: 'layout that could not be used',
  not_image: 'not an image',
  corrupt: 'corrupt or unreadable',
  no_channel: 'not scored: no channel is named as bright field (choose one above)',
  bad_option: 'not scored: the plane or channel chosen is not in the file',
  channel: 'other channel',
  thumbnail: 'instrument thumbnail',
  duplicate: 'duplicate',
  ambiguous: 'ambiguous name',
  no_well: 'no well',
  no_concentration: 'not in the layout',
  removed: 'removed by you',
};

/** The decoder's problem kinds (worker.js) that are a LEFT_OUT kind of their own; the rest are 'corrupt'. */
const PROBLEM_KINDS = { not_image: 'not_image', choose_channel: 'no_channel', bad_option: 'bad_option' };

/** Why a well is not fitted: kind → what the page calls it. */
export const NOT_FITTED = {
  scoring: 'being scored',
  no_concentration: 'no concentration',
  excluded: 'excluded by you',
  left_out: 'every field left out',
};

/**
 * A new import record: the files of one drop.
 *
 * @param {number} id
 * @param {number} files  how many files the drop held (read or not)
 * @returns {object}  {id, files, left, images, records, channelNames, brightField, plan, placeLeft, notes,
 *   placeNotes, curveIds, targetCurveId, layoutUsed}: left and placeLeft: {path, kind, reason} of the files
 *   that are no wells' images (kinds of LEFT_OUT), found when the drop was read and when it was placed;
 *   images: the drop's image files ({file, path}); records: path → the session's image record; plan: the
 *   last plate-import.js planImport; notes, placeNotes: plain words on the layouts and their plates;
 *   curveIds: the curves the import made; targetCurveId: the curve it was dropped on
 */
export function newImport(id, files) {
  return {
    id,
    files,
    left: [],
    images: [],
    records: new Map(),
    channelNames: {},
    brightField: null,
    plan: null,
    placeLeft: [],
    notes: [],
    placeNotes: [],
    curveIds: [],
    targetCurveId: null,
    layoutUsed: false,
  };
}

function push(groups, kind, item) {
  if (!groups.has(kind)) groups.set(kind, []);
  groups.get(kind).push(item);
}

/** The kind of a well that is not fitted, with the reason, or null when it is fitted. */
function notFitted(group, curve, fitted) {
  if (fitted.has(group.key)) return null;
  if (group.status === 'queued' || group.status === 'scoring') return { kind: 'scoring', reason: 'waiting' };
  if (group.status !== 'done') return { kind: 'left_out', reason: group.problem ?? group.status };
  if (group.rep.excluded) return { kind: 'excluded', reason: group.rep.outlierReason ?? 'unticked' };
  return { kind: 'no_concentration', reason: session.concentrationOf(group.rep, curve).note };
}

/**
 * The counts line of an import and what happened to each file and well.
 *
 * @param {object} record  newImport's record
 * @param {object[]} curves  the session's curves
 * @returns {{files: number, images: number, wells: number, fitted: number, fields: number[],
 *   left: {kind: string, label: string, items: {name: string, reason: string}[]}[],
 *   notFitted: {kind: string, label: string, items: {name: string, reason: string}[]}[],
 *   accounted: boolean}}
 *   images: the files scored (or being scored) as wells' fields; wells: the distinct wells they make (a
 *   control well shared by several curves counts once); fitted: the wells sent to /api/fit; fields: the
 *   fewest and most fields per well; accounted: every file is an image or has a reason (files = images +
 *   left), and every well is fitted or has one (wells = fitted + not fitted)
 */
export function importSummary(record, curves) {
  const left = new Map();
  for (const item of [...record.left, ...record.placeLeft])
    push(left, item.kind, { name: item.path, reason: item.reason });
  const inCurves = new Set(curves.flatMap((c) => c.wells));
  let images = 0;
  for (const image of record.records.values()) {
    if (!inCurves.has(image))
      push(left, 'removed', { name: image.path, reason: 'its curve or image was removed' });
    else if (image.status === 'problem' || image.status === 'error') {
      const kind = PROBLEM_KINDS[image.problem?.kind] ?? 'corrupt';
      push(left, kind, { name: image.path, reason: image.problem?.message ?? image.status });
    } else images++;
  }
  const mine = curves.filter((c) => c.wells.some((w) => w.importId === record.id));
  const wells = new Map(); // wellKey → {group, curve}
  const fitted = new Set();
  for (const curve of mine) {
    for (const entry of session.fittedWells(curve))
      if (entry.well.importId === record.id) fitted.add(entry.group.key);
    for (const group of session.plateWells(curve)) {
      const usable = group.images.some((i) => i.status !== 'problem' && i.status !== 'error');
      if (group.rep.importId === record.id && usable && !wells.has(group.key))
        wells.set(group.key, { group, curve });
    }
  }
  const notFit = new Map();
  for (const { group, curve } of wells.values()) {
    const why = notFitted(group, curve, fitted);
    if (why) push(notFit, why.kind, { name: group.name, reason: why.reason });
  }
  const counts = [...wells.values()].map(({ group }) => group.images.length);
  const nLeft = [...left.values()].reduce((n, items) => n + items.length, 0);
  const nNotFitted = [...notFit.values()].reduce((n, items) => n + items.length, 0);
  const nFitted = [...wells.keys()].filter((key) => fitted.has(key)).length;
  const listed = (groups, labels) =>
    [...groups].map(([kind, items]) => ({ kind, label: labels[kind], items }));
  return {
    files: record.files,
    images,
    wells: wells.size,
    fitted: nFitted,
    fields: counts.length ? [Math.min(...counts), Math.max(...counts)] : [0, 0],
    left: listed(left, LEFT_OUT),
    notFitted: listed(notFit, NOT_FITTED),
    accounted: record.files === images + nLeft && wells.size === nFitted + nNotFitted,
  };
}

// Image files as high-content imagers name them: which plate, well, field, channel, plane and time point a
// file holds, and the grouping of a plate's files into wells. Pure functions (no DOM, no I/O).
//
// The twin of training/instruments.py; tests/data/instrument_names.json holds the example names both must
// parse the same way (tests/training/test_instruments.py, tests/e2e/test_instruments.py).
//
// Recognised (the path is a relative path as `webkitRelativePath` gives it, or a bare file name):
// - ImageXpress (MetaXpress): `<plate>_B07_s2_w1<GUID>.tif`, with or without the site (`_s2`), the
//   wavelength (`_w1`, at least one of the two), the plate prefix, the GUID and `_thumb` (thumbnails);
//   `TimePoint_3/` and `ZStep_2/` folders give the time point and the plane.
// - Opera Phenix / Operetta (Harmony): `r02c07f03p01-ch1sk1fk1fl1.tiff`: row 2 and column 7 (→ B07), field
//   3, plane 1, channel 1, time point 1 (`sk`).
// - Incucyte: `VID1234_B7_2_00d04h30m.tif` (vessel, well, image number = field, elapsed time) or with the
//   acquisition date, `VID1234_B7_2_2024y03m05d_14h30m.tif`.
// - Cytation (Gen5): `B7_-1_1_1_Bright Field_001.tif` (well, read step, channel number, image position =
//   field, channel name, image number = time point); the channel name may hold spaces, underscores or a
//   processing step (`ZProj[Bright Field]`).
// - One folder per well: `B07/…`, `Well B07/…`, `plate1/B07/…` (the folder above is the plate).
// Anything else gives null: the caller falls back to the plain rules of concentrations.js. A path read two
// ways (a folder and a name that name different wells, two well folders) is ambiguous: both readings are
// returned, and none is chosen.

import { formatWell, parseWellId } from './concentrations.js';

// An OME-TIFF's ".ome" belongs to the extension: "P1_B07_s1.ome.tif" is read as "P1_B07_s1".
const IMAGE_EXT_RE = /(?:\.ome)?\.(?:tiff?|png|jpe?g|bmp|webp)$/i;
const GUID = `[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}`;
// The rules read a file name without its extension. Each captures the well as written; the one well-ID
// rule of concentrations.js (parseWellId) reads it, so "B25" or "Q03" is no well.
const IMAGEXPRESS_RE = new RegExp(
  String.raw`^(?:(?<plate>.*?)_)?(?<well>[A-P]\d{1,2})(?:_s(?<site>\d{1,4}))?(?:_w(?<wave>\d{1,2}))?` +
    String.raw`(?:_z(?<z>\d{1,3}))?(?<thumb>_thumb)?(?:${GUID})?$`,
);
const OPERA_RE =
  /^r(?<row>\d{2})c(?<column>\d{2})f(?<field>\d{1,3})p(?<plane>\d{1,3})-ch(?<channel>\d{1,2})(?:sk(?<timepoint>\d{1,4}))?(?:fk\d{1,4})?(?:fl\d{1,4})?$/;
const INCUCYTE_RE = new RegExp(
  String.raw`^(?:(?<plate>.*?)_)?(?<well>[A-P]\d{1,2})_(?<image>\d{1,4})_` +
    String.raw`(?:(?<days>\d{1,3})d(?<hours>\d{1,2})h(?<minutes>\d{1,2})m|` +
    String.raw`(?<year>\d{4})y(?<month>\d{2})m(?<day>\d{2})d_(?<hour>\d{2})h(?<minute>\d{2})m)$`,
);
const CYTATION_RE =
  /^(?<well>[A-P]\d{1,2})_(?<step>-?\d{1,2})_(?<channel>\d{1,2})_(?<position>\d{1,4})_(?<name>[^_].*?)_(?<image>\d{3,4})$/;
const TIMEPOINT_DIR_RE = /^TimePoint_(\d{1,4})$/i;
const ZSTEP_DIR_RE = /^ZStep_(\d{1,4})$/i;
const WELL_DIR_RE = /^(?:[Ww]ell[\s_-]*)?([A-P][-_]?\d{1,3})$/;
const FORMAT_NAMES = {
  imagexpress: 'ImageXpress',
  opera: 'Opera/Operetta',
  incucyte: 'Incucyte',
  cytation: 'Cytation',
  folder: 'folder',
  name: 'well in the name',
};

/** The fields every reading has; null where the path does not say (readings.js reads plain names with it). */
export function reading(format, fields) {
  return {
    format,
    plate: null,
    well: null,
    field: null,
    channel: null,
    plane: null,
    timepoint: null,
    elapsed_minutes: null,
    acquired: null,
    read_step: null,
    thumbnail: false,
    ...fields,
  };
}

function int(text) {
  return text === undefined ? null : Number.parseInt(text, 10);
}

function parseImageXpress(stem) {
  const m = IMAGEXPRESS_RE.exec(stem);
  if (!m || (m.groups.site === undefined && m.groups.wave === undefined)) return null;
  const well = parseWellId(m.groups.well);
  if (!well) return null;
  return reading('imagexpress', {
    plate: m.groups.plate || null,
    well,
    field: int(m.groups.site),
    channel: m.groups.wave === undefined ? null : { index: int(m.groups.wave), name: null },
    plane: int(m.groups.z),
    thumbnail: m.groups.thumb !== undefined,
  });
}

function parseOpera(stem) {
  const m = OPERA_RE.exec(stem);
  if (!m) return null;
  const row = int(m.groups.row);
  const column = int(m.groups.column);
  if (row < 1 || row > 16 || column < 1 || column > 24) return null;
  return reading('opera', {
    well: formatWell(String.fromCharCode(64 + row), column),
    field: int(m.groups.field),
    channel: { index: int(m.groups.channel), name: null },
    plane: int(m.groups.plane),
    timepoint: int(m.groups.timepoint),
  });
}

function parseIncucyte(stem) {
  const m = INCUCYTE_RE.exec(stem);
  const well = m && parseWellId(m.groups.well);
  if (!well) return null;
  const g = m.groups;
  return reading('incucyte', {
    plate: g.plate || null,
    well,
    field: int(g.image),
    elapsed_minutes: g.days === undefined ? null : int(g.days) * 1440 + int(g.hours) * 60 + int(g.minutes),
    acquired: g.year === undefined ? null : `${g.year}-${g.month}-${g.day}T${g.hour}:${g.minute}`,
  });
}

function parseCytation(stem) {
  const m = CYTATION_RE.exec(stem);
  const well = m && parseWellId(m.groups.well);
  if (!well) return null;
  return reading('cytation', {
    well,
    field: int(m.groups.position),
    channel: { index: int(m.groups.channel), name: m.groups.name.trim() },
    timepoint: int(m.groups.image),
    read_step: int(m.groups.step),
  });
}

const NAME_RULES = [parseImageXpress, parseOpera, parseIncucyte, parseCytation];

/** The well a folder is named after ("B07", "B7", "Well B07", "well_B7"), or null. */
function wellOfFolder(folder) {
  const m = WELL_DIR_RE.exec(folder.trim());
  return m ? parseWellId(m[1]) : null;
}

/** Split "a/b/c.tif" (or "a\\b\\c.tif") into its folders and the file name. */
function splitPath(path) {
  const parts = String(path)
    .split(/[\\/]+/)
    .filter(Boolean);
  return { folders: parts.slice(0, -1), name: parts.at(-1) ?? '' };
}

/** Time point and plane from ImageXpress's `TimePoint_N/` and `ZStep_N/` folders, unless the name said. */
function withFolders(found, folders) {
  let { timepoint, plane } = found;
  for (const folder of folders) {
    const t = TIMEPOINT_DIR_RE.exec(folder);
    const z = ZSTEP_DIR_RE.exec(folder);
    if (t && timepoint === null) timepoint = int(t[1]);
    if (z && plane === null) plane = int(z[1]);
  }
  return { ...found, timepoint, plane };
}

function ambiguous(path, readings) {
  const says = readings.map((r) => `${FORMAT_NAMES[r.format]}: ${r.well}`).join('; ');
  return {
    ambiguous: true,
    path,
    readings,
    problem: `${path}: the path names more than one well (${says}); rename or move the file`,
  };
}

/**
 * What an instrument's file name (and its folders) say about the image.
 *
 * @param {string} path  a file name or a relative path ("plate1/B07/img.tif", as `webkitRelativePath`)
 * @returns {null|object}  null when no instrument rule applies (the caller's plain rules then apply);
 *   otherwise one reading `{format, plate, well, field, channel: {index, name}|null, plane, timepoint,
 *   elapsed_minutes, acquired, read_step, thumbnail}` (format "imagexpress", "opera", "incucyte",
 *   "cytation" or "folder"; fields, planes, channels and time points numbered as the instrument numbers
 *   them; elapsed_minutes since the first scan; acquired a local "YYYY-MM-DDTHH:MM"; read_step Gen5's),
 *   or `{ambiguous: true, path, readings, problem}` when the path names two different wells
 */
export function parseInstrumentPath(path) {
  const { folders, name } = splitPath(path);
  if (!IMAGE_EXT_RE.test(name)) return null;
  const stem = name.replace(IMAGE_EXT_RE, '');
  const readings = NAME_RULES.map((rule) => rule(stem))
    .filter(Boolean)
    .map((found) => withFolders(found, folders));
  // Well folders, the nearest (the file's own folder or the closest above it) first.
  const wellFolders = folders
    .map((folder, i) => ({ well: wellOfFolder(folder), plate: i > 0 ? folders[i - 1] : null }))
    .filter((f) => f.well !== null)
    .reverse()
    .map((f) => reading('folder', f));
  const plainWell = readings.length || !wellFolders.length ? null : parseWellId(name);
  const candidates = [
    ...readings,
    ...wellFolders,
    ...(plainWell ? [reading('name', { well: plainWell })] : []),
  ];
  if (!candidates.length) return null;
  if (readings.length > 1 || new Set(candidates.map((c) => c.well)).size > 1)
    return ambiguous(path, candidates);
  const [first] = candidates;
  return { ...first, plate: first.plate ?? wellFolders[0]?.plate ?? null };
}

// Transmitted-light channel names: bright field, BF, TL, transmitted, phase (contrast, Ph1–Ph3), DIC.
const TRANSMITTED_WORDS = new Set(['bf', 'tl', 'dic', 'phase', 'brightfield', 'transmitted', 'trans']);

/**
 * Is this channel name a transmitted-light one (bright field, BF, TL, transmitted, phase, DIC)?
 *
 * @param {string|null} name  e.g. "Bright Field", "TL 20x", "ZProj[Phase Contrast]", "DAPI"
 * @returns {boolean}
 */
export function isTransmittedLight(name) {
  const words = String(name ?? '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some(
    (w, i) => TRANSMITTED_WORDS.has(w) || /^ph[123]$/.test(w) || (w === 'bright' && words[i + 1] === 'field'),
  );
}

/**
 * Channel names of an ImageXpress plate from its `.HTD` file (`"WaveName1", "TL 20x"` lines).
 *
 * @param {string} text  the .HTD file's text
 * @returns {Object<number, string>}  wavelength number (the `_w1` of file names) → name
 */
export function parseHtdChannelNames(text) {
  const out = {};
  for (const m of String(text).matchAll(/^\s*"WaveName(\d+)"\s*,\s*"([^"]*)"/gim)) out[int(m[1])] = m[2];
  return out;
}

function channelLabel(channel) {
  if (!channel) return 'no channel';
  return channel.name ?? `channel ${channel.index}`;
}

function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function wellOrder(a, b) {
  return (
    compareText(a.plate ?? '', b.plate ?? '') ||
    compareText(a.well.slice(0, 1), b.well.slice(0, 1)) ||
    Number(a.well.slice(1)) - Number(b.well.slice(1))
  );
}

/** Channels with a name filled in from `channelNames` (index → name) where the file name had none. */
function named(channel, channelNames) {
  if (!channel) return null;
  const name = channel.name ?? channelNames[channel.index] ?? null;
  return { index: channel.index, name };
}

/** Which channel (its label) holds the bright-field images, or a problem saying why none can be chosen. */
function chooseBrightField(channels, brightField) {
  const labels = [...new Set(channels.map(channelLabel))];
  if (brightField !== null && brightField !== undefined) {
    const wanted = channels.find((c) => c && (c.index === brightField || c.name === brightField));
    if (!wanted) return { problem: `no channel ${brightField} among the files (${labels.join(', ')})` };
    return { label: channelLabel(wanted) };
  }
  if (labels.length === 1) return { label: labels[0] };
  const transmitted = labels.filter((l) => isTransmittedLight(l));
  if (transmitted.length === 1) return { label: transmitted[0] };
  if (transmitted.length > 1)
    return { problem: `several transmitted-light channels (${transmitted.join(', ')}): choose one` };
  return {
    problem: `the files hold channels ${labels.join(', ')} and none is named as bright field: say which one is`,
  };
}

/**
 * Group a plate's parsed files into wells, keeping the bright-field channel.
 *
 * @param {{name: string, parsed: object|null}[]} files  each file's path and parseInstrumentPath(path)
 * @param {{channelNames?: Object<number, string>, brightField?: number|string|null}} [options]
 *   channelNames: channel number → name (e.g. from parseHtdChannelNames) for names that have none;
 *   brightField: the channel number or name to keep when the names do not say which is bright field
 * @returns {{wells: {plate: string|null, well: string, files: string[], fields: number[],
 *   timepoints: number[]}[], channel: string|null, left_out: {channel: string, files: number,
 *   names: string[]}[],
 *   thumbnails: number, unrecognised: string[], problems: string[]}}
 *   wells sorted by plate, row and column, each well's files by time (point, elapsed, acquired), field
 *   and plane;
 *   channel: the kept channel's label; left_out: the other channels (by name when known), their file
 *   counts and names (paths as given, in the order given); unrecognised: names no instrument rule reads (for the caller's plain rules)
 */
export function groupWells(files, options = {}) {
  const channelNames = options.channelNames ?? {};
  const problems = [];
  const unrecognised = [];
  let thumbnails = 0;
  const images = [];
  for (const { name, parsed } of files) {
    if (parsed === null || parsed === undefined) unrecognised.push(name);
    else if (parsed.ambiguous) problems.push(parsed.problem);
    else if (parsed.thumbnail) thumbnails++;
    else images.push({ name, ...parsed, channel: named(parsed.channel, channelNames) });
  }
  const empty = { wells: [], channel: null, left_out: [], thumbnails, unrecognised, problems };
  if (!images.length) return empty;
  const choice = chooseBrightField(
    images.map((i) => i.channel),
    options.brightField,
  );
  if (choice.problem) return { ...empty, problems: [...problems, choice.problem] };
  const leftOut = new Map();
  const wells = new Map();
  const seen = new Map();
  for (const image of images) {
    const label = channelLabel(image.channel);
    if (label !== choice.label) {
      if (!leftOut.has(label)) leftOut.set(label, []);
      leftOut.get(label).push(image.name);
      continue;
    }
    const key = JSON.stringify([image.plate, image.well]);
    // A well folder's files are its fields, unnumbered; instruments number theirs, so a repeat is a copy.
    // Incucyte names give the time as elapsed time or acquisition date, not as a time-point number.
    const spot = JSON.stringify([
      image.plate,
      image.well,
      image.field,
      image.plane,
      image.timepoint,
      image.elapsed_minutes,
      image.acquired,
    ]);
    if (image.format !== 'folder' && seen.has(spot)) {
      problems.push(`${image.name} and ${seen.get(spot)} are the same image of well ${image.well}`);
      continue;
    }
    seen.set(spot, image.name);
    if (!wells.has(key)) wells.set(key, { plate: image.plate, well: image.well, images: [] });
    wells.get(key).images.push(image);
  }
  const order = (a, b) =>
    (a.timepoint ?? 0) - (b.timepoint ?? 0) ||
    (a.elapsed_minutes ?? 0) - (b.elapsed_minutes ?? 0) ||
    compareText(a.acquired ?? '', b.acquired ?? '') ||
    (a.field ?? 0) - (b.field ?? 0) ||
    (a.plane ?? 0) - (b.plane ?? 0);
  const distinct = (values) => [...new Set(values.filter((v) => v !== null))].sort((a, b) => a - b);
  return {
    wells: [...wells.values()].sort(wellOrder).map(({ plate, well, images: list }) => {
      list.sort(order);
      return {
        plate,
        well,
        files: list.map((i) => i.name),
        fields: distinct(list.map((i) => i.field)),
        timepoints: distinct(list.map((i) => i.timepoint)),
      };
    }),
    channel: choice.label,
    left_out: [...leftOut].map(([channel, names]) => ({ channel, files: names.length, names })),
    thumbnails,
    unrecognised,
    problems,
  };
}

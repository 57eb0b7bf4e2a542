// What a drop of files holds, file by file: images (named by an instrument or plainly), plate layouts, an
// ImageXpress .HTD file naming the channels, and the files that cannot be used, each with the reason. Pure
// functions (no DOM, no I/O): main.js reads the layout and .HTD files and hands their contents in.
//
// An image's plate is the one its instrument name gives (ImageXpress's prefix, Incucyte's vessel, the folder
// above a well folder), else the nearest folder above it that is not an instrument's own structure
// (Harmony's "Images", ImageXpress's "TimePoint_N" and "ZStep_N"); loose files have none.
import { groupWells, parseInstrumentPath } from './instruments.js';

const IMAGE_RE = /\.(?:tiff?|png|jpe?g|bmp|webp|gif)$/i;
const SHEET_RE = /\.(?:csv|tsv|txt|xlsx|xls)$/i;
const CHANNEL_NAMES_RE = /\.htd$/i;
const STRUCTURE_DIR_RE = /^(?:images|timepoint_\d+|zstep_\d+)$/i;

/**
 * Sort the files of a drop by what they are, by name. A loose file of another kind is sent to the decoder
 * like an image (which names what it is: "not an image: it is a PDF"); in a folder, such files are an
 * instrument's other files (metadata, databases) and are left out by name.
 *
 * @param {{file: File, path: string}[]} entries
 * @returns {{images: object[], sheets: object[], channelNames: object[], others: object[]}}  the entries,
 *   each list in the order given; sheets: CSV/TSV/TXT/XLSX/XLS (plate layouts); channelNames: .HTD files
 */
export function sortDrop(entries) {
  const out = { images: [], sheets: [], channelNames: [], others: [] };
  for (const entry of entries) {
    if (SHEET_RE.test(entry.path)) out.sheets.push(entry);
    else if (CHANNEL_NAMES_RE.test(entry.path)) out.channelNames.push(entry);
    else if (IMAGE_RE.test(entry.path) || !foldersOf(entry.path).length) out.images.push(entry);
    else out.others.push(entry);
  }
  return out;
}

/** The folders of a path and its file name. */
function foldersOf(path) {
  return String(path)
    .split(/[\\/]+/)
    .filter(Boolean)
    .slice(0, -1);
}

/** The plate a file's folders name: the nearest folder that is not an instrument's own structure. */
export function folderPlate(path) {
  return (
    foldersOf(path)
      .reverse()
      .find((folder) => !STRUCTURE_DIR_RE.test(folder)) ?? null
  );
}

/** A reading's channel label, as groupWells labels it (a name from the .HTD file when the name has none). */
function channelOption(channel, channelNames) {
  const name = channel.name ?? channelNames[channel.index] ?? null;
  return { label: name ?? `channel ${channel.index}`, value: name ?? channel.index, index: channel.index };
}

/** Channels in the instrument's order (w1, w2 …; unnumbered ones last, by name). */
function byChannelNumber(a, b) {
  return (a.index ?? Infinity) - (b.index ?? Infinity) || a.label.localeCompare(b.label);
}

function naturalPath(a, b) {
  return a.path.localeCompare(b.path, undefined, { numeric: true });
}

/**
 * The images of a drop as wells' fields, and the images left out with the reason.
 *
 * @param {{file: File, path: string}[]} images  the drop's image files (sortDrop)
 * @param {{channelNames?: Object<number, string>, brightField?: number|string|null}} [options]
 *   channelNames: ImageXpress wavelength → name (from the .HTD file); brightField: the channel to keep when
 *   the names do not say which one is bright field (a channel number or name the person chose)
 * @returns {{images: {file: File, path: string, plate: string|null, site: object|null}[],
 *   left: {path: string, kind: string, reason: string}[], channel: string|null,
 *   channels: {label: string, value: number|string, index: number|null}[], choice: string|null, formats: string[]}}
 *   images: instrument-named ones in well order (site: parseInstrumentPath's reading, its plate filled in
 *   from the folders), then plainly named ones (site null; today's rules read their names); channel: the
 *   kept channel's label; channels: every channel found, in the instrument's order (for the person's choice); choice: why no channel
 *   could be kept (null when one was); formats: the instruments recognised
 */
export function planImport(images, { channelNames = {}, brightField = null } = {}) {
  const readings = images.map((entry) => {
    const reading = parseInstrumentPath(entry.path);
    if (!reading || reading.ambiguous) return { entry, reading };
    const plate = reading.format === 'folder' ? reading.plate : (reading.plate ?? folderPlate(entry.path));
    return { entry, reading: { ...reading, plate } };
  });
  const grouping = groupWells(
    readings.map(({ entry, reading }) => ({ name: entry.path, parsed: reading })),
    { channelNames, brightField },
  );
  const byPath = new Map(readings.map((r) => [r.entry.path, r]));
  const channels = new Map();
  for (const { reading } of readings) {
    if (reading?.channel && !reading.ambiguous && !reading.thumbnail) {
      const option = channelOption(reading.channel, channelNames);
      channels.set(option.label, option);
    }
  }
  const placed = grouping.wells.flatMap((well) => well.files.map((path) => byPath.get(path)));
  const inWells = new Set(placed.map((r) => r.entry.path));
  const otherChannel = new Map(grouping.left_out.flatMap((c) => c.names.map((name) => [name, c.channel])));
  // groupWells names the channel problem last; it keeps no file then.
  const named = readings.some(({ reading }) => reading && !reading.ambiguous && !reading.thumbnail);
  const choice = named && grouping.channel === null ? (grouping.problems.at(-1) ?? null) : null;
  const left = [];
  const plain = [];
  for (const { entry, reading } of readings) {
    const { path } = entry;
    if (reading === null) plain.push({ ...entry, plate: folderPlate(path), site: null });
    else if (reading.ambiguous) left.push({ path, kind: 'ambiguous', reason: reading.problem });
    else if (reading.thumbnail)
      left.push({ path, kind: 'thumbnail', reason: "an instrument's thumbnail (a small copy of an image)" });
    else if (otherChannel.has(path))
      left.push({
        path,
        kind: 'channel',
        reason: `channel ${otherChannel.get(path)}, not the bright-field channel (${grouping.channel})`,
      });
    else if (!inWells.has(path) && choice !== null)
      left.push({ path, kind: 'channel', reason: `waiting for your choice of channel: ${choice}` });
    else if (!inWells.has(path)) {
      const problem = grouping.problems.find((p) => p.startsWith(`${path} and `));
      left.push({ path, kind: 'duplicate', reason: problem ?? 'the same image as another file' });
    }
  }
  plain.sort(naturalPath);
  return {
    images: [
      ...placed.map(({ entry, reading }) => ({ ...entry, plate: reading.plate, site: reading })),
      ...plain,
    ],
    left,
    channel: placed.length ? grouping.channel : null,
    channels: [...channels.values()].sort(byChannelNumber),
    choice,
    formats: [...new Set(placed.map((r) => r.reading.format))],
  };
}

// What the lab chose about how a curve's images are read — the plane of a z-stack, each file's in-file
// channel, and how images of more than 8 bits become 8 bit — as the worker's per-file options (worker.js
// protocol: plane, channel, window), and which images must be scored again when a choice changed. Pure
// functions on the session's curves and image records (session.js); no DOM, no workers.
import { plateWindow } from './preprocess.js';

/** How images of more than 8 bits are mapped to 8 bit: the page's choices, as people read them. */
export const WINDOW_MODES = {
  file: 'as the file declares (default)',
  plate: 'one window for the whole plate',
  percentile: 'stretch each image (0.1–99.9 %)',
};

/** A curve's image options before anyone chose: the middle plane of a z-stack, each file's own window. */
export const DEFAULT_IMAGE_OPTIONS = Object.freeze({ plane: null, window: 'file' });

/** A curve's image options (DEFAULT_IMAGE_OPTIONS until the lab chose others). */
export const imageOptionsOf = (curve) => curve.imageOptions ?? DEFAULT_IMAGE_OPTIONS;

/**
 * The plate's window: preprocess.js plateWindow of the own windows (`image.data_window`) of the curve's
 * images read so far (an image queued again keeps what its last reading found), or null when none has more
 * than 8 bits (8-bit images are never remapped).
 *
 * @param {{wells: object[]}} curve
 * @returns {{low: number, high: number, bits: number|null, source: string}|null}
 */
export function curvePlateWindow(curve) {
  const windows = curve.wells.filter((w) => w.image?.data_window).map((w) => w.image.data_window);
  return windows.length ? plateWindow(windows) : null;
}

/**
 * The worker options to score an image of a curve with (worker.js 'predict' and 'attribute').
 *
 * @param {object} curve  its `imageOptions` ({plane: index from 0 | null, window: a WINDOW_MODES key})
 * @param {{channel?: number|null}} image  `channel`: the in-file channel the lab chose for this file
 * @param {object|null} [plate]  the curve's plate window (curvePlateWindow), for the 'plate' mode
 * @returns {{plane: number|null, channel: number|null, window: object|string|null}}
 */
export function scoreOptions(curve, image, plate = curvePlateWindow(curve)) {
  const { plane, window } = imageOptionsOf(curve);
  const mapped = window === 'percentile' ? 'percentile' : window === 'plate' ? plate : null;
  return { plane, channel: image.channel ?? null, window: mapped };
}

const sameOptions = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The images of a curve that were scored (or failed) with other options than it asks for now: a choice
 * changed, or the plate's window grew as more images were read. Images being scored are left to come back
 * first (they are looked at again when the run ends).
 *
 * @param {{wells: object[]}} curve
 * @returns {object[]}  image records whose `scoredWith` (the options they were sent with) is out of date
 */
export function staleImages(curve) {
  const plate = curvePlateWindow(curve);
  return curve.wells.filter(
    (w) =>
      ['done', 'problem', 'error'].includes(w.status) &&
      w.scoredWith &&
      w.problem?.kind !== 'choose_channel' &&
      !sameOptions(w.scoredWith, scoreOptions(curve, w, plate)),
  );
}

/**
 * What the page offers for a curve's images: a plane number when any is a stack of planes, a window when
 * any has more than 8 bits.
 *
 * @param {{wells: object[]}} curve
 * @returns {{planes: number, deep: boolean, plane: number|null, window: string}}  planes: the most planes
 *   of any image read (1: no choice); deep: some image has more than 8 bits; plane, window: the choice now
 */
export function offeredOptions(curve) {
  const read = curve.wells.map((w) => w.image).filter(Boolean);
  const planes = Math.max(1, ...read.map((i) => i.selection?.planes ?? 1));
  const { plane, window } = imageOptionsOf(curve);
  return { planes, deep: read.some((i) => i.data_window), plane, window };
}

/**
 * A note saying which window mapped an image to 8 bit, when the lab chose it (the file's own window by the
 * bit-depth rule, docs/formats.md, goes without saying), or null.
 *
 * @param {{window: {low: number, high: number, source: string}|null}|null} image  the worker's `image`
 * @param {object|string|null} asked  the `window` option sent
 * @returns {string|null}
 */
export function windowNote(image, asked) {
  const used = image?.window;
  if (!asked || !used) return null;
  const value = (x) => String(Number(x.toPrecision(6)));
  return `mapped to 8 bit by the window ${value(used.low)}–${value(used.high)} (${used.source})`;
}

/**
 * The files of an import whose own channels must be chosen (a 'choose_channel' answer), in groups that
 * hold the same channels.
 *
 * @param {Iterable<object>} images  the import's image records
 * @returns {{key: string, images: object[], channels: {index: number, label: string}[], message: string}[]}
 */
export function channelQuestions(images) {
  const groups = new Map();
  for (const image of images) {
    if (image.status !== 'problem' || image.problem?.kind !== 'choose_channel') continue;
    const channels = (image.problem.channels ?? []).map(({ index, name }) => ({
      index,
      label: name || `channel ${index + 1}`,
    }));
    const key = JSON.stringify(channels);
    if (!groups.has(key)) groups.set(key, { key, images: [], channels, message: image.problem.message });
    groups.get(key).images.push(image);
  }
  return [...groups.values()];
}

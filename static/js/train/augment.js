// The paper's augmentation of a training image, as training/dataset.py applies it (apply_draw): a random
// crop to 70 % of each side, a random number of 90° turns, horizontal and vertical flips, then per pixel
// brightness ±0.2 of full scale, contrast ×0.7–1.3 around each channel's mean over the crop, HSV saturation
// ×0.6–1.6 and hue ±0.08 of the circle — on the square the views rule cuts the views from (views.js,
// training/dataset.py augmented_views: the image area-resized to augmentationSide px, so a 70 % crop is
// the model input's size). The colour steps run on a palette (imagePalette: an 8-bit image's distinct
// colours; pixelPalette: every pixel of a float image). Given the same draw, the pixels equal training's
// (float32 steps emulated with Math.fround; tests/e2e/test_train_views.py); the draws come from random.js,
// the stream training/stream.py draws the same numbers from.
// Pure functions on typed arrays: no DOM, no TF.js.
import { resizeArea } from '../preprocess.js';
import { randomInteger, uniform } from './random.js';

/** training/dataset.py Augmentation defaults (paper, Methods, "Data augmentation"). */
export const AUGMENTATION = Object.freeze({
  rotate90: true,
  flipHorizontal: true,
  flipVertical: true,
  cropFraction: 0.7,
  brightness: 0.2,
  saturation: [0.6, 1.6],
  contrast: [0.7, 1.3],
  hue: 0.08,
});

const f32 = Math.fround;

/** Python's round(): halves to the even neighbour (numpy and Python 3 do so; Math.round does not). */
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * One random draw of augmentation parameters, in the order training/dataset.py `_draw` draws them.
 *
 * @param {() => number} random  from random.js randomGenerator
 * @param {typeof AUGMENTATION} [aug]
 * @returns {{rotations: number, flipHorizontal: boolean, flipVertical: boolean, cropTop: number,
 *   cropLeft: number, cropFraction: number, brightness: number, saturation: number, contrast: number,
 *   hue: number}}
 */
export function drawAugmentation(random, aug = AUGMENTATION) {
  return {
    rotations: aug.rotate90 ? randomInteger(random, 4) : 0,
    flipHorizontal: aug.flipHorizontal && random() < 0.5,
    flipVertical: aug.flipVertical && random() < 0.5,
    cropTop: random(),
    cropLeft: random(),
    cropFraction: aug.cropFraction,
    brightness: uniform(random, -aug.brightness, aug.brightness),
    saturation: uniform(random, ...aug.saturation),
    contrast: uniform(random, ...aug.contrast),
    hue: uniform(random, -aug.hue, aug.hue),
  };
}

/** Rows, columns and offsets of a draw's crop of a height × width image (training/dataset.py `_crop`). */
function cropBox(height, width, draw) {
  const rows = Math.max(1, roundHalfEven(draw.cropFraction * height));
  const cols = Math.max(1, roundHalfEven(draw.cropFraction * width));
  return {
    rows,
    cols,
    top: roundHalfEven(draw.cropTop * (height - rows)),
    left: roundHalfEven(draw.cropLeft * (width - cols)),
  };
}

/**
 * An 8-bit image as its distinct colours and a colour index per pixel (training/dataset.py `_palette`):
 * every colour step is a function of a pixel's own (r, g, b), so applying it to the colours and looking the
 * result up per pixel gives the per-pixel result, and a microscope image has far fewer distinct colours
 * (10³–10⁵) than pixels. Made once per image, shared by its augmented views.
 *
 * @param {ArrayLike<number>} pixels  (height, width, channels) bytes
 * @param {number} height
 * @param {number} width
 * @param {{channels?: number, order?: 'RGBA'|'BGRA'|'RGB'}} [layout]  of `pixels` (default RGBA)
 * @returns {{colours: Float32Array, index: Int32Array, height: number, width: number}}  colours (n, 3)
 *   R, G, B; index (height × width)
 */
export function imagePalette(pixels, height, width, { channels = 4, order = 'RGBA' } = {}) {
  const [r0, g0, b0] = order === 'BGRA' ? [2, 1, 0] : [0, 1, 2];
  const index = new Int32Array(height * width);
  let capacity = 1 << 16;
  let keys = new Int32Array(capacity).fill(-1);
  let slots = new Int32Array(capacity);
  let colours = [];
  const insert = (key, value) => {
    let h = Math.imul(key, 0x9e3779b1) >>> 0;
    for (;;) {
      h &= capacity - 1;
      if (keys[h] === -1) {
        keys[h] = key;
        slots[h] = value;
        return value;
      }
      if (keys[h] === key) return slots[h];
      h++;
    }
  };
  for (let p = 0, s = 0; p < index.length; p++, s += channels) {
    const key = (pixels[s + r0] << 16) | (pixels[s + g0] << 8) | pixels[s + b0];
    const n = colours.length;
    const found = insert(key, n);
    if (found === n) {
      colours.push(key);
      if (2 * colours.length > capacity) {
        capacity *= 2;
        keys = new Int32Array(capacity).fill(-1);
        slots = new Int32Array(capacity);
        for (let i = 0; i < colours.length; i++) insert(colours[i], i);
      }
    }
    index[p] = found;
  }
  const table = new Float32Array(colours.length * 3);
  colours.forEach((key, i) => {
    table[3 * i] = key >>> 16;
    table[3 * i + 1] = (key >>> 8) & 255;
    table[3 * i + 2] = key & 255;
  });
  colours = null;
  return { colours: table, index, height, width };
}

/**
 * The colour index of the draw's crop, turned (np.rot90: counter-clockwise) and flipped: output pixel
 * (i, j) reads input pixel start + i · rowStep + j · colStep.
 */
function orientedIndex(palette, draw) {
  const { height, width, index } = palette;
  const { rows, cols, top, left } = cropBox(height, width, draw);
  const turns = ((draw.rotations % 4) + 4) % 4;
  const outRows = turns % 2 ? cols : rows;
  const outCols = turns % 2 ? rows : cols;
  // (iv, jv) of the turned crop → (r, c) of the crop, linear in (iv, jv)
  const crop = (iv, jv) =>
    [
      [iv, jv],
      [jv, cols - 1 - iv],
      [rows - 1 - iv, cols - 1 - jv],
      [rows - 1 - jv, iv],
    ][turns];
  const at = (i, j) => {
    const [r, c] = crop(draw.flipVertical ? outRows - 1 - i : i, draw.flipHorizontal ? outCols - 1 - j : j);
    return (top + r) * width + left + c;
  };
  const start = at(0, 0);
  const rowStep = outRows > 1 ? at(1, 0) - start : 0;
  const colStep = outCols > 1 ? at(0, 1) - start : 0;
  const out = new Int32Array(outRows * outCols);
  for (let i = 0, p = 0; i < outRows; i++) {
    let s = start + i * rowStep;
    for (let j = 0; j < outCols; j++, p++, s += colStep) out[p] = index[s];
  }
  return { out, outRows, outCols };
}

/** Saturation × `saturation`, hue + `hue` of colour i of a table (training/dataset.py `_colour_planes`). */
function colourPixel(px, i, saturation, hue) {
  const r = px[i];
  const g = px[i + 1];
  const b = px[i + 2];
  const top = Math.max(r, g, b);
  const chroma = f32(top - Math.min(r, g, b));
  const inv = chroma > 0 ? f32(1 / chroma) : 0;
  if (hue === 0) {
    const k = Math.min(f32(saturation), f32(top * inv));
    for (let n = 0; n < 3; n++) px[i + n] = f32(top - f32(f32(top - px[i + n]) * k));
    return;
  }
  let sextant;
  if (top === r) sextant = f32(f32(g - b) * inv);
  else if (top === g) sextant = f32(f32(f32(b - r) * inv) + 2);
  else sextant = f32(f32(f32(r - g) * inv) + 4);
  sextant = f32(sextant + f32(6 * hue));
  const newChroma = Math.min(f32(chroma * f32(saturation)), top);
  for (let n = 0; n < 3; n++) {
    let k = f32(sextant + (5 - 2 * n)); // n = 0, 1, 2: red, green, blue (5, 3, 1)
    k = f32(((k % 6) + 6) % 6);
    k = Math.min(k, f32(4 - k));
    k = Math.min(Math.max(k, 0), 1);
    px[i + n] = f32(top - f32(k * newChroma));
  }
}

/** The palette after the draw's colour steps: brightness, contrast (mean over the crop), saturation, hue. */
function drawnColours(colours, cropIndex, draw) {
  const table = Float32Array.from(colours);
  const shift = f32(draw.brightness * 255);
  if (shift)
    for (let i = 0; i < table.length; i++) table[i] = Math.min(Math.max(f32(table[i] + shift), 0), 255);
  if (draw.contrast !== 1) {
    const counts = new Float64Array(table.length / 3);
    for (const c of cropIndex) counts[c]++;
    const means = [0, 0, 0];
    for (let c = 0; c < counts.length; c++)
      for (let k = 0; k < 3; k++) means[k] += table[3 * c + k] * counts[c];
    const mean = means.map((m) => f32(m / cropIndex.length));
    const factor = f32(draw.contrast);
    for (let i = 0; i < table.length; i++) {
      const m = mean[i % 3];
      table[i] = Math.min(Math.max(f32(f32(f32(table[i] - m) * factor) + m), 0), 255);
    }
  }
  if (draw.saturation !== 1 || draw.hue !== 0) {
    for (let i = 0; i < table.length; i += 3) colourPixel(table, i, draw.saturation, draw.hue);
  }
  return table;
}

/**
 * Apply one draw to an image given as its palette: crop, turn, flip, then brightness, contrast, saturation,
 * hue (training/dataset.py apply_draw, which `_apply_draw_palette` reproduces the same way).
 *
 * @param {{colours: Float32Array, index: Int32Array, height: number, width: number}} palette  imagePalette
 * @param {object} draw  from drawAugmentation (or training's Draw, for tests)
 * @returns {{pixels: Float32Array, height: number, width: number}}  (h, w, 3) float32 R, G, B 0–255
 */
export function applyDraw(palette, draw) {
  const { out, outRows, outCols } = orientedIndex(palette, draw);
  const table = drawnColours(palette.colours, out, draw);
  const pixels = new Float32Array(out.length * 3);
  for (let p = 0; p < out.length; p++) {
    const c = 3 * out[p];
    pixels[3 * p] = table[c];
    pixels[3 * p + 1] = table[c + 1];
    pixels[3 * p + 2] = table[c + 2];
  }
  return { pixels, height: outRows, width: outCols };
}

/**
 * Side (px) of the square the augmented views are cut from (training/dataset.py augmentation_side):
 * round(size / cropFraction), at least `size`; a cropFraction crop of it is exactly `size` px.
 */
export function augmentationSide(size, cropFraction) {
  if (!(size >= 1 && cropFraction > 0 && cropFraction <= 1)) {
    throw new RangeError(`size must be >= 1 and cropFraction in (0, 1]; got ${size}, ${cropFraction}`);
  }
  return Math.max(size, roundHalfEven(size / cropFraction));
}

/**
 * A float image as a palette of its own pixels (every pixel its own colour): what applyDraw takes for the
 * area-resized square of the views rule, whose values are no longer bytes.
 *
 * @param {Float32Array} pixels  (height, width, 3) R, G, B 0–255
 * @returns {{colours: Float32Array, index: Int32Array, height: number, width: number}}
 */
export function pixelPalette(pixels, height, width) {
  return { colours: pixels, index: Int32Array.from({ length: height * width }, (_, i) => i), height, width };
}

/**
 * An augmented model input: a draw applied to an image (its palette), area-resized to size × size unless
 * the draw's crop already has that size (the views rule: a crop of the augmentation square).
 *
 * @returns {Float32Array}  (size, size, 3) float32 0–255
 */
export function augmentedView(palette, draw, size) {
  const view = applyDraw(palette, draw);
  if (view.height === size && view.width === size) return view.pixels;
  return resizeArea(view.pixels, view.height, view.width, 3, size, size);
}

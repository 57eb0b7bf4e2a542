// The paper's augmentation of a training image, as training/dataset.py applies it (apply_draw): a random
// crop to 70 % of each side, a random number of 90° turns, horizontal and vertical flips, then per pixel
// brightness ±0.2 of full scale, contrast ×0.7–1.3 around each channel's mean over the crop, HSV saturation
// ×0.6–1.6 and hue ±0.08 of the circle — on the decoded full-size image, before the one resize rule
// (preprocess.js resizeArea). Given the same draw, the pixels equal training's (float32 steps emulated with
// Math.fround; tests/e2e/test_train_views.py); the draws themselves come from random.js, not numpy.
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
 * The crop, turned (np.rot90: counter-clockwise) and flipped, as float32 R, G, B; and the crop's mean after
 * the brightness shift per channel (for the contrast step; float64 mean, then float32).
 */
function orientedCrop(pixels, height, width, channels, rgb, draw, shift) {
  const { rows, cols, top, left } = cropBox(height, width, draw);
  const turns = ((draw.rotations % 4) + 4) % 4;
  const outRows = turns % 2 ? cols : rows;
  const outCols = turns % 2 ? rows : cols;
  const out = new Float32Array(outRows * outCols * 3);
  const sums = [0, 0, 0];
  for (let i = 0; i < outRows; i++) {
    const iv = draw.flipVertical ? outRows - 1 - i : i;
    for (let j = 0; j < outCols; j++) {
      const jv = draw.flipHorizontal ? outCols - 1 - j : j;
      // (iv, jv) in the turned crop → (r, c) in the crop
      let r;
      let c;
      if (turns === 0) [r, c] = [iv, jv];
      else if (turns === 1) [r, c] = [jv, cols - 1 - iv];
      else if (turns === 2) [r, c] = [rows - 1 - iv, cols - 1 - jv];
      else [r, c] = [rows - 1 - jv, iv];
      const src = ((top + r) * width + left + c) * channels;
      const dst = (i * outCols + j) * 3;
      for (let k = 0; k < 3; k++) {
        const v = pixels[src + rgb[k]];
        out[dst + k] = v;
        sums[k] += Math.min(Math.max(v + shift, 0), 255);
      }
    }
  }
  const n = outRows * outCols;
  return { out, outRows, outCols, means: sums.map((s) => f32(s / n)) };
}

/** Saturation × `saturation`, hue + `hue` of one pixel (training/dataset.py `_colour_planes`), float32. */
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
  const offsets = [5, 3, 1];
  for (let n = 0; n < 3; n++) {
    let k = f32(sextant + offsets[n]);
    k = f32(((k % 6) + 6) % 6);
    k = Math.min(k, f32(4 - k));
    k = Math.min(Math.max(k, 0), 1);
    px[i + n] = f32(top - f32(k * newChroma));
  }
}

/**
 * Apply one draw to a full-size image: crop, turn, flip, then brightness, contrast, saturation, hue.
 *
 * @param {ArrayLike<number>} pixels  (height, width, channels) 0–255, e.g. decode.js RGBA bytes
 * @param {number} height
 * @param {number} width
 * @param {object} draw  from drawAugmentation (or training's Draw, for tests)
 * @param {{channels?: number, order?: 'RGBA'|'BGRA'|'RGB'}} [layout]  of `pixels` (default RGBA)
 * @returns {{pixels: Float32Array, height: number, width: number}}  (h, w, 3) float32 R, G, B 0–255
 */
export function applyDraw(pixels, height, width, draw, { channels = 4, order = 'RGBA' } = {}) {
  const rgb = order === 'BGRA' ? [2, 1, 0] : [0, 1, 2];
  const shift = f32(draw.brightness * 255);
  const { out, outRows, outCols, means } = orientedCrop(pixels, height, width, channels, rgb, draw, shift);
  const contrast = f32(draw.contrast);
  const colour = draw.saturation !== 1 || draw.hue !== 0;
  for (let i = 0; i < out.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      let v = out[i + k];
      if (shift) v = Math.min(Math.max(f32(v + shift), 0), 255);
      if (draw.contrast !== 1) {
        v = Math.min(Math.max(f32(f32(f32(v - means[k]) * contrast) + means[k]), 0), 255);
      }
      out[i + k] = v;
    }
    if (colour) colourPixel(out, i, draw.saturation, draw.hue);
  }
  return { pixels: out, height: outRows, width: outCols };
}

/**
 * An augmented model input: a draw applied to the full-size image, then area-resized to size × size.
 *
 * @returns {Float32Array}  (size, size, 3) float32 0–255
 */
export function augmentedView(pixels, height, width, draw, size, layout = {}) {
  const view = applyDraw(pixels, height, width, draw, layout);
  return resizeArea(view.pixels, view.height, view.width, 3, size, size);
}

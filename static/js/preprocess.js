// The browser twin of training/preprocess.py: the bit-depth rule (images of more than 8 bits → 8 bit) and
// the whole-image area-average downscale, float32 0–255. Pure functions on typed arrays (no DOM, no TF.js),
// so they run in a Web Worker and in tests alike.
//
// The rule (see training/preprocess.py): decode to 8-bit RGB (decode.js; more than 8 bits mapped by the
// bit-depth rule, "Bit depth" in training/preprocess.py's docstring, the one description of it: robustMax,
// dataWindow, windowToUint8, plateWindow below), then area-average the whole image to size × size — rows
// first, then columns — where output i along an axis is (F((i+1)·s) − F(i·s)) / s, s = n_in / n_out,
// F(x) = sum of the pixels below floor(x) + frac(x) · pixel floor(x), computed with float64 running (prefix)
// sums. The result stays float (no rounding) and is fed to the model as raw 0–255 values.

// ------------------------------------------------------------------ bit depth (training/preprocess.py)

/** The robust maximum leaves out the top ⌊n / ROBUST_DIVISOR⌋ samples (0.1 %). */
export const ROBUST_DIVISOR = 1000;

const isFloatArray = (a) => a instanceof Float32Array || a instanceof Float64Array;

/**
 * The finite samples' values at 0-based `ranks` of their ascending order (an empty array when there is no
 * finite sample).
 *
 * @param {ArrayLike<number>} samples  a typed array of any numeric type
 * @param {(n: number) => number[]} ranksOf  the ranks wanted, given the number n of finite samples
 * @returns {number[]}
 */
function orderStatistics(samples, ranksOf) {
  if (samples instanceof Uint16Array || samples instanceof Uint8Array) {
    // A histogram: exact, and fast for the common case.
    const n = samples.length;
    if (n === 0) return [];
    const counts = new Uint32Array(samples instanceof Uint16Array ? 65536 : 256);
    for (let i = 0; i < n; i++) counts[samples[i]]++;
    return ranksOf(n).map((rank) => {
      for (let v = 0, below = 0; v < counts.length; v++) {
        below += counts[v];
        if (below > rank) return v;
      }
      return counts.length - 1;
    });
  }
  let finite = Float64Array.from(samples);
  if (isFloatArray(samples)) finite = finite.filter(Number.isFinite);
  if (finite.length === 0) return [];
  finite.sort();
  return ranksOf(finite.length).map((rank) => finite[rank]);
}

/**
 * The robust maximum of the bit-depth rule: the finite samples sorted ascending, the one at 0-based rank
 * n − 1 − ⌊n / 1000⌋ (0 when there is none). training/preprocess.py `robust_max`.
 *
 * @param {ArrayLike<number>} samples  a typed array of any numeric type
 * @returns {number}
 */
export function robustMax(samples) {
  const [top] = orderStatistics(samples, (n) => [n - 1 - Math.floor(n / ROBUST_DIVISOR)]);
  return top ?? 0;
}

/** The smallest b ≥ 8 with value < 2^b (training/preprocess.py `bits_needed`). */
export function bitsNeeded(value) {
  let bits = 8;
  while (2 ** bits <= value) bits++;
  return bits;
}

/**
 * An image's own window by the bit-depth rule: [0, 2^b − 1], or 0–1 for floats whose robust maximum is at
 * most 1. training/preprocess.py `data_window`.
 *
 * @param {ArrayLike<number>} samples  the chosen plane's grey or colour samples (no alpha), not Uint8
 * @param {{declaredBits?: number|null, declaredSource?: string|null}} [declared]  significant bits the file
 *   declares (fewer than its container's; tiff.js) and the field that said so
 * @returns {{low: number, high: number, bits: number|null, source: string}}
 */
export function dataWindow(samples, { declaredBits = null, declaredSource = null } = {}) {
  const top = robustMax(samples);
  if (isFloatArray(samples) && top <= 1) {
    return {
      low: 0,
      high: 1,
      bits: null,
      source: '0–1: floating-point data whose 99.9th percentile is at most 1',
    };
  }
  const needed = bitsNeeded(top);
  let bits = needed;
  let source = `${needed}-bit: the data's range`;
  if (declaredBits !== null && declaredBits >= needed) {
    bits = declaredBits;
    source = `${declaredBits}-bit, as the file declares (${declaredSource})`;
  } else if (declaredBits !== null) {
    source = `${needed}-bit: the data exceed the ${declaredBits} bits the file declares`;
  }
  return { low: 0, high: 2 ** bits - 1, bits, source };
}

/**
 * The opt-in stretch (the worker's `window: 'percentile'`): the finite samples at ranks ⌊n / 1000⌋ and
 * n − 1 − ⌊n / 1000⌋ (0.1th and 99.9th percentiles) become 0 and 255; a uniform image gets its dataWindow.
 * training/preprocess.py `percentile_window`.
 *
 * @param {ArrayLike<number>} samples  not Uint8 (8-bit images are never remapped)
 * @returns {{low: number, high: number, bits: null, source: string}|object}
 */
export function percentileWindow(samples) {
  const [low, high] = orderStatistics(samples, (n) => {
    const cut = Math.floor(n / ROBUST_DIVISOR);
    return [cut, n - 1 - cut];
  });
  if (high > low) {
    return { low, high, bits: null, source: "the image's 0.1th–99.9th percentiles (as asked)" };
  }
  return dataWindow(samples);
}

/**
 * One window for a plate: the widest of its images' windows (training/preprocess.py `plate_window`). Give it
 * to every image of the plate (the worker's `window` option) so that all wells are mapped alike.
 *
 * @param {{low: number, high: number, bits: number|null}[]} windows  the images' `dataWindow`s (the
 *   worker's result.image.dataWindow)
 * @returns {{low: number, high: number, bits: number|null, source: string}}
 */
export function plateWindow(windows) {
  if (!windows.length) throw new RangeError("windows must hold at least one image's window");
  const low = Math.min(...windows.map((w) => w.low));
  const high = Math.max(...windows.map((w) => w.high));
  const bits = Math.max(...windows.map((w) => w.bits ?? 0));
  const exact = low === 0 && bits > 0 && high === 2 ** bits - 1;
  return {
    low,
    high,
    bits: exact ? bits : null,
    source: `plate: the widest of ${windows.length} images' windows`,
  };
}

/** Throw unless `window` is {low, high} with finite low < high. */
function checkWindow(window) {
  const { low, high } = window ?? {};
  if (!(Number.isFinite(low) && Number.isFinite(high) && high > low)) {
    throw new RangeError(`a window needs finite low < high; got ${low}, ${high}`);
  }
}

/**
 * Samples → 8 bit by a window: clip(floor((v − low) · (255 / (high − low)) + 0.5), 0, 255), NaN → 0, in
 * float64 (training/preprocess.py `to_uint8`). Uint8 samples are returned as they are.
 *
 * @param {ArrayLike<number>} samples  any numeric typed array
 * @param {{low: number, high: number}} window
 * @returns {Uint8Array}  one byte per sample
 */
export function windowToUint8(samples, window) {
  if (samples instanceof Uint8Array || samples instanceof Uint8ClampedArray) return samples;
  checkWindow(window);
  const { low, high } = window;
  const scale = 255 / (high - low);
  const byte = (v) => {
    const x = Math.floor((v - low) * scale + 0.5);
    return x >= 0 ? Math.min(x, 255) : 0; // NaN fails both tests: 0
  };
  const out = new Uint8Array(samples.length);
  if (samples instanceof Uint16Array) {
    const table = new Uint8Array(65536); // one look-up per sample
    for (let v = 0; v < 65536; v++) table[v] = byte(v);
    for (let i = 0; i < samples.length; i++) out[i] = table[samples[i]];
  } else {
    for (let i = 0; i < samples.length; i++) out[i] = byte(samples[i]);
  }
  return out;
}

/**
 * Area-average resize of an interleaved image.
 *
 * @param {ArrayLike<number>} src  pixels, row-major, `channels` values per pixel (RGBA from a canvas: 4)
 * @param {number} height  source rows (px)
 * @param {number} width  source columns (px)
 * @param {number} channels  values per source pixel; the first 3 (R, G, B) are used, or 1: a grey image,
 *   averaged once and given as R = G = B (the same numbers as its RGB copy gives, about 3× faster)
 * @param {number} outHeight  output rows (px)
 * @param {number} outWidth  output columns (px)
 * @param {'RGBA'|'BGRA'} [order='RGBA']  byte order of a pixel (a VideoFrame copy is often BGRA); only the
 *   first three channels are used and the output is always R, G, B
 * @returns {Float32Array}  shape (outHeight, outWidth, 3), values in the source range (0–255), not rounded
 */
export function resizeArea(src, height, width, channels, outHeight, outWidth, order = 'RGBA') {
  for (const [name, v] of Object.entries({ height, width, outHeight, outWidth })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer; got ${v}`);
  }
  if (!(channels >= 3 || channels === 1)) throw new RangeError(`channels must be 1 or >= 3; got ${channels}`);
  if (order !== 'RGBA' && order !== 'BGRA') throw new RangeError(`order must be RGBA or BGRA; got ${order}`);
  if (src.length < height * width * channels) {
    throw new RangeError(`src holds ${src.length} values; ${height}×${width}×${channels} needed`);
  }
  if (channels === 1)
    return resizeColumns(resizeRowsGrey(src, height, width, outHeight), outHeight, width, outWidth, 1);
  const rows = resizeRows(src, height, width, channels, outHeight, order === 'BGRA' ? [2, 1, 0] : [0, 1, 2]);
  return resizeColumns(rows, outHeight, width, outWidth);
}

/**
 * The model input: a whole RGBA (or grey) image area-averaged to size × size.
 *
 * @param {Uint8ClampedArray|Uint8Array} pixels  (height, width, 4), e.g. ImageData.data or a VideoFrame copy;
 *   (height, width) for order 'GREY' (decode.js with `grey`)
 * @param {number} height
 * @param {number} width
 * @param {number} size  side of the square model input (card.input.size, px)
 * @param {'RGBA'|'BGRA'|'GREY'} [order='RGBA']  byte order of the pixels
 * @returns {Float32Array}  (size, size, 3), float32 0–255, channels R, G, B
 */
export function toModelInput(pixels, height, width, size, order = 'RGBA') {
  if (order === 'GREY') return resizeArea(pixels, height, width, 1, size, size);
  return resizeArea(pixels, height, width, 4, size, size, order);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Edges of the output samples along one axis, as in training/preprocess.py `_area_axis`. */
function axisEdges(nIn, nOut) {
  const scale = nIn / nOut;
  const lo = new Int32Array(nOut + 1);
  const frac = new Float64Array(nOut + 1);
  for (let i = 0; i <= nOut; i++) {
    const edge = i === nOut ? nIn : i * scale; // exact end, whatever the rounding of nOut * scale
    lo[i] = Math.min(Math.floor(edge), nIn - 1);
    frac[i] = edge - lo[i];
  }
  return { scale, lo, frac };
}

/** First pass: area-average along rows (axis 0) → Float64Array (outHeight, width, 3) in R, G, B order. */
function resizeRows(src, height, width, channels, outHeight, rgb) {
  const bytes = src instanceof Uint8ClampedArray || src instanceof Uint8Array;
  if (channels === 4 && bytes && LITTLE_ENDIAN && src.byteOffset % 4 === 0) {
    return resizeRowsPacked(src, height, width, outHeight, rgb[0] === 2);
  }
  const { scale, lo, frac } = axisEdges(height, outHeight);
  const n = width * 3;
  const out = new Float64Array(outHeight * n);
  const block = new Float64Array(n); // sum of the whole source rows between two edges
  const stride = width * channels;
  const [c0, c1, c2] = rgb;
  for (let i = 1; i <= outHeight; i++) {
    // F(e_i) − F(e_{i−1}) = Σ whole rows in [lo_{i−1}, lo_i) − frac_{i−1}·row lo_{i−1} + frac_i·row lo_i
    block.fill(0);
    for (let r = lo[i - 1]; r < lo[i]; r++) {
      for (let k = 0, s = r * stride; k < n; k += 3, s += channels) {
        block[k] += src[s + c0];
        block[k + 1] += src[s + c1];
        block[k + 2] += src[s + c2];
      }
    }
    const fa = frac[i - 1];
    const fb = frac[i];
    let sa = lo[i - 1] * stride;
    let sb = lo[i] * stride;
    const o = (i - 1) * n;
    for (let k = 0; k < n; k += 3, sa += channels, sb += channels) {
      out[o + k] = (block[k] - fa * src[sa + c0] + fb * src[sb + c0]) / scale;
      out[o + k + 1] = (block[k + 1] - fa * src[sa + c1] + fb * src[sb + c1]) / scale;
      out[o + k + 2] = (block[k + 2] - fa * src[sa + c2] + fb * src[sb + c2]) / scale;
    }
  }
  return out;
}

/**
 * The row pass for 4-byte pixels (RGBA or BGRA), two channels at a time: masking a 32-bit pixel puts bytes
 * 0 and 2 (or 1 and 3) in two 16-bit lanes, which add exactly for 256 rows; taller blocks (images more than
 * 256× the output height) carry the lanes over into float64 sums every 256 rows.
 */
function resizeRowsPacked(src, height, width, outHeight, redHigh) {
  const { scale, lo, frac } = axisEdges(height, outHeight);
  const pixels = new Uint32Array(src.buffer, src.byteOffset, height * width);
  const even = new Uint32Array(width); // bytes 0 and 2 (R and B, or B and R)
  const odd = new Uint32Array(width); // bytes 1 and 3 (G and alpha)
  const carry = new Float64Array(width * 3);
  const out = new Float64Array(outHeight * width * 3);
  let carried = false;
  for (let i = 1; i <= outHeight; i++) {
    const a = lo[i - 1];
    const b = lo[i];
    let pending = 0;
    for (let r = a; r < b; r++) {
      const base = r * width;
      for (let x = 0; x < width; x++) {
        const v = pixels[base + x];
        even[x] += v & 0x00ff00ff;
        odd[x] += (v >>> 8) & 0x00ff00ff;
      }
      if (++pending === 256) {
        for (let x = 0, k = 0; x < width; x++, k += 3) {
          carry[k] += even[x] & 0xffff;
          carry[k + 1] += odd[x] & 0xffff;
          carry[k + 2] += even[x] >>> 16;
        }
        even.fill(0);
        odd.fill(0);
        pending = 0;
        carried = true;
      }
    }
    // F(e_i) − F(e_{i−1}) = Σ whole rows in [a, b) − frac_{i−1}·row a + frac_i·row b
    const fa = frac[i - 1];
    const fb = frac[i];
    const baseA = a * width;
    const baseB = b * width;
    const o = (i - 1) * width * 3;
    for (let x = 0, k = 0; x < width; x++, k += 3) {
      const e = even[x];
      const pa = pixels[baseA + x];
      const pb = pixels[baseB + x];
      let s0 = e & 0xffff;
      let s1 = odd[x] & 0xffff;
      let s2 = e >>> 16;
      if (carried) {
        s0 += carry[k];
        s1 += carry[k + 1];
        s2 += carry[k + 2];
      }
      const v0 = (s0 - fa * (pa & 255) + fb * (pb & 255)) / scale;
      const v1 = (s1 - fa * ((pa >>> 8) & 255) + fb * ((pb >>> 8) & 255)) / scale;
      const v2 = (s2 - fa * ((pa >>> 16) & 255) + fb * ((pb >>> 16) & 255)) / scale;
      out[o + k] = redHigh ? v2 : v0;
      out[o + k + 1] = v1;
      out[o + k + 2] = redHigh ? v0 : v2;
      even[x] = 0;
      odd[x] = 0;
    }
    if (carried) {
      carry.fill(0);
      carried = false;
    }
  }
  return out;
}

/** First pass of a grey image: area-average along rows → Float64Array (outHeight, width), as resizeRows. */
function resizeRowsGrey(src, height, width, outHeight) {
  const { scale, lo, frac } = axisEdges(height, outHeight);
  const out = new Float64Array(outHeight * width);
  const block = new Float64Array(width);
  for (let i = 1; i <= outHeight; i++) {
    block.fill(0);
    for (let r = lo[i - 1]; r < lo[i]; r++) {
      for (let x = 0, s = r * width; x < width; x++, s++) block[x] += src[s];
    }
    const fa = frac[i - 1];
    const fb = frac[i];
    const sa = lo[i - 1] * width;
    const sb = lo[i] * width;
    const o = (i - 1) * width;
    for (let x = 0; x < width; x++) out[o + x] = (block[x] - fa * src[sa + x] + fb * src[sb + x]) / scale;
  }
  return out;
}

/**
 * Second pass: area-average along columns (axis 1) of a (nRows, width, channels) float64 image (channels 3,
 * or 1: a grey image, written out as R = G = B) → Float32Array (nRows, outWidth, 3).
 */
function resizeColumns(rows, nRows, width, outWidth, channels = 3) {
  if (channels === 1) return resizeColumnsGrey(rows, nRows, width, outWidth);
  const { scale, lo, frac } = axisEdges(width, outWidth);
  const out = new Float32Array(nRows * outWidth * 3);
  for (let y = 0; y < nRows; y++) {
    const base = y * width * 3;
    let b0 = 0,
      b1 = 0,
      b2 = 0; // sums of the whole pixels left of column x
    let p0 = 0,
      p1 = 0,
      p2 = 0; // F at the previous edge
    let x = 0;
    for (let i = 1; i <= outWidth; i++) {
      const l = lo[i];
      for (; x < l; x++) {
        const s = base + x * 3;
        b0 += rows[s];
        b1 += rows[s + 1];
        b2 += rows[s + 2];
      }
      const f = frac[i];
      const s = base + l * 3;
      const i0 = b0 + f * rows[s],
        i1 = b1 + f * rows[s + 1],
        i2 = b2 + f * rows[s + 2];
      const o = (y * outWidth + i - 1) * 3;
      out[o] = (i0 - p0) / scale;
      out[o + 1] = (i1 - p1) / scale;
      out[o + 2] = (i2 - p2) / scale;
      p0 = i0;
      p1 = i1;
      p2 = i2;
    }
  }
  return out;
}

/** resizeColumns of a grey image: one sum per pixel, each output written three times. */
function resizeColumnsGrey(rows, nRows, width, outWidth) {
  const { scale, lo, frac } = axisEdges(width, outWidth);
  const out = new Float32Array(nRows * outWidth * 3);
  for (let y = 0; y < nRows; y++) {
    const base = y * width;
    let sum = 0; // the whole pixels left of column x
    let previous = 0; // F at the previous edge
    let x = 0;
    for (let i = 1; i <= outWidth; i++) {
      const l = lo[i];
      for (; x < l; x++) sum += rows[base + x];
      const at = sum + frac[i] * rows[base + l];
      const o = (y * outWidth + i - 1) * 3;
      out[o] = out[o + 1] = out[o + 2] = (at - previous) / scale;
      previous = at;
    }
  }
  return out;
}

/**
 * Is the image usable for a model with a `size`-px input? Pure: the caller decides how to show it.
 *
 * @param {number} width  (px)
 * @param {number} height  (px)
 * @param {number} size  model input side (px)
 * @returns {{error: string|null, warnings: string[]}}
 */
export function checkImageSize(width, height, size) {
  const short = Math.min(width, height);
  const warnings = [];
  if (short < size / 2) {
    return {
      error:
        `image is ${width}×${height} px, far smaller than the model's ${size}×${size} px input: ` +
        'it would have to be enlarged more than 2×, so no prediction was made. Use the full-size image.',
      warnings,
    };
  }
  if (short < size) {
    warnings.push(`small image (${width}×${height} px): enlarged to the model's ${size} px input`);
  }
  const ratio = Math.max(width, height) / short;
  if (ratio > 1.6) {
    warnings.push(
      `unusual aspect ratio ${ratio.toFixed(2)}:1 (${width}×${height} px): the whole image is ` +
        'squeezed into a square, unlike the ~1.2:1 images the models were trained on',
    );
  }
  return { error: null, warnings };
}

/** Display stretch: the grey levels at these shares of a thumbnail's pixels become black and white. */
export const DISPLAY_CLIP = 0.005;
const LUMA = [0.299, 0.587, 0.114];

/**
 * The display range of an RGB image: the grey (BT.601 luma) levels at ranks ⌊n · 0.005⌋ and
 * n − 1 − ⌊n · 0.005⌋, for showing it with contrast (never for the model).
 *
 * @param {ArrayLike<number>} rgb  (n, 3) values 0–255
 * @returns {{low: number, high: number}}  high − low < 1 for an (almost) uniform image
 */
export function displayRange(rgb) {
  const n = rgb.length / 3;
  const grey = new Float64Array(n);
  for (let p = 0, q = 0; p < n; p++, q += 3)
    grey[p] = rgb[q] * LUMA[0] + rgb[q + 1] * LUMA[1] + rgb[q + 2] * LUMA[2];
  grey.sort();
  const k = Math.floor(n * DISPLAY_CLIP);
  return { low: grey[k], high: grey[n - 1 - k] };
}

/**
 * An RGBA thumbnail of a model input, restored to the image's aspect ratio and stretched for display
 * (displayRange → 0–255; a uniform image is shown as it is): what the model saw, with contrast, whatever
 * the bit-depth rule gave. The occlusion map is drawn over it.
 *
 * @param {Float32Array} input  (size, size, 3), 0–255
 * @param {number} size
 * @param {number} width  original image width (px), for the aspect ratio
 * @param {number} height  original image height (px)
 * @param {number} [maxSide=64]  longest side of the thumbnail (px)
 * @returns {{rgba: Uint8ClampedArray, width: number, height: number, range: {low: number, high: number}}}
 *   range: the grey levels shown as black and white
 */
export function thumbnailRGBA(input, size, width, height, maxSide = 64) {
  const tw = width >= height ? maxSide : Math.max(1, Math.round((maxSide * width) / height));
  const th = height >= width ? maxSide : Math.max(1, Math.round((maxSide * height) / width));
  const small = resizeArea(input, size, size, 3, th, tw);
  const range = displayRange(small);
  const flat = range.high - range.low < 1;
  const gain = flat ? 1 : 255 / (range.high - range.low);
  const offset = flat ? 0 : range.low;
  const rgba = new Uint8ClampedArray(tw * th * 4);
  for (let p = 0, q = 0; p < small.length; p += 3, q += 4) {
    rgba[q] = (small[p] - offset) * gain;
    rgba[q + 1] = (small[p + 1] - offset) * gain;
    rgba[q + 2] = (small[p + 2] - offset) * gain;
    rgba[q + 3] = 255;
  }
  return { rgba, width: tw, height: th, range };
}

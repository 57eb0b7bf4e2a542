// Decoding an image file to 8-bit pixels, as training/preprocess.py `decode_image(path, reduce_for=S)` does:
// a JPEG at the rule's reduced scale (jpeg.js), everything else in full; EXIF orientation applied, no colour
// management, alpha ignored later. Runs in a Web Worker (WebCodecs, or createImageBitmap then a VideoFrame
// copy or an OffscreenCanvas: bitmap.js); no DOM, no TF.js. Images of more than 8 bits — TIFFs (tiff.js:
// which plane and channel, what the file declares) and 16-bit PNGs (pako) — are mapped to 8 bit by the
// bit-depth rule of training/preprocess.py (preprocess.js).
import { decodeWithBrowser } from './bitmap.js';
import { decodeJpegReduced } from './jpeg.js';
import { dataWindow, percentileWindow, windowToUint8 } from './preprocess.js';
import { ImageProblem } from './problem.js';
import { readTiff } from './tiff.js';

export { ImageProblem };

const SIGNATURES = [
  ['jpeg', [0xff, 0xd8, 0xff]],
  ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['tiff', [0x49, 0x49, 0x2a, 0x00]],
  ['tiff', [0x4d, 0x4d, 0x00, 0x2a]],
  ['tiff', [0x49, 0x49, 0x2b, 0x00]], // BigTIFF
  ['tiff', [0x4d, 0x4d, 0x00, 0x2b]],
  ['bmp', [0x42, 0x4d]],
  ['gif', [0x47, 0x49, 0x46, 0x38]],
];

/**
 * The image format from a file's first bytes (not its name).
 *
 * @param {Uint8Array} head  the first ≥ 12 bytes
 * @returns {'jpeg'|'png'|'tiff'|'bmp'|'gif'|'webp'|null}
 */
export function sniffFormat(head) {
  for (const [format, magic] of SIGNATURES) {
    if (magic.every((b, i) => head[i] === b)) return format;
  }
  const ascii = (a, b) => String.fromCharCode(...head.subarray(a, b));
  if (head.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

/** True when a JPEG's last bytes hold its end-of-image marker (FF D9): Pillow refuses truncated JPEGs. */
function jpegHasEnd(tail) {
  for (let i = tail.length - 2; i >= 0; i--) {
    if (tail[i] === 0xff && tail[i + 1] === 0xd9) return true;
  }
  return false;
}

/** What a file's bytes look like, for a "not an image" message. */
function describeBytes(head) {
  if (head.length === 0) return 'the file is empty';
  const ascii = String.fromCharCode(...head.subarray(0, 4));
  if (ascii === '%PDF') return 'it is a PDF';
  if (ascii.startsWith('PK')) return 'it is a ZIP archive (or an Office document)';
  const text = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  if (text) return 'it holds text';
  return 'its contents are not a known image format';
}

// ------------------------------------------------------------------ more than 8 bits: PNG and TIFF
//
// Images of more than 8 bits are mapped to 8 bit by the bit-depth rule of training/preprocess.py
// (preprocess.js dataWindow/windowToUint8), so 16-bit PNGs are decoded here, not by Chromium (which divides
// by 65,535), and TIFFs by tiff.js.

/**
 * Interleaved samples (1 grey or 3 RGB per pixel, any numeric type) → RGBA bytes by the bit-depth rule.
 *
 * @param {ArrayLike<number>} samples  (height, width, channels)
 * @param {number} width
 * @param {number} height
 * @param {1|3} channels
 * @param {{window?: object|string|null, declaredBits?: number|null, declaredSource?: string|null,
 *   grey?: boolean}} [rule]  window: the worker's `window` option — {low, high} (e.g.
 *   preprocess.plateWindow) or 'percentile' (each image's percentileWindow); default the image's own
 *   dataWindow. grey: a grey image is returned as one byte per pixel (order 'GREY'), not expanded to RGBA
 * @returns {{pixels: Uint8ClampedArray|Uint8Array, order: 'RGBA'|'GREY', window: object|null,
 *   dataWindow: object|null}}  windows null for 8-bit samples (used as they are)
 */
function samplesToRGBA(
  samples,
  width,
  height,
  channels,
  { window = null, declaredBits = null, declaredSource = null, grey = false } = {},
) {
  const eight = samples instanceof Uint8Array || samples instanceof Uint8ClampedArray;
  const own = eight ? null : dataWindow(samples, { declaredBits, declaredSource });
  const used = eight ? null : window === 'percentile' ? percentileWindow(samples) : (window ?? own);
  const bytes = eight ? samples : windowToUint8(samples, used);
  if (grey && channels === 1) return { pixels: bytes, order: 'GREY', window: used, dataWindow: own };
  const n = width * height;
  const pixels = new Uint8ClampedArray(n * 4);
  for (let p = 0, s = 0, q = 0; p < n; p++, s += channels, q += 4) {
    const grey = bytes[s];
    pixels[q] = grey;
    pixels[q + 1] = channels === 3 ? bytes[s + 1] : grey;
    pixels[q + 2] = channels === 3 ? bytes[s + 2] : grey;
    pixels[q + 3] = 255;
  }
  return { pixels, order: 'RGBA', window: used, dataWindow: own };
}

/** The `image` object of a decoded file (training/preprocess.py DecodedImage.info()). */
function imageInfo({
  window = null,
  dataWindow: own = null,
  selection = null,
  pixelSize = null,
  objective = null,
}) {
  return {
    window,
    data_window: own,
    selection: selection ?? {
      plane: 0,
      planes: 1,
      plane_axis: 'none',
      channel: 0,
      channels: 1,
      channel_name: null,
      timepoints: 1,
    },
    pixel_size: pixelSize,
    objective,
  };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * 16-bit samples stored as bytes (`bigEndian` or little-endian) → a Uint16Array in this machine's order
 * (a view of `bytes` when no swap and no copy are needed).
 */
function samples16(bytes, count, bigEndian) {
  if (bigEndian !== LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  }
  const out = new Uint16Array(count);
  const [hi, lo] = bigEndian ? [0, 1] : [1, 0];
  for (let i = 0; i < count; i++) out[i] = (bytes[2 * i + hi] << 8) | bytes[2 * i + lo];
  return out;
}

async function loadScript(path) {
  await import(path); // a classic UMD script: it sets self.pako
}

async function vendorPako() {
  if (!globalThis.pako) await loadScript('../vendor/pako.min.js');
  return globalThis.pako;
}

/** Header of a PNG: {width, height, bitDepth, colorType, interlace}. */
function pngHeader(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
  return {
    width: view.getUint32(16),
    height: view.getUint32(20),
    bitDepth: bytes[24],
    colorType: bytes[25],
    interlace: bytes[28],
  };
}

const PNG_CHANNELS = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** A 16-bit, non-interlaced PNG decoded with pako (filters undone here), mapped by the bit-depth rule. */
async function decodePng16(bytes, header, rule) {
  const pako = await vendorPako();
  const { width, height, colorType } = header;
  const channels = PNG_CHANNELS[colorType];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts = [];
  for (let off = 8; off + 8 <= bytes.length; ) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    if (type === 'IDAT') parts.push(bytes.subarray(off + 8, off + 8 + len));
    if (type === 'IEND') break;
    off += 12 + len;
  }
  const inflator = new pako.Inflate();
  parts.forEach((p, i) => {
    inflator.push(p, i === parts.length - 1);
  });
  if (inflator.err || !inflator.result) {
    throw new ImageProblem('corrupt', `corrupt 16-bit PNG file (${inflator.msg || 'no image data'})`);
  }
  const raw = inflator.result;
  const bpp = channels * 2;
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) throw new ImageProblem('corrupt', 'truncated 16-bit PNG file');
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    const up = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? data[row + x - bpp] : 0;
      const b = y > 0 ? data[up + x] : 0;
      const c = x >= bpp && y > 0 ? data[up + x - bpp] : 0;
      let v = src[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new ImageProblem('corrupt', `corrupt PNG file (row filter ${filter})`);
      data[row + x] = v & 255;
    }
  }
  const all = samples16(data, width * height * channels, true);
  const colour = channels >= 3 ? 3 : 1; // alpha dropped
  const samples = colour === channels ? all : new Uint16Array(width * height * colour);
  if (samples !== all) {
    for (let p = 0, s = 0, o = 0; p < width * height; p++, s += channels, o += colour) {
      for (let k = 0; k < colour; k++) samples[o + k] = all[s + k];
    }
  }
  const mapped = samplesToRGBA(samples, width, height, colour, rule);
  return {
    pixels: mapped.pixels,
    order: mapped.order,
    width,
    height,
    warnings: [],
    image: imageInfo(mapped),
  };
}

async function decodePng(blob, format, _reduceFor, rule) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const header = pngHeader(bytes);
  if (header && header.bitDepth === 16 && PNG_CHANNELS[header.colorType] !== undefined) {
    if (header.interlace === 0) return decodePng16(bytes, header, rule);
    const decoded = await decodeWithBrowser(blob, format);
    decoded.warnings.push(
      "interlaced 16-bit PNG: converted to 8 bit by the browser (÷ 65,535), not by training's bit-depth rule: " +
        'save it without interlacing',
    );
    return decoded;
  }
  return decodeWithBrowser(blob, format);
}

/** A TIFF's plane and channel (tiff.js: the `plane` and `channel` options), mapped by the bit-depth rule. */
async function decodeTiff(
  blob,
  _format,
  _reduceFor,
  { window = null, plane = null, channel = null, grey = false } = {},
) {
  const read = await readTiff(await blob.arrayBuffer(), { plane, channel, fileName: blob.name ?? null });
  const mapped = samplesToRGBA(read.samples, read.width, read.height, read.channels, {
    window,
    declaredBits: read.declaredBits,
    declaredSource: read.declaredSource,
    grey,
  });
  return {
    pixels: mapped.pixels,
    order: mapped.order,
    width: read.width,
    height: read.height,
    warnings: read.warnings,
    image: imageInfo({ ...mapped, ...read }),
  };
}

/**
 * A JPEG at the decode rule's reduced scale for a `reduceFor`-px model input; in full (with a warning saying
 * why) when this browser cannot, or when no size is given.
 */
async function decodeJpeg(blob, format, reduceFor) {
  if (reduceFor) {
    const { decoded, reason } = await decodeJpegReduced(new Uint8Array(await blob.arrayBuffer()), reduceFor);
    if (decoded) return decoded;
    if (reason) {
      const full = await decodeWithBrowser(blob, format);
      full.warnings.push(
        `JPEG decoded in full, not at the reduced scale training uses: ${reason}. The model input may ` +
          'differ from the one training computes by about one grey level on average.',
      );
      return full;
    }
  }
  return decodeWithBrowser(blob, format);
}

const DECODERS = {
  jpeg: decodeJpeg,
  png: decodePng,
  tiff: decodeTiff,
  bmp: decodeWithBrowser,
  gif: decodeWithBrowser,
  webp: decodeWithBrowser,
};

/**
 * Decode an image file to RGBA pixels.
 *
 * @param {Blob} file  a File from the picker or a drop
 * @param {{reduceFor?: number, plane?: number|null, channel?: number|string|null,
 *   window?: {low: number, high: number}|'percentile'|null, grey?: boolean}} [options]  grey: a grey PNG of
 *   16 bits or a grey TIFF comes back as one byte per pixel (order 'GREY', for preprocess.js toModelInput)
 *   instead of RGBA; reduceFor: the model input side
 *   (px) the image is decoded for: a JPEG is then decoded at the rule's reduced scale (jpeg.js); omitted: in
 *   full. plane, channel: which plane (index from 0) and channel (index from 0, or its name) of a TIFF
 *   (tiff.js; default its rule). window: map images of more than 8 bits by this window (preprocess.js
 *   plateWindow), or by each image's 0.1th–99.9th percentiles ('percentile': preprocess.js
 *   percentileWindow), instead of their own
 * @returns {Promise<{pixels: Uint8ClampedArray|Uint8Array, order: 'RGBA'|'BGRA'|'GREY', width: number,
 *   height: number, imageWidth: number, imageHeight: number, format: string, warnings: string[],
 *   image: {window: object|null, data_window: object|null, selection: object, pixel_size: object|null,
 *   objective: string|null}}>}  pixels: (height, width, 4) bytes in `order` ((height, width) for GREY);
 *   imageWidth × imageHeight: the image's own size (px), larger than width × height when the JPEG was
 *   decoded reduced; image: what was chosen and read (training/preprocess.py DecodedImage.info(): the window used and the image's own, the
 *   plane and channel, the pixel size in µm and the objective when the file says)
 * @throws {ImageProblem}  not an image, corrupt or truncated, a format this page cannot read yet, a
 *   multi-channel file whose channel must be chosen ('choose_channel'), or a plane/channel it lacks
 */
export async function decodeImage(
  file,
  { reduceFor, plane = null, channel = null, window = null, grey = false } = {},
) {
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const format = sniffFormat(head);
  if (format === null) {
    throw new ImageProblem('not_image', `not an image: ${describeBytes(head)}`);
  }
  const decoder = DECODERS[format];
  if (!decoder) {
    throw new ImageProblem(
      'unsupported',
      `${format.toUpperCase()} files cannot be read here yet: export the image as PNG or JPEG`,
    );
  }
  if (format === 'jpeg') {
    const tail = new Uint8Array(await file.slice(Math.max(0, file.size - 4096)).arrayBuffer());
    if (!jpegHasEnd(tail)) {
      throw new ImageProblem(
        'corrupt',
        'truncated JPEG: the file ends before the image does ' + '(an interrupted copy or download?)',
      );
    }
  }
  const decoded = await decoder(file, format, reduceFor, { plane, channel, window, grey });
  return {
    imageWidth: decoded.width,
    imageHeight: decoded.height,
    image: imageInfo({}),
    ...decoded,
    format,
  };
}

// Decoding an image file to 8-bit pixels, as training/preprocess.py `load_rgb(path, reduce_for=S)` does:
// a JPEG at the rule's reduced scale (jpeg.js), everything else in full; EXIF orientation applied, no colour
// management, alpha ignored later. Runs in a Web Worker (WebCodecs, or createImageBitmap then a VideoFrame
// copy or an OffscreenCanvas); no DOM, no TF.js. One decoder per format: TIFF (UTIF.js) and 16-bit PNG
// (pako) are decoded here, mapped to 8 bit by training's to_uint8 rule.
import { decodeJpegReduced } from './jpeg.js';

/** A file that cannot become a model input; `kind` says why in one word, `message` in plain words. */
export class ImageProblem extends Error {
  /**
   * @param {'not_image'|'corrupt'|'unsupported'|'too_small'} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(message);
    this.name = 'ImageProblem';
    this.kind = kind;
  }
}

const SIGNATURES = [
  ['jpeg', [0xff, 0xd8, 0xff]],
  ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['tiff', [0x49, 0x49, 0x2a, 0x00]],
  ['tiff', [0x4d, 0x4d, 0x00, 0x2a]],
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

/**
 * The pixels of an ImageBitmap as they are stored, through a VideoFrame copy: no premultiplied alpha, and
 * about twice as fast as drawing to a canvas. Null when the frame is not a plain 4-byte RGB(A) image in the
 * bitmap's own orientation (e.g. an EXIF-rotated JPEG is a rotated frame): the caller then uses a canvas.
 */
async function framePixels(bitmap) {
  if (typeof VideoFrame === 'undefined' || !('rotation' in VideoFrame.prototype)) return null;
  const frame = new VideoFrame(bitmap, { timestamp: 0 });
  try {
    const { width, height } = bitmap;
    const plain =
      ['RGBA', 'RGBX', 'BGRA', 'BGRX'].includes(frame.format) &&
      frame.rotation === 0 &&
      !frame.flip &&
      frame.codedWidth === width &&
      frame.codedHeight === height &&
      frame.visibleRect.x === 0 &&
      frame.visibleRect.y === 0 &&
      frame.visibleRect.width === width &&
      frame.visibleRect.height === height;
    if (!plain) return null;
    const pixels = new Uint8ClampedArray(frame.allocationSize());
    const [plane] = await frame.copyTo(pixels);
    if (plane.offset !== 0 || plane.stride !== width * 4 || pixels.length !== width * height * 4) return null;
    return { pixels, order: frame.format.startsWith('BGR') ? 'BGRA' : 'RGBA', warnings: [] };
  } finally {
    frame.close();
  }
}

/** The pixels of an ImageBitmap through a 2D canvas (which stores premultiplied colours). */
function canvasPixels(bitmap) {
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true, alpha: true });
  ctx.drawImage(bitmap, 0, 0);
  const pixels = ctx.getImageData(0, 0, width, height).data;
  const warnings = [];
  for (let i = 3; i < pixels.length; i += 4) {
    if (pixels[i] !== 255) {
      warnings.push(
        "image has transparent pixels: their colours may differ slightly from training's decoding",
      );
      break;
    }
  }
  return { pixels, order: 'RGBA', warnings };
}

async function decodeWithBrowser(blob, format) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
      imageOrientation: 'from-image',
    });
  } catch (err) {
    throw new ImageProblem('corrupt', `corrupt or unreadable ${format.toUpperCase()} file (${err.message})`);
  }
  try {
    const { width, height } = bitmap;
    const read = (await framePixels(bitmap)) ?? canvasPixels(bitmap);
    return { ...read, width, height };
  } finally {
    bitmap.close();
  }
}

// ------------------------------------------------------------------ 16-bit PNG and TIFF (own decoders)
//
// 16 → 8 bit follows training/preprocess.py `to_uint8`: round(v · 255 / 65535), half up, in float64
// (Chromium's own 16-bit PNG conversion differs from it by up to 1 level, so 16-bit PNGs are decoded here).

const SCALE16 = 255 / 65535;
let lut16 = null;

/** to_uint8 for 16-bit values: a 65536-entry table. */
function table16() {
  if (!lut16) {
    lut16 = new Uint8Array(65536);
    for (let v = 0; v < 65536; v++) lut16[v] = Math.min(255, Math.floor(v * SCALE16 + 0.5));
  }
  return lut16;
}

/**
 * Samples (grey, grey+alpha, RGB or RGBA; 8 or 16 bit) → RGBA bytes, as training's `_as_rgb(to_uint8(·))`.
 *
 * @param {Uint8Array|Uint16Array} samples  row-major, interleaved, `channels` per pixel, in native order
 */
function toRGBA(samples, width, height, channels, bits) {
  const map = bits === 16 ? table16() : null;
  const n = width * height;
  const out = new Uint8ClampedArray(n * 4);
  const value = map ? (i) => map[samples[i]] : (i) => samples[i];
  if (channels <= 2) {
    // grey (± alpha): one table look-up per pixel, written to three channels
    for (let p = 0, s = 0, q = 0; p < n; p++, s += channels, q += 4) {
      const g = value(s);
      out[q] = g;
      out[q + 1] = g;
      out[q + 2] = g;
      out[q + 3] = 255;
    }
  } else {
    for (let p = 0, s = 0, q = 0; p < n; p++, s += channels, q += 4) {
      out[q] = value(s);
      out[q + 1] = value(s + 1);
      out[q + 2] = value(s + 2);
      out[q + 3] = 255;
    }
  }
  return out;
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
  await import(path); // classic UMD scripts: they set self.pako / self.UTIF
}

async function vendor(name) {
  if (name === 'UTIF' && !globalThis.UTIF) {
    if (!globalThis.pako) await loadScript('../vendor/pako.min.js');
    await loadScript('../vendor/UTIF.js');
  } else if (name === 'pako' && !globalThis.pako) {
    await loadScript('../vendor/pako.min.js');
  }
  return globalThis[name];
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

/** A 16-bit, non-interlaced PNG decoded with pako (filters undone here); values mapped by to_uint8. */
async function decodePng16(bytes, header) {
  const pako = await vendor('pako');
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
  const pixels = toRGBA(samples16(data, width * height * channels, true), width, height, channels, 16);
  return { pixels, order: 'RGBA', width, height, warnings: [] };
}

async function decodePng(blob, format) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const header = pngHeader(bytes);
  if (header && header.bitDepth === 16 && PNG_CHANNELS[header.colorType] !== undefined) {
    if (header.interlace === 0) return decodePng16(bytes, header);
    const decoded = await decodeWithBrowser(blob, format);
    decoded.warnings.push(
      'interlaced 16-bit PNG: converted to 8 bit by the browser, which may differ from the training rule ' +
        'by 1 grey level',
    );
    return decoded;
  }
  return decodeWithBrowser(blob, format);
}

/** A TIFF's first page (UTIF.js): 8- or 16-bit unsigned, grey or RGB (± alpha); 16 → 8 bit by to_uint8. */
async function decodeTiff(blob) {
  const UTIF = await vendor('UTIF');
  const buffer = await blob.arrayBuffer();
  let pages;
  let page;
  try {
    pages = UTIF.decode(buffer).filter((p) => p.t256 && p.t257);
    if (!pages.length) throw new Error('no image in the file');
    page = pages[0];
    UTIF.decodeImage(buffer, page);
  } catch (err) {
    throw new ImageProblem('corrupt', `corrupt or unreadable TIFF file (${err.message ?? err})`);
  }
  const { width, height, data } = page;
  const bits = page.t258?.[0] ?? 1;
  const channels = page.t277?.[0] ?? 1;
  const photometric = page.t262?.[0] ?? 1;
  const sampleFormat = page.t339?.[0] ?? 1;
  const planar = page.t284?.[0] ?? 1;
  const what = `${bits}-bit, ${channels} channel${channels > 1 ? 's' : ''}, photometric ${photometric}`;
  if (
    ![8, 16].includes(bits) ||
    sampleFormat !== 1 ||
    planar !== 1 ||
    ![0, 1, 2].includes(photometric) ||
    channels < 1 ||
    channels > 4 ||
    (photometric === 2) !== channels >= 3
  ) {
    throw new ImageProblem(
      'unsupported',
      `this TIFF (${what}${sampleFormat !== 1 ? ', not unsigned integer' : ''}${planar !== 1 ? ', planar' : ''})` +
        ' cannot be read here: export it as an 8- or 16-bit grey or RGB TIFF, PNG or JPEG',
    );
  }
  if (!data || data.length < width * height * channels * (bits / 8)) {
    throw new ImageProblem('corrupt', 'truncated or unsupported (compressed?) TIFF file');
  }
  // UTIF.js leaves 16-bit samples little-endian.
  const count = width * height * channels;
  const samples = bits === 8 ? data : samples16(data, count, false);
  const pixels = toRGBA(samples, width, height, channels, bits);
  const warnings = [];
  if (pages.length > 1)
    warnings.push(`multi-page TIFF (${pages.length} pages): only the first page was used`);
  if (photometric === 0)
    warnings.push('TIFF stores white as zero: used as stored (as training does), not inverted');
  return { pixels, order: 'RGBA', width, height, warnings };
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
 * @param {{reduceFor?: number}} [options]  reduceFor: the model input side (px) the image is decoded for:
 *   a JPEG is then decoded at the rule's reduced scale (jpeg.js); omitted: in full
 * @returns {Promise<{pixels: Uint8ClampedArray|Uint8Array, order: 'RGBA'|'BGRA', width: number,
 *   height: number, imageWidth: number, imageHeight: number, format: string, warnings: string[]}>}
 *   pixels: (height, width, 4) bytes in `order`; imageWidth × imageHeight: the image's own size (px),
 *   larger than width × height when the JPEG was decoded reduced
 * @throws {ImageProblem}  not an image, corrupt or truncated, or a format this page cannot read yet
 */
export async function decodeImage(file, { reduceFor } = {}) {
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
  const decoded = await decoder(file, format, reduceFor);
  return { imageWidth: decoded.width, imageHeight: decoded.height, ...decoded, format };
}

// Decoding an image file to 8-bit pixels, as training/preprocess.py `load_rgb` does: EXIF orientation
// applied, no colour management, alpha ignored later. Runs in a Web Worker (createImageBitmap, then a
// VideoFrame copy or an OffscreenCanvas); no DOM, no TF.js. One decoder per format, so TIFF (UTIF.js) can be
// added beside the rest.

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

const DECODERS = {
  jpeg: decodeWithBrowser,
  png: decodeWithBrowser,
  bmp: decodeWithBrowser,
  gif: decodeWithBrowser,
  webp: decodeWithBrowser,
};

/**
 * Decode an image file to RGBA pixels.
 *
 * @param {Blob} file  a File from the picker or a drop
 * @returns {Promise<{pixels: Uint8ClampedArray, order: 'RGBA'|'BGRA', width: number, height: number,
 *   format: string, warnings: string[]}>}  pixels: (height, width, 4) bytes in `order`
 * @throws {ImageProblem}  not an image, corrupt or truncated, or a format this page cannot read yet
 */
export async function decodeImage(file) {
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const format = sniffFormat(head);
  if (format === null) {
    throw new ImageProblem('not_image', `not an image: ${describeBytes(head)}`);
  }
  const decoder = DECODERS[format];
  if (!decoder) {
    throw new ImageProblem(
      'unsupported',
      `${format.toUpperCase()} files cannot be read here yet: ` + 'export the image as PNG or JPEG',
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
  const decoded = await decoder(file, format);
  return { ...decoded, format };
}

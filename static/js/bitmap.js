// An image decoded by the browser's own decoders (createImageBitmap, then a VideoFrame copy or an
// OffscreenCanvas): JPEG, PNG, BMP, GIF, WebP files and the JPEG tiles of a TIFF (tiff.js). No colour
// management, EXIF orientation applied. Runs in a Web Worker; no DOM, no TF.js.
import { ImageProblem } from './problem.js';

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

/**
 * Decode a file (or a JPEG tile) with the browser.
 *
 * @param {Blob} blob
 * @param {string} format  for messages ('jpeg', 'png', …)
 * @returns {Promise<{pixels: Uint8Array|Uint8ClampedArray, order: 'RGBA'|'BGRA', width: number,
 *   height: number, warnings: string[]}>}
 * @throws {ImageProblem}  corrupt or unreadable
 */
export async function decodeWithBrowser(blob, format) {
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

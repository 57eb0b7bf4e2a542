// A JPEG decoded at the reduced scale of the decode rule (training/preprocess.py, `jpeg_reduction` and
// `load_rgb(path, reduce_for=S)`): the frame size W × H is read from the file's SOF header, the factor k is
// the one Pillow's `Image.draft` picks, and WebCodecs' ImageDecoder is asked for exactly ceil(W/k) ×
// ceil(H/k) px, which it decodes with libjpeg's DCT scaling: bit-identical to Pillow (measured for 4:2:0,
// 4:4:4, progressive, greyscale, CMYK and EXIF-rotated JPEGs; tests/e2e/test_preprocess_parity.py). EXIF
// orientation comes with the frame (rotation, flip) and is applied here. No DOM, no TF.js: runs in a worker.

/** SOFn markers (frame headers): C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
const FRAME_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
/** Markers without a length field: TEM, RST0–7, SOI. */
const STANDALONE = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]);
const PIXEL_FORMATS = { RGBA: 'RGBA', RGBX: 'RGBA', BGRA: 'BGRA', BGRX: 'BGRA' };

/**
 * The DCT reduction factor for a `size`-px model input: training/preprocess.py `jpeg_reduction`, the
 * largest k of 8, 4, 2, 1 with k ≤ min(width // size, height // size).
 *
 * @param {number} width  stored width of the JPEG (px)
 * @param {number} height  stored height (px)
 * @param {number} size  model input side (px)
 * @returns {1|2|4|8}
 */
export function jpegReduction(width, height, size) {
  const ratio = Math.min(Math.floor(width / size), Math.floor(height / size));
  return [8, 4, 2, 1].find((k) => k <= Math.max(ratio, 1));
}

/**
 * The stored frame size of a JPEG, from its first SOF header (before any EXIF rotation).
 *
 * @param {Uint8Array} bytes  the file (or at least everything up to its frame header)
 * @returns {{width: number, height: number}|null}  null when no frame header precedes the image data
 */
export function jpegFrameSize(bytes) {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return null; // not at a marker: a corrupt file
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
    } else if (STANDALONE.has(marker)) {
      i += 2;
    } else if (FRAME_MARKERS.has(marker)) {
      if (i + 9 > bytes.length) return null;
      const height = (bytes[i + 5] << 8) | bytes[i + 6];
      const width = (bytes[i + 7] << 8) | bytes[i + 8];
      return width > 0 && height > 0 ? { width, height } : null;
    } else if (marker === 0xda || marker === 0xd9) {
      return null; // image data or the end before any frame header
    } else {
      i += 2 + ((bytes[i + 2] << 8) | bytes[i + 3]);
    }
  }
  return null;
}

/**
 * Rotate (clockwise) then mirror 4-byte pixels, as a VideoFrame's `rotation` and `flip` ask.
 *
 * @param {Uint8Array} pixels  (height, width, 4)
 * @returns {{pixels: Uint8Array, width: number, height: number}}
 */
export function orientPixels(pixels, width, height, rotation, flip) {
  if (rotation === 0 && !flip) return { pixels, width, height };
  const turned = rotation === 90 || rotation === 270;
  const [ow, oh] = turned ? [height, width] : [width, height];
  const src = new Uint32Array(pixels.buffer, pixels.byteOffset, width * height);
  const out = new Uint8Array(ow * oh * 4);
  const dst = new Uint32Array(out.buffer);
  for (let dy = 0; dy < oh; dy++) {
    for (let x = 0; x < ow; x++) {
      const dx = flip ? ow - 1 - x : x; // the mirror is applied last
      let sx = dx;
      let sy = dy;
      if (rotation === 90) [sx, sy] = [dy, height - 1 - dx];
      else if (rotation === 180) [sx, sy] = [width - 1 - dx, height - 1 - dy];
      else if (rotation === 270) [sx, sy] = [width - 1 - dy, dx];
      dst[dy * ow + x] = src[sy * width + sx];
    }
  }
  return { pixels: out, width: ow, height: oh };
}

/** The frame's pixels in its own (stored) orientation, or null when they are not plain 4-byte RGB. */
async function framePixels(frame, width, height) {
  const order = PIXEL_FORMATS[frame.format];
  const rect = frame.visibleRect;
  const plain =
    order &&
    frame.codedWidth === width &&
    frame.codedHeight === height &&
    rect.x === 0 &&
    rect.y === 0 &&
    rect.width === width &&
    rect.height === height;
  if (!plain) return null;
  const pixels = new Uint8Array(width * height * 4);
  const [plane] = await frame.copyTo(pixels);
  return plane.offset === 0 && plane.stride === width * 4 ? { pixels, order } : null;
}

/**
 * Decode a JPEG at the rule's reduced scale for a `size`-px model input.
 *
 * @param {Uint8Array} bytes  the whole file
 * @param {number} size  model input side (px)
 * @returns {Promise<{decoded: object|null, reason: string|null}>}  `decoded` = {pixels, order, width,
 *   height, imageWidth, imageHeight, warnings} (width × height: the reduced, oriented pixels; image…: the
 *   file's oriented size) or null with the `reason` (for the well's warnings) when the rule's size could
 *   not be decoded here; both null when the rule decodes this image in full (k = 1)
 */
export async function decodeJpegReduced(bytes, size) {
  const frameSize = jpegFrameSize(bytes);
  if (!frameSize) return { decoded: null, reason: 'its frame header could not be read' };
  const k = jpegReduction(frameSize.width, frameSize.height, size);
  if (k === 1) return { decoded: null, reason: null };
  if (typeof ImageDecoder === 'undefined') {
    return {
      decoded: null,
      reason:
        'this browser has no WebCodecs ImageDecoder (it needs a recent Chromium-based browser and a page ' +
        'served from https:// or localhost)',
    };
  }
  const width = Math.ceil(frameSize.width / k);
  const height = Math.ceil(frameSize.height / k);
  let decoder = null;
  let frame = null;
  try {
    decoder = new ImageDecoder({
      data: bytes,
      type: 'image/jpeg',
      desiredWidth: width,
      desiredHeight: height,
      colorSpaceConversion: 'none',
      preferAnimation: false,
    });
    frame = (await decoder.decode()).image;
    const read = await framePixels(frame, width, height);
    if (!read) {
      return {
        decoded: null,
        reason: `ImageDecoder returned a ${frame.codedWidth}×${frame.codedHeight} ${frame.format} frame, not the rule's ${width}×${height} RGB`,
      };
    }
    const turned = frame.rotation === 90 || frame.rotation === 270;
    const oriented = orientPixels(read.pixels, width, height, frame.rotation, frame.flip);
    return {
      decoded: {
        ...oriented,
        order: read.order,
        imageWidth: turned ? frameSize.height : frameSize.width,
        imageHeight: turned ? frameSize.width : frameSize.height,
        warnings: [],
      },
      reason: null,
    };
  } catch (err) {
    return { decoded: null, reason: `ImageDecoder failed (${err?.message ?? err})` };
  } finally {
    frame?.close();
    decoder?.close();
  }
}

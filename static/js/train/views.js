// The model inputs of one training image, as training/features.py makes them (image_views, the views rule
// of training/dataset.py): view 0 is the image exactly as the page scores it (decoded at the reduced JPEG
// scale, area-resized: the caller passes it in); views 1… are random augmentations cut from a second decode
// at the reduced scale for augmentationSide(size, 0.7) px (229 px for 160), area-resized once to that
// square: each view is a size-px crop of it (70 % of each side), turned, flipped and colour-jittered.
// An image's draws come from the stream seeded by (seed, its content's SHA-256) — the stream training draws
// the same image's views from (training/stream.py image_stream) — so its views depend neither on the order
// nor on the rest of the data, and equal training's up to the decoders. No DOM (runs in a Web Worker), no
// TF.js.
import { decodeImage } from '../decode.js';
import { jpegFrameSize, jpegReduction } from '../jpeg.js';
import { resizeArea } from '../preprocess.js';
import { AUGMENTATION, augmentationSide, augmentedView, drawAugmentation, pixelPalette } from './augment.js';
import { randomGenerator } from './random.js';

/** Views per image for training (training/config.py N_VIEWS: view 0 plain + 7 augmented; ours). */
export const N_VIEWS = 8;

/** The random generator of one image's draws: seeded by `seed` and the first 64 bits of its file's SHA-256. */
async function imageRandom(bytes, seed) {
  const digest = new Uint32Array(await crypto.subtle.digest('SHA-256', bytes));
  return randomGenerator(seed, digest[0], digest[1]);
}

/**
 * The decode the augmented views are cut from (training/features.py decode_for_views): view 0's own decode
 * where it is the same — RGBA (not one byte per pixel) and, for a JPEG, the same DCT scale for both sides
 * (other formats are decoded in full either way) — else a second decode at the reduced scale for `side`.
 */
async function viewsSource(file, bytes, decoded, size, side, decode) {
  if (decoded && decoded.order !== 'GREY') {
    if (decoded.format !== 'jpeg') return decoded;
    const frame = jpegFrameSize(bytes);
    if (
      frame &&
      jpegReduction(frame.width, frame.height, size) === jpegReduction(frame.width, frame.height, side)
    )
      return decoded;
  }
  return decodeImage(file, { ...decode, reduceFor: side, grey: false });
}

/**
 * All views of one image as one batch.
 *
 * @param {Blob} file
 * @param {Float32Array} view0  (size, size, 3): the image as the page scores it (worker.js prepare)
 * @param {number} size  model input side (px)
 * @param {{nViews?: number, seed?: number, augmentation?: object, decode?: object, decoded?: object}}
 *   [options]  decode: the decode options view 0 was decoded with (plane, channel, window: decode.js);
 *   decoded: view 0's decodeImage result, reused for the augmented views where the rule decodes the same
 * @returns {Promise<Float32Array>}  (nViews, size, size, 3) float32 0–255
 */
export async function imageViews(
  file,
  view0,
  size,
  { nViews = N_VIEWS, seed = 0, augmentation, decode = {}, decoded = null } = {},
) {
  if (!(Number.isInteger(nViews) && nViews >= 1)) throw new RangeError(`nViews must be >= 1; got ${nViews}`);
  const plane = size * size * 3;
  const inputs = new Float32Array(nViews * plane);
  inputs.set(view0, 0);
  if (nViews === 1) return inputs;
  const aug = augmentation ?? AUGMENTATION;
  const side = augmentationSide(size, aug.cropFraction);
  const bytes = await file.arrayBuffer();
  const source = await viewsSource(file, new Uint8Array(bytes), decoded, size, side, decode);
  const square = resizeArea(source.pixels, source.height, source.width, 4, side, side, source.order);
  const palette = pixelPalette(square, side, side);
  const random = await imageRandom(bytes, seed);
  for (let v = 1; v < nViews; v++) {
    inputs.set(augmentedView(palette, drawAugmentation(random, aug), size), v * plane);
  }
  return inputs;
}

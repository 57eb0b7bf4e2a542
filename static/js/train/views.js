// The model inputs of one training image, as training/features.py makes them (image_views): view 0 is the
// image exactly as the page scores it (decoded at the reduced JPEG scale, area-resized: the caller passes
// it in), views 1… are random augmentations of the full-size decode (augment.js), each area-resized. An
// image's draws are seeded by (seed, its content's SHA-256), so its views depend neither on the order nor
// on the rest of the data. No DOM (runs in a Web Worker), no TF.js.
import { decodeImage } from '../decode.js';
import { AUGMENTATION, augmentedView, drawAugmentation, imagePalette } from './augment.js';
import { randomGenerator } from './random.js';

/** Views per image for training (training/config.py N_VIEWS: view 0 plain + 7 augmented; ours). */
export const N_VIEWS = 8;

/** The random generator of one image's draws: seeded by `seed` and the first 64 bits of its SHA-256. */
export async function imageRandom(file, seed) {
  const digest = new Uint32Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
  return randomGenerator(seed, digest[0], digest[1]);
}

/**
 * All views of one image as one batch.
 *
 * @param {Blob} file
 * @param {Float32Array} view0  (size, size, 3): the image as the page scores it (worker.js prepare)
 * @param {number} size  model input side (px)
 * @param {{nViews?: number, seed?: number, augmentation?: object}} [options]
 * @returns {Promise<Float32Array>}  (nViews, size, size, 3) float32 0–255
 */
export async function imageViews(file, view0, size, { nViews = N_VIEWS, seed = 0, augmentation } = {}) {
  if (!(Number.isInteger(nViews) && nViews >= 1)) throw new RangeError(`nViews must be >= 1; got ${nViews}`);
  const plane = size * size * 3;
  const inputs = new Float32Array(nViews * plane);
  inputs.set(view0, 0);
  if (nViews === 1) return inputs;
  const full = await decodeImage(file); // the whole image: crops and turns need every pixel
  const palette = imagePalette(full.pixels, full.height, full.width, { order: full.order });
  const random = await imageRandom(file, seed);
  for (let v = 1; v < nViews; v++) {
    const draw = drawAugmentation(random, augmentation ?? AUGMENTATION);
    inputs.set(augmentedView(palette, draw, size), v * plane);
  }
  return inputs;
}

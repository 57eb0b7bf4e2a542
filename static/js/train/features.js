// Backbone features of a lab's training images, computed by the page's scoring workers (pool.js, message
// 'features' of worker.js): every image's views go through the shared backbone in the worker that decoded
// them; the results are gathered in image order, with progress and cancel. No DOM.
import { N_VIEWS } from './views.js';

/**
 * One training image's size and scale as card.js imagingBlock takes them, from the worker's 'features'
 * reply (its width, height and `image`: pixel_size {x_um, source} or null, objective).
 *
 * @param {{width: number, height: number, image?: {pixel_size?: {x_um: number, source: string}|null,
 *   objective?: string|null}}} reply
 * @returns {{widthPx: number, heightPx: number, pixelSizeUm: number|null, pixelSizeSource: string|null,
 *   objective: string|null}}  pixelSizeUm: µm per pixel along x, null when the file records none
 */
export function imageScale({ width, height, image }) {
  const pixel = image?.pixel_size ?? null;
  return {
    widthPx: width,
    heightPx: height,
    pixelSizeUm: pixel?.x_um ?? null,
    pixelSizeSource: pixel?.source ?? null,
    objective: image?.objective ?? null,
  };
}

/**
 * Features of every view of every image.
 *
 * @param {object} pool  a WorkerPool holding the backbone (any model on it)
 * @param {Blob[]} files  the training images
 * @param {{nViews?: number, seed?: number, augmentation?: object}} [options]  views per image (view 0 plain)
 * @param {{onProgress?: (p: {done: number, total: number}) => void, signal?: AbortSignal}} [hooks]
 * @returns {Promise<{features: Float32Array, nViews: number, nFeatures: number, stats: object[],
 *   scales: object[], problems: {index: number, kind: string, message: string}[],
 *   referenceFeatures: Float32Array}>}
 *   features (n_images, nViews, F) row-major (rows of unreadable images stay 0 and are listed in
 *   `problems`); stats: image statistics of view 0 per image (for the trust block); scales: each image's
 *   size and pixel size (imageScale; null for an unreadable one, for the card's `imaging`);
 *   referenceFeatures (F,): of the export check's reference input (the new model's reference OD450 comes
 *   from them)
 */
export async function computeFeatures(pool, files, options = {}, { onProgress, signal } = {}) {
  const nViews = options.nViews ?? N_VIEWS;
  const total = files.length;
  let done = 0;
  let features = null;
  let nFeatures = 0;
  const stats = new Array(total).fill(null);
  const scales = new Array(total).fill(null);
  const problems = [];
  const cancelled = new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(new Error('feature extraction was cancelled')), {
      once: true,
    });
  });
  cancelled.catch(() => {});
  const jobs = files.map((file, index) =>
    pool.features(file, { ...options, nViews }).then((msg) => {
      if (msg.type === 'problem') {
        problems.push({ index, kind: msg.kind, message: msg.message });
      } else {
        nFeatures = msg.nFeatures;
        features ??= new Float32Array(total * nViews * nFeatures);
        features.set(msg.features, index * nViews * nFeatures);
        stats[index] = msg.stats;
        scales[index] = imageScale(msg);
      }
      onProgress?.({ done: ++done, total });
    }),
  );
  try {
    await Promise.race([Promise.all(jobs), cancelled]);
  } catch (err) {
    if (signal?.aborted) pool.clearQueue(err);
    throw err;
  }
  if (!features) throw new Error('no image could be read: no features to train on');
  problems.sort((a, b) => a.index - b.index);
  const { features: referenceFeatures } = await pool.reference();
  return { features, nViews, nFeatures, stats, scales, problems, referenceFeatures };
}

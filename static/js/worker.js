// A Web Worker that decodes, downscales and scores images, one at a time, off the page's main thread.
// Protocol (all messages carry the job `id` they answer):
//   → {type: 'init', id, modelUrl, size, backend, wasmPath}   ← {type: 'ready', id, backend, numTensors}
//   → {type: 'predict', id, file}   ← {type: 'result', id, od450, features, stats, width, height, thumbnail,
//                                      warnings, timings, numTensors}  or  {type: 'problem', id, kind, message}
//   → {type: 'attribute', id, file, grid, batch}   ← {type: 'attribution', id, grid, map, od450, ms}
//   any failure of the worker itself ← {type: 'error', id, message, stack}
import '../vendor/tf.min.js';
import '../vendor/tf-backend-wasm.min.js';
import { cellEdges, fillColour, occludedBatch } from './attribution.js';
import { decodeImage, ImageProblem } from './decode.js';
import * as model from './model.js';
import { imageStats } from './ood.js';
import { checkImageSize, thumbnailRGBA, toModelInput } from './preprocess.js';

let handle = null;

async function thumbnailBlob(input, size, width, height) {
  const t = thumbnailRGBA(input, size, width, height, 96);
  const canvas = new OffscreenCanvas(t.width, t.height);
  canvas.getContext('2d').putImageData(new ImageData(t.rgba, t.width, t.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
}

async function init({ modelUrl, size, backend, wasmPath }) {
  let used;
  try {
    used = await model.initBackend({ backend, wasmPath, threads: 1 });
  } catch (err) {
    if (backend === 'wasm') throw err;
    console.warn(`TF.js backend ${backend} failed (${err.message}); using wasm`);
    used = await model.initBackend({ backend: 'wasm', wasmPath, threads: 1 });
  }
  if (handle) model.disposeModel(handle);
  handle = null;
  const loaded = await model.loadModel(modelUrl, { size });
  await model.warmUp(loaded);
  handle = loaded;
  return { backend: used, hasFeatures: loaded.hasFeatures, numTensors: model.numTensors() };
}

async function score(file) {
  if (!handle) throw new Error('no model loaded in this worker');
  const t0 = performance.now();
  const { pixels, order, width, height, format, warnings } = await decodeImage(file);
  const t1 = performance.now();
  const size = handle.size;
  const check = checkImageSize(width, height, size);
  if (check.error) throw new ImageProblem('too_small', check.error);
  const input = toModelInput(pixels, height, width, size, order);
  const t2 = performance.now();
  const { od450, features } = await model.predict(handle, input);
  const t3 = performance.now();
  if (!Number.isFinite(od450)) throw new Error(`the model returned a non-finite OD450 (${od450})`);
  const thumbnail = await thumbnailBlob(input, size, width, height);
  return {
    od450,
    features,
    stats: imageStats(input, size, size),
    width,
    height,
    format,
    thumbnail,
    warnings: [...warnings, ...check.warnings],
    timings: {
      decode_ms: t1 - t0,
      resize_ms: t2 - t1,
      predict_ms: t3 - t2,
      total_ms: performance.now() - t0,
    },
    numTensors: model.numTensors(),
  };
}

/**
 * Occlusion map of one image: the drop in predicted OD450 when each cell of a grid × grid partition of the
 * model input is covered by a patch of the image's mean colour (training/attribution.py does the same).
 */
async function attribute({ file, grid = 8, batch = 8 }) {
  if (!handle) throw new Error('no model loaded in this worker');
  const t0 = performance.now();
  const { pixels, order, width, height } = await decodeImage(file);
  const size = handle.size;
  const check = checkImageSize(width, height, size);
  if (check.error) throw new ImageProblem('too_small', check.error);
  const input = toModelInput(pixels, height, width, size, order);
  const [od450] = await model.predictBatch(handle, input, 1);
  const edges = cellEdges(size, grid);
  const fill = fillColour(input);
  const map = new Float32Array(grid * grid);
  const buffer = new Float32Array(batch * size * size * 3);
  for (let start = 0; start < grid * grid; start += batch) {
    const cells = [];
    for (let c = start; c < Math.min(start + batch, grid * grid); c++) cells.push(c);
    occludedBatch(input, size, edges, cells, fill, buffer);
    const out = await model.predictBatch(
      handle,
      buffer.subarray(0, cells.length * size * size * 3),
      cells.length,
    );
    cells.forEach((c, i) => {
      map[c] = od450 - out[i];
    });
  }
  return { grid, map, od450, ms: performance.now() - t0, numTensors: model.numTensors() };
}

self.onmessage = async (event) => {
  const { type, id } = event.data;
  try {
    if (type === 'init') {
      self.postMessage({ type: 'ready', id, ...(await init(event.data)) });
    } else if (type === 'predict') {
      const result = await score(event.data.file);
      const transfer = result.features ? [result.features.buffer] : [];
      self.postMessage({ type: 'result', id, ...result }, transfer);
    } else if (type === 'attribute') {
      const result = await attribute(event.data);
      self.postMessage({ type: 'attribution', id, ...result }, [result.map.buffer]);
    } else {
      throw new Error(`unknown message type ${type}`);
    }
  } catch (err) {
    if (err instanceof ImageProblem) {
      self.postMessage({ type: 'problem', id, kind: err.kind, message: err.message });
    } else {
      self.postMessage({
        type: 'error',
        id,
        message: String(err?.message ?? err),
        stack: String(err?.stack ?? ''),
      });
    }
  }
};

// A Web Worker that decodes, downscales and scores images, one at a time, off the page's main thread.
// Protocol (all messages carry the job `id` they answer):
//   → {type: 'init', id, modelUrl, size, backend, wasmPath}   ← {type: 'ready', id, backend, numTensors}
//   → {type: 'predict', id, file}   ← {type: 'result', id, od450, features, width, height, thumbnail, warnings,
//                                      timings, numTensors}  or  {type: 'problem', id, kind, message}
//   any failure of the worker itself ← {type: 'error', id, message, stack}
import '../vendor/tf.min.js';
import '../vendor/tf-backend-wasm.min.js';
import { decodeImage, ImageProblem } from './decode.js';
import { checkImageSize, thumbnailRGBA, toModelInput } from './preprocess.js';
import * as model from './model.js';

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

self.onmessage = async (event) => {
  const { type, id } = event.data;
  try {
    if (type === 'init') {
      self.postMessage({ type: 'ready', id, ...(await init(event.data)) });
    } else if (type === 'predict') {
      const result = await score(event.data.file);
      const transfer = result.features ? [result.features.buffer] : [];
      self.postMessage({ type: 'result', id, ...result }, transfer);
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

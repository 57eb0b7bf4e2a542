// A Web Worker that decodes, downscales and scores images off the page's main thread. It keeps its backbone
// while the page switches between models that share it (only the head is loaded), and overlaps work: an
// image is decoded, resized and described as soon as its job arrives (WebCodecs decodes on a thread of its
// own), while inference runs one job at a time, in the order the jobs came.
// Protocol (all messages carry the job `id` they answer):
//   → {type: 'load', id, backend, wasmPath, model: {backboneUrl, headUrl, headFormat, modelUrl, size,
//      reference}}   ← {type: 'loaded', id, backend, check, fellBack, numTensors}
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

let engine = null; // the TF.js backend in use, once started
let net = null; // the loaded backbone + head (model.loadNetwork)
let inference = Promise.resolve(); // the tail of the one-at-a-time queue

/** Run `task` after every task queued before it (inference, loading and maps never overlap). */
function inTurn(task) {
  const run = inference.then(task);
  inference = run.catch(() => {}); // a failed task is answered by its own message; the queue goes on
  return run;
}

async function thumbnailBlob(input, size, width, height) {
  const t = thumbnailRGBA(input, size, width, height, 96);
  const canvas = new OffscreenCanvas(t.width, t.height);
  canvas.getContext('2d').putImageData(new ImageData(t.rgba, t.width, t.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
}

async function startEngine(backend, wasmPath) {
  try {
    return await model.initBackend({ backend, wasmPath, threads: 1 });
  } catch (err) {
    if (backend === 'wasm') throw err;
    console.warn(`TF.js backend ${backend} failed (${err.message}); using wasm`);
    return model.initBackend({ backend: 'wasm', wasmPath, threads: 1 });
  }
}

/** Load a model (reusing the backbone) and check this engine against the export check; a GPU that fails it
 * is left for the CPU. */
async function load({ backend, wasmPath, model: spec }) {
  engine ??= await startEngine(backend, wasmPath);
  const previous = net;
  net = null; // until the new model is in place (a failed load leaves no half-disposed model behind)
  net = await model.loadNetwork(spec, previous);
  let check = await model.checkReference(net, spec.reference, engine);
  let fellBack = null;
  if (!check.ok && engine !== 'wasm') {
    fellBack = { backend: engine, check };
    model.disposeNetwork(net);
    net = null;
    engine = await model.initBackend({ backend: 'wasm', wasmPath, threads: 1 });
    net = await model.loadNetwork(spec, null);
    check = await model.checkReference(net, spec.reference, engine);
  }
  if (!check.ok) {
    const loaded = net;
    net = null;
    model.disposeNetwork(loaded);
    throw new Error(
      `TF.js (${engine}) gives OD450 ${check.od450} on the model's reference input where the export check ` +
        `gave ${check.expected} (|Δ| ${check.diff} > ${check.tolerance}): the model files may be damaged`,
    );
  }
  return { backend: engine, check, fellBack, numTensors: model.numTensors() };
}

/** Decode, check, resize and describe one image for a `size`-px model: everything but the inference. */
async function prepare(file, size) {
  const t0 = performance.now();
  const decoded = await decodeImage(file, { reduceFor: size });
  const { pixels, order, width, height, imageWidth, imageHeight, format, warnings } = decoded;
  const t1 = performance.now();
  const check = checkImageSize(imageWidth, imageHeight, size);
  if (check.error) throw new ImageProblem('too_small', check.error);
  const input = toModelInput(pixels, height, width, size, order);
  const t2 = performance.now();
  return {
    size,
    input,
    width: imageWidth,
    height: imageHeight,
    format,
    warnings: [...warnings, ...check.warnings],
    stats: imageStats(input, size, size),
    thumbnail: await thumbnailBlob(input, size, imageWidth, imageHeight),
    timings: { start: t0, decode_ms: t1 - t0, resize_ms: t2 - t1, ready: performance.now() },
  };
}

/** Score one file: its preparation starts now, its inference when the jobs before it are done. */
function score(file) {
  const early = net ? prepare(file, net.size) : null;
  early?.catch(() => {}); // awaited below, in turn
  return inTurn(async () => {
    if (!net) throw new Error('no model loaded in this worker');
    // A model of another input size was loaded meanwhile: prepare the image again for it.
    const prepared = early && (await early).size === net.size ? await early : await prepare(file, net.size);
    const t3 = performance.now();
    const { od450, features } = await model.predict(net, prepared.input);
    const t4 = performance.now();
    if (!Number.isFinite(od450)) throw new Error(`the model returned a non-finite OD450 (${od450})`);
    const { input, size, timings, ...result } = prepared;
    return {
      ...result,
      od450,
      features,
      timings: {
        decode_ms: timings.decode_ms,
        resize_ms: timings.resize_ms,
        wait_ms: t3 - timings.ready,
        predict_ms: t4 - t3,
        total_ms: t4 - timings.start,
      },
      numTensors: model.numTensors(),
    };
  });
}

/**
 * Occlusion map of one image: the drop in predicted OD450 when each cell of a grid × grid partition of the
 * model input is covered by a patch of the image's mean colour (training/attribution.py does the same).
 */
async function attribute({ file, grid = 8, batch = 8 }) {
  if (!net) throw new Error('no model loaded in this worker');
  const t0 = performance.now();
  const { input, size } = await prepare(file, net.size);
  const [od450] = await model.predictBatch(net, input, 1);
  const edges = cellEdges(size, grid);
  const fill = fillColour(input);
  const map = new Float32Array(grid * grid);
  const buffer = new Float32Array(batch * size * size * 3);
  for (let start = 0; start < grid * grid; start += batch) {
    const cells = [];
    for (let c = start; c < Math.min(start + batch, grid * grid); c++) cells.push(c);
    occludedBatch(input, size, edges, cells, fill, buffer);
    const out = await model.predictBatch(
      net,
      buffer.subarray(0, cells.length * size * size * 3),
      cells.length,
    );
    cells.forEach((c, i) => {
      map[c] = od450 - out[i];
    });
  }
  return { grid, map, od450, ms: performance.now() - t0, numTensors: model.numTensors() };
}

async function answer(id, work, type, transfer = (_result) => []) {
  try {
    const result = await work;
    self.postMessage({ type, id, ...result }, transfer(result));
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
}

self.onmessage = (event) => {
  const { type, id } = event.data;
  if (type === 'load')
    answer(
      id,
      inTurn(() => load(event.data)),
      'loaded',
    );
  else if (type === 'predict') answer(id, score(event.data.file), 'result', (r) => [r.features.buffer]);
  else if (type === 'attribute')
    answer(
      id,
      inTurn(() => attribute(event.data)),
      'attribution',
      (r) => [r.map.buffer],
    );
  else answer(id, Promise.reject(new Error(`unknown message type ${type}`)), 'error');
};

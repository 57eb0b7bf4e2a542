// A Web Worker that decodes, downscales and scores images off the page's main thread. It keeps its backbone
// while the page switches between models that share it (only the head is loaded), and overlaps work: an
// image is decoded, resized and described as soon as its job arrives (WebCodecs decodes on a thread of its
// own), while inference runs one job at a time, in the order the jobs came.
// Protocol (all messages carry the job `id` they answer):
//   → {type: 'load', id, backend, wasmPath, model: {backboneUrl, headUrl, headFormat, modelUrl, size,
//      reference, name?, imaging?}}   ← {type: 'loaded', id, backend, check, fellBack, numTensors}
//      (name and imaging: the card's, for the pixel-size warning, tiffmeta.js pixelSizeWarning)
//   → {type: 'predict', id, file, plane?, channel?, window?}
//      ← {type: 'result', id, od450, features, stats, width, height, thumbnail, warnings, image, timings,
//         numTensors}  or  {type: 'problem', id, kind, message, channels?}
//      (thumbnail {rgba, width, height}: ≤ 96 px, display contrast, preprocess.js thumbnailRGBA)
//   → {type: 'attribute', id, file, grid, batch, plane?, channel?, window?}
//      ← {type: 'attribution', id, grid, map, od450, ms}
//   → {type: 'inspect', id, file, plane?, channel?}   (no model needed)
//      ← {type: 'inspected', id, width, height, format, warnings, image}  or  'problem'
//   → {type: 'features', id, file, nViews, seed, augmentation}   ← {type: 'features', id, features, nFeatures,
//      stats, width, height, warnings, image, ms}  (backbone features of view 0 + nViews − 1 augmented views,
//      train/views.js, for training a head in the page; image: as 'predict' gives it, read in the same
//      decoding, so that the card of a model trained in the page records its images' scale)
//   → {type: 'reference', id}   ← {type: 'reference', id, features}  (features of the export check's
//      reference input, model.referenceInput: a head trained in the page gets its reference OD450 from them)
//   any failure of the worker itself ← {type: 'error', id, message, stack}
// Options (training/preprocess.py `decode_image` takes the same): plane — which plane of a multi-page TIFF
// (index from 0; default: the middle plane of a declared z-stack, else the first page); channel — which
// channel of a multi-channel TIFF (index from 0, or its name; default: the one named as transmitted light);
// window — {low, high}: map images of more than 8 bits by this window (e.g. preprocess.js plateWindow of the
// plate's image.data_window) instead of their own, or 'percentile': by each image's 0.1th–99.9th percentiles
// (preprocess.js percentileWindow; a lab's explicit choice, never the default). Send the same options with
// 'attribute' as with 'predict'. A window asked for is named in the warnings (image-options.js windowNote).
// `image` says what was chosen and read: {window, data_window ({low, high, bits, source}: the window used
// and the image's own), selection {plane, planes, plane_axis, channel, channels, channel_name, timepoints},
// pixel_size {x_um, y_um, source} or null, objective}; every choice made among several is also a warning.
// A 'problem' of kind 'choose_channel' carries `channels` [{index, name}]: ask the user, then send the file
// again with `channel`. 'bad_option': a plane or channel the file does not have.
import '../vendor/tf.min.js';
import '../vendor/tf-backend-wasm.min.js';
import { cellEdges, fillColour, occludedBatch } from './attribution.js';
import { decodeImage, ImageProblem } from './decode.js';
import { windowNote } from './image-options.js';
import * as model from './model.js';
import { imageStats } from './ood.js';
import { checkImageSize, thumbnailRGBA, toModelInput } from './preprocess.js';
import { pixelSizeWarning } from './tiffmeta.js';
import { imageViews } from './train/views.js';

let engine = null; // the TF.js backend in use, once started
let net = null; // the loaded backbone + head (model.loadNetwork)
let trainedOn = { name: null, imaging: null }; // the loaded model's card: its name and imaging block
let inference = Promise.resolve(); // the tail of the one-at-a-time queue

/** Run `task` after every task queued before it (inference, loading and maps never overlap). */
function inTurn(task) {
  const run = inference.then(task);
  inference = run.catch(() => {}); // a failed task is answered by its own message; the queue goes on
  return run;
}

/** The thumbnail the wells table shows: RGBA pixels (no image encoding: the page draws them in a canvas). */
function thumbnail(input, size, width, height) {
  const { rgba, width: w, height: h } = thumbnailRGBA(input, size, width, height, 96);
  return { rgba, width: w, height: h };
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
  trainedOn = { name: spec.name ?? 'the model', imaging: spec.imaging ?? null };
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

/** The decoding options of a message (see the protocol above). */
const decodeOptions = ({ plane = null, channel = null, window = null }) => ({ plane, channel, window });

/** Decode, check, resize and describe one image for a `size`-px model: everything but the inference.
 * `decoded`: decodeImage's result (the training views reuse it), kept only when asked for. */
async function prepare(file, size, options, { keepDecoded = false } = {}) {
  const t0 = performance.now();
  const decoded = await decodeImage(file, { reduceFor: size, grey: true, ...options });
  const { pixels, order, width, height, imageWidth, imageHeight, format, warnings, image } = decoded;
  const t1 = performance.now();
  const check = checkImageSize(imageWidth, imageHeight, size);
  if (check.error) throw new ImageProblem('too_small', check.error);
  const input = toModelInput(pixels, height, width, size, order);
  const t2 = performance.now();
  const mapped = windowNote(image, options.window);
  return {
    size,
    input,
    width: imageWidth,
    height: imageHeight,
    format,
    warnings: [...warnings, ...check.warnings, ...(mapped ? [mapped] : [])],
    image,
    stats: imageStats(input, size, size),
    thumbnail: thumbnail(input, size, imageWidth, imageHeight),
    timings: { start: t0, decode_ms: t1 - t0, resize_ms: t2 - t1, ready: performance.now() },
    decoded: keepDecoded ? decoded : null,
  };
}

/** Score one file: its preparation starts now, its inference when the jobs before it are done. */
function score(file, options) {
  const early = net ? prepare(file, net.size, options) : null;
  early?.catch(() => {}); // awaited below, in turn
  return inTurn(async () => {
    if (!net) throw new Error('no model loaded in this worker');
    // A model of another input size was loaded meanwhile: prepare the image again for it.
    const prepared =
      early && (await early).size === net.size ? await early : await prepare(file, net.size, options);
    const t3 = performance.now();
    const { od450, features } = await model.predict(net, prepared.input);
    const t4 = performance.now();
    if (!Number.isFinite(od450)) throw new Error(`the model returned a non-finite OD450 (${od450})`);
    const { input, size, timings, decoded: _decoded, ...result } = prepared;
    const scale = pixelSizeWarning(
      result.image?.pixel_size?.x_um ?? null,
      result.width,
      trainedOn.imaging,
      trainedOn.name,
    );
    return {
      ...result,
      warnings: scale ? [...result.warnings, scale] : result.warnings,
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
async function attribute({ file, grid = 8, batch = 8, ...options }) {
  if (!net) throw new Error('no model loaded in this worker');
  const t0 = performance.now();
  const { input, size } = await prepare(file, net.size, decodeOptions(options));
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

/** What a file holds and which plane and channel the options pick, without a model (no inference). */
async function inspect({ file, ...options }) {
  const decoded = await decodeImage(file, { reduceFor: net?.size, ...decodeOptions(options) });
  const { imageWidth, imageHeight, format, warnings, image } = decoded;
  return { width: imageWidth, height: imageHeight, format, warnings, image };
}

/** Backbone features of every view of one training image: (nViews, F), view 0 as scoring sees it. */
async function describe({ file, nViews, seed, augmentation, ...options }) {
  if (!net) throw new Error('no model loaded in this worker');
  const t0 = performance.now();
  const decode = decodeOptions(options);
  const prepared = await prepare(file, net.size, decode, { keepDecoded: true });
  const { input, size, width, height, stats, warnings, image, decoded } = prepared;
  const inputs = await imageViews(file, input, size, { nViews, seed, augmentation, decode, decoded });
  const features = await model.featuresBatch(net, inputs, inputs.length / input.length);
  const nFeatures = features.length / (inputs.length / input.length);
  return { features, nFeatures, stats, width, height, warnings, image, ms: performance.now() - t0 };
}

/** Backbone features of the reference input (model.referenceInput), (1, F). */
async function referenceFeatures() {
  if (!net) throw new Error('no model loaded in this worker');
  return { features: await model.featuresBatch(net, model.referenceInput(net.size), 1) };
}

async function answer(id, work, type, transfer = (_result) => []) {
  try {
    const result = await work;
    self.postMessage({ type, id, ...result }, transfer(result));
  } catch (err) {
    if (err instanceof ImageProblem) {
      self.postMessage({ type: 'problem', id, kind: err.kind, message: err.message, ...err.details });
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
  else if (type === 'predict')
    answer(id, score(event.data.file, decodeOptions(event.data)), 'result', (r) => [
      r.features.buffer,
      r.thumbnail.rgba.buffer,
    ]);
  else if (type === 'inspect') answer(id, inspect(event.data), 'inspected');
  else if (type === 'attribute')
    answer(
      id,
      inTurn(() => attribute(event.data)),
      'attribution',
      (r) => [r.map.buffer],
    );
  else if (type === 'features')
    answer(
      id,
      inTurn(() => describe(event.data)),
      'features',
      (r) => [r.features.buffer],
    );
  else if (type === 'reference')
    answer(id, inTurn(referenceFeatures), 'reference', (r) => [r.features.buffer]);
  else answer(id, Promise.reject(new Error(`unknown message type ${type}`)), 'error');
};

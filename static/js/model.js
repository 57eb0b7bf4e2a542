// Everything that knows TF.js: choosing a backend, loading a model (a shared backbone + the model's head, or
// an older single-file model), checking that this engine reproduces the export check, predicting.
// Uses the global `tf` of static/vendor/tf.min.js (+ tf-backend-wasm.min.js), loaded by the caller.
// No DOM: runs in a Web Worker (chooseBackend also runs on the page).

const tfjs = () => {
  if (!globalThis.tf) throw new Error('TF.js is not loaded (static/vendor/tf.min.js)');
  return globalThis.tf;
};

/**
 * Largest |Δ OD450| allowed, per engine, between this browser and the export check on the card's reference
 * input (`verification.reference`: the OD450 TF.js wasm gave in headless Chromium when the model was
 * exported, training/export.py). The export check holds wasm within 1e-3 of Keras (float32 backbone), so an
 * engine that passes is within 1e-3 + its tolerance of Keras. Measured on the bundled model (224 px, docs/
 * model-card.md): wasm 0 (the same engine), cpu 3.3e-6, webgl on Chromium's software renderer 3.7e-6. A real
 * GPU's arithmetic differs more, and some (mobile) GPUs compute in float16: those fail the check and the page
 * runs on the CPU instead.
 */
export const PARITY_TOLERANCE = { wasm: 1e-4, cpu: 1e-4, webgl: 1e-3 };

/** WebGL renderers that are CPU emulations, not a GPU. */
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|microsoft basic render|lavapipe/i;

/** The WebGL renderer's name, or null without WebGL. */
function webglRenderer() {
  try {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
    if (!gl) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return renderer;
  } catch {
    return null; // no usable WebGL: said in the reason
  }
}

/**
 * Which engine to use: WebGL when a real GPU renders it, wasm otherwise (the fastest on a CPU; never a
 * software-emulated GPU such as SwiftShader, several times slower than wasm). Needs OffscreenCanvas.
 *
 * @returns {{backend: 'wasm'|'webgl', renderer: string|null, reason: string}}
 */
export function chooseBackend() {
  const renderer = webglRenderer();
  if (!renderer) return { backend: 'wasm', renderer, reason: 'no GPU found: running on the CPU' };
  if (SOFTWARE_RENDERERS.test(renderer)) {
    return {
      backend: 'wasm',
      renderer,
      reason: `no GPU (WebGL is emulated by ${renderer}): running on the CPU`,
    };
  }
  return { backend: 'webgl', renderer, reason: `GPU (WebGL): ${renderer}` };
}

/**
 * Select and initialise a TF.js backend.
 *
 * @param {{backend: 'wasm'|'webgl'|'cpu', wasmPath: string, threads?: number}} options
 *   wasmPath: the folder holding tfjs-backend-wasm*.wasm (served by this app, never a CDN).
 * @returns {Promise<string>}  the backend in use
 */
export async function initBackend({ backend, wasmPath, threads = 1 }) {
  const tf = tfjs();
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths(wasmPath);
    tf.wasm.setThreadsCount(threads);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} could not start`);
  await tf.ready();
  return tf.getBackend();
}

async function loadGraph(url, what, size) {
  const tf = tfjs();
  const graph = await tf.loadGraphModel(url);
  const shape = graph.inputs[0].shape;
  if (size && shape && shape.length === 4 && shape[1] > 0 && (shape[1] !== size || shape[2] !== size)) {
    graph.dispose();
    throw new Error(`the ${what}'s input is ${shape[1]}×${shape[2]} px but its card says ${size}×${size}`);
  }
  return graph;
}

/**
 * Load a model, reusing the backbone of `previous` when it is the same file (switching models then
 * downloads only the head).
 *
 * @param {{backboneUrl?: string, headUrl?: string, headFormat?: string, modelUrl?: string, size: number}}
 *   spec  a card/2 model (backbone + head URLs, head format 'tfjs_graph_model' or 'tfjs_layers_model') or
 *   an older card/1 model (modelUrl: one graph model with both outputs, OD450 and features)
 * @param {object|null} previous  the network loaded before (disposed here, except a reused backbone)
 * @returns {Promise<{backbone: object, backboneUrl: string, head: object|null, headFormat: string|null,
 *   outputNames: string[]|null, size: number}>}
 */
export async function loadNetwork(spec, previous = null) {
  const { size } = spec;
  const backboneUrl = spec.backboneUrl ?? spec.modelUrl;
  const keep = previous && previous.backboneUrl === backboneUrl && previous.size === size;
  previous?.head?.dispose();
  if (previous && !keep) previous.backbone.dispose();
  const backbone = keep ? previous.backbone : await loadGraph(backboneUrl, 'backbone', size);
  if (!spec.modelUrl) {
    const layers = spec.headFormat === 'tfjs_layers_model';
    const head = layers ? await tfjs().loadLayersModel(spec.headUrl) : await loadGraph(spec.headUrl, 'head');
    return { backbone, backboneUrl, head, headFormat: spec.headFormat, outputNames: null, size };
  }
  return {
    backbone,
    backboneUrl,
    head: null,
    headFormat: null,
    outputNames: outputOrder(backbone, size),
    size,
  };
}

/**
 * An older single-file model's outputs as [OD450, features]: converters name and order them variously
 * (signature keys "od450" or "output_0_od450", node names "Identity", "Identity_1"; shapes often unknown),
 * so they are told apart by running the model once on zeros: OD450 is the output of width 1.
 */
function outputOrder(graph, size) {
  const tf = tfjs();
  const names = graph.outputs.map((o) => o.name);
  const fail = (message) => {
    graph.dispose();
    throw new Error(message);
  };
  if (names.length !== 2) fail(`expected 2 model outputs (OD450, features); found ${names.length}`);
  const widths = tf.tidy(() => graph.execute(tf.zeros([1, size, size, 3]), names).map((t) => t.shape.at(-1)));
  const od = widths.indexOf(1);
  if (od < 0 || widths.lastIndexOf(1) !== od) {
    fail(`cannot tell which output is OD450: output widths ${widths.join(', ')} (expected one of width 1)`);
  }
  return [names[od], names[1 - od]];
}

/** OD450 (N, 1) and features (N, F) tensors of a batch of images (call inside tf.tidy). */
function forward(net, x) {
  if (!net.head) return net.backbone.execute(x, net.outputNames);
  const features = net.backbone.execute(x);
  const od = net.headFormat === 'tfjs_layers_model' ? net.head.predict(features) : net.head.execute(features);
  return [od, features];
}

/**
 * Predict one image.
 *
 * @param {object} net  from loadNetwork
 * @param {Float32Array} input  (size, size, 3), raw 0–255 (the backbone rescales itself)
 * @returns {Promise<{od450: number, features: Float32Array}>}
 */
export async function predict(net, input) {
  const tf = tfjs();
  const { size } = net;
  const outs = tf.tidy(() => forward(net, tf.tensor4d(input, [1, size, size, 3], 'float32')));
  try {
    const [od, features] = await Promise.all(outs.map((t) => t.data()));
    return { od450: od[0], features: new Float32Array(features) };
  } finally {
    tf.dispose(outs);
  }
}

/**
 * Predict the OD450 of a batch of images (no features), for occlusion maps.
 *
 * @param {object} net  from loadNetwork
 * @param {Float32Array} inputs  (n, size, size, 3), raw 0–255
 * @param {number} n  images in the batch
 * @returns {Promise<Float32Array>}  (n,) predicted OD450
 */
export async function predictBatch(net, inputs, n) {
  const tf = tfjs();
  const { size } = net;
  const out = tf.tidy(() => forward(net, tf.tensor4d(inputs, [n, size, size, 3], 'float32'))[0]);
  try {
    return new Float32Array(await out.data());
  } finally {
    out.dispose();
  }
}

/**
 * The reference input of training/export.py `reference_input`: column j of every row and channel is
 * 255·j/(size − 1) (float64, then float32), shape (size, size, 3).
 */
export function referenceInput(size) {
  const input = new Float32Array(size * size * 3);
  const step = 255 / (size - 1);
  for (let y = 0, i = 0; y < size; y++) {
    for (let x = 0; x < size; x++, i += 3) {
      const v = x === size - 1 ? 255 : x * step;
      input[i] = v;
      input[i + 1] = v;
      input[i + 2] = v;
    }
  }
  return input;
}

/**
 * Run the card's reference input (also the warm-up: the first inference compiles the kernels) and compare
 * its OD450 with the export check's, within this engine's PARITY_TOLERANCE.
 *
 * @param {object} net  from loadNetwork
 * @param {{od450: number}|null} reference  the card's `verification.reference` (null: an older or
 *   unverified model, then only the warm-up runs)
 * @param {string} backend  the engine in use
 * @returns {Promise<{ok: boolean, od450: number, expected: number|null, diff: number|null, tolerance: number}>}
 */
export async function checkReference(net, reference, backend) {
  const { od450 } = await predict(net, referenceInput(net.size));
  const tolerance = PARITY_TOLERANCE[backend] ?? PARITY_TOLERANCE.webgl;
  if (!reference || !Number.isFinite(reference.od450)) {
    return { ok: Number.isFinite(od450), od450, expected: null, diff: null, tolerance };
  }
  const diff = Math.abs(od450 - reference.od450);
  return { ok: diff <= tolerance, od450, expected: reference.od450, diff, tolerance };
}

/** Tensors alive in this TF.js instance (must not grow across a plate). */
export function numTensors() {
  return tfjs().memory().numTensors;
}

/** Free a network's weights. */
export function disposeNetwork(net) {
  net?.head?.dispose();
  net?.backbone?.dispose();
}

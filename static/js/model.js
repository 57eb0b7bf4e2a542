// Everything that knows TF.js: choosing a backend, loading a graph model, warming it up, predicting.
// Uses the global `tf` of static/vendor/tf.min.js (+ tf-backend-wasm.min.js), loaded by the caller.
// No DOM: runs in a Web Worker.

const tfjs = () => {
  if (!globalThis.tf) throw new Error('TF.js is not loaded (static/vendor/tf.min.js)');
  return globalThis.tf;
};

/** WebGL renderers that are CPU emulations, not a GPU. */
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|microsoft basic render/i;

/**
 * Which backend to use: webgl only when a real GPU renders WebGL, wasm otherwise (fastest on a CPU).
 * Needs OffscreenCanvas (main thread or worker); does not need TF.js.
 *
 * @returns {{backend: 'wasm'|'webgl', renderer: string|null, reason: string}}
 */
export function chooseBackend() {
  let renderer = null;
  try {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
    if (gl) {
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
  } catch {
    renderer = null; // no usable WebGL: said in the reason below
  }
  if (!renderer) return { backend: 'wasm', renderer, reason: 'no WebGL here: running on the CPU' };
  if (SOFTWARE_RENDERERS.test(renderer)) {
    return {
      backend: 'wasm',
      renderer,
      reason: `no GPU (WebGL is emulated by ${renderer}): running on the CPU`,
    };
  }
  return { backend: 'webgl', renderer, reason: `GPU: ${renderer}` };
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

/**
 * Load a graph model and find which output is which.
 *
 * The card lists the outputs as ["od450", "features"], but converters name and order them variously
 * (signature keys "od450" or "output_0_od450", node names "Identity", "Identity_1"; shapes often unknown),
 * so the outputs are told apart by running the model once on zeros: OD450 is the output of width 1.
 *
 * @param {string} url  model.json URL
 * @param {{size: number}} options  the card's `input.size` (px)
 * @returns {Promise<{model: object, outputNames: string[], hasFeatures: boolean, size: number}>}
 */
export async function loadModel(url, { size }) {
  const tf = tfjs();
  const model = await tf.loadGraphModel(url);
  const shape = model.inputs[0].shape;
  if (shape && shape.length === 4 && shape[1] > 0 && (shape[1] !== size || shape[2] !== size)) {
    model.dispose();
    throw new Error(`the model's input is ${shape[1]}×${shape[2]} px but its card says ${size}×${size}`);
  }
  const names = model.outputs.map((o) => o.name);
  if (names.length !== 1 && names.length !== 2) {
    model.dispose();
    throw new Error(`expected 1 or 2 model outputs (OD450, features); found ${names.length}`);
  }
  const widths = tf.tidy(() => {
    const y = model.execute(tf.zeros([1, size, size, 3]), names);
    return (Array.isArray(y) ? y : [y]).map((t) => t.shape[t.shape.length - 1]);
  });
  const od = widths.indexOf(1);
  if (od < 0 || widths.lastIndexOf(1) !== od) {
    model.dispose();
    throw new Error(
      `cannot tell which output is OD450: output widths ${widths.join(', ')} (expected one of width 1)`,
    );
  }
  const outputNames = names.length === 2 ? [names[od], names[1 - od]] : [names[0]];
  return { model, outputNames, hasFeatures: names.length === 2, size };
}

/** Run the model once on zeros so the first real image is not slowed by kernel compilation. */
export async function warmUp(handle) {
  await predict(handle, new Float32Array(handle.size * handle.size * 3));
}

/**
 * Predict one image.
 *
 * @param {{model: object, outputNames: string[]|null, hasFeatures: boolean, size: number}} handle
 * @param {Float32Array} input  (size, size, 3), raw 0–255 (the model rescales itself)
 * @returns {Promise<{od450: number, features: Float32Array|null}>}
 */
export async function predict(handle, input) {
  const tf = tfjs();
  const { model, outputNames, hasFeatures, size } = handle;
  const outs = tf.tidy(() => {
    const x = tf.tensor4d(input, [1, size, size, 3], 'float32');
    const y = model.execute(x, outputNames);
    return Array.isArray(y) ? y : [y];
  });
  try {
    const od = await outs[0].data();
    const features = hasFeatures ? new Float32Array(await outs[1].data()) : null;
    return { od450: od[0], features };
  } finally {
    tf.dispose(outs);
  }
}

/**
 * Predict the OD450 of a batch of images (no features), for occlusion maps.
 *
 * @param {{model: object, outputNames: string[], size: number}} handle
 * @param {Float32Array} inputs  (n, size, size, 3), raw 0–255
 * @param {number} n  images in the batch
 * @returns {Promise<Float32Array>}  (n,) predicted OD450
 */
export async function predictBatch(handle, inputs, n) {
  const tf = tfjs();
  const { model, outputNames, size } = handle;
  const out = tf.tidy(() => {
    const y = model.execute(tf.tensor4d(inputs, [n, size, size, 3], 'float32'), outputNames);
    if (!Array.isArray(y)) return y;
    tf.dispose(y.slice(1));
    return y[0];
  });
  try {
    return new Float32Array(await out.data());
  } finally {
    out.dispose();
  }
}

/** Tensors alive in this TF.js instance (must not grow across a plate). */
export function numTensors() {
  return tfjs().memory().numTensors;
}

/** Free a model's weights. */
export function disposeModel(handle) {
  handle?.model?.dispose();
}

// Scoring wells: the worker pool's lifecycle (load a model into every worker, then another model's head),
// sending queued wells to it, applying the results to the wells, timing each run, and occlusion maps on
// request. Each file is sent with the options its curve asks for (image-options.js: plane, in-file channel,
// window). Talks to the page only through the engine badge and page errors (ui.js) and its hooks.
import { curvePlateWindow, scoreOptions } from './image-options.js';
import { defaultPoolSize, WorkerPool } from './pool.js';
import * as ui from './ui.js';
import { WASM_PATH, workerModel } from './worker-model.js';
/** Occlusion maps: cells per side, occluded copies per inference batch (as training/attribution.py's maps). */
export const ATTRIBUTION = { grid: 8, batch: 8 };

export class Scorer {
  #backend;
  #debug;
  #curves;
  #hooks;
  #pool = null;
  #loaded = null; // {modelId, generation, promise} of the model loaded (or loading) in the workers
  #ready = false; // the workers hold #loaded's model
  #generation = 0;
  #run = null; // {start, n, end, total} of the current scoring run, for the progress line and benchmarks

  /**
   * @param {{backend: {backend: string, reason: string}, debug: object, curves: () => object[],
   *   onChange: () => void, onRunDone: () => void}} options
   *   backend from model.chooseBackend; debug is globalThis.nostainDebug (runs, timings, numTensors, ready,
   *   backend, modelError are written here); curves returns the session's curves; onChange is called when
   *   wells changed (render), onRunDone when every well sent to the workers came back (fit).
   */
  constructor({ backend, debug, curves, onChange, onRunDone }) {
    this.#backend = backend;
    this.#debug = debug;
    this.#curves = curves;
    this.#hooks = { onChange, onRunDone };
  }

  /** Id of the model loaded (or loading) in the workers, or null. */
  get modelId() {
    return this.#loaded?.modelId ?? null;
  }

  /** The current (or last) scoring run: {start, end, n, total} (ms from performance.now()), or null. */
  get run() {
    return this.#run;
  }

  /**
   * Load a model into the workers unless it is already there (they keep a shared backbone: switching
   * between models on it loads only the head), then score its queued wells.
   *
   * @param {object} card  the model's card (backbone_url + head_url, or model_url; input.size, name,
   *   version, verification.reference)
   * @returns {Promise<object>}  what the first worker reports; rejects (after showing why) when it fails
   */
  async load(card) {
    if (this.#loaded?.modelId === card.id) return this.#loaded.promise;
    const generation = ++this.#generation;
    for (const c of this.#curves()) for (const w of c.wells) if (w.status === 'scoring') w.status = 'queued';
    this.#run = null; // a run cut short by a model change never completes
    ui.showBackend(`loading ${card.name}…`, 'loading the model');
    const promise = this.#start(card).then(({ info, backend, size }) => {
      if (generation === this.#generation) this.#showEngine(card, info, backend, size);
      return info;
    });
    this.#loaded = { modelId: card.id, generation, promise };
    this.#setReady(false);
    try {
      await promise;
    } catch (err) {
      if (generation === this.#generation) {
        this.#loaded = null;
        this.#debug.modelError = String(err.message);
        ui.showBackend('failed', String(err.message));
        ui.showPageError(`The model ${card.name} could not be loaded: ${err?.message ?? err}`, err);
      }
      throw err;
    }
    this.schedule();
    return promise;
  }

  /** Start the pool (once, sized for the chosen engine) and load the card's model into it. */
  async #start(card) {
    const backend = this.#backend;
    this.#pool ??= new WorkerPool({ size: defaultPoolSize(backend.backend) });
    const info = await this.#pool.load({
      backend: backend.backend,
      wasmPath: WASM_PATH,
      model: workerModel(card),
    });
    return { info, backend, size: this.#pool.size };
  }

  /** The engine badge: which engine runs the model, why, and how it compares with the export check. */
  #showEngine(card, info, backend, size) {
    const gpu = info.backend === 'webgl';
    const where = gpu
      ? 'GPU'
      : info.fellBack
        ? `CPU: the GPU (${info.fellBack.backend}) did not reproduce the export check`
        : backend.backend !== 'wasm'
          ? 'CPU: the GPU backend failed'
          : 'CPU, no GPU found';
    const { check } = info;
    const parity =
      check.expected === null
        ? 'This model carries no reference value to check the engine against.'
        : `Reference input: OD450 ${check.od450.toFixed(6)} here, ${check.expected.toFixed(6)} in the ` +
          `export check (|Δ| ${check.diff.toExponential(1)}, allowed ${check.tolerance}).`;
    ui.showBackend(
      `${info.backend} (${where}) · ${size} worker${size > 1 ? 's' : ''}`,
      `${backend.reason}. Model ${card.name} v${card.version} loaded in each worker. ${parity}`,
    );
    Object.assign(this.#debug, {
      backend: info.backend,
      modelError: null,
      engineCheck: check,
      workers: size,
    });
    this.#setReady(true);
    this.#debug.numTensors.push({ model: card.id, after: 'warm-up', n: info.numTensors });
  }

  /** Send every queued well whose curve uses the loaded model to the workers. */
  schedule() {
    const loaded = this.#loaded;
    if (!loaded || !this.#ready) return;
    const generation = loaded.generation;
    for (const curve of this.#curves()) {
      if (curve.model?.id !== loaded.modelId) continue;
      const plate = curvePlateWindow(curve); // the same for every well sent now
      for (const well of curve.wells) {
        if (well.status !== 'queued') continue;
        well.status = 'scoring';
        const options = scoreOptions(curve, well, plate);
        if (!this.#run || this.#run.end !== null)
          this.#run = { start: performance.now(), n: 0, end: null, total: 0 };
        this.#run.total++;
        this.#pool.score(well.file, options).then(
          (msg) => {
            if (generation === this.#generation) this.#apply(curve, well, msg, options);
          },
          (err) => {
            if (generation !== this.#generation) return; // model changed: the well was re-queued
            well.status = 'error';
            well.scoredWith = options;
            well.problem = { kind: 'error', message: `could not be scored: ${err.message}` };
            console.error(`scoring ${well.name} failed`, err, err.workerStack);
            this.#counted();
          },
        );
      }
    }
    this.#hooks.onChange();
  }

  /** True when the workers hold (or are loading) `modelId`, so an occlusion map can be asked for. */
  canAttribute(modelId) {
    return this.#pool !== null && modelId !== undefined && this.modelId === modelId;
  }

  /**
   * The occlusion map of one image, computed by the next free worker before any queued well, with the
   * options its OD450 was computed with (the map explains that OD450).
   *
   * @param {{file: File, scoredWith: object|null}} well  a scored image record
   * @returns {Promise<object>}  the worker's 'attribution' ({grid, map, od450, ms, numTensors}) or 'problem'
   */
  attribute(well) {
    return this.#pool.attribute(well.file, { ...ATTRIBUTION, ...(well.scoredWith ?? {}) });
  }

  #setReady(ready) {
    this.#ready = ready;
    this.#debug.ready = ready;
  }

  #apply(curve, well, msg, options) {
    if (!curve.wells.includes(well)) {
      this.#counted(); // removed meanwhile: counted, not shown
      return;
    }
    well.scoredWith = options;
    if (msg.type === 'problem') {
      well.status = 'problem';
      well.problem = { kind: msg.kind, message: msg.message, channels: msg.channels ?? null };
      well.image = null; // what it held is not known now
    } else {
      Object.assign(well, {
        status: 'done',
        od450: msg.od450,
        features: msg.features,
        stats: msg.stats ?? null,
        judgement: null,
        judgedWith: null,
        trustFlags: [],
        width: msg.width,
        height: msg.height,
        warnings: msg.warnings,
        image: msg.image,
        timings: msg.timings,
        thumb: msg.thumbnail,
        problem: null,
      });
      this.#debug.numTensors.push({ model: curve.model?.id, after: well.name, n: msg.numTensors });
      this.#debug.timings.push(msg.timings);
    }
    this.#counted();
  }

  /** One well of the run came back: end the run when it was the last. */
  #counted() {
    const run = this.#run;
    if (run) {
      run.n++;
      if (run.n === run.total) {
        run.end = performance.now();
        this.#debug.runs.push({ images: run.total, seconds: (run.end - run.start) / 1000 });
        this.#hooks.onRunDone();
      }
    }
    this.#hooks.onChange();
  }
}

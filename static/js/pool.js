// A pool of scoring workers (worker.js). Each worker holds a model (a shared backbone + a head) and runs one
// inference thread; it is given up to PIPELINE_DEPTH jobs at a time, so that it decodes the next image while
// it runs the model on the current one. Jobs are handed out in order. No DOM.

/** Jobs a worker holds at once: one in inference, the next being decoded. */
export const PIPELINE_DEPTH = 2;
/** At most this many workers: each holds its own copy of the model (9 MB of float32 weights, plus TF.js). */
export const MAX_WORKERS = 8;

/**
 * Workers for this machine: one per logical core (navigator.hardwareConcurrency) on the CPU — each runs one
 * wasm inference thread, and WebCodecs decodes on the browser's own threads — at most MAX_WORKERS; two on a
 * GPU, which runs one model at a time anyway (one worker prepares images while the other's are on the GPU).
 *
 * @param {string} backend  the engine chosen (model.chooseBackend)
 */
export function defaultPoolSize(backend = 'wasm') {
  const cores = navigator.hardwareConcurrency || 2;
  if (backend === 'webgl') return 2;
  return Math.max(1, Math.min(cores, MAX_WORKERS));
}

export class WorkerPool {
  /**
   * @param {{size?: number, workerUrl?: string|URL}} [options]
   */
  constructor({ size = defaultPoolSize(), workerUrl = new URL('./worker.js', import.meta.url) } = {}) {
    this.size = size;
    this.workerUrl = workerUrl;
    this.workers = [];
    this.busy = new Map(); // worker → jobs it holds
    this.ready = new Set(); // workers that hold the current model
    this.generation = 0; // of the current model (load calls)
    this.queue = [];
    this.pending = new Map(); // job id → {resolve, reject, worker}
    this.nextId = 1;
  }

  /**
   * Load a model into every worker (starting them the first time). Queued jobs are rejected; jobs a worker
   * already holds finish first (with the model they were sent for). The first worker loads alone and starts
   * on the queue as soon as it holds the model; the others then load it from the browser's cache (not a
   * second download) and join as each is ready.
   *
   * @param {{backend: string, wasmPath: string, model: object}} config  model: see worker.js 'load'
   * @returns {Promise<{backend: string, check: object, fellBack: object|null, numTensors: number}>}  what
   *   the first worker reports
   */
  async load(config) {
    this.#rejectQueued(new Error('scoring stopped (the model changed)'));
    const generation = ++this.generation;
    this.ready.clear(); // nothing is handed out to a worker until it holds the new model
    if (!this.workers.length) this.#startWorkers();
    const [first, ...others] = this.workers;
    const info = await this.#send(first, { type: 'load', ...config });
    if (generation !== this.generation) return info; // another model was asked for meanwhile
    this.#join(first);
    for (const worker of others) {
      this.#send(worker, { type: 'load', ...config }).then(
        () => generation === this.generation && this.#join(worker),
        (err) => console.error('a scoring worker could not load the model; the others go on', err),
      );
    }
    return info;
  }

  /**
   * Score one file in the next worker with room.
   *
   * @param {File} file
   * @param {{plane?: number|null, channel?: number|string|null, window?: object|string|null}} [options]
   *   which plane and channel to read and how to map more than 8 bits (worker.js protocol)
   * @returns {Promise<object>}  the worker's 'result' or 'problem' message
   */
  score(file, options = {}) {
    return new Promise((resolve, reject) => {
      this.queue.push({ message: { type: 'predict', file, ...options }, resolve, reject });
      this.#pump();
    });
  }

  /**
   * Occlusion map of one file in the next worker with room (jumps the queue: a person is waiting for it).
   *
   * @param {File} file
   * @param {{grid?: number, batch?: number, plane?: number|null, channel?: number|string|null,
   *   window?: object|string|null}} [options]  plane, channel, window: those the file was scored with (the
   *   map explains that OD450)
   * @returns {Promise<object>}  the worker's 'attribution' or 'problem' message
   */
  attribute(file, { grid = 8, batch = 8, ...options } = {}) {
    return new Promise((resolve, reject) => {
      this.queue.unshift({ message: { type: 'attribute', file, grid, batch, ...options }, resolve, reject });
      this.#pump();
    });
  }

  /**
   * Backbone features of every view of one training image (worker.js 'features'), in the next worker with
   * room.
   *
   * @param {File} file
   * @param {{nViews?: number, seed?: number, augmentation?: object}} options  see train/views.js
   * @returns {Promise<object>}  the worker's 'features' or 'problem' message
   */
  features(file, options) {
    return new Promise((resolve, reject) => {
      this.queue.push({ message: { type: 'features', file, ...options }, resolve, reject });
      this.#pump();
    });
  }

  /**
   * Backbone features of the export check's reference input (worker.js 'reference').
   *
   * @returns {Promise<object>}  the worker's 'reference' message ({features: Float32Array (F,)})
   */
  reference() {
    return new Promise((resolve, reject) => {
      this.queue.unshift({ message: { type: 'reference' }, resolve, reject });
      this.#pump();
    });
  }

  /** Reject every job not yet handed to a worker (e.g. feature extraction was cancelled). */
  clearQueue(err) {
    this.#rejectQueued(err);
  }

  #startWorkers() {
    this.workers = Array.from({ length: this.size }, () => {
      const w = new Worker(this.workerUrl, { type: 'module', name: 'nostain-scorer' });
      w.onmessage = (e) => this.#settle(e.data);
      w.onerror = (e) => this.#fail(w, new Error(`worker failed: ${e.message || 'could not start'}`));
      this.busy.set(w, 0);
      return w;
    });
  }

  #join(worker) {
    this.ready.add(worker);
    this.#pump();
  }

  #rejectQueued(err) {
    for (const job of this.queue) job.reject(err);
    this.queue = [];
  }

  /** Hand queued jobs to the least busy workers that hold the model, up to PIPELINE_DEPTH each. */
  #pump() {
    while (this.queue.length) {
      let worker = null;
      for (const w of this.ready) {
        const n = this.busy.get(w);
        if (n < PIPELINE_DEPTH && (!worker || n < this.busy.get(worker))) worker = w;
      }
      if (!worker) return;
      const job = this.queue.shift();
      this.busy.set(worker, this.busy.get(worker) + 1);
      const done = () => {
        if (this.busy.has(worker)) this.busy.set(worker, this.busy.get(worker) - 1);
        this.#pump();
      };
      this.#send(worker, job.message).then(
        (msg) => {
          done();
          job.resolve(msg);
        },
        (err) => {
          done();
          job.reject(err);
        },
      );
    }
  }

  #send(worker, message) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      worker.postMessage({ ...message, id });
    });
  }

  #settle(msg) {
    const job = this.pending.get(msg.id);
    if (!job) return;
    this.pending.delete(msg.id);
    if (msg.type === 'error') {
      const err = new Error(msg.message);
      err.workerStack = msg.stack;
      job.reject(err);
    } else {
      job.resolve(msg);
    }
  }

  #fail(worker, err) {
    for (const [id, job] of this.pending) {
      if (job.worker === worker) {
        this.pending.delete(id);
        job.reject(err);
      }
    }
  }
}

// A pool of scoring workers (worker.js). Each worker holds a model (a shared backbone + a head) and runs one
// inference thread; it is given up to PIPELINE_DEPTH jobs at a time, so that it decodes the next image while
// it runs the model on the current one. Jobs are handed out in order. No DOM.

/** Jobs a worker holds at once: one in inference, the next being decoded. */
export const PIPELINE_DEPTH = 2;
/** At most this many workers: each holds its own copy of the model (~10 MB of weights, ~60 MB in all). */
export const MAX_WORKERS = 8;

/**
 * Workers for this machine: one per logical core on the CPU (each runs one wasm inference thread; the
 * decoding runs on threads of the browser's own), at most MAX_WORKERS; two on a GPU, which runs one model
 * at a time anyway (one worker decodes while the other's batch is on the GPU).
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
    this.queue = [];
    this.pending = new Map(); // job id → {resolve, reject, worker}
    this.nextId = 1;
    this.info = null;
  }

  /**
   * Load a model into every worker (starting them the first time). Queued jobs are rejected; jobs a worker
   * already holds finish first (with the model they were sent for).
   *
   * @param {{backend: string, wasmPath: string, model: object}} config  model: see worker.js 'load'
   * @returns {Promise<{backend: string, check: object, fellBack: object|null, numTensors: number}>}  what
   *   the first worker reports
   */
  async load(config) {
    this.#rejectQueued(new Error('scoring stopped (the model changed)'));
    this.info = null; // nothing is handed out until every worker holds the new model
    if (!this.workers.length) this.#startWorkers();
    const loaded = await Promise.all(this.workers.map((w) => this.#send(w, { type: 'load', ...config })));
    this.info = loaded[0];
    this.#pump();
    return this.info;
  }

  /**
   * Score one file in the next worker with room.
   *
   * @param {File} file
   * @returns {Promise<object>}  the worker's 'result' or 'problem' message
   */
  score(file) {
    return new Promise((resolve, reject) => {
      this.queue.push({ message: { type: 'predict', file }, resolve, reject });
      this.#pump();
    });
  }

  /**
   * Occlusion map of one file in the next worker with room (jumps the queue: a person is waiting for it).
   *
   * @param {File} file
   * @param {{grid?: number, batch?: number}} [options]
   * @returns {Promise<object>}  the worker's 'attribution' or 'problem' message
   */
  attribute(file, { grid = 8, batch = 8 } = {}) {
    return new Promise((resolve, reject) => {
      this.queue.unshift({ message: { type: 'attribute', file, grid, batch }, resolve, reject });
      this.#pump();
    });
  }

  /** Stop every worker and reject what is queued or running. */
  terminate() {
    const stopped = new Error('scoring stopped (the page reset)');
    this.#rejectQueued(stopped);
    for (const job of this.pending.values()) job.reject(stopped);
    for (const w of this.workers) w.terminate();
    this.pending.clear();
    this.workers = [];
    this.busy.clear();
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

  #rejectQueued(err) {
    for (const job of this.queue) job.reject(err);
    this.queue = [];
  }

  /** Hand queued jobs to the least busy workers, up to PIPELINE_DEPTH each (not before a model is loaded). */
  #pump() {
    if (!this.info) return;
    while (this.queue.length) {
      let worker = null;
      for (const [w, n] of this.busy)
        if (n < PIPELINE_DEPTH && (!worker || n < this.busy.get(worker))) worker = w;
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

// A small pool of scoring workers (worker.js): one job per worker at a time, jobs queued in order.
// No DOM. Each worker loads TF.js, its own copy of the model, and runs one inference thread.

/** Default pool size: one worker per core, at least 1, at most 4 (each holds a model and a decoded image). */
export function defaultPoolSize() {
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
}

export class WorkerPool {
  /**
   * @param {{size?: number, workerUrl?: string|URL}} [options]
   */
  constructor({ size = defaultPoolSize(), workerUrl = new URL('./worker.js', import.meta.url) } = {}) {
    this.size = size;
    this.workerUrl = workerUrl;
    this.workers = [];
    this.idle = [];
    this.queue = [];
    this.pending = new Map(); // job id → {resolve, reject, worker}
    this.nextId = 1;
    this.info = null;
  }

  /**
   * (Re)start the workers with a model. Queued jobs are rejected.
   *
   * @param {{modelUrl: string, size: number, backend: string, wasmPath: string}} config
   * @returns {Promise<{backend: string, hasFeatures: boolean, numTensors: number}>}  what the first worker reports
   */
  async start(config) {
    this.terminate();
    this.workers = Array.from({ length: this.size }, () => {
      const w = new Worker(this.workerUrl, { type: 'module', name: 'nostain-scorer' });
      w.onmessage = (e) => this.#settle(e.data);
      w.onerror = (e) => this.#fail(w, new Error(`worker failed: ${e.message || 'could not start'}`));
      return w;
    });
    const ready = await Promise.all(this.workers.map((w) => this.#send(w, { type: 'init', ...config })));
    this.idle = [...this.workers];
    this.info = ready[0];
    this.#pump();
    return this.info;
  }

  /**
   * Score one file in the next free worker.
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
   * Occlusion map of one file in the next free worker (jumps the queue: a person is waiting for it).
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
    const stopped = new Error('scoring stopped (the model changed or the page reset)');
    for (const job of this.queue) job.reject(stopped);
    for (const job of this.pending.values()) job.reject(stopped);
    for (const w of this.workers) w.terminate();
    this.queue = [];
    this.pending.clear();
    this.workers = [];
    this.idle = [];
  }

  #pump() {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.shift();
      const job = this.queue.shift();
      this.#send(worker, job.message).then(
        (msg) => {
          this.idle.push(worker);
          this.#pump();
          job.resolve(msg);
        },
        (err) => {
          this.idle.push(worker);
          this.#pump();
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

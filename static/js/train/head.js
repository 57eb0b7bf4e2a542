// The paper's regression head, trained with TF.js on cached backbone features exactly as training/train.py
// trains it: Dense(10, relu) → Dense(1) (Glorot-uniform kernels, zero biases), Adam (lr 1e-3, β 0.9/0.999,
// ε 1e-7) on the mean squared error of OD450, batches of 32, at most 300 epochs, every view of the training
// images, view 0 of the early-stopping images; stops after 30 epochs without a lower validation loss and ends
// with the weights of the best epoch (tf_keras 2.19 EarlyStopping with restore_best_weights). The initial
// weights and every epoch's batch order come from the head's random stream (random.js headRandom), the one
// training/head.py draws them from: with the same seed and features both train the same head.
// Uses the global `tf` (static/vendor/tf.min.js). No DOM.
import { batchOrder, glorotUniform, headRandom } from './random.js';

const tfjs = () => {
  if (!globalThis.tf) throw new Error('TF.js is not loaded (static/vendor/tf.min.js)');
  return globalThis.tf;
};

/** training/config.py: HEAD_UNITS (paper), LEARNING_RATE, BATCH_SIZE, EPOCHS, PATIENCE, SEED (ours). */
export const RECIPE = Object.freeze({
  units: 10,
  learningRate: 1e-3,
  batchSize: 32,
  epochs: 300,
  patience: 30,
  seed: 0,
});

/** Layer names of training/model.py, so that an exported head reads like one exported by training. */
export const LAYERS = Object.freeze({ hidden: 'head_hidden', output: 'od450' });

/** Thrown when training is cancelled through its AbortSignal. */
export class TrainingCancelled extends Error {
  constructor() {
    super('training was cancelled');
    this.name = 'TrainingCancelled';
  }
}

/**
 * The untrained head: features (N, nFeatures) → Dense(units, relu) → Dense(1) = OD450, its kernels drawn
 * from `random` (Glorot uniform, hidden kernel first, row-major; training/stream.py glorot_uniform), zero
 * biases.
 *
 * @param {number} nFeatures  F, the backbone's pooled features (1280 for MobileNetV2)
 * @param {{units?: number, seed?: number|number[]}} [options]
 * @param {() => number} [random]  the head's stream (default headRandom(seed)); the caller goes on drawing
 *   the batch orders from it
 */
export function buildHead(nFeatures, { units = RECIPE.units, seed = RECIPE.seed } = {}, random = null) {
  const tf = tfjs();
  const stream = random ?? headRandom(seed);
  const model = tf.sequential({
    name: 'head',
    layers: [
      tf.layers.dense({
        inputShape: [nFeatures],
        units,
        activation: 'relu',
        name: LAYERS.hidden,
        kernelInitializer: 'zeros',
      }),
      tf.layers.dense({ units: 1, name: LAYERS.output, kernelInitializer: 'zeros' }),
    ],
  });
  const hidden = glorotUniform(stream, nFeatures, units);
  const output = glorotUniform(stream, units, 1);
  tf.tidy(() =>
    model.setWeights([
      tf.tensor2d(hidden, [nFeatures, units]),
      tf.zeros([units]),
      tf.tensor2d(output, [units, 1]),
      tf.zeros([1]),
    ]),
  );
  return model;
}

/** Mean squared error of the head on (x (n, F), y (n,)) tensors, a number. */
function meanSquaredError(tf, model, x, y) {
  return tf.tidy(() => tf.losses.meanSquaredError(y, model.predict(x).reshape([-1])).dataSync()[0]);
}

/**
 * Train the head.
 *
 * @param {{x: Float32Array, y: Float32Array, valX?: Float32Array|null, valY?: Float32Array|null,
 *   nFeatures: number}} data  training rows (n, F) flattened row-major with their OD450 (n,) (every view of
 *   every training image), and the early-stopping rows (m, F) (view 0 of the validation images), or none:
 *   then the training loss decides, as in training/train.py
 * @param {Partial<typeof RECIPE>} [recipe]  overrides of the paper's recipe
 * @param {{onEpoch?: (e: {epoch: number, epochs: number, loss: number, valLoss: number|null,
 *   bestEpoch: number}) => void, signal?: AbortSignal}} [hooks]  progress after each epoch; cancel
 * @returns {Promise<{model: object, history: {epoch: number, loss: number, valLoss: number|null}[],
 *   bestEpoch: number, stoppedEarly: boolean, recipe: object}>}  rejects with TrainingCancelled
 */
export async function trainHead(data, recipe = {}, { onEpoch, signal } = {}) {
  const tf = tfjs();
  const r = { ...RECIPE, ...recipe };
  const { nFeatures } = data;
  const n = data.y.length;
  if (!(n >= 1) || data.x.length !== n * nFeatures) {
    throw new RangeError(`x must hold ${n} rows of ${nFeatures} features; got ${data.x.length} values`);
  }
  const hasVal = data.valX && data.valY && data.valY.length > 0;
  const random = headRandom(r.seed);
  const model = buildHead(nFeatures, r, random);
  const optimizer = tf.train.adam(r.learningRate, 0.9, 0.999, 1e-7);
  const x = tf.tensor2d(data.x, [n, nFeatures]);
  const y = tf.tensor1d(data.y);
  const valX = hasVal ? tf.tensor2d(data.valX, [data.valY.length, nFeatures]) : null;
  const valY = hasVal ? tf.tensor1d(data.valY) : null;
  const history = [];
  let best = Infinity;
  let bestEpoch = -1;
  let bestWeights = null;
  let wait = 0;
  let stoppedEarly = false;
  try {
    for (let epoch = 0; epoch < r.epochs; epoch++) {
      if (signal?.aborted) throw new TrainingCancelled();
      const order = batchOrder(random, n);
      let sum = 0;
      for (let start = 0; start < n; start += r.batchSize) {
        const rows = order.subarray(start, start + r.batchSize);
        const loss = tf.tidy(() => {
          const index = tf.tensor1d(rows, 'int32');
          const xb = tf.gather(x, index);
          const yb = tf.gather(y, index);
          return optimizer.minimize(
            () => tf.losses.meanSquaredError(yb, model.apply(xb).reshape([-1])),
            true,
          );
        });
        sum += (await loss.data())[0] * rows.length;
        loss.dispose();
      }
      const entry = {
        epoch,
        loss: sum / n,
        valLoss: hasVal ? meanSquaredError(tf, model, valX, valY) : null,
      };
      history.push(entry);
      const current = hasVal ? entry.valLoss : entry.loss;
      wait++;
      if (current < best) {
        best = current;
        bestEpoch = epoch;
        tf.dispose(bestWeights);
        bestWeights = model.getWeights().map((w) => w.clone());
        wait = 0;
      }
      onEpoch?.({ ...entry, epochs: r.epochs, bestEpoch });
      if (wait >= r.patience && epoch > 0) {
        stoppedEarly = true;
        break;
      }
    }
    if (bestWeights) model.setWeights(bestWeights);
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    tf.dispose([x, y, valX, valY, bestWeights].filter(Boolean));
    optimizer.dispose();
  }
  return { model, history, bestEpoch, stoppedEarly, recipe: r };
}

/**
 * OD450 of feature rows.
 *
 * @param {object} model  a trained head
 * @param {Float32Array} x  (n, F) row-major
 * @param {number} nFeatures  F
 * @returns {Float32Array}  (n,)
 */
export function predictHead(model, x, nFeatures) {
  const tf = tfjs();
  const n = x.length / nFeatures;
  const out = tf.tidy(() => model.predict(tf.tensor2d(x, [n, nFeatures])).reshape([-1]));
  try {
    return new Float32Array(out.dataSync());
  } finally {
    out.dispose();
  }
}

/**
 * The rows of a (n_images, n_views, F) feature array that training uses: every view of `trainRows`, view 0
 * of `valRows` (training/train.py train_head_on_views).
 *
 * @param {Float32Array} features  (n_images, nViews, F) row-major
 * @param {Float32Array|number[]} od450  (n_images,)
 * @param {number[]} trainRows  image indices to train on
 * @param {number[]} valRows  image indices to stop early on
 * @param {{nViews: number, nFeatures: number}} shape
 */
export function trainingRows(features, od450, trainRows, valRows, { nViews, nFeatures }) {
  const perImage = nViews * nFeatures;
  const x = new Float32Array(trainRows.length * perImage);
  const y = new Float32Array(trainRows.length * nViews);
  trainRows.forEach((image, i) => {
    x.set(features.subarray(image * perImage, (image + 1) * perImage), i * perImage);
    y.fill(od450[image], i * nViews, (i + 1) * nViews);
  });
  return { x, y, ...firstViews(features, od450, valRows, { nViews, nFeatures }, 'val'), nFeatures };
}

/** View 0 of `rows` as {valX, valY} (or {testX, testY} with prefix 'test'). */
export function firstViews(features, od450, rows, { nViews, nFeatures }, prefix = 'val') {
  const x = new Float32Array(rows.length * nFeatures);
  rows.forEach((image, i) => {
    const start = image * nViews * nFeatures;
    x.set(features.subarray(start, start + nFeatures), i * nFeatures);
  });
  return { [`${prefix}X`]: x, [`${prefix}Y`]: Float32Array.from(rows, (image) => od450[image]) };
}

// Seeded random numbers for training in the page: the same seed gives the same splits, augmentation draws,
// head initialisation and batch order. The augmentation draws, the head's initial weights and its batch
// orders are the stream `python -m training` draws them from (training/stream.py, the same generator and
// rules), so both train the same head from the same features; the series splits are made by the same rule
// but not from the same numbers (training draws them with numpy). No DOM, no TF.js.

/**
 * A generator of uniform floats in [0, 1) (mulberry32: 32-bit state, period 2^32; plenty for shuffling a few
 * hundred series or drawing augmentation parameters).
 *
 * @param {number} seed  any integer (or several, combined)
 * @returns {() => number}
 */
export function randomGenerator(...seed) {
  let state = 0x9e3779b9;
  for (const part of seed) state = Math.imul(state ^ (Number(part) >>> 0), 0x85ebca6b) + 0x6b43a9b5;
  state >>>= 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random integer in 0 … n − 1. */
export const randomInteger = (random, n) => Math.floor(random() * n);

/** A uniform float in [low, high). */
export const uniform = (random, low, high) => low + (high - low) * random();

/** Shuffle `items` in place (Fisher–Yates) and return it. */
export function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInteger(random, i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** A 32-bit integer from a text (FNV-1a), e.g. to seed an image's draws by its name or content hash. */
export function textSeed(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Last seed part of a head's stream (training/stream.py HEAD_STREAM). */
export const HEAD_STREAM = 1;

/**
 * The stream of one head's initial weights and batch orders (training/stream.py head_stream): the final
 * model's head is seeded by `seed`, cross-validation fold i (from 0) by [seed, i].
 *
 * @param {number|number[]} seed
 */
export const headRandom = (seed) => randomGenerator(...[seed].flat(), HEAD_STREAM);

/**
 * A Glorot-uniform kernel (fanIn, fanOut) drawn row-major from `random`: limit · (2u − 1) with
 * limit = √(6 / (fanIn + fanOut)), as float32 (training/stream.py glorot_uniform).
 *
 * @returns {Float32Array}  (fanIn · fanOut) values, row-major
 */
export function glorotUniform(random, fanIn, fanOut) {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = limit * (2 * random() - 1);
  return out;
}

/**
 * An epoch's order of n rows: the indices sorted by one draw each, ties in index order
 * (training/stream.py batch_order).
 *
 * @returns {Int32Array}  a permutation of 0 … n − 1
 */
export function batchOrder(random, n) {
  const keys = Float64Array.from({ length: n }, () => random());
  return Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
}

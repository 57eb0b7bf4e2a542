// Seeded random numbers for training in the page: the same seed gives the same splits, augmentation draws,
// head initialisation and batch order. Not numpy's generator: a split or a draw is not the one
// `python -m training` makes with the same seed, only made by the same rule. No DOM, no TF.js.

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

// Splits of a lab's images by dose series, by the rule of training/dataset.py: a series (one image per
// concentration) is never cut; per cell line the series are taken in a random order that alternates between
// plates, so each set spreads over the plates; k-fold cross-validation deals that order round-robin into k
// folds, and each fold's training series give a few series for early stopping. The random order comes from
// random.js (not numpy): the rule is training's, the draw is not. No DOM, no TF.js.
import { randomGenerator, shuffle } from './random.js';

/** Defaults of training/config.py: 4 folds (paper, Tables S1/S2), 4 early-stopping series (ours). */
export const CV_FOLDS = 4;
export const N_VAL_SERIES = 4;

/**
 * One row per dose series: its cell line and its most common plate (ties: the first in sorted order).
 *
 * @param {{series: string, cellLine: string, plate: string}[]} images
 * @returns {{series: string, cellLine: string, plate: string, nImages: number}[]}  sorted by series
 */
export function seriesTable(images) {
  const bySeries = new Map();
  for (const image of images) {
    for (const key of ['series', 'cellLine', 'plate']) {
      if (image[key] === undefined || image[key] === null || image[key] === '') {
        throw new Error(`every image needs a ${key}; one has none`);
      }
    }
    const row = bySeries.get(image.series) ?? { cellLine: image.cellLine, plates: new Map(), n: 0 };
    row.plates.set(image.plate, (row.plates.get(image.plate) ?? 0) + 1);
    row.n++;
    bySeries.set(image.series, row);
  }
  return [...bySeries.keys()].sort().map((series) => {
    const row = bySeries.get(series);
    const plates = [...row.plates].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return { series, cellLine: row.cellLine, plate: plates[0][0], nImages: row.n };
  });
}

/** A cell line's series in a random order alternating between its plates (plates shuffled too). */
function interleaved(rows, random) {
  const plates = shuffle([...new Set(rows.map((r) => r.plate))].sort(), random);
  const queues = plates.map((plate) =>
    shuffle(
      rows
        .filter((r) => r.plate === plate)
        .map((r) => r.series)
        .sort(),
      random,
    ),
  );
  const order = [];
  while (queues.some((q) => q.length)) for (const q of queues) if (q.length) order.push(q.shift());
  return order;
}

/** Per cell line (sorted), its series in split order. */
function orders(images, seed) {
  const table = seriesTable(images);
  const random = randomGenerator(seed);
  const lines = [...new Set(table.map((r) => r.cellLine))].sort();
  return lines.map((line) => [
    line,
    interleaved(
      table.filter((r) => r.cellLine === line),
      random,
    ),
  ]);
}

/**
 * Test, early-stopping and training series (training/dataset.py split_series).
 *
 * @param {object[]} images  {series, cellLine, plate}
 * @param {{nTest: number, nVal?: number, seed?: number}} options  series per cell line
 * @returns {{train: string[], val: string[], test: string[]}}  each sorted
 */
export function splitSeries(images, { nTest, nVal = N_VAL_SERIES, seed = 0 }) {
  if (!(nTest >= 0 && nVal >= 0)) throw new RangeError(`nTest and nVal must be >= 0; got ${nTest}, ${nVal}`);
  const split = { train: [], val: [], test: [] };
  for (const [line, order] of orders(images, seed)) {
    if (order.length < nTest + nVal + 1) {
      throw new Error(
        `cell line ${line} has ${order.length} dose series; this split needs at least ${nTest + nVal + 1}`,
      );
    }
    split.test.push(...order.slice(0, nTest));
    split.val.push(...order.slice(nTest, nTest + nVal));
    split.train.push(...order.slice(nTest + nVal));
  }
  for (const key of Object.keys(split)) split[key].sort();
  return split;
}

/**
 * A split given by the caller (e.g. the one `python -m training train` saved in its config.json, so that the
 * page and the CLI hold out the same series), checked: every series of the images in exactly one role,
 * no unknown series, at least one test and one training series.
 *
 * @param {object[]} images  {series, cellLine, plate}
 * @param {{train: string[], val?: string[], test: string[]}} roles
 * @returns {{train: string[], val: string[], test: string[]}}  each sorted
 */
export function givenSplit(images, roles) {
  const split = { train: [], val: [], test: [], ...roles };
  const known = new Set(seriesTable(images).map((r) => r.series));
  const seen = new Map();
  for (const role of ['train', 'val', 'test']) {
    for (const series of split[role]) {
      if (!known.has(series)) throw new Error(`the ${role} series ${series} has no image`);
      if (seen.has(series)) throw new Error(`series ${series} is in both ${seen.get(series)} and ${role}`);
      seen.set(series, role);
    }
  }
  const missing = [...known].filter((series) => !seen.has(series)).sort();
  if (missing.length) {
    const verb = missing.length === 1 ? 'has' : 'have';
    throw new Error(`series ${missing.join(', ')} ${verb} no role (train, val or test)`);
  }
  if (!split.train.length || !split.test.length) {
    throw new Error('a split needs at least one training and one test series');
  }
  return { train: [...split.train].sort(), val: [...split.val].sort(), test: [...split.test].sort() };
}

/**
 * k folds of series (training/dataset.py cv_folds): each series in exactly one, per cell line round-robin.
 *
 * @returns {string[][]}  k sorted lists
 */
export function cvFolds(images, { k = CV_FOLDS, seed = 0 } = {}) {
  if (!(k >= 2)) throw new RangeError(`k must be >= 2; got ${k}`);
  const folds = Array.from({ length: k }, () => []);
  for (const [line, order] of orders(images, seed)) {
    if (order.length < k) {
      throw new Error(
        `cell line ${line} has ${order.length} dose series; ${k}-fold cross-validation needs ${k}`,
      );
    }
    order.forEach((series, i) => {
      folds[i % k].push(series);
    });
  }
  return folds.map((f) => f.sort());
}

/** Fold `index` as the test set; `nVal` series per cell line of the others stop the training early. */
export function foldSplit(images, folds, index, { nVal = N_VAL_SERIES, seed = 0 } = {}) {
  if (!(index >= 0 && index < folds.length)) {
    throw new RangeError(`index must be in 0..${folds.length - 1}; got ${index}`);
  }
  const test = new Set(folds[index]);
  const inner = splitSeries(
    images.filter((image) => !test.has(image.series)),
    { nTest: 0, nVal, seed: seed + 1 + index },
  );
  return { train: inner.train, val: inner.val, test: [...test].sort() };
}

/**
 * How to validate a model on these images: k-fold cross-validation by series when every cell line has the
 * series for it (k test folds, `nVal` early-stopping series and at least one training series besides),
 * otherwise one plain split with a warning saying why (issue 15: fewer series than the CV needs).
 *
 * @returns {{kind: 'cv'|'split', folds: string[][]|null, split: object|null, warning: string|null}}
 */
export function validationPlan(images, { k = CV_FOLDS, nVal = N_VAL_SERIES, seed = 0 } = {}) {
  const fewest = Math.min(...orders(images, seed).map(([, order]) => order.length));
  const perFoldTrain = fewest - Math.ceil(fewest / k) - nVal;
  if (fewest >= k && perFoldTrain >= 1) {
    return { kind: 'cv', folds: cvFolds(images, { k, seed }), split: null, warning: null };
  }
  if (fewest < 2) {
    throw new Error(`at least 2 dose series per cell line are needed to test a model; got ${fewest}`);
  }
  const val = Math.min(nVal, fewest - 2);
  return {
    kind: 'split',
    folds: null,
    split: splitSeries(images, { nTest: 1, nVal: val, seed }),
    warning:
      `${fewest} dose series per cell line are too few for ${k}-fold cross-validation with ${nVal} ` +
      `early-stopping series: one series is held out for testing instead${val ? '' : ', without early stopping'}`,
  };
}

// Training a model in the page, in named stages, as `python -m training cv` and `train` do: k-fold
// cross-validation by series (or one plain split when there are too few series, with a warning), then the
// model itself on a split that holds out whole test series, each head with the paper's recipe (head.js) on
// cached features (features.js); its test predictions scored by the server (POST /api/evaluate: r², IC50s
// per series, paired t-test; numbers only, the images stay here); the trust block (trust.js) and the card
// (card.js). Progress after every epoch; cancel with an AbortSignal. Uses the global `tf`. No DOM.
import { buildCard, verification } from './card.js';
import { firstViews, predictHead, trainHead, trainingRows } from './head.js';
import { foldSplit, givenSplit, splitSeries, validationPlan } from './split.js';
import { headArtifacts } from './store.js';
import { trustBlock } from './trust.js';

/** The paper's proportions of test and early-stopping series: 6 and 4 of 24 per cell line. */
export const TEST_SHARE = 6 / 24;
export const VAL_SHARE = 4 / 24;

/** Image indices of the given series. */
const rowsOf = (images, series) => {
  const wanted = new Set(series);
  return images.flatMap((image, i) => (wanted.has(image.series) ? [i] : []));
};

/**
 * The rows /api/evaluate takes for some images and their predictions.
 *
 * @param {{series: string, concentrationUm: number, od450: number}[]} images
 * @param {number[]} rows  image indices
 * @param {ArrayLike<number>} predicted  (rows.length,) OD450
 */
export function evaluationRows(images, rows, predicted) {
  return rows.map((i, j) => ({
    series: images[i].series,
    concentration_um: images[i].concentrationUm,
    measured_od450: images[i].od450,
    predicted_od450: predicted[j],
  }));
}

/** POST /api/evaluate; rejects with the server's plain-words reason. */
export async function evaluate(rows, { url = '/api/evaluate' } = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ images: rows }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`the evaluation was refused: ${body.detail ?? response.status}`);
  return body;
}

/** Train a head on a split and predict its test images (view 0). */
async function trainOnSplit(data, split, recipe, hooks) {
  const { features, od450, shape, images } = data;
  const train = rowsOf(images, split.train);
  const val = rowsOf(images, split.val);
  const test = rowsOf(images, split.test);
  const result = await trainHead(trainingRows(features, od450, train, val, shape), recipe, hooks);
  const { testX } = firstViews(features, od450, test, shape, 'test');
  return { ...result, test, predicted: predictHead(result.model, testX, shape.nFeatures) };
}

/**
 * Train, cross-validate, evaluate and describe a model.
 *
 * @param {object} input
 * @param {{features: Float32Array, nViews: number, nFeatures: number, stats: object[],
 *   referenceFeatures?: Float32Array}} input.computed  features.js computeFeatures output for `images`, in
 *   the same order (with referenceFeatures the card gets the reference OD450 the page checks on loading)
 * @param {{series: string, plate: string, cellLine: string, concentrationUm: number, od450: number}[]}
 *   input.images  the matched training images
 * @param {{name: string, cellLine: string, drug: string, backbone: object, pixelSizeUm?: number}} input.about
 * @param {{k?: number, seed?: number, recipe?: object, augmentation?: object,
 *   roles?: {train: string[], val: string[], test: string[]}}} [options]  roles: the final model's series
 *   split, fixed by the caller (split.js givenSplit; e.g. python -m training's, to compare the two) instead
 *   of drawn here; the cross-validation folds are drawn as usual
 * @param {{onProgress?: (p: object) => void, signal?: AbortSignal}} [hooks]  p: {stage, fold?, folds?,
 *   epoch, epochs, loss, valLoss} after every epoch; {stage: 'evaluation'} and {stage: 'trust'} once each
 * @returns {Promise<{card: object, head: object, model: object, plan: object, warnings: string[],
 *   timings: object}>}  head: the TF.js artifacts to keep (store.js); model: the trained tf.LayersModel
 */
export async function trainModel({ computed, images, about }, options = {}, { onProgress, signal } = {}) {
  const seed = options.seed ?? 0;
  const recipe = { ...options.recipe, seed };
  const shape = { nViews: computed.nViews, nFeatures: computed.nFeatures };
  const data = { features: computed.features, od450: images.map((i) => i.od450), shape, images };
  const timings = {};
  const warnings = [];
  const perLine = Math.min(
    ...Object.values(Object.groupBy(images, (i) => i.cellLine)).map(
      (g) => new Set(g.map((i) => i.series)).size,
    ),
  );
  const nVal = Math.max(1, Math.round(perLine * VAL_SHARE));
  const plan = validationPlan(images, { k: options.k, nVal, seed });
  const given = options.roles ? givenSplit(images, options.roles) : null; // checked before any training
  let crossValidation = null;
  let t0 = performance.now();
  if (plan.kind === 'cv') {
    const predicted = new Float64Array(images.length);
    const folds = [];
    for (let f = 0; f < plan.folds.length; f++) {
      const split = foldSplit(images, plan.folds, f, { nVal, seed });
      const progress = (e) =>
        onProgress?.({ stage: 'cross-validation', fold: f + 1, folds: plan.folds.length, ...e });
      // fold f's head has its own stream, [seed, f], as in training/cv.py
      const run = await trainOnSplit(
        data,
        split,
        { ...recipe, seed: [seed, f] },
        { onEpoch: progress, signal },
      );
      run.model.dispose();
      run.test.forEach((i, j) => {
        predicted[i] = run.predicted[j];
      });
      folds.push({ fold: f + 1, test_series: split.test, epochs: run.history.length });
    }
    const all = images.map((_, i) => i);
    const pooled = await evaluate(evaluationRows(images, all, predicted));
    crossValidation = { k: plan.folds.length, folds, r2_pooled: pooled.od450.r2, evaluation: pooled };
  } else {
    warnings.push(plan.warning);
  }
  timings.cross_validation_s = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const split =
    given ??
    (plan.kind === 'cv'
      ? splitSeries(images, { nTest: Math.max(1, Math.round(perLine * TEST_SHARE)), nVal, seed })
      : plan.split);
  const progress = (e) => onProgress?.({ stage: 'model', ...e });
  const final = await trainOnSplit(data, split, recipe, { onEpoch: progress, signal });
  timings.model_s = (performance.now() - t0) / 1000;
  try {
    onProgress?.({ stage: 'evaluation' });
    const evaluation = await evaluate(evaluationRows(images, final.test, final.predicted));
    const train = rowsOf(images, split.train);
    const heldout = rowsOf(images, split.val.length ? split.val : split.test);
    const { valX: trainX } = firstViews(data.features, data.od450, train, shape, 'val');
    const { valX: heldX } = firstViews(data.features, data.od450, heldout, shape, 'val');
    onProgress?.({ stage: 'trust' });
    const trust = trustBlock({
      train: trainX,
      heldout: heldX,
      nFeatures: shape.nFeatures,
      trainStats: train.map((i) => computed.stats[i]),
      backboneFingerprint: about.backbone.fingerprint,
      nTrainSeries: split.train.length,
      nHeldoutSeries: split.val.length || split.test.length,
    });
    const card = buildCard({
      ...about,
      images,
      split,
      crossValidation: crossValidation && {
        k: crossValidation.k,
        r2_pooled: crossValidation.r2_pooled,
        folds: crossValidation.folds,
        ic50_log10_error_median: crossValidation.evaluation.ic50.log10_error_median,
      },
      evaluation,
      trust,
      recipe: { ...final.recipe, n_views: shape.nViews, augmentation: options.augmentation ?? 'paper' },
      training: { epochs: final.history.length, bestEpoch: final.bestEpoch },
    });
    if (computed.referenceFeatures) {
      const [od450] = predictHead(final.model, computed.referenceFeatures, shape.nFeatures);
      card.verification = verification(od450);
    }
    return { card, head: await headArtifacts(final.model), model: final.model, plan, warnings, timings };
  } catch (err) {
    final.model.dispose();
    throw err;
  }
}

// The trust block (card.ood) of a model trained in the page, built as training/trust/ builds it at export:
// PCA of the training images' pooled features (view 0, as the page sees them) with a Ledoit–Wolf shrunk
// covariance of the PCA scores (training/trust/ood.py fit_ood, sklearn LedoitWolf(assume_centered=True)),
// distance quantiles from held-out images, and the accepted ranges of the image statistics
// (fit_image_stats). The page's wrong-model check (ood.js, trust.js) reads it like a bundled card's.
// Pure float64 arithmetic on typed arrays: no DOM, no TF.js.
import { IMAGE_STATS, oodScores } from '../ood.js';

/** training/trust/ood.py QUANTILES: quantiles of the held-out distances and residuals stored in the card. */
export const QUANTILES = [0.5, 0.95, 0.99, 0.999];
const SIGNIFICANT = 5;
const MIN_MARGIN = { mean_grey: 15, contrast: 4, colourfulness: 6, focus: 0, dark_fraction: 0.05 };
const FOCUS_FACTOR = 3;
const METHOD =
  'PCA of pooled backbone features; Mahalanobis distance with a Ledoit-Wolf shrunk covariance of the PCA ' +
  'scores, and the norm of the PCA reconstruction residual';

/** A number rounded to 5 significant digits (training/trust/ood.py `_round`). */
export function roundSignificant(x) {
  if (x === 0 || !Number.isFinite(x)) return x;
  const factor = 10 ** (SIGNIFICANT - 1 - Math.floor(Math.log10(Math.abs(x))));
  return Math.round(x * factor) / factor;
}

/** numpy.quantile (linear interpolation) of unsorted values. */
export function quantile(values, q) {
  const sorted = Float64Array.from(values).sort();
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
}

/** Eigen-decomposition of a symmetric n × n matrix (cyclic Jacobi); eigenvalues descending. */
function symmetricEigen(matrix, n) {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += a[p * n + p] ** 2;
      for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    }
    if (off <= 1e-30 * diag) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  return {
    values: order.map((i) => a[i * n + i]),
    vectors: order.map((i) => Float64Array.from({ length: n }, (_, k) => v[k * n + i])),
  };
}

/** Inverse of a symmetric positive-definite k × k matrix (Gauss–Jordan with partial pivoting). */
function inverse(matrix, k) {
  const a = matrix.map((row) => Float64Array.from(row));
  const inv = Array.from({ length: k }, (_, i) => Float64Array.from({ length: k }, (_, j) => +(i === j)));
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    [inv[col], inv[pivot]] = [inv[pivot], inv[col]];
    const d = a[col][col];
    if (d === 0) throw new Error('the covariance of the PCA scores is singular');
    for (let j = 0; j < k; j++) {
      a[col][j] /= d;
      inv[col][j] /= d;
    }
    for (let r = 0; r < k; r++) {
      if (r === col || a[r][col] === 0) continue;
      const f = a[r][col];
      for (let j = 0; j < k; j++) {
        a[r][j] -= f * a[col][j];
        inv[r][j] -= f * inv[col][j];
      }
    }
  }
  return inv;
}

/** sklearn's Ledoit–Wolf shrunk covariance of centred rows `x` (n × k arrays), assume_centered. */
function ledoitWolfCovariance(x, k) {
  const n = x.length;
  const cov = Array.from({ length: k }, () => new Float64Array(k));
  const squares = Array.from({ length: k }, () => new Float64Array(k));
  for (const row of x) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        cov[i][j] += row[i] * row[j];
        squares[i][j] += row[i] ** 2 * row[j] ** 2;
      }
    }
  }
  let trace = 0;
  let beta = 0;
  let delta = 0;
  for (let i = 0; i < k; i++) {
    trace += cov[i][i] / n;
    for (let j = 0; j < k; j++) {
      beta += squares[i][j];
      delta += cov[i][j] ** 2;
    }
  }
  const mu = trace / k;
  delta /= n * n;
  beta = (beta / n - delta) / (k * n);
  delta = (delta - 2 * mu * trace + k * mu * mu) / k;
  beta = Math.min(beta, delta);
  const shrinkage = beta === 0 ? 0 : beta / delta;
  return cov.map((row, i) => row.map((v, j) => (1 - shrinkage) * (v / n) + (i === j ? shrinkage * mu : 0)));
}

/**
 * The card's feature-space block: PCA of the training features, calibrated on held-out ones.
 *
 * @param {Float32Array|Float64Array} train  (n, F) row-major pooled features of the training images, n ≥ 3
 * @param {Float32Array|Float64Array} heldout  (m, F) features of held-out images of the same kind, m ≥ 1
 * @param {number} nFeatures  F
 * @param {{nComponents?: number}} [options]  PCA components kept: k = min(nComponents, n − 1, F)
 * @returns {object}  {method, n_components, mean (F), components (k × F), precision (k × k), quantiles,
 *   distance_quantiles, residual_quantiles, n_train, n_heldout}, rounded to 5 significant digits
 */
export function fitOod(train, heldout, nFeatures, { nComponents = 16 } = {}) {
  const n = train.length / nFeatures;
  const m = heldout.length / nFeatures;
  if (!(Number.isInteger(n) && n >= 3)) throw new RangeError(`need at least 3 training images; got ${n}`);
  if (!(Number.isInteger(m) && m >= 1)) throw new RangeError(`need at least 1 held-out image; got ${m}`);
  if (![...train, ...heldout].every(Number.isFinite)) throw new RangeError('features must be finite');
  const k = Math.min(nComponents, n - 1, nFeatures);
  const mean = new Float64Array(nFeatures);
  for (let i = 0; i < n; i++) for (let j = 0; j < nFeatures; j++) mean[j] += train[i * nFeatures + j] / n;
  const centred = Array.from({ length: n }, (_, i) =>
    Float64Array.from({ length: nFeatures }, (_, j) => train[i * nFeatures + j] - mean[j]),
  );
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let f = 0; f < nFeatures; f++) s += centred[i][f] * centred[j][f];
      gram[i * n + j] = s;
      gram[j * n + i] = s;
    }
  }
  const { values, vectors } = symmetricEigen(gram, n);
  const components = [];
  for (let c = 0; c < k; c++) {
    const u = vectors[c];
    const scale = 1 / Math.sqrt(Math.max(values[c], 1e-300));
    const row = new Float64Array(nFeatures);
    for (let i = 0; i < n; i++) for (let f = 0; f < nFeatures; f++) row[f] += centred[i][f] * u[i] * scale;
    let largest = 0;
    for (let f = 1; f < nFeatures; f++) if (Math.abs(row[f]) > Math.abs(row[largest])) largest = f;
    if (row[largest] < 0) for (let f = 0; f < nFeatures; f++) row[f] = -row[f];
    components.push(row);
  }
  const scores = centred.map((x) => components.map((c) => c.reduce((s, v, f) => s + v * x[f], 0)));
  const precision = inverse(ledoitWolfCovariance(scores, k), k);
  const block = {
    method: METHOD,
    n_components: k,
    mean: Array.from(mean, roundSignificant),
    components: components.map((c) => Array.from(c, roundSignificant)),
    precision: precision.map((row, i) => row.map((v, j) => roundSignificant((v + precision[j][i]) / 2))),
  };
  const distance = [];
  const residual = [];
  for (let i = 0; i < m; i++) {
    const scored = oodScores(block, heldout.subarray(i * nFeatures, (i + 1) * nFeatures));
    distance.push(scored.distance);
    residual.push(scored.residual);
  }
  return {
    ...block,
    quantiles: [...QUANTILES],
    distance_quantiles: QUANTILES.map((q) => roundSignificant(quantile(distance, q))),
    residual_quantiles: QUANTILES.map((q) => roundSignificant(quantile(residual, q))),
    n_train: n,
    n_heldout: m,
  };
}

/**
 * Accepted range of each image statistic (training/trust/ood.py fit_image_stats): the training images'
 * 0.1 % and 99.9 % quantiles, widened by half their span, at least by a fixed amount per statistic; focus by
 * a factor of 3 on each side.
 *
 * @param {object[]} stats  ood.js imageStats of the training images (view 0), at least 1
 * @returns {object}  {name: [low, high], ..., n_images}
 */
export function fitImageStats(stats, { lower = 0.001, upper = 0.999, margin = 0.5 } = {}) {
  if (!stats.length) throw new RangeError("stats must hold at least one image's statistics; got none");
  const ranges = {};
  for (const name of Object.keys(IMAGE_STATS)) {
    const values = stats.map((s) => s[name]);
    let lo = quantile(values, lower);
    let hi = quantile(values, upper);
    if (name === 'focus') {
      lo /= FOCUS_FACTOR;
      hi *= FOCUS_FACTOR;
    } else {
      const pad = Math.max(margin * (hi - lo), MIN_MARGIN[name]);
      lo -= pad;
      hi += pad;
    }
    if (name === 'dark_fraction') {
      lo = Math.max(lo, 0);
      hi = Math.min(hi, 1);
    }
    ranges[name] = [roundSignificant(Math.max(lo, 0)), roundSignificant(hi)];
  }
  ranges.n_images = stats.length;
  return ranges;
}

/**
 * card.ood for a model trained in the page: the training series are the reference, the early-stopping
 * (validation) series the held-out images, as training/trust/card_block.py does at export.
 *
 * @param {{train: Float32Array, heldout: Float32Array, nFeatures: number, trainStats: object[],
 *   backboneFingerprint: string, nTrainSeries: number, nHeldoutSeries: number}} input
 */
export function trustBlock({ train, heldout, nFeatures, trainStats, backboneFingerprint, ...counts }) {
  const nTrain = train.length / nFeatures;
  const nHeld = heldout.length / nFeatures;
  return {
    features: fitOod(train, heldout, nFeatures),
    image_stats: fitImageStats(trainStats),
    backbone_fingerprint: backboneFingerprint,
    reference:
      `${nTrain} training images (${counts.nTrainSeries} series); quantiles from ${nHeld} held-out ` +
      `validation images (${counts.nHeldoutSeries} series)`,
  };
}

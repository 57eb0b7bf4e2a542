// Is a well image like the chosen model's training images? The browser twin of training/ood.py (same
// formulas; tests/e2e/test_trust.py checks parity). Pure functions: no DOM, no TF.js.
//
// Each well's pooled backbone features (the model's second output, from the same forward pass that predicts
// OD450) are scored against the card's `ood.features` block: Mahalanobis distance in a PCA space and the PCA
// reconstruction residual. A well beyond the 99th percentile of held-out training images on either is
// flagged. Image statistics of the model input (mean grey, contrast, colourfulness, focus, near-black
// fraction) outside the card's `ood.image_stats` ranges flag "not a bright-field well like the training
// images" (a photo, a blank frame, a fluorescence image).

const LUMA = [0.299, 0.587, 0.114];
const DARK_LEVEL = 25;
/** Plain-words names of the image statistics (as training/ood.py IMAGE_STATS). */
export const IMAGE_STATS = {
  mean_grey: 'mean grey level',
  contrast: 'contrast (SD of grey)',
  colourfulness: 'colourfulness (mean chroma)',
  focus: 'focus (variance of the Laplacian)',
  dark_fraction: 'fraction of near-black pixels',
};
/** Index of the 99th percentile in the card's quantile lists. */
const Q99 = 0.99;
/** A curve is called unlike the model's training images when more than this share of its wells is flagged. */
export const CURVE_SHARE = 0.5;

const fmt = (x) => String(Number(Number(x).toPrecision(3)));

/**
 * Mahalanobis distance (PCA scores, shrunk covariance) and PCA residual norm of one feature vector.
 *
 * @param {{mean: number[], components: number[][], precision: number[][]}} block  card.ood.features
 * @param {ArrayLike<number>} features  (F,)
 * @returns {{distance: number, residual: number}}
 */
export function oodScores(block, features) {
  const { mean, components, precision } = block;
  const f = mean.length;
  if (features.length !== f) {
    throw new RangeError(`features has ${features.length} values; the model card's block expects ${f}`);
  }
  const centred = new Float64Array(f);
  for (let j = 0; j < f; j++) centred[j] = features[j] - mean[j];
  const k = components.length;
  const scores = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const c = components[i];
    let s = 0;
    for (let j = 0; j < f; j++) s += centred[j] * c[j];
    scores[i] = s;
  }
  let d2 = 0;
  for (let i = 0; i < k; i++) {
    const p = precision[i];
    let row = 0;
    for (let j = 0; j < k; j++) row += p[j] * scores[j];
    d2 += scores[i] * row;
  }
  let r2 = 0;
  for (let j = 0; j < f; j++) {
    let rec = 0;
    for (let i = 0; i < k; i++) rec += scores[i] * components[i][j];
    const r = centred[j] - rec;
    r2 += r * r;
  }
  return { distance: Math.sqrt(Math.max(d2, 0)), residual: Math.sqrt(r2) };
}

/**
 * Image statistics of a model input, as training/ood.py `image_stats`.
 *
 * @param {ArrayLike<number>} input  (size, size, 3) R, G, B values 0–255 (e.g. preprocess.toModelInput)
 * @param {number} height  rows (px)
 * @param {number} width  columns (px)
 * @returns {{mean_grey: number, contrast: number, colourfulness: number, focus: number,
 *   dark_fraction: number}}
 */
export function imageStats(input, height, width = height) {
  if (height < 3 || width < 3 || input.length < height * width * 3) {
    throw new RangeError(`imageStats needs a (H, W, 3) input with H, W >= 3; got ${height}×${width}`);
  }
  const n = height * width;
  const grey = new Float64Array(n);
  let chroma = 0;
  let dark = 0;
  let sum = 0;
  for (let p = 0, q = 0; p < n; p++, q += 3) {
    const r = input[q];
    const g = input[q + 1];
    const b = input[q + 2];
    const v = r * LUMA[0] + g * LUMA[1] + b * LUMA[2];
    grey[p] = v;
    sum += v;
    chroma += Math.max(r, g, b) - Math.min(r, g, b);
    if (v < DARK_LEVEL) dark++;
  }
  const mean = sum / n;
  let ss = 0;
  for (let p = 0; p < n; p++) ss += (grey[p] - mean) ** 2;
  const lap = new Float64Array((height - 2) * (width - 2));
  let m = 0;
  let lsum = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const v = grey[i - width] + grey[i + width] + grey[i - 1] + grey[i + 1] - 4 * grey[i];
      lap[m++] = v;
      lsum += v;
    }
  }
  const lmean = lsum / m;
  let lss = 0;
  for (let i = 0; i < m; i++) lss += (lap[i] - lmean) ** 2;
  return {
    mean_grey: mean,
    contrast: Math.sqrt(ss / n),
    colourfulness: chroma / n,
    focus: lss / m,
    dark_fraction: dark / n,
  };
}

/**
 * Is an image a bright-field well like the training images? (training/ood.py `is_brightfield`)
 *
 * @param {object} stats  from imageStats
 * @param {object} ranges  card.ood.image_stats: {name: [low, high]}
 * @returns {{ok: boolean, reasons: string[]}}
 */
export function isBrightfield(stats, ranges) {
  const reasons = [];
  for (const [name, label] of Object.entries(IMAGE_STATS)) {
    if (!ranges?.[name] || stats?.[name] === undefined) continue;
    const [lo, hi] = ranges[name];
    const v = stats[name];
    if (!Number.isFinite(v) || v < lo || v > hi) {
      reasons.push(
        `${label} ${fmt(v)} is ${v < lo ? 'below' : 'above'} the training range ${fmt(lo)}–${fmt(hi)}`,
      );
    }
  }
  return { ok: reasons.length === 0, reasons };
}

function q99(block, key) {
  const i = (block.quantiles ?? []).indexOf(Q99);
  return i < 0 ? null : block[key][i];
}

/**
 * Judge one well against a model card's `ood` block.
 *
 * @param {object|null} ood  card.ood ({features, image_stats, backbone_fingerprint}), or null
 * @param {ArrayLike<number>|null} features  the well's pooled features (F,)
 * @param {object|null} stats  the well's imageStats
 * @param {{name: string, cell_line: string, ood: object}[]} [rivals]  other bundled cards whose `ood` shares
 *   this one's backbone fingerprint: the well is also flagged when one of them describes it better (its
 *   distance relative to its own 99th percentiles is smaller), i.e. it looks more like their training images
 * @returns {{checked: boolean, unlike: boolean, notBrightfield: boolean, distance: number|null,
 *   residual: number|null, flags: string[]}}  flags: plain words, for the table and the CSV
 */
export function judgeWell(ood, features, stats, rivals = []) {
  const out = {
    checked: false,
    unlike: false,
    notBrightfield: false,
    distance: null,
    residual: null,
    flags: [],
  };
  if (!ood) return out;
  const block = ood.features;
  if (block && features && features.length === block.mean.length) {
    const { distance, residual } = oodScores(block, features);
    const dMax = q99(block, 'distance_quantiles');
    const rMax = q99(block, 'residual_quantiles');
    Object.assign(out, { checked: true, distance, residual });
    const beyond = [];
    if (dMax !== null && distance > dMax) beyond.push(`feature distance ${fmt(distance)} > ${fmt(dMax)}`);
    if (rMax !== null && residual > rMax) beyond.push(`residual ${fmt(residual)} > ${fmt(rMax)}`);
    if (beyond.length) {
      out.unlike = true;
      out.flags.push(
        `unlike the model's training images (beyond their 99th percentile: ${beyond.join(', ')})`,
      );
    } else {
      const own = relativeDistance(block, distance, residual);
      const closer = rivals.find((r) => {
        const s = oodScores(r.ood.features, features);
        return relativeDistance(r.ood.features, s.distance, s.residual) < own;
      });
      if (closer) {
        out.unlike = true;
        out.flags.push(
          `looks more like the training images of ${closer.name} (${closer.cell_line}) than this model's`,
        );
      }
    }
  }
  if (ood.image_stats && stats) {
    out.checked = true;
    const { ok, reasons } = isBrightfield(stats, ood.image_stats);
    if (!ok) {
      out.notBrightfield = true;
      out.flags.push(`not a bright-field well like the training images: ${reasons.slice(0, 2).join('; ')}`);
    }
  }
  return out;
}

/** Distance relative to a block's own 99th percentiles: max(distance / q99, residual / q99). */
export function relativeDistance(block, distance, residual) {
  return Math.max(distance / q99(block, 'distance_quantiles'), residual / q99(block, 'residual_quantiles'));
}

/** Share of wells flagged (unlike or not bright-field) and median distance ratio to the 99th percentile. */
function fitOf(ood, wells) {
  let flagged = 0;
  const ratios = [];
  for (const w of wells) {
    const j = judgeWell(ood, w.features, w.stats);
    if (j.unlike || j.notBrightfield) flagged++;
    const dMax = q99(ood.features, 'distance_quantiles');
    if (j.distance !== null && dMax) ratios.push(j.distance / dMax);
  }
  ratios.sort((a, b) => a - b);
  return {
    share: wells.length ? flagged / wells.length : 0,
    median: ratios[Math.floor(ratios.length / 2)] ?? Infinity,
  };
}

/**
 * The plain-words warning above a curve when most of its wells are flagged, naming a better-fitting model
 * among the other bundled cards that share the backbone (same `ood.backbone_fingerprint`).
 *
 * @param {{features: ArrayLike<number>|null, stats: object|null, judgement: object}[]} wells  scored wells
 * @param {object} card  the curve's model card (with `ood`)
 * @param {object[]} others  other cards (with `ood`), any backbone
 * @returns {{text: string, note: string, flagged: number, total: number, better: object|null}|null}
 *   text: for the page; note: a shorter one for the report (≤ 200 characters); null: no warning
 */
export function curveWarning(wells, card, others = []) {
  const checked = wells.filter((w) => w.judgement?.checked);
  if (!checked.length || !card?.ood) return null;
  const flagged = checked.filter((w) => w.judgement.unlike || w.judgement.notBrightfield).length;
  if (flagged / checked.length <= CURVE_SHARE) return null;
  const notBf = checked.filter((w) => w.judgement.notBrightfield).length;
  const who = `model ${card.name}${card.cell_line ? ` (${card.cell_line})` : ''}`;
  let text =
    `${flagged} of ${checked.length} images do not look like the images ${who} was trained on` +
    (notBf > checked.length / 2 ? ' (most do not look like bright-field wells at all)' : '') +
    ': its OD450 predictions and this IC50 may be meaningless.';
  const own = card.ood.backbone_fingerprint;
  let better = null;
  if (own) {
    const mine = fitOf(card.ood, checked);
    for (const other of others) {
      if (other.id === card.id || !other.ood?.features || other.ood.backbone_fingerprint !== own) continue;
      const fit = fitOf(other.ood, checked);
      if (fit.share > CURVE_SHARE || fit.share >= mine.share) continue;
      if (
        !better ||
        fit.share < better.fit.share ||
        (fit.share === better.fit.share && fit.median < better.fit.median)
      )
        better = { card: other, fit };
    }
  }
  if (better) {
    const theirs = better.card.cell_line || better.card.name;
    const ours = card.cell_line || card.name;
    text +=
      ` These images look more like ${theirs} than ${ours}: check the model ` +
      `(${better.card.name} flags ${Math.round(better.fit.share * 100)} % of them).`;
  } else {
    text += ' Check that the model matches the cell line and the imaging.';
  }
  const note =
    `model check: ${flagged} of ${checked.length} images unlike the training images of ${card.name}` +
    (better
      ? `; they look more like ${better.card.cell_line || better.card.name} (model ${better.card.name})`
      : '');
  return { text, note, flagged, total: checked.length, better: better?.card ?? null };
}

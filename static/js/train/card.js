// The model card (nostain.model-card/2) of a model trained in the page: what it was trained on (the lab's
// own images, never synthetic), how well it did (the metrics of /api/evaluate), the shared backbone it needs
// (by id and fingerprint) and its head (a TF.js layers model, head/model.json). Pure: no DOM, no TF.js.

export const CARD_SCHEMA = 'nostain.model-card/2';
export const HEAD_FILE = 'head/model.json';
export const HEAD_WEIGHTS = 'group1-shard1of1.bin';

/** A folder-safe model id from a name: lower-case letters, digits and dashes. */
export function modelId(name, created = new Date()) {
  const slug = String(name)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const stamp = created.toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();
  return `${slug || 'model'}-${stamp}`;
}

const round = (x, digits = 4) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

/** Pixel sizes whose relative difference is at most this are the same (training/imaging.py SAME_PIXEL_SIZE). */
export const SAME_PIXEL_SIZE = 0.01;

const same = (values) => (values.length && values.every((v) => v === values[0]) ? values[0] : null);
const fourDigits = (x) => Number(x.toPrecision(4));

/** The training images' common pixel size (µm) and where it comes from, or null and why not. */
function commonPixelSize(images) {
  const unknown = images.filter((i) => !(i.pixelSizeUm > 0));
  if (unknown.length) {
    const example = unknown[0].name ? `e.g. ${unknown[0].name.split('/').pop()}; ` : '';
    return [
      null,
      `unknown: ${unknown.length} of ${images.length} training images record no pixel size (${example}the ` +
        'page and training read it from TIFF metadata: OME PhysicalSizeX, ImageJ or MetaSeries calibration, ' +
        'resolution tags)',
    ];
  }
  const sizes = images.map((i) => i.pixelSizeUm);
  const [low, high] = [Math.min(...sizes), Math.max(...sizes)];
  if (high - low > SAME_PIXEL_SIZE * low) {
    return [
      null,
      `unknown: the training images are at different pixel sizes (${fourDigits(low)}–${fourDigits(high)} µm/px)`,
    ];
  }
  const sources = [...new Set(images.map((i) => String(i.pixelSizeSource ?? 'the files’ metadata')))].sort();
  return [fourDigits(sizes[0]), `${sources.join(' and ')} of the ${images.length} training images`];
}

/**
 * The card's `imaging` block: the training images' scale, the rule of training/imaging.py
 * `imaging_from_scales` (docs/model-card.md). A lab's images: never simulated.
 *
 * @param {{name?: string, widthPx?: number, heightPx?: number, pixelSizeUm?: number|null,
 *   pixelSizeSource?: string, objective?: string|null}[]} images  the images trained on (training and
 *   validation series), with what their files say (worker.js' `image`: pixel_size, objective)
 * @returns {{description: string, pixel_size_um: number|null, objective: string|null,
 *   image_width_px: number|null, pixel_size_source: string}}
 */
export function imagingBlock(images) {
  const [pixelSize, source] = commonPixelSize(images);
  const sizes = [
    ...new Set(images.map((i) => (i.widthPx && i.heightPx ? `${i.widthPx}×${i.heightPx}` : ''))),
  ];
  const widths = images.map((i) => i.widthPx ?? null);
  let size = ' (the lab’s own)';
  if (sizes.length === 1 && sizes[0]) size = `, RGB ${sizes[0]} px (as the training images)`;
  else if (widths.every((w) => w)) {
    size = `, RGB ${Math.min(...widths)}–${Math.max(...widths)} px wide (as the training images)`;
  }
  return {
    description: `bright-field images, one field per well${size}`,
    pixel_size_um: pixelSize,
    objective: same(images.map((i) => i.objective ?? null)),
    image_width_px: same(widths),
    pixel_size_source: source,
  };
}

/**
 * The card of a model trained in the page.
 *
 * @param {object} about
 * @param {string} about.name  shown in the dropdown, e.g. "MCF7 · cisplatin (lab)"
 * @param {string} about.cellLine
 * @param {string} about.drug
 * @param {{id: string, fingerprint: string, size: number, architecture?: string, weights_origin?: string,
 *   input?: object}} about.backbone  the shared backbone the features came from (its backbone.json / card)
 * @param {{series: string, plate: string, od450: number}[]} about.images  the images trained on (all roles),
 *   with their scale when known (imagingBlock: name, widthPx, heightPx, pixelSizeUm, pixelSizeSource,
 *   objective)
 * @param {{train: string[], val: string[], test: string[]}} about.split  the final model's series split
 * @param {object|null} about.crossValidation  {k, r2_pooled, r2_folds} or null (a plain split was used)
 * @param {object} about.evaluation  /api/evaluate on the held-out test series
 * @param {object} about.trust  trust.js trustBlock
 * @param {object} about.recipe  head.js recipe used, and {n_views, seed, augmentation}
 * @param {{epochs: number, bestEpoch: number}} about.training
 * @param {number|null} [about.pixelSizeUm]  µm per pixel of the images whose own is not known, if known
 * @param {Date} [about.created]
 */
export function buildCard(about) {
  const created = about.created ?? new Date();
  const used = new Set([...about.split.train, ...about.split.val]);
  const trained = about.images.filter((i) => used.has(i.series));
  const plates = [...new Set(trained.map((i) => i.plate))].sort();
  const od450 = trained.map((i) => i.od450);
  const ev = about.evaluation;
  const given = { pixelSizeUm: about.pixelSizeUm, pixelSizeSource: 'given when training' };
  const imaging = imagingBlock(
    trained.map((i) => (i.pixelSizeUm > 0 || !about.pixelSizeUm ? i : { ...i, ...given })),
  );
  const description =
    `${trained.length} images of ${used.size} dose series on ${plates.length} plate` +
    `${plates.length === 1 ? '' : 's'} (${about.cellLine}; ${about.drug}); the lab's own images, trained ` +
    `in the browser; ${about.split.test.length} further series held out for testing`;
  const { id: backboneId, fingerprint, size } = about.backbone;
  return {
    schema: CARD_SCHEMA,
    id: modelId(about.name, created),
    name: about.name,
    version: '1.0.0',
    cell_line: about.cellLine,
    drug: about.drug,
    synthetic: false,
    summary:
      `Predicts the OD450 of ${about.cellLine} wells treated with ${about.drug} from one bright-field ` +
      `image per well; trained in the browser on this lab's images (${description}).`,
    training_data: {
      synthetic: false,
      origin: 'lab images, trained in the browser (static/js/train/)',
      n_images: trained.length,
      n_series: used.size,
      n_plates: plates.length,
      plates,
      series: { train: about.split.train, val: about.split.val, test: about.split.test },
      cell_lines: [about.cellLine],
      drugs: [about.drug],
      description,
      pixel_size_um: imaging.pixel_size_um,
    },
    backbone: { id: backboneId, fingerprint, architecture: about.backbone.architecture ?? 'MobileNetV2' },
    backbone_frozen: true,
    weights_origin: about.backbone.weights_origin ?? null,
    od450_training_range: [round(Math.min(...od450)), round(Math.max(...od450))],
    imaging,
    evaluation: {
      test_r2: ev.od450.r2,
      slope: ev.od450.slope,
      intercept: ev.od450.intercept,
      mean_difference: ev.od450.mean_difference,
      sd_difference: ev.od450.sd_difference,
      n_test_images: ev.od450.n_images,
      n_test_series: ev.ic50.n_series,
      ic50_log10_error_median: ev.ic50.log10_error_median,
      paired_t_p: ev.ic50.paired_t?.p_value ?? null,
      per_series: ev.series,
      cross_validation: about.crossValidation,
    },
    n_features: about.trust.features.mean.length,
    input: about.backbone.input ?? { size, channels: 3, resize: 'area', pixel_range: [0, 255] },
    training: { ...about.recipe, epochs_run: about.training.epochs, best_epoch: about.training.bestEpoch },
    created: created.toISOString().replace(/\.\d+Z$/, 'Z'),
    head: { format: 'tfjs_layers_model', model_file: HEAD_FILE },
    ood: about.trust,
  };
}

/**
 * The card's `verification`: the OD450 the new head gives on the export check's reference input (through
 * the backbone, in this browser), which the page checks every time it loads the model (model.js
 * checkReference), as it does for a model exported by training.
 *
 * @param {number} od450  the head on the backbone's features of model.referenceInput(size)
 */
export function verification(od450) {
  return {
    reference: {
      input: 'ramp: column j = 255·j/(size−1) (training/export.py reference_input)',
      od450,
    },
    computed: 'in the browser that trained the model (TF.js), when it was trained',
  };
}

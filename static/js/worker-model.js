// What a scoring worker is told to load for a model card (worker.js 'load'): its backbone and head (URLs,
// or the head's artifacts for a model kept in the browser), input size, export check and imaging. Shared by
// the scoring pool (scoring.js) and the training view's feature pool (train-session.js). Pure.

/** Where the workers find TF.js's wasm binaries. */
export const WASM_PATH = '/static/vendor/';

/**
 * The `model` of a worker's 'load' message for a card.
 *
 * @param {object} card  a served card (backbone_url + head_url, or model_url) or a kept model's page card
 *   (train/store.js pageCard: head_artifacts)
 */
export function workerModel(card) {
  return {
    backboneUrl: card.backbone_url,
    headUrl: card.head_url,
    headFormat: card.head?.format,
    headArtifacts: card.head_artifacts ?? null, // a model kept in the browser (train/store.js pageCard)
    modelUrl: card.model_url,
    size: card.input.size,
    reference: card.verification?.reference ?? null,
    name: card.name,
    imaging: card.imaging ?? null, // its pixel size, for worker.js' pixel-size warning
  };
}

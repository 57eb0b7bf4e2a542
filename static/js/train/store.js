// The lab's own models, kept in the browser (IndexedDB): card + head (TF.js layers-model artifacts) per
// model; the backbone is not stored (the card names it by id and fingerprint and the page has it). Also the
// head's artifacts from a trained TF.js model, and the card the scoring path loads like a served one.
// No DOM besides IndexedDB; uses the global `tf` only in headArtifacts.

const DB_NAME = 'nostain-own-models';
const STORE = 'models';

/** Open (creating on first use) the database; `factory` is indexedDB (a test may pass another). */
function openDb(factory = globalThis.indexedDB) {
  return new Promise((resolve, reject) => {
    const request = factory.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`the browser's model store cannot be opened: ${request.error}`));
  });
}

async function inStore(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(new Error(`the browser's model store failed: ${tx.error}`));
      tx.onabort = () => reject(new Error(`the browser's model store failed: ${tx.error ?? 'aborted'}`));
    });
  } finally {
    db.close();
  }
}

/**
 * A trained head's TF.js artifacts (topology, weight specs, weights), ready to store, export or load.
 *
 * @param {object} model  a tf.LayersModel (head.js)
 * @returns {Promise<{modelTopology: object, weightSpecs: object[], weightData: ArrayBuffer}>}
 */
export async function headArtifacts(model) {
  let saved = null;
  await model.save(
    globalThis.tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const { modelTopology, weightSpecs, weightData } = saved;
  return { modelTopology, weightSpecs, weightData };
}

/** Keep a model (card + head artifacts); an existing model with the same id is replaced. */
export function saveModel({ card, head }) {
  if (!card?.id || !head?.weightData) throw new Error('a model needs a card with an id and its head');
  return inStore('readwrite', (store) => store.put({ id: card.id, card, head, saved: Date.now() }));
}

/** The kept models' cards, newest first. */
export async function listModels() {
  const records = await inStore('readonly', (store) => store.getAll());
  return records.sort((a, b) => b.saved - a.saved).map((r) => r.card);
}

/** One kept model ({id, card, head, saved}), or null. */
export async function loadModel(id) {
  return (await inStore('readonly', (store) => store.get(id))) ?? null;
}

/** Forget a kept model. */
export function deleteModel(id) {
  return inStore('readwrite', (store) => store.delete(id));
}

/**
 * The card the page's scoring path takes for a kept model (scoring.js → worker.js 'load'): the stored card,
 * the backbone URL of a served card on the same backbone (same fingerprint), and the head given as
 * artifacts instead of a URL.
 *
 * @param {{card: object, head: object}} record  from loadModel
 * @param {object[]} servedCards  the page's cards (with backbone_url)
 */
export function pageCard(record, servedCards) {
  const { card, head } = record;
  const donor = servedCards.find(
    (c) => c.backbone?.fingerprint === card.backbone.fingerprint && c.backbone_url,
  );
  if (!donor) {
    throw new Error(
      `the model ${card.name} needs the backbone ${card.backbone.id}, which this server does not serve`,
    );
  }
  return { ...card, own: true, backbone_url: donor.backbone_url, head_url: null, head_artifacts: head };
}

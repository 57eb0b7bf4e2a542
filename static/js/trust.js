// The trust check of a curve: do its wells look like the images its model was trained on? Finds each model's
// `ood` block (embedded in the page, or read once from the model's card.json), judges the scored wells
// (ood.js) and sets the curve's warning. No DOM.
import { fetchModelCard } from './api.js';
import { curveWarning, judgeWell } from './ood.js';
import { curveCounts } from './session.js';

/** The backbone a card's features come from: its weights' fingerprint and its input size (px). */
function backboneKey(card) {
  const fingerprint = card?.backbone?.fingerprint ?? card?.ood?.backbone_fingerprint;
  return fingerprint ? `${fingerprint}|${card.input?.size}` : null;
}

/** True when two models compute their features with the same backbone (same weights, same input size). */
function sameBackbone(a, b) {
  const key = backboneKey(a);
  return key !== null && key === backboneKey(b);
}

export class TrustCheck {
  #cards;
  #onCardRead;
  #reads = new Map(); // card id → promise of its card.json (when the page did not embed `ood`)

  /**
   * @param {object[]} cards  the page's model cards (their `ood` blocks are filled in when read)
   * @param {{onCardRead: () => void}} hooks  called when a card was read (or could not be): judge again
   */
  constructor(cards, { onCardRead }) {
    this.#cards = cards;
    this.#onCardRead = onCardRead;
  }

  /** The `ood` block of a card, or null while it is read (or when the model has none). */
  oodOf(card) {
    if (!card) return null;
    if (card.ood !== undefined) return card.ood;
    if (!this.#reads.has(card.id)) {
      this.#reads.set(
        card.id,
        fetchModelCard(card.card_url ?? card.model_url)
          .then((full) => {
            card.ood = full.ood ?? null;
          })
          .catch((err) => {
            card.ood = null;
            console.warn(`model card of ${card.id} could not be read: no out-of-distribution check`, err);
          })
          .finally(this.#onCardRead),
      );
    }
    return null;
  }

  /**
   * Judge a curve's scored wells against its model's card and set `curve.trustWarning` (or null).
   *
   * Each well gets `judgement`, `trustFlags` and `judgedWith` (the models it was judged against, so that it
   * is judged again only when they change).
   */
  update(curve) {
    const card = this.#cards.find((c) => c.id === curve.model?.id) ?? null;
    const ood = this.oodOf(card);
    const scored = curve.wells.filter((w) => w.status === 'done');
    // Other bundled models on the same backbone: a well that one of them describes better is flagged too.
    const rivals = this.#cards.filter((c) => c !== card && c.ood?.features && sameBackbone(c, card));
    const judgeKey = `${card?.id}|${rivals.map((c) => c.id).join(',')}`;
    for (const w of scored) {
      if (!ood || w.judgedWith === judgeKey) continue;
      w.judgement = judgeWell(ood, w.features, w.stats, rivals);
      w.trustFlags = w.judgement.flags;
      w.judgedWith = judgeKey;
    }
    for (const c of this.#cards) this.oodOf(c); // the other models' blocks, to name a better one
    const counts = curveCounts(curve);
    curve.trustWarning =
      ood && !counts.queued && !counts.scoring
        ? curveWarning(
            scored.filter((w) => w.judgedWith === judgeKey),
            card,
            this.#cards.filter((c) => c !== card && c.ood),
          )
        : null;
  }
}

"""Trust checks for the page: is a well image like the model's training images?

* :mod:`training.trust.ood` — the out-of-distribution scores (feature-space distance, image statistics);
  pure numpy, mirrored by ``static/js/ood.js``.
* :mod:`training.trust.card_block` — the model card's ``ood`` block, built from a run's own training data.
* :mod:`training.trust.measure` — how often the check flags wells of the right and the wrong cell line.
"""

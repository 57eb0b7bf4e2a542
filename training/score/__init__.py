"""Score plate archives: every plate of a folder through a served model, IC50s for all, on a Dask cluster.

``python -m training score --model models/a549-m --images DIR --out OUT [--layout layout.csv]
[--workers N | --scheduler ADDRESS] [--plane N] [--bright-field CHANNEL] [--window file|plate|percentile]``
reads DIR as the page reads a plate (instrument file names, well folders, concentrations in the names, a
plate layout), runs the model the page serves (``models/<id>/``, its TF.js files run by TensorFlow; same
OD450 as the page within 1e-3) and fits each curve with the server's own report code. It writes
OUT/wells.csv (one row per image: plate, curve, well, field, image, concentration, predicted OD450, trust
flags (the page's pixel-size warning among them), or why the file could not be read; the plane, channel,
window and pixel size it was scored with), OUT/ic50.csv (one row per curve, the columns of the page's
report) and OUT/run.json (the model, the image options, the app's version, the time).

``--workers N`` starts N worker processes on this machine (one thread each; the default); ``--scheduler
tcp://host:8786`` runs the same job on a running Dask cluster whose workers see the same paths.
Plates are written one by one as they finish: a run that is stopped and started again with the same OUT
skips the plates already done. See docs/batch.md.

Modules: ``names`` (concentrations in file names), ``archive`` (the folder as plates and curves),
``decode`` (an image with the run's plane, channel and window), ``served`` (the served model in TensorFlow),
``judge`` (the page's trust flags), ``plate`` (a plate's tables and fits), ``tasks`` (what runs in the
workers), ``output`` (the output folder), ``run`` (the run).
"""

from training.score.decode import WINDOWS
from training.score.run import DEFAULT_BATCH, RunSummary, ScoreOptions, score_archive

__all__ = ["DEFAULT_BATCH", "WINDOWS", "RunSummary", "ScoreOptions", "score_archive"]

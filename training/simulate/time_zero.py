"""Time zero: the same wells imaged when the drug is added, and the growth-rate (GR) truth they imply.

Imaging does not destroy a well, so a lab can image a plate at the time of treatment and again at the end,
and compute growth-rate inhibition (Hafner et al., Nat Methods 13:521, 2016) with no extra plate. The
simulator's biology (:mod:`training.simulate.labels`) already has both reads of every well: with the
well's seeding factor ``s = S_p · S_w``,

* cells when the drug is added: ``x0 = Growth.cells_at_drug · s``;
* cells at the end: ``x(c) = Growth.control_cells · s · v(c)``, so ``x(c) / x0 = 2^k · v(c)`` with
  ``k = exposure_h / doubling_time_h`` doublings of the untreated control during the exposure.

The true GR value of a well is therefore (the seeding factor cancels)

    GR(c) = 2^(log2(x(c)/x0) / log2(x_ctrl/x0)) − 1 = 2 · v(c)^(1/k) − 1,

GRinf = ``2 · bottom^(1/k) − 1``, and GR50 is the concentration where ``v(c) = 0.75^k``:
``GR50 = IC50_p · ((1 − bottom) / (0.75^k − bottom) − 1)^(1/hill)`` (not reached when ``0.75^k ≤ bottom``),
with the plate's own IC50 ``IC50_p``. Time-zero images show the well's cells at ``x0`` (no drug effect yet:
background death only) in a new field, drawn after the end read's draws from the plate's generator, so the
end read's labels and images are the same with or without a time-zero read. Everything is synthetic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from training.simulate.labels import label_table, plate_records, plate_truth
from training.simulate.presets import CellLinePreset, PlateDesign

__all__ = [
    "TIME_ZERO_FOLDER_SUFFIX",
    "doublings",
    "gr50_true_um",
    "gr_true",
    "time_zero_labels",
    "with_time_zero",
]

#: A plate's time-zero images go to ``<cell line>/plate<k>-t0/<well>.jpg``; in the manifest the read is
#: plate ``<cell line>-P<k>-t0``, series ``<cell line>-P<k>-t0-<row>`` (a manifest's plate is one read).
TIME_ZERO_FOLDER_SUFFIX = "-t0"


def doublings(preset: CellLinePreset) -> float:
    """Doublings ``k`` of the untreated control between the drug's addition and the end read."""
    return preset.growth.exposure_h / preset.growth.doubling_time_h


def gr_true(viability: np.ndarray | float, *, k: float) -> np.ndarray:
    """True GR value of wells with true viability ``viability`` (live fraction of the control, 0–1).

    ``GR = 2 · v^(1/k) − 1``: 1 = growth as the control, 0 = no growth (cytostatic), < 0 = cells lost.
    """
    v = np.asarray(viability, dtype=float)
    return 2.0 * v ** (1.0 / k) - 1.0


def gr50_true_um(preset: CellLinePreset, *, ic50_um: float) -> float | None:
    """True GR50 (µM) of a plate whose true IC50 is ``ic50_um`` (µM); None when GR never falls to 0.5."""
    g = preset.growth
    target = 0.75 ** doublings(preset)
    if target <= g.bottom:
        return None
    return ic50_um * ((1 - g.bottom) / (target - g.bottom) - 1) ** (1 / g.hill)


def _time_zero_truth(
    preset: CellLinePreset, truth: dict[str, Any], rng: np.random.Generator, field: float
) -> dict[str, Any]:
    """The time-zero read's arrays (:func:`plate_records`' keys), drawn from the plate's generator after its
    end read: each well's cells at drug addition in a new field, background death only."""
    g, a = preset.growth, preset.assay
    shape = truth["cells_well"].shape
    cells0 = g.cells_at_drug * truth["seeding"]
    field_factor = np.exp(rng.normal(0, g.field_cv, shape))
    well_noise = np.exp(rng.normal(0, a.well_cv, shape))
    reader = rng.normal(0, a.reader_sd, shape)
    dying0 = g.dead_persistence * g.background_death * cells0
    expected = truth["blank"] + truth["od_per_cell"] * cells0
    return {
        "conc": truth["conc"],
        "ic50": truth["ic50"],
        "viability": np.ones(shape),
        "cells_well": cells0,
        "od_expected": expected,
        "od450": truth["blank"] + truth["od_per_cell"] * cells0 * well_noise + reader,
        "n_cells": rng.poisson(field * field_factor * cells0),
        "n_dying": rng.poisson(field * field_factor * dying0),
        "n_debris": rng.poisson(
            field * field_factor * g.debris_per_dead * dying0 + g.baseline_debris_per_field
        ),
        "stress": np.zeros(shape),
        "focus": truth["focus"],
    }


def _with_gr(
    records: list[dict[str, Any]], preset: CellLinePreset, truth: dict[str, Any], read_time_h: float
) -> None:
    """Add the read time and the GR truth to one plate's rows (row, column order, as ``truth``'s arrays)."""
    k = doublings(preset)
    gr = gr_true(truth["viability"], k=k).ravel()
    gr50 = gr50_true_um(preset, ic50_um=float(truth["ic50"]))
    for record, value in zip(records, gr, strict=True):
        record.update(
            x_read_time_h=read_time_h,
            x_gr_true=float(value),
            x_gr50_true_um=gr50 if gr50 is not None else math.nan,
        )


def _reads(
    preset: CellLinePreset, design: PlateDesign | None, seed: int, aspect: float, *, end_read: bool
) -> pd.DataFrame:
    """The time-zero read of every plate, after the end read when ``end_read`` (each plate drawn once)."""
    design = design or PlateDesign()
    field = preset.optics.field_fraction(aspect)
    ends: list[dict[str, Any]] = []
    zeros: list[dict[str, Any]] = []
    for plate in range(1, design.plates + 1):
        truth, rng = plate_truth(preset, design, seed=int(seed), plate=plate, field=field)
        end = plate_records(preset, design, truth, seed=int(seed), plate=plate)
        _with_gr(end, preset, truth, float(preset.growth.exposure_h))
        zero = plate_records(
            preset, design, _time_zero_truth(preset, truth, rng, field), seed=int(seed), plate=plate,
            read=TIME_ZERO_FOLDER_SUFFIX, image_stream=3,
        )  # fmt: skip
        _with_gr(zero, preset, truth, 0.0)  # a well's GR truth belongs to the well, whichever read
        ends += end
        zeros += zero
    return label_table(ends + zeros if end_read else zeros)


def time_zero_labels(
    preset: CellLinePreset, *, design: PlateDesign | None = None, seed: int = 0, aspect: float = 2160 / 2560
) -> pd.DataFrame:
    """The time-zero read of every well of a design: the rows :func:`simulate_labels` gives, at 0 h.

    Parameters
    ----------
    preset, design, seed, aspect
        As for :func:`training.simulate.labels.simulate_labels` (the same values give the same plates).

    Returns
    -------
    pandas.DataFrame, shape (design.n_images, n_columns)
        One row per well, the manifest columns plus ``x_read_time_h`` (0), ``x_gr_true`` (the well's true GR
        value at the end read) and ``x_gr50_true_um`` (the plate's true GR50, NaN when not reached); images
        are ``<cell_line>/plate<k>-t0/<well>.jpg``.
    """
    return _reads(preset, design, seed, aspect, end_read=False)


def with_time_zero(
    preset: CellLinePreset, *, design: PlateDesign | None = None, seed: int = 0, aspect: float = 2160 / 2560
) -> pd.DataFrame:
    """Both reads of every well: the end read (``x_read_time_h`` = exposure), then the time-zero read (0 h).

    The end rows are :func:`simulate_labels`'s, with ``x_read_time_h``, ``x_gr_true`` and ``x_gr50_true_um``.
    """
    return _reads(preset, design, seed, aspect, end_read=True)

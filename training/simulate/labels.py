"""Ground truth of a simulated experiment: live cells per well, CCK-8 OD450 and what each image shows.

Pure functions of a preset, a plate design and a seed (no images, no I/O). The model, per plate ``p`` and
well ``(row, c)``:

* plate (set) effects, drawn once per plate: seeding/growth factor ``S_p``, the plate's IC50
  ``IC50_p = IC50 · LogNormal(ic50_plate_cv)`` (biological replicate variation), CCK-8 gain ``G_p``,
  blank ``B_p`` and a focus offset;
* true viability ``v = bottom + (1 − bottom) / (1 + (c / IC50_p)^hill)`` (1 at c = 0);
* live cells in the well ``N = control_cells · S_p · S_w · v`` with well seeding noise ``S_w``;
* OD450 ``= B_p + (od_control / control_cells) · G_p · N · LogNormal(well_cv) + Normal(0, reader_sd)``:
  proportional to live (metabolically active) cells plus a blank, so the expected OD450 against
  concentration is exactly a 4-parameter Hill curve with IC50 = ``IC50_p``;
* the image shows a field of the well, a fraction ``f`` of its area: live cells in the field
  ``Poisson(f · N · F_w)`` with a field-density factor ``F_w`` (the image and the OD450 share ``N``, but not
  the field's sampling noise), dying cells ``Poisson(f · F_w · persistence · (N_drug · S_p · S_w · (1 − v) +
  background_death · N))`` and debris.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd

from training.simulate.presets import CellLinePreset, PlateDesign

__all__ = [
    "ROW_LETTERS",
    "hill_viability",
    "label_table",
    "line_key",
    "plate_records",
    "plate_truth",
    "simulate_labels",
    "stream_seed",
]

ROW_LETTERS = "ABCDEFGH"


def hill_viability(conc_um: np.ndarray, *, ic50_um: float, hill: float, bottom: float = 0.0) -> np.ndarray:
    """True live fraction of the untreated control at ``conc_um``.

    ``v = bottom + (1 − bottom) / (1 + (conc / ic50)^hill)``; 1 at concentration 0.

    Parameters
    ----------
    conc_um : array_like, shape (n,)
        Concentrations (µM), ≥ 0.
    ic50_um, hill, bottom : float
        IC50 (µM, > 0), Hill slope (> 0) and the live fraction at infinite dose (0 ≤ bottom < 1).
    """
    conc = np.asarray(conc_um, dtype=float)
    if np.any(~np.isfinite(conc)) or np.any(conc < 0):
        raise ValueError(
            f"conc_um must be finite and >= 0 µM; got {conc[~(np.isfinite(conc) & (conc >= 0))]}"
        )
    if not ic50_um > 0 or not hill > 0 or not 0 <= bottom < 1:
        raise ValueError(f"need ic50_um > 0, hill > 0, 0 <= bottom < 1; got {ic50_um}, {hill}, {bottom}")
    return bottom + (1 - bottom) / (1 + (conc / ic50_um) ** hill)


def stream_seed(*keys: int) -> int:
    """A 32-bit seed derived from integer keys (``numpy.random.SeedSequence``): independent streams."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0])


def line_key(name: str) -> int:
    """A stable integer for a cell line's name (``hash()`` is salted per process, CRC-32 is not)."""
    return zlib.crc32(name.encode("utf-8"))


def _plate_truth(
    preset: CellLinePreset, design: PlateDesign, rng: np.random.Generator, field: float
) -> dict[str, Any]:
    """One plate's effects and every well's truth, arrays of shape ``(replicates, n_conc)``.

    The draws happen in a fixed order, so a plate is a pure function of its generator's seed.
    """
    g, a, optics = preset.growth, preset.assay, preset.optics
    conc = np.asarray(design.concentrations_um, dtype=float)
    od_per_cell = a.od_control / g.control_cells
    seeding_plate = np.exp(rng.normal(0, g.plate_seeding_cv))
    ic50_plate = g.ic50_um * np.exp(rng.normal(0, g.ic50_plate_cv))
    gain_plate = np.exp(rng.normal(0, a.plate_gain_cv))
    blank_plate = a.blank_od + rng.normal(0, a.blank_sd)
    focus_plate = rng.normal(0, optics.focus_plate_sd_um)
    shape = (design.replicates, conc.size)
    seeding = seeding_plate * np.exp(rng.normal(0, g.seeding_cv, shape))
    field_factor = np.exp(rng.normal(0, g.field_cv, shape))
    well_noise = np.exp(rng.normal(0, a.well_cv, shape))
    reader = rng.normal(0, a.reader_sd, shape)
    focus = focus_plate + rng.normal(0, optics.focus_sd_um, shape)
    viability = np.broadcast_to(hill_viability(conc, ic50_um=ic50_plate, hill=g.hill, bottom=g.bottom), shape)
    cells_well = g.control_cells * seeding * viability
    dying_well = g.dead_persistence * (
        g.cells_at_drug * seeding * (1 - viability) + g.background_death * cells_well
    )
    return {
        "conc": conc,
        "ic50": ic50_plate,
        "seeding": seeding,
        "blank": blank_plate,
        "od_per_cell": od_per_cell * gain_plate,
        "viability": viability,
        "cells_well": cells_well,
        "od_expected": blank_plate + od_per_cell * gain_plate * cells_well,
        "od450": blank_plate + od_per_cell * gain_plate * cells_well * well_noise + reader,
        "n_cells": rng.poisson(field * field_factor * cells_well),
        "n_dying": rng.poisson(field * field_factor * dying_well),
        "n_debris": rng.poisson(
            field * field_factor * g.debris_per_dead * dying_well + g.baseline_debris_per_field
        ),
        "stress": np.clip((1 - viability) / (1 - g.bottom), 0, 1),
        "focus": focus,
    }


def plate_truth(
    preset: CellLinePreset, design: PlateDesign, *, seed: int, plate: int, field: float
) -> tuple[dict[str, Any], np.random.Generator]:
    """One plate's effects and every well's truth (arrays, shape ``(replicates, n_conc)``), and its generator.

    The generator is returned positioned after the plate's draws, so that more of the same plate (its
    time-zero read, :mod:`training.simulate.time_zero`) can be drawn without changing what is drawn here.

    Parameters
    ----------
    preset, design
        The cell line and the plate design.
    seed : int
        Master seed of the experiment.
    plate : int
        Plate number, from 1.
    field : float
        Share of the well's area in the imaged field (``Optics.field_fraction``).
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), line_key(preset.name), plate]))
    return _plate_truth(preset, design, rng, field), rng


def plate_records(
    preset: CellLinePreset,
    design: PlateDesign,
    truth: dict[str, Any],
    *,
    seed: int,
    plate: int,
    read: str = "",
    image_stream: int = 2,
) -> list[dict[str, Any]]:
    """The label rows of one read of a plate, in row, column order.

    Parameters
    ----------
    preset, design
        The cell line and the plate design.
    truth : dict
        The read's arrays of shape ``(replicates, n_conc)`` (``od450``, ``viability``, ``n_cells``,
        ``n_dying``, ``n_debris``, ``stress``, ``focus``, ``cells_well``, ``od_expected``) and the plate's
        ``conc`` and ``ic50``, as :func:`plate_truth` gives them for the end read.
    seed, plate
        Master seed and plate number (from 1).
    read : str
        Suffix of the read's plate folder and plate ID ("" for the end read, "-t0" for time zero).
    image_stream : int
        Seed stream of the images' own randomness (each read draws its own images).
    """
    key = line_key(preset.name)
    plate_id = f"{preset.name}-P{plate}{read}"
    plate_seed = stream_seed(seed, key, plate, 1)
    records = []
    for r in range(design.replicates):
        row = ROW_LETTERS[r]
        for c, column in enumerate(design.columns):
            well = f"{row}{column:02d}"
            records.append(
                {
                    "image": f"{preset.name}/plate{plate}{read}/{well}.jpg",
                    "cell_line": preset.name,
                    "drug": design.drug,
                    "concentration_um": float(truth["conc"][c]),
                    "od450": round(float(truth["od450"][r, c]), 4),  # a plate reader's resolution
                    "plate": plate_id,
                    "well": well,
                    "series": f"{plate_id}-{row}",
                    "synthetic": True,
                    "viability_true": float(truth["viability"][r, c]),
                    "ic50_true_um": float(truth["ic50"]),
                    "hill_true": float(preset.growth.hill),
                    "n_cells": int(truth["n_cells"][r, c]),
                    "seed": stream_seed(seed, key, plate, image_stream, r, c),
                    "row": row,
                    "column": column,
                    "x_n_dying": int(truth["n_dying"][r, c]),
                    "x_n_debris": int(truth["n_debris"][r, c]),
                    "x_stress": round(float(truth["stress"][r, c]), 4),
                    "x_focus_um": round(float(truth["focus"][r, c]), 3),
                    "x_plate_seed": plate_seed,
                    "x_cells_well": round(float(truth["cells_well"][r, c]), 1),
                    "x_od450_expected": round(float(truth["od_expected"][r, c]), 4),
                }
            )
    return records


def simulate_labels(
    preset: CellLinePreset,
    *,
    design: PlateDesign | None = None,
    seed: int = 0,
    aspect: float = 2160 / 2560,
) -> pd.DataFrame:
    """Simulate the ground truth and labels of every well of a design (no images).

    Parameters
    ----------
    preset : CellLinePreset
        The cell line (its ``growth.ic50_um`` is the true IC50).
    design : PlateDesign, optional
        Concentrations, plates, replicates (default: the paper's 3 × 8 × 11).
    seed : int
        Master seed; the same seed gives the same table.
    aspect : float
        Image height / width, which sets the field of view's share of the well.

    Returns
    -------
    pandas.DataFrame, shape (design.n_images, n_columns)
        One row per well in plate, row, column order, with the manifest columns (``image`` is
        ``<cell_line>/plate<k>/<well>.jpg``) and the image description: ``n_cells`` (live cells in the
        field), ``x_n_dying``, ``x_n_debris``, ``x_stress``, ``x_focus_um``, ``x_plate_seed``, ``seed``, and
        ``x_cells_well`` (true live cells in the whole well), ``x_od450_expected`` (the OD450 of those cells
        without assay noise).
    """
    design = design or PlateDesign()
    if not 0.1 <= aspect <= 10:
        raise ValueError(f"aspect must be 0.1–10; got {aspect}")
    field = preset.optics.field_fraction(aspect)
    records = []
    for plate in range(1, design.plates + 1):
        truth, _ = plate_truth(preset, design, seed=int(seed), plate=plate, field=field)
        records += plate_records(preset, design, truth, seed=int(seed), plate=plate)
    return label_table(records)


def label_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Label rows (:func:`plate_records`) as a table with the manifest's column types."""
    table = pd.DataFrame.from_records(records)
    for name in ("n_cells", "seed", "column", "x_n_dying", "x_n_debris", "x_plate_seed"):
        table[name] = table[name].astype("Int64")
    table["synthetic"] = table["synthetic"].astype("boolean")
    return table

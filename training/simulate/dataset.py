"""Write simulated plates as a dataset folder: JPEG well images, ``manifest.csv`` and contact sheets.

See :mod:`training.simulate` for the layout and the design; every image and manifest row is marked synthetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from training import __version__
from training.manifest import MANIFEST_NAME, load_manifest, write_manifest
from training.processes import clean_context
from training.simulate.contact_sheet import contact_sheet
from training.simulate.labels import simulate_labels
from training.simulate.labfiles import write_lab_files
from training.simulate.presets import (
    PAPER_CONCENTRATIONS_UM,
    PRESETS,
    CellLinePreset,
    PlateDesign,
    get_preset,
)
from training.simulate.render import FULL_SIZE, WellScene, parse_image_size, render_well
from training.simulate.time_zero import with_time_zero

__all__ = ["SYNTHETIC_NOTICE", "save_jpeg", "scene_from_row", "simulate_dataset"]

#: Written into every image (EXIF ImageDescription and JPEG comment) and every contact sheet.
SYNTHETIC_NOTICE = "nostain synthetic bright-field image, not a real micrograph"


def _resolve_lines(cell_line: str | CellLinePreset | Sequence[str | CellLinePreset]) -> list[CellLinePreset]:
    if isinstance(cell_line, str) and cell_line.strip().lower() == "all":
        return list(PRESETS.values())
    if isinstance(cell_line, (str, CellLinePreset)):
        return [get_preset(cell_line)]
    lines = [get_preset(c) for c in cell_line]
    names = [p.name for p in lines]
    if not lines or len(set(names)) != len(names):
        raise ValueError(f"cell_line must name distinct cell lines; got {names}")
    return lines


def scene_from_row(row: pd.Series | dict) -> WellScene:
    """The :class:`WellScene` of a manifest row written by the simulator (to re-render one image)."""
    return WellScene(
        n_live=int(row["n_cells"]),
        n_dying=int(row["x_n_dying"]),
        n_debris=int(row["x_n_debris"]),
        stress=float(row["x_stress"]),
        focus_um=float(row["x_focus_um"]),
        plate_seed=int(row["x_plate_seed"]),
        seed=int(row["seed"]),
    )


def save_jpeg(pixels: np.ndarray, path: str | Path, *, quality: int = 90, description: str = "") -> None:
    """Write an RGB image as JPEG marked synthetic: EXIF ImageDescription, Software and a JPEG comment.

    No timestamps are written, so the same pixels give the same bytes.
    """
    text = SYNTHETIC_NOTICE + (f"; {description}" if description else "")
    exif = Image.Exif()
    exif[0x010E] = text.encode("ascii", "replace").decode("ascii")  # ImageDescription
    exif[0x0131] = f"nostain simulator {__version__}"  # Software
    Image.fromarray(pixels, "RGB").save(
        path, "JPEG", quality=int(quality), exif=exif.tobytes(), comment=text.encode("utf-8")
    )


def _render_job(job: tuple[CellLinePreset, WellScene, tuple[int, int], str, str]) -> str:
    """Worker: render one well and write its JPEG (top-level so that a process pool can pickle it)."""
    preset, scene, image_size, path, description = job
    pixels = render_well(scene, preset=preset, image_size=image_size)
    save_jpeg(pixels, path, quality=preset.optics.jpeg_quality, description=description)
    return path


def _description(row: pd.Series) -> str:
    """What the image is (never its labels: those belong in the manifest only)."""
    return (
        f"cell line {row['cell_line']}, {row['drug']} {row['concentration_um']:g} uM, plate {row['plate']}, "
        f"well {row['well']}, seed {row['seed']}"
    )


def _with_truth(
    lines: list[CellLinePreset], *, ic50_um: float | None, hill: float | None
) -> list[CellLinePreset]:
    """The presets with the true IC50 (µM) and Hill slope replaced where given (single cell line only)."""
    if ic50_um is None and hill is None:
        return lines
    if len(lines) != 1:
        raise ValueError("ic50_um and hill can only be overridden for a single cell line")
    g = lines[0].growth
    growth = replace(
        g,
        ic50_um=float(ic50_um) if ic50_um is not None else g.ic50_um,
        hill=float(hill) if hill is not None else g.hill,
    )
    return [replace(lines[0], growth=growth)]


def _render_jobs(
    table: pd.DataFrame, lines: list[CellLinePreset], out: Path, size: tuple[int, int]
) -> list[tuple[CellLinePreset, WellScene, tuple[int, int], str, str]]:
    """One rendering job per label row (its image folder created)."""
    by_name = {p.name: p for p in lines}
    jobs = []
    for _, row in table.iterrows():
        path = out / row["image"]
        path.parent.mkdir(parents=True, exist_ok=True)
        jobs.append((by_name[row["cell_line"]], scene_from_row(row), size, str(path), _description(row)))
    return jobs


def simulate_dataset(
    out_dir: str | Path | None,
    *,
    cell_line: str | CellLinePreset | Sequence[str | CellLinePreset] = "A549",
    seed: int = 0,
    image_size: tuple[int, int] | str = FULL_SIZE,
    ic50_um: float | None = None,
    hill: float | None = None,
    plates: int = 3,
    replicates: int = 8,
    concentrations_um: Sequence[float] = PAPER_CONCENTRATIONS_UM,
    workers: int = 1,
    progress: bool = True,
    render: bool = True,
    overwrite: bool = False,
    time_zero: bool = False,
    lab_files: bool = True,
) -> pd.DataFrame:
    """Simulate plates of one or more cell lines and write them as a dataset folder.

    Parameters
    ----------
    out_dir : str or Path or None
        Dataset folder to create (``manifest.csv``, ``<cell line>/plate<k>/<well>.jpg``,
        ``contact-sheet-<cell line>.png``). Ignored (may be None) when ``render`` is False.
    cell_line : str, CellLinePreset or sequence of them
        ``"A549"``, ``"HEK293"``, ``"NCI-H1975"``, ``"all"``, a custom preset, or several.
    seed : int
        Master seed: the same seed and arguments give byte-identical images and manifest.
    image_size : (int, int) or str
        ``(width, height)`` in px or ``"WIDTHxHEIGHT"``; the field of view stays the same.
    ic50_um, hill : float, optional
        Override the preset's true IC50 (µM) and Hill slope (only for a single cell line).
    plates, replicates : int
        Plates (independent experiments) and replicate rows per plate (1–8).
    concentrations_um : sequence of float
        Drug concentrations (µM, ≥ 0, up to 12), one per plate column.
    workers : int
        Processes rendering images in parallel.
    progress : bool
        Show a tqdm progress bar.
    render : bool
        False: only simulate the labels and return them (no files are written).
    overwrite : bool
        Allow writing into a folder that already holds a manifest.
    time_zero : bool
        Also image every well when the drug is added (``<cell line>/plate<k>-t0/<well>.jpg``, rows with
        ``x_read_time_h`` 0; the end read's rows get ``x_read_time_h`` = the exposure), with the true GR
        values and GR50 (:mod:`training.simulate.time_zero`). The end read is the same either way.
    lab_files : bool
        Also write per plate a reader-style ``od450.csv`` and a ``layout.csv`` beside the images
        (:mod:`training.simulate.labfiles`), the inputs a lab has.

    Returns
    -------
    pandas.DataFrame, shape (n_images, n_columns)
        The manifest as :func:`training.manifest.load_manifest` reads it back (with ``path``), or with
        ``render=False`` the label table (same columns, no ``path``).
    """
    lines = _with_truth(_resolve_lines(cell_line), ic50_um=ic50_um, hill=hill)
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    size = parse_image_size(image_size)
    design = PlateDesign(
        concentrations_um=tuple(float(c) for c in concentrations_um),
        plates=int(plates),
        replicates=int(replicates),
    )
    labels = with_time_zero if time_zero else simulate_labels
    table = pd.concat(
        [labels(p, design=design, seed=int(seed), aspect=size[1] / size[0]) for p in lines], ignore_index=True
    )
    if not render:
        return table
    if out_dir is None:
        raise ValueError("out_dir is required when render is True")
    out = Path(out_dir).expanduser().resolve()
    if (out / MANIFEST_NAME).exists() and not overwrite:
        raise FileExistsError(f"{out / MANIFEST_NAME} exists; choose another folder or pass overwrite=True")
    _run_jobs(_render_jobs(table, lines, out, size), workers=int(workers), progress=progress)
    write_manifest(table, out)
    manifest = load_manifest(out)
    end_read = manifest if not time_zero else manifest[manifest["x_read_time_h"] > 0]
    if lab_files:  # a lab's reader reads the end point only
        write_lab_files(end_read, out)
    for preset in lines:
        contact_sheet(end_read, out / f"contact-sheet-{preset.name}.png", cell_line=preset.name)
    return manifest


def _run_jobs(jobs: list, *, workers: int, progress: bool) -> None:
    bar = tqdm(total=len(jobs), unit="img", desc="rendering", disable=not progress)
    try:
        if workers == 1:
            for job in jobs:
                _render_job(job)
                bar.update(1)
            return
        # Workers start clean (training/processes.py), never as a fork of a caller that may hold
        # TensorFlow's or a browser driver's threads.
        with ProcessPoolExecutor(max_workers=workers, mp_context=clean_context()) as pool:
            for future in as_completed([pool.submit(_render_job, job) for job in jobs]):
                future.result()
                bar.update(1)
    finally:
        bar.close()

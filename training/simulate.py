"""Simulate synthetic bright-field plates of drug-treated cells, with known OD450 and IC50.

Writes a dataset folder: JPEG well images (2560 × 2160 like the paper's sCMOS images, or smaller with
--image-size), manifest.csv (see training/manifest.py) and a contact sheet PNG per cell line showing one
dose series. The default design is the paper's: doxorubicin at 11 concentrations (0.0001–100 µM), 8
replicate rows, 3 plates = 264 images per cell line. Every image and manifest row is marked synthetic.

Layout: DIR/manifest.csv lists every image; images are DIR/<cell line>/plate<k>/<well>.jpg; contact
sheets are DIR/contact-sheet-<cell line>.png. With --cell-line all, the three lines share one folder and
one manifest (filter on the cell_line column).

Example: python -m training simulate --cell-line A549 --out data/sim-a549 --image-size 640x540
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

import numpy as np
import pandas as pd

from training.manifest import MANIFEST_NAME, load_manifest, write_manifest
from training.sim_labels import simulate_labels
from training.sim_presets import (
    PAPER_CONCENTRATIONS_UM,
    PRESETS,
    CellLinePreset,
    Optics,
    PlateDesign,
    get_preset,
)
from training.sim_render import FULL_SIZE, WellScene, parse_image_size, render_well

__all__ = [
    "PAPER_CONCENTRATIONS_UM",
    "PRESETS",
    "SYNTHETIC_NOTICE",
    "CellLinePreset",
    "WellScene",
    "add_arguments",
    "contact_sheet",
    "main",
    "render_well",
    "save_jpeg",
    "scene_from_row",
    "simulate_dataset",
    "simulate_labels",
]

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
    from PIL import Image

    from training import __version__

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

    Returns
    -------
    pandas.DataFrame, shape (n_images, n_columns)
        The manifest as :func:`training.manifest.load_manifest` reads it back (with ``path``), or with
        ``render=False`` the label table (same columns, no ``path``).
    """
    lines = _resolve_lines(cell_line)
    if (ic50_um is not None or hill is not None) and len(lines) != 1:
        raise ValueError("ic50_um and hill can only be overridden for a single cell line")
    if ic50_um is not None or hill is not None:
        g = lines[0].growth
        lines = [
            replace(
                lines[0],
                growth=replace(
                    g,
                    ic50_um=float(ic50_um) if ic50_um is not None else g.ic50_um,
                    hill=float(hill) if hill is not None else g.hill,
                ),
            )
        ]
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    size = parse_image_size(image_size)
    design = PlateDesign(
        concentrations_um=tuple(float(c) for c in concentrations_um),
        plates=int(plates),
        replicates=int(replicates),
    )
    table = pd.concat(
        [simulate_labels(p, design=design, seed=int(seed), aspect=size[1] / size[0]) for p in lines],
        ignore_index=True,
    )
    if not render:
        return table
    if out_dir is None:
        raise ValueError("out_dir is required when render is True")
    out = Path(out_dir).expanduser().resolve()
    if (out / MANIFEST_NAME).exists() and not overwrite:
        raise FileExistsError(f"{out / MANIFEST_NAME} exists; choose another folder or pass overwrite=True")
    by_name = {p.name: p for p in lines}
    jobs = []
    for _, row in table.iterrows():
        path = out / row["image"]
        path.parent.mkdir(parents=True, exist_ok=True)
        jobs.append((by_name[row["cell_line"]], scene_from_row(row), size, str(path), _description(row)))
    _run_jobs(jobs, workers=int(workers), progress=progress)
    write_manifest(table, out)
    manifest = load_manifest(out)
    for preset in lines:
        contact_sheet(manifest, out / f"contact-sheet-{preset.name}.png", cell_line=preset.name)
    return manifest


def _run_jobs(jobs: list, *, workers: int, progress: bool) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="img", desc="rendering", disable=not progress)
    try:
        if workers == 1:
            for job in jobs:
                _render_job(job)
                bar.update(1)
            return
        # forkserver where the platform has it: workers start from a clean server process, never from a
        # fork of a caller that may hold TensorFlow's or a browser driver's threads (forking those crashes).
        # Like any multiprocessing code, a script calling this with workers > 1 needs a __main__ guard.
        method = "forkserver" if "forkserver" in get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context(method)) as pool:
            for future in as_completed([pool.submit(_render_job, job) for job in jobs]):
                future.result()
                bar.update(1)
    finally:
        bar.close()


def _font(size: int):
    """DejaVu Sans (shipped with matplotlib, has µ) or Pillow's default font."""
    from PIL import ImageFont

    try:
        import matplotlib

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def contact_sheet(
    manifest: pd.DataFrame,
    out_png: str | Path,
    *,
    cell_line: str | None = None,
    series: str | None = None,
    tile_width: int = 240,
    crop_um: float = 300.0,
    field_width_um: float = Optics().field_width_um,
    grey: bool = False,
) -> Path:
    """A PNG of one dose series across its concentrations, like the paper's Fig. 1.

    Top row: each whole field, downscaled to ``tile_width``; bottom row: a centre crop of ``crop_um`` µm
    (at higher magnification, to show morphology). Titled as synthetic when the rows are.

    Parameters
    ----------
    manifest : pandas.DataFrame
        A loaded manifest (needs ``path``).
    out_png : str or Path
        Where to write the PNG.
    cell_line, series : str, optional
        Which series to show: by default the first series (in file order) of ``cell_line`` (or of the
        first cell line).
    tile_width : int
        Width of each tile in px.
    crop_um : float
        Side of the centre crop in µm.
    field_width_um : float
        Width of the images' field of view in µm (the simulator's: 2560 px × 0.65 µm).
    grey : bool
        Write a greyscale PNG (about a third of the size).
    """
    from PIL import Image, ImageDraw

    rows = manifest
    if cell_line is not None:
        rows = rows[rows["cell_line"] == cell_line]
    if series is None:
        if rows.empty:
            raise ValueError(f"no images of cell_line {cell_line!r} in the manifest")
        series = str(rows["series"].iloc[0])
    rows = rows[rows["series"] == series].sort_values("concentration_um")
    if rows.empty:
        raise ValueError(f"series {series!r} is not in the manifest")
    synthetic = "synthetic" in rows and bool(rows["synthetic"].fillna(False).all())
    font, small = _font(14), _font(12)
    gap, title_h, label_h = 4, 40, 18
    tiles_top, tiles_crop = [], []
    for path in rows["path"]:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
        width, height = rgb.size
        top_h = round(tile_width * height / width)
        tiles_top.append(rgb.resize((tile_width, top_h), Image.Resampling.BOX))
        side = max(8, round(crop_um / field_width_um * width))
        box = ((width - side) // 2, (height - side) // 2, (width + side) // 2, (height + side) // 2)
        tiles_crop.append(rgb.crop(box).resize((tile_width, tile_width), Image.Resampling.BOX))
    n = len(tiles_top)
    top_h = tiles_top[0].size[1]
    sheet_w = n * tile_width + (n + 1) * gap
    sheet_h = title_h + top_h + tile_width + label_h + 3 * gap
    sheet = Image.new("RGB", (sheet_w, sheet_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    first = rows.iloc[0]
    title = f"{first['cell_line']} · {first['drug']} · series {series} · plate {first['plate']}"
    draw.text((gap, 2), title, fill=(0, 0, 0), font=font)
    note = (
        "SYNTHETIC (nostain simulator), not real micrographs. Top: whole field; bottom: centre "
        f"{crop_um:g} µm. Below: concentration (µM), OD450."
        if synthetic
        else f"Top: whole field; bottom: centre {crop_um:g} µm. Below: concentration (µM), OD450."
    )
    draw.text((gap, 20), note, fill=(160, 0, 0) if synthetic else (0, 0, 0), font=small)
    for i, ((_, row), top, crop) in enumerate(zip(rows.iterrows(), tiles_top, tiles_crop, strict=True)):
        x = gap + i * (tile_width + gap)
        sheet.paste(top, (x, title_h))
        sheet.paste(crop, (x, title_h + top_h + gap))
        od = row["od450"]
        label = f"{row['concentration_um']:g} µM" + ("" if pd.isna(od) else f", {od:.2f}")
        draw.text((x, title_h + top_h + tile_width + 2 * gap), label, fill=(0, 0, 0), font=small)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    (sheet.convert("L") if grey else sheet).save(out_png, optimize=True)
    return out_png


# ----------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------


def _concentration_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers in µM; got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one concentration")
    return values


def _image_size_arg(text: str) -> tuple[int, int]:
    try:
        return parse_image_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m training simulate``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--cell-line",
        required=True,
        choices=[*PRESETS, "all"],
        help="cell line preset; 'all' writes the three lines into one folder and one manifest",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="dataset folder to create")
    parser.add_argument("--seed", type=int, default=0, help="master seed (default 0): same seed, same files")
    parser.add_argument(
        "--image-size",
        type=_image_size_arg,
        default=FULL_SIZE,
        metavar="WxH",
        help="image size in px (default 2560x2160, the paper's); e.g. 640x540 or 256x216 for quick sets",
    )
    parser.add_argument("--ic50-um", type=float, default=None, help="true IC50 in µM (default: the preset's)")
    parser.add_argument("--hill", type=float, default=None, help="true Hill slope (default: the preset's)")
    parser.add_argument("--plates", type=int, default=3, help="plates = independent experiments (default 3)")
    parser.add_argument("--replicates", type=int, default=8, help="replicate rows per plate, 1–8 (default 8)")
    parser.add_argument(
        "--concentrations",
        type=_concentration_list,
        default=PAPER_CONCENTRATIONS_UM,
        metavar="LIST",
        help="comma-separated µM, one per column (default: the paper's 0.0001,…,100)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, min(os.cpu_count() or 1, 4)),
        help="parallel rendering processes (default: CPU cores, at most 4)",
    )
    parser.add_argument("--overwrite", action="store_true", help="write into a folder that has a manifest")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """Run ``python -m training simulate``; returns the exit code."""
    start = time.perf_counter()
    try:
        manifest = simulate_dataset(
            args.out,
            cell_line=args.cell_line,
            seed=args.seed,
            image_size=args.image_size,
            ic50_um=args.ic50_um,
            hill=args.hill,
            plates=args.plates,
            replicates=args.replicates,
            concentrations_um=args.concentrations,
            workers=args.workers,
            progress=not args.quiet,
        )
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}")
        return 2
    seconds = time.perf_counter() - start
    out = Path(args.out).expanduser().resolve()
    n = len(manifest)
    print(
        f"wrote {n} synthetic images and {out / MANIFEST_NAME} in {seconds:.1f} s ({seconds / n:.2f} s/image)"
    )
    for line, group in manifest.groupby("cell_line", sort=False):
        ic50 = group["ic50_true_um"].unique()
        geometric_mean = math.exp(float(np.log(ic50).mean()))
        print(
            f"  {line}: {len(group)} images, {group['series'].nunique()} series, true IC50 per plate "
            f"{', '.join(f'{v:.4g}' for v in ic50)} µM (geometric mean {geometric_mean:.4g}); "
            f"contact sheet {out / f'contact-sheet-{line}.png'}"
        )
    return 0

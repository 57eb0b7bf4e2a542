"""Contact sheets: one simulated (or real) dose series across its concentrations, like the paper's Fig. 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from training.simulate.presets import Optics

__all__ = ["contact_sheet"]

_GAP, _TITLE_H, _LABEL_H = 4, 40, 18  # px


def _font(size: int) -> Any:
    """DejaVu Sans (shipped with matplotlib, has µ) or Pillow's default font."""
    try:
        import matplotlib  # lazy and optional: only its font file is used

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def _series_rows(
    manifest: pd.DataFrame, cell_line: str | None, series: str | None
) -> tuple[pd.DataFrame, str]:
    """The rows of the chosen series (default: the first of ``cell_line``), by concentration."""
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
    return rows, series


def _tiles(
    paths: Any, tile_width: int, crop_um: float, field_width_um: float
) -> tuple[list[Image.Image], list[Image.Image]]:
    """Each image's whole field downscaled to ``tile_width``, and its centre ``crop_um`` µm square."""
    tiles_top, tiles_crop = [], []
    for path in paths:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
        width, height = rgb.size
        top_h = round(tile_width * height / width)
        tiles_top.append(rgb.resize((tile_width, top_h), Image.Resampling.BOX))
        side = max(8, round(crop_um / field_width_um * width))
        box = ((width - side) // 2, (height - side) // 2, (width + side) // 2, (height + side) // 2)
        tiles_crop.append(rgb.crop(box).resize((tile_width, tile_width), Image.Resampling.BOX))
    return tiles_top, tiles_crop


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
    rows, series = _series_rows(manifest, cell_line, series)
    synthetic = "synthetic" in rows and bool(rows["synthetic"].fillna(False).all())
    font, small = _font(14), _font(12)
    gap, title_h, label_h = _GAP, _TITLE_H, _LABEL_H
    tiles_top, tiles_crop = _tiles(rows["path"], tile_width, crop_um, field_width_um)
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

"""The model card's ``imaging`` block: what the training images were, at what scale, from their own metadata.

The page warns when a plate's pixel size is more than 2× off the model's (docs/formats.md, "Pixel size";
:func:`training.tiffmeta.pixel_size_warning`); this module writes the other side of that comparison, from
the images a model was trained on (docs/model-card.md)::

    {"description": "simulated bright-field images, one field per well, RGB 2560×2160 px (as the training
     images)", "pixel_size_um": 0.65, "objective": "10×", "image_width_px": 2560,
     "pixel_size_source": "the simulator's microscope (training/simulate/presets.py Optics): …"}

- **Simulated images** are at the simulator's scale: its field of view (``Optics.field_width_um``, the
  paper's 10× objective and 6.5 µm camera pixels) over the image width, 0.65 µm/px at 2560 px.
- **A lab's images** are at the pixel size their files record (OME ``PhysicalSizeX``, ImageJ or MetaSeries
  calibration, TIFF resolution tags: :func:`training.tiff.read_tiff_scale`, what the page reads) when all
  of them record one and they agree within 1 %; otherwise ``pixel_size_um`` is None and
  ``pixel_size_source`` says why. The objective and the width are given likewise when all images agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from training.dataset import SeriesSplit
from training.runs import load_datasets
from training.simulate.presets import Optics, get_preset
from training.tiff import read_tiff_scale

__all__ = [
    "SAME_PIXEL_SIZE",
    "ImageScale",
    "image_scale",
    "imaging_block",
    "imaging_for_run",
    "imaging_from_scales",
    "recorded_imaging",
    "simulated_scale",
]

#: Pixel sizes whose relative difference is at most this are the same (metadata rounding, 0.65 vs 0.6501).
SAME_PIXEL_SIZE = 0.01
#: Significant digits of the pixel size written into a card.
_DIGITS = 4
_TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class ImageScale:
    """One training image's size (px) and scale.

    Attributes
    ----------
    width, height : int
        Image size (px).
    pixel_size_um : float or None
        µm per pixel along x, None when unknown.
    objective : str or None
        E.g. ``"10×"``.
    source : str or None
        Where the pixel size comes from (``"OME PhysicalSizeX/Y"``, the simulator…).
    """

    width: int
    height: int
    pixel_size_um: float | None
    objective: str | None
    source: str | None


def simulated_scale(optics: Optics, width: int, height: int) -> ImageScale:
    """The scale of a simulated image of ``width`` × ``height`` px: the field of view is fixed, so a
    narrower image has larger pixels (``render_well``)."""
    return ImageScale(
        width=width,
        height=height,
        pixel_size_um=optics.field_width_um / width,
        objective=optics.objective,
        source=(
            "the simulator's microscope (training/simulate/presets.py Optics): a "
            f"{optics.objective} objective, a {optics.field_width_um:g} µm wide field over {width} px"
        ),
    )


def image_scale(path: str | Path, *, synthetic: bool = False, cell_line: str = "") -> ImageScale:
    """The scale of one training image: the simulator's for a simulated one (by its cell line's preset),
    else what its file records (TIFF metadata; JPEG and PNG files record none the page reads)."""
    path = Path(path)
    if path.suffix.lower() in _TIFF_SUFFIXES:
        tiff = read_tiff_scale(path)
        width, height = tiff.width, tiff.height
        pixel = tiff.pixel_size
        own = ImageScale(
            width, height, pixel.x_um if pixel else None, tiff.objective, pixel.source if pixel else None
        )
    else:
        with Image.open(path) as opened:
            width, height = opened.size
        own = ImageScale(width, height, None, None, None)
    if synthetic:
        try:
            return simulated_scale(get_preset(cell_line).optics, width, height)
        except ValueError:  # a custom preset: its optics are not known here
            return ImageScale(width, height, None, None, None)
    return own


def _round(value: float) -> float:
    return float(f"{value:.{_DIGITS}g}")


def _same(values: list[Any]) -> Any:
    """The value all share, else None."""
    return values[0] if values and all(v == values[0] for v in values) else None


def _pixel_size(scales: list[ImageScale], paths: list[str]) -> tuple[float | None, str]:
    """The training images' common pixel size (µm) and where it comes from, or None and why not."""
    unknown = [p for p, s in zip(paths, scales, strict=True) if s.pixel_size_um is None]
    if unknown:
        return None, (
            f"unknown: {len(unknown)} of {len(scales)} training images record no pixel size (e.g. "
            f"{Path(unknown[0]).name}; the page and training read it from TIFF metadata: OME PhysicalSizeX, "
            "ImageJ or MetaSeries calibration, resolution tags)"
        )
    sizes = [float(s.pixel_size_um or 0) for s in scales]
    low, high = min(sizes), max(sizes)
    if high - low > SAME_PIXEL_SIZE * low:
        return None, f"unknown: the training images are at different pixel sizes ({low:.4g}–{high:.4g} µm/px)"
    sources = sorted({str(s.source) for s in scales})
    if len(sources) == 1 and sources[0].startswith("the simulator"):
        return _round(sizes[0]), sources[0]
    return _round(sizes[0]), f"{' and '.join(sources)} of the {len(scales)} training images"


def _description(scales: list[ImageScale], synthetic: bool) -> str:
    kind = "simulated bright-field images" if synthetic else "bright-field images"
    sizes = sorted({(s.width, s.height) for s in scales})
    if len(sizes) == 1:
        size = f"{sizes[0][0]}×{sizes[0][1]} px"
    else:
        size = f"{min(w for w, _ in sizes)}–{max(w for w, _ in sizes)} px wide"
    return f"{kind}, one field per well, RGB {size} (as the training images)"


def imaging_from_scales(scales: list[ImageScale], names: list[str], *, synthetic: bool) -> dict[str, Any]:
    """The card's ``imaging`` block for training images of these scales (the page's twin for a model
    trained in the browser: static/js/train/card.js ``imagingBlock``).

    Parameters
    ----------
    scales : list of ImageScale, length n_images
    names : list of str, length n_images
        The images' file names (paths), to name one that records no pixel size.
    synthetic : bool
        All of them are simulated.

    Returns
    -------
    dict
        ``{"description", "pixel_size_um" (µm per pixel, or None), "objective" (or None),
        "image_width_px" (or None when the widths differ), "pixel_size_source"}``.
    """
    if not scales or len(scales) != len(names):
        raise ValueError(f"scales and names must be non-empty and as long; got {len(scales)}, {len(names)}")
    pixel_size, source = _pixel_size(scales, names)
    return {
        "description": _description(scales, synthetic),
        "pixel_size_um": pixel_size,
        "objective": _same([s.objective for s in scales]),
        "image_width_px": _same([s.width for s in scales]),
        "pixel_size_source": source,
    }


def imaging_block(images: pd.DataFrame) -> dict[str, Any]:
    """The card's ``imaging`` block for the training images ``images`` (:func:`imaging_from_scales`).

    Parameters
    ----------
    images : DataFrame, shape (n_images, ...)
        The manifest rows a model was trained on (training and validation series), with ``path`` and
        ``cell_line``, and ``synthetic`` for simulated images.
    """
    if images.empty:
        raise ValueError("images must hold at least one training image")
    flags = images["synthetic"] if "synthetic" in images else pd.Series(False, index=images.index)
    synthetic = [bool(f) if pd.notna(f) else False for f in flags]
    paths = [str(p) for p in images["path"]]
    scales = [
        image_scale(path, synthetic=sim, cell_line=str(line))
        for path, sim, line in zip(paths, synthetic, images["cell_line"], strict=True)
    ]
    return imaging_from_scales(scales, paths, synthetic=all(synthetic))


def recorded_imaging(data: dict[str, Any]) -> dict[str, Any]:
    """The ``imaging`` block a run's ``config.json`` recorded (its ``data``); a run from before the block
    existed recorded a sentence: it becomes the description, with the scale unknown."""
    imaging = data.get("imaging")
    if isinstance(imaging, dict):
        return imaging
    return {
        "description": imaging if isinstance(imaging, str) else "bright-field images, one field per well",
        "pixel_size_um": None,
        "objective": None,
        "image_width_px": None,
        "pixel_size_source": "unknown: the training run did not record its images' scale",
    }


def imaging_for_run(run_config: dict[str, Any]) -> dict[str, Any]:
    """:func:`imaging_block` of a run's own training images (its ``config.json``: sources and split), or
    what the run recorded when its dataset folders are no longer where training found them."""
    folders = [Path(s["path"]) for s in run_config["data"].get("sources", []) if s.get("path")]
    if not folders or not all(f.exists() for f in folders):
        return recorded_imaging(run_config["data"])
    manifest, _ = load_datasets(folders)
    split = SeriesSplit.from_dict(run_config["split"])
    return imaging_block(manifest[manifest["series"].isin(split.train + split.val)])

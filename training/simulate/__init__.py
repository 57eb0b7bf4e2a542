"""Simulate synthetic bright-field plates of drug-treated cells, with known OD450 and IC50.

Writes a dataset folder: JPEG well images (2560 × 2160 like the paper's sCMOS images, or smaller with
--image-size), manifest.csv (see training/manifest.py) and a contact sheet PNG per cell line showing one
dose series. The default design is the paper's: doxorubicin at 11 concentrations (0.0001–100 µM), 8
replicate rows, 3 plates = 264 images per cell line. Every image and manifest row is marked synthetic.

Layout: DIR/manifest.csv lists every image; images are DIR/<cell line>/plate<k>/<well>.jpg; contact
sheets are DIR/contact-sheet-<cell line>.png. With --cell-line all, the three lines share one folder and
one manifest (filter on the cell_line column). Beside each plate's images: od450.csv (a reader-style OD450
grid) and layout.csv (concentrations, series, drug), the files a lab has (--no-lab-files: not written);
python -m training manifest turns them back into the manifest. --cell-line MCF7-like: a made-up line the
app ships no model for.

Example: python -m training simulate --cell-line A549 --out data/sim-a549 --image-size 640x540
"""

from __future__ import annotations

from training.simulate.contact_sheet import contact_sheet
from training.simulate.dataset import SYNTHETIC_NOTICE, save_jpeg, scene_from_row, simulate_dataset
from training.simulate.labels import simulate_labels
from training.simulate.presets import EXTRA_PRESETS, PAPER_CONCENTRATIONS_UM, PRESETS, CellLinePreset
from training.simulate.render import FULL_SIZE, WellScene, parse_image_size, render_well

__all__ = [
    "EXTRA_PRESETS",
    "FULL_SIZE",
    "PAPER_CONCENTRATIONS_UM",
    "PRESETS",
    "SYNTHETIC_NOTICE",
    "CellLinePreset",
    "WellScene",
    "contact_sheet",
    "parse_image_size",
    "render_well",
    "save_jpeg",
    "scene_from_row",
    "simulate_dataset",
    "simulate_labels",
]

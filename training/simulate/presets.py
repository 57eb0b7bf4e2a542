"""Parameters of the plate simulator: the cell-line presets and the paper's plate design.

Every number here is a *modelling assumption* of the simulator (plausible literature-scale values chosen
so that the three lines look and respond differently), except the three IC50 defaults and the design,
which are the paper's (Cho et al., Sci Rep 12:6610, 2022: Table 2 and Methods). All dataclasses are
frozen; derive variants with :func:`dataclasses.replace`, e.g.
``replace(PRESETS["A549"], growth=replace(PRESETS["A549"].growth, ic50_um=1.0))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = [
    "EXTRA_PRESETS",
    "PAPER_CONCENTRATIONS_UM",
    "PAPER_DRUG",
    "PRESETS",
    "Assay",
    "CellLinePreset",
    "Growth",
    "Morphology",
    "Optics",
    "PlateDesign",
    "get_preset",
]

#: Doxorubicin concentrations of the paper's plates (µM), one per plate column.
PAPER_CONCENTRATIONS_UM: tuple[float, ...] = (
    0.0001,
    0.001,
    0.005,
    0.01,
    0.05,
    0.1,
    0.5,
    1.0,
    5.0,
    10.0,
    100.0,
)
PAPER_DRUG = "doxorubicin"


@dataclass(frozen=True)
class PlateDesign:
    """Layout of a simulated experiment (defaults: the paper's, 264 images per cell line).

    Each plate holds ``replicates`` rows (A, B, …) × one column per concentration, in ascending order from
    column ``first_column`` (2 by default: column 1 holds the medium-only blank wells, not imaged). One
    plate row is one dose series.
    """

    concentrations_um: tuple[float, ...] = PAPER_CONCENTRATIONS_UM
    plates: int = 3
    replicates: int = 8
    first_column: int | None = None  # None: 2 when the concentrations fit in columns 2–12, else 1
    drug: str = PAPER_DRUG

    def __post_init__(self) -> None:
        conc = tuple(float(c) for c in self.concentrations_um)
        if not conc:
            raise ValueError("concentrations_um must not be empty")
        bad = [c for c in conc if not (math.isfinite(c) and c >= 0)]
        if bad:
            raise ValueError(f"concentrations_um must be finite and >= 0 µM; got {bad}")
        if len(set(conc)) != len(conc):
            raise ValueError(f"concentrations_um must be distinct; got {list(conc)}")
        if len(conc) > 12:
            raise ValueError(f"at most 12 concentrations fit on a 96-well plate row; got {len(conc)}")
        if not 1 <= self.replicates <= 8:
            raise ValueError(f"replicates must be 1–8 (plate rows A–H); got {self.replicates}")
        if self.plates < 1:
            raise ValueError(f"plates must be >= 1; got {self.plates}")
        first = self.first_column if self.first_column is not None else (2 if len(conc) <= 11 else 1)
        if first < 1 or first + len(conc) - 1 > 12:
            raise ValueError(f"first_column {first} puts {len(conc)} concentrations beyond column 12")
        object.__setattr__(self, "concentrations_um", tuple(sorted(conc)))
        object.__setattr__(self, "first_column", first)

    @property
    def columns(self) -> tuple[int, ...]:
        """Plate column (1–12) of each concentration, in ``concentrations_um`` order."""
        first = int(self.first_column or 1)
        return tuple(range(first, first + len(self.concentrations_um)))

    @property
    def n_images(self) -> int:
        """Images in the whole design: plates × replicates × concentrations."""
        return self.plates * self.replicates * len(self.concentrations_um)


@dataclass(frozen=True)
class Growth:
    """Biology of one well: seeding, proliferation and the true dose-response (Hill) of survival.

    The live cells at imaging are ``seeded · 2^((pre_drug_h + exposure_h) / doubling_time_h)`` (the
    untreated control) times the viability ``v(c) = bottom + (1 − bottom) / (1 + (c / ic50_um)^hill)``.
    """

    ic50_um: float  # true IC50 (µM) of the survival curve
    hill: float  # Hill slope of the survival curve
    doubling_time_h: float  # population doubling time of untreated cells (h)
    bottom: float = 0.02  # live fraction left at infinite dose
    seeded_cells: float = 1000.0  # cells seeded per well (the paper: 1×10³)
    pre_drug_h: float = 24.0  # attachment before the drug (the paper: 24 h)
    exposure_h: float = 48.0  # drug exposure before imaging and CCK-8 (the paper: 48 h)
    seeding_cv: float = 0.10  # well-to-well seeding variation (log-normal CV)
    plate_seeding_cv: float = 0.06  # plate-to-plate (set) variation of seeding and growth
    ic50_plate_cv: float = 0.10  # biological replicate variation of the IC50 between plates
    field_cv: float = 0.08  # how much the imaged field's density departs from the well's mean
    dead_persistence: float = 0.8  # fraction of killed cells still visible (rounded/shrunken) at imaging
    background_death: float = 0.02  # dying cells per live cell in untreated wells
    debris_per_dead: float = 3.0  # detached debris particles per dead cell
    baseline_debris_per_field: float = 15.0  # dust and medium particles in every field

    def __post_init__(self) -> None:
        if not (math.isfinite(self.ic50_um) and self.ic50_um > 0):
            raise ValueError(f"ic50_um must be a finite number > 0 µM; got {self.ic50_um}")
        if not (math.isfinite(self.hill) and self.hill > 0):
            raise ValueError(f"hill must be > 0; got {self.hill}")
        if not 0 <= self.bottom < 1:
            raise ValueError(f"bottom must be in [0, 1); got {self.bottom}")
        if self.doubling_time_h <= 0:
            raise ValueError(f"doubling_time_h must be > 0 h; got {self.doubling_time_h}")

    @property
    def control_cells(self) -> float:
        """Expected live cells per untreated well at imaging."""
        return self.seeded_cells * 2.0 ** ((self.pre_drug_h + self.exposure_h) / self.doubling_time_h)

    @property
    def cells_at_drug(self) -> float:
        """Expected cells per well when the drug is added."""
        return self.seeded_cells * 2.0 ** (self.pre_drug_h / self.doubling_time_h)


@dataclass(frozen=True)
class Assay:
    """The CCK-8 (WST-8) readout: OD450 = blank + k · live cells, with plate and well noise."""

    od_control: float = 1.3  # expected OD450 above blank of an untreated well
    blank_od: float = 0.10  # medium + CCK-8 without cells
    blank_sd: float = 0.01  # plate-to-plate variation of the blank
    plate_gain_cv: float = 0.06  # plate-to-plate variation of the signal (incubation time, reagent lot)
    well_cv: float = 0.05  # well-to-well multiplicative noise (pipetting, bubbles)
    reader_sd: float = 0.008  # plate reader noise (OD)


@dataclass(frozen=True)
class Morphology:
    """How one cell line looks at ×100 (10× objective), in µm; see docs/simulator.md."""

    diameter_um: float  # equivalent-circle diameter of a spread live cell
    size_cv: float  # cell-to-cell size variation (log-normal CV)
    elongation: float  # median major/minor axis ratio
    elongation_sd: float  # spread of log(elongation)
    irregularity: float  # amplitude of low-order outline wobble (0 = ellipse)
    protrusions: float  # mean number of lamellipodia / processes per cell
    protrusion_length: float  # process length as a fraction of the cell radius
    bipolar: float  # probability that processes sit at the two ends of the long axis (spindle cells)
    spreading: float  # 0 = compact dome, 1 = flat lamella
    thickness: float  # relative optical thickness (drives edge and halo contrast)
    nucleus_ratio: float  # nucleus diameter / cell diameter
    nucleus_contrast: float  # optical thickness step of the nucleus, relative to the cell's
    nucleoli: float  # mean number of nucleoli
    granularity: float  # amplitude of dark cytoplasmic granules
    clustering: float  # fraction of cells growing in colonies
    cluster_cells: float  # mean cells per colony
    cluster_radius_um: float  # colony radius
    refractility: float  # strength of the bright halo
    mitotic_fraction: float  # rounded mitotic cells among live ones (untreated)
    rounded_diameter_um: float  # diameter of a rounded (mitotic) cell
    dying_diameter_um: float  # diameter of a shrunken dying cell

    def __post_init__(self) -> None:
        for name in ("diameter_um", "elongation", "thickness", "rounded_diameter_um", "dying_diameter_um"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0; got {getattr(self, name)}")
        if self.elongation < 1:
            raise ValueError(f"elongation must be >= 1; got {self.elongation}")
        for name in ("spreading", "bipolar", "clustering", "mitotic_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]; got {getattr(self, name)}")


@dataclass(frozen=True)
class Optics:
    """Microscope and camera: Leica DMI3000B, 10× objective (×100), Andor Zyla sCMOS (the paper)."""

    field_width_um: float = 2560 * 0.65  # 2560 px of 6.5 µm behind a 10× objective: 0.65 µm/px
    objective: str = "10×"  # written into model cards (training/imaging.py); the rendering does not use it
    well_area_mm2: float = 32.0  # growth area of a 96-well plate well (about 0.32 cm²)
    grey: float = 0.62  # mean background level (0–1)
    grey_plate_sd: float = 0.04  # plate-to-plate exposure variation
    tint_sd: float = 0.015  # plate-to-plate white-balance variation per channel
    illumination_gradient: float = 0.05  # amplitude of the linear illumination tilt across the field
    vignetting: float = 0.22  # relative darkening of the corners
    background_texture: float = 0.015  # SD of the slow unevenness of the background (relative)
    halo_um: float = 3.0  # spatial scale of the halo (high-pass of optical thickness)
    focus_sd_um: float = 4.0  # well-to-well focus error
    focus_plate_sd_um: float = 3.0  # plate-to-plate focus offset
    blur_um: float = 0.45  # in-focus blur (optics + sensor)
    blur_per_um_defocus: float = 0.10  # extra blur (µm) per µm of defocus
    noise: float = 0.010  # camera noise SD at full size (fraction of full scale)
    dust_per_plate: float = 4.0  # out-of-focus dust rings on the optics (same in every well of a plate)
    jpeg_quality: int = 90

    @property
    def um_per_px_full(self) -> float:
        """µm per pixel of a 2560-pixel-wide image (0.65)."""
        return self.field_width_um / 2560

    def field_fraction(self, aspect: float) -> float:
        """Fraction of the well's area in the field of view for an image of ``height / width = aspect``."""
        return self.field_width_um**2 * aspect / (self.well_area_mm2 * 1e6)


@dataclass(frozen=True)
class CellLinePreset:
    """Everything the simulator needs to know about one cell line."""

    name: str
    morphology: Morphology
    growth: Growth
    assay: Assay = field(default_factory=Assay)
    optics: Optics = field(default_factory=Optics)
    description: str = ""


PRESETS: dict[str, CellLinePreset] = {
    "A549": CellLinePreset(
        name="A549",
        description="lung carcinoma: polygonal epithelial cells in loose islands, granular cytoplasm",
        morphology=Morphology(
            diameter_um=40.0,
            size_cv=0.25,
            elongation=1.5,
            elongation_sd=0.25,
            irregularity=0.10,
            protrusions=1.5,
            protrusion_length=0.35,
            bipolar=0.15,
            spreading=0.75,
            thickness=1.0,
            nucleus_ratio=0.36,
            nucleus_contrast=0.45,
            nucleoli=2.5,
            granularity=1.0,
            clustering=0.55,
            cluster_cells=8.0,
            cluster_radius_um=55.0,
            refractility=0.9,
            mitotic_fraction=0.03,
            rounded_diameter_um=18.0,
            dying_diameter_um=13.0,
        ),
        growth=Growth(ic50_um=0.4035, hill=1.1, doubling_time_h=22.0),
        assay=Assay(od_control=1.35),
    ),
    "HEK293": CellLinePreset(
        name="HEK293",
        description="embryonic kidney: small rounded cells piling up in tight clumps, smooth and refractile",
        morphology=Morphology(
            diameter_um=22.0,
            size_cv=0.22,
            elongation=1.3,
            elongation_sd=0.2,
            irregularity=0.14,
            protrusions=0.6,
            protrusion_length=0.3,
            bipolar=0.3,
            spreading=0.35,
            thickness=1.5,
            nucleus_ratio=0.5,
            nucleus_contrast=0.15,
            nucleoli=1.5,
            granularity=0.35,
            clustering=0.85,
            cluster_cells=14.0,
            cluster_radius_um=35.0,
            refractility=1.4,
            mitotic_fraction=0.04,
            rounded_diameter_um=14.0,
            dying_diameter_um=10.0,
        ),
        growth=Growth(ic50_um=0.0346, hill=1.4, doubling_time_h=26.0),
        assay=Assay(od_control=1.2),
    ),
    "NCI-H1975": CellLinePreset(
        name="NCI-H1975",
        description="lung adenocarcinoma: large flat spindle-shaped cells with long processes, scattered",
        morphology=Morphology(
            diameter_um=44.0,
            size_cv=0.28,
            elongation=2.6,
            elongation_sd=0.3,
            irregularity=0.08,
            protrusions=2.0,
            protrusion_length=0.6,
            bipolar=0.75,
            spreading=0.9,
            thickness=0.8,
            nucleus_ratio=0.3,
            nucleus_contrast=0.4,
            nucleoli=2.0,
            granularity=0.6,
            clustering=0.2,
            cluster_cells=5.0,
            cluster_radius_um=70.0,
            refractility=0.8,
            mitotic_fraction=0.025,
            rounded_diameter_um=20.0,
            dying_diameter_um=14.0,
        ),
        growth=Growth(ic50_um=0.2801, hill=0.9, doubling_time_h=32.0),
        assay=Assay(od_control=1.1),
    ),
}


#: Made-up cell lines the app ships no model for (not in ``PRESETS``, so not in ``"all"``): a lab's "own"
#: line for the tests and the docs of training a model on one's own plates (issue 15). Synthetic through
#: and through: the name says "-like" and no number is a measurement of the real line.
EXTRA_PRESETS: dict[str, CellLinePreset] = {
    "MCF7-like": CellLinePreset(
        name="MCF7-like",
        description="synthetic line loosely modelled on MCF7 breast carcinoma: medium-sized cobblestone "
        "epithelial cells in dense, flat colonies; its IC50 and Hill slope are made up",
        morphology=Morphology(
            diameter_um=30.0,
            size_cv=0.2,
            elongation=1.2,
            elongation_sd=0.15,
            irregularity=0.06,
            protrusions=0.4,
            protrusion_length=0.2,
            bipolar=0.1,
            spreading=0.55,
            thickness=1.2,
            nucleus_ratio=0.42,
            nucleus_contrast=0.3,
            nucleoli=1.0,
            granularity=0.5,
            clustering=0.95,
            cluster_cells=24.0,
            cluster_radius_um=60.0,
            refractility=1.1,
            mitotic_fraction=0.02,
            rounded_diameter_um=16.0,
            dying_diameter_um=11.0,
        ),
        growth=Growth(ic50_um=2.0, hill=1.25, doubling_time_h=30.0),
        assay=Assay(od_control=1.25),
    ),
}


def get_preset(cell_line: str | CellLinePreset) -> CellLinePreset:
    """The preset of ``cell_line`` in ``PRESETS`` or ``EXTRA_PRESETS`` (case-insensitive name; a preset is
    returned as is)."""
    if isinstance(cell_line, CellLinePreset):
        return cell_line
    known = {**PRESETS, **EXTRA_PRESETS}
    by_upper = {name.upper(): preset for name, preset in known.items()}
    key = str(cell_line).strip().upper()
    if key not in by_upper:
        raise ValueError(f"cell_line must be one of {', '.join(known)}; got {cell_line!r}")
    return by_upper[key]

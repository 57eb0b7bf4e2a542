"""Drawing one synthetic bright-field well image (×100, 10× objective) from a description of its cells.

The image model, in order (all lengths in µm, converted with the image's pixels per µm, so a small image
looks like a downscaled full-size one):

1. **Cells as sprites** (:mod:`training.simulate.cells`): live spread cells, rounded mitotic and dying
   cells and debris are drawn into full-size layers: optical thickness ``T`` (maximum, so overlapping cells
   do not add up), absorption ``A`` (sum), direct intensity ``L`` of rounded refractile bodies (sum) and
   the granule weight ``G`` (maximum).
2. **Texture.** One white-noise field, smoothed at two scales, gives dark granules (where ``G`` is high)
   and a mottled cytoplasm.
3. **Optics.** ``I = background · (1 − k_abs·T − k_halo·(T − blur(T)) − A + L)``: the high-pass of the
   thickness makes dark cell edges with bright halos outside them, like phase-contrast / slightly defocused
   bright-field. The background carries the plate's exposure, white balance, an illumination tilt,
   vignetting and out-of-focus dust rings (identical in every well of a plate). The image is then blurred
   by the well's defocus, and camera shot noise (∝ √signal, shared by the three channels as for a monochrome
   sCMOS exported as RGB; averaged down for smaller images) is added.

Everything random comes from ``numpy.random.default_rng(scene.seed)`` (and ``plate_seed`` for the plate's
look), so an image is a pure function of its :class:`WellScene`, preset and size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, special

from training.simulate.cells import (
    Canvas,
    cell_positions,
    draw_debris,
    draw_rounded_cell,
    draw_spread_cell,
    spread_cell_params,
)
from training.simulate.presets import CellLinePreset, Morphology, Optics

__all__ = ["FULL_SIZE", "PlateLook", "WellScene", "parse_image_size", "plate_look", "render_well"]

#: (width, height) of the paper's images in pixels.
FULL_SIZE: tuple[int, int] = (2560, 2160)

# Contrast gains of the image layers (dimensionless, tuned by eye against phase/bright-field micrographs).
_K_ABSORB = 0.07  # overall darkening per unit thickness
_K_HALO = 0.6  # edge darkening / halo brightening per unit of high-passed thickness
_K_GRANULE = 0.8  # darkening by granules at granularity 1
_BG_NODE_UM = 30.0  # spacing (µm) of the coarse grid of the slowly varying background
_BG_SMOOTH_NODES = 3.0  # its smoothing (nodes): unevenness on a scale of about 100 µm and more
_MIN_DRAW_WIDTH = 512  # px: narrower images are drawn at a multiple of their size, then block-averaged


@dataclass(frozen=True)
class WellScene:
    """What one well image shows: counts in the field of view and the state of the imaging.

    Attributes
    ----------
    n_live : int
        Live cells whose centre lies in the field (cells cut by the border beyond it are drawn too).
    n_dying : int
        Rounded, shrunken dying cells in the field.
    n_debris : int
        Detached debris particles in the field.
    stress : float
        0–1, drug effect on the surviving cells (less spreading, smaller, rounder).
    focus_um : float
        Defocus (µm); blur grows with its magnitude.
    plate_seed : int
        Seed of the plate's look (exposure, white balance, illumination, dust): shared by a plate's wells.
    seed : int
        Seed of everything else in this image.
    """

    n_live: int
    n_dying: int = 0
    n_debris: int = 0
    stress: float = 0.0
    focus_um: float = 0.0
    plate_seed: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_live", "n_dying", "n_debris"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}")
        if not 0 <= self.stress <= 1:
            raise ValueError(f"stress must be in [0, 1]; got {self.stress}")


@dataclass(frozen=True)
class PlateLook:
    """The imaging conditions shared by the wells of one plate (one imaging session)."""

    grey: float  # background level (0–1)
    tint: tuple[float, float, float]  # RGB gains
    gradient: tuple[float, float]  # illumination tilt along x and y (relative, per half-width)
    vignetting: float  # relative darkening of the corners
    dust: tuple[
        tuple[float, float, float, float], ...
    ]  # (x, y, radius, strength), x/y/radius in field widths


def plate_look(plate_seed: int, optics: Optics) -> PlateLook:
    """Draw the look of a plate from its seed (deterministic)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(plate_seed), 7]))
    grey = optics.grey * float(np.exp(rng.normal(0.0, optics.grey_plate_sd)))
    tint = np.array([1.0, 1.0, 0.97]) * np.exp(rng.normal(0.0, optics.tint_sd, size=3))
    angle = rng.uniform(0, 2 * math.pi)
    amplitude = optics.illumination_gradient * rng.uniform(0.5, 1.5)
    n_dust = int(rng.poisson(optics.dust_per_plate))
    dust = tuple(
        (
            float(rng.uniform(0, 1)),
            float(rng.uniform(0, 1)),
            float(rng.uniform(0.01, 0.04)),
            float(rng.uniform(0.01, 0.04)),
        )
        for _ in range(n_dust)
    )
    return PlateLook(
        grey=float(grey),
        tint=(float(tint[0]), float(tint[1]), float(tint[2])),
        gradient=(amplitude * math.cos(angle), amplitude * math.sin(angle)),
        vignetting=optics.vignetting * float(rng.uniform(0.8, 1.2)),
        dust=dust,
    )


def parse_image_size(text: str | tuple[int, int]) -> tuple[int, int]:
    """``'2560x2160'`` (or a ``(width, height)`` tuple) → ``(width, height)``, each 32–8192 px."""
    if isinstance(text, str):
        parts = text.lower().replace("×", "x").split("x")
        try:
            width, height = (int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"image_size must look like WIDTHxHEIGHT, e.g. 2560x2160; got {text!r}"
            ) from None
    else:
        width, height = (int(v) for v in text)
    if not (32 <= width <= 8192 and 32 <= height <= 8192):
        raise ValueError(f"image_size must be 32–8192 px on each side; got {width}x{height}")
    return width, height


#: The standard normal distribution at 65 536 equally likely levels (its quantiles at (i + ½) / 65 536): a
#: random 16-bit index into it is a standard normal draw, cut at ±4.3 SD.
_NORMAL_LEVELS = special.ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)


def _normal_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Standard normal noise, float32, through :data:`_NORMAL_LEVELS` (3× faster than ``standard_normal``)."""
    return _NORMAL_LEVELS[rng.integers(0, 65536, shape, dtype=np.uint16)]


#: Gaussian kernels are cut at this many standard deviations (0.3 % of the weight lies beyond 3 σ).
_TRUNCATE_SD = 3.0


def _gaussian(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur (edges replicated, kernel cut at 3 σ) into a new float32 array.

    Down the columns as a weighted sum of shifted copies of whole rows, symmetric taps paired
    (memory-contiguous, ~2× faster than ``ndimage`` along that axis), then along the rows with
    ``ndimage.gaussian_filter1d`` and the same kernel.
    """
    radius = int(_TRUNCATE_SD * sigma_px + 0.5)
    taps = np.exp(-0.5 * (np.arange(radius + 1) / sigma_px) ** 2)
    taps = (taps / (2 * taps.sum() - taps[0])).astype(np.float32)  # taps[i] weighs offsets ±i
    height = image.shape[0]
    padded = np.pad(image, ((radius, radius), (0, 0)), mode="edge")
    columns = padded[radius : radius + height] * taps[0]
    pair = np.empty_like(columns)
    for offset in range(1, radius + 1):
        np.add(
            padded[radius - offset : radius - offset + height],
            padded[radius + offset : radius + offset + height],
            out=pair,
        )
        pair *= taps[offset]
        columns += pair
    return ndimage.gaussian_filter1d(columns, sigma_px, axis=1, mode="nearest", truncate=_TRUNCATE_SD)


def _upsample_linear(small: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Linear interpolation by an integer ``factor`` along ``axis`` (pixel centres aligned, edges replicated).

    Output sample ``factor·j + p`` lies at ``j + (p + ½)/factor − ½`` in input samples: each phase ``p`` is a
    two-tap blend of neighbouring samples; the phases are then interleaved (as
    ``ndimage.zoom(order=1, grid_mode=True, mode="nearest")``, without its per-sample coordinate maths).
    """
    n = small.shape[axis]
    padded = np.concatenate([np.take(small, [0], axis), small, np.take(small, [n - 1], axis)], axis)
    before = padded[(slice(None),) * axis + (slice(0, n),)]  # the previous sample of each
    after = padded[(slice(None),) * axis + (slice(2, n + 2),)]  # the next
    phases = []
    for phase in range(factor):
        shift = (phase + 0.5) / factor - 0.5  # in input samples, within (−½, ½)
        weight = np.float32(abs(shift))
        blend = small * (1 - weight)
        blend += weight * (before if shift < 0 else after)
        phases.append(blend)
    shape = list(small.shape)
    shape[axis] *= factor
    return np.stack(phases, axis=axis + 1).reshape(shape)


def _block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor × factor`` blocks of an image whose sides are multiples of ``factor``."""
    columns = image[:, 0::factor].copy()
    for phase in range(1, factor):
        columns += image[:, phase::factor]
    blocks = columns[0::factor].copy()
    for phase in range(1, factor):
        blocks += columns[phase::factor]
    blocks *= np.float32(1 / factor**2)
    return blocks


def _blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur into a new array; large kernels run on a block-averaged copy (faster, looks the same)."""
    if sigma_px < 0.3:
        return image.copy()
    factor = int(sigma_px // 1.5)
    if factor < 2:
        return _gaussian(image, sigma_px)
    h, w = image.shape
    hp, wp = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.pad(image, ((0, hp - h), (0, wp - w)), mode="edge")
    small = _block_mean(padded, factor)
    sigma_small = math.sqrt(max(sigma_px**2 / factor**2 - 0.25, 0.1))
    small = ndimage.gaussian_filter(small, sigma_small, mode="nearest")
    big = _upsample_linear(_upsample_linear(small, factor, axis=1), factor, axis=0)
    return np.ascontiguousarray(big[:h, :w])


def _background(
    look: PlateLook, width: int, height: int, *, rng: np.random.Generator, px_per_um: float, optics: Optics
) -> np.ndarray:
    """Illumination, shape (height, width): exposure × tilt × vignetting × slow unevenness × dust rings.

    The smooth part is computed on a coarse grid (one node per ``_BG_NODE_UM`` µm) and interpolated.
    """
    node_px = _BG_NODE_UM * px_per_um
    nx, ny = math.ceil(width / node_px) + 3, math.ceil(height / node_px) + 3
    x = ((np.arange(nx) - 1) * node_px - width / 2) / (width / 2)
    y = ((np.arange(ny) - 1) * node_px - height / 2) / (width / 2)
    r2 = (x * x)[None, :] + (y * y)[:, None]
    r2 /= 1 + (height / width) ** 2  # 1 in the corners
    coarse = (1 - look.vignetting * r2**1.5) * (
        1 + look.gradient[0] * x[None, :] + look.gradient[1] * y[:, None]
    )
    uneven = ndimage.gaussian_filter(rng.standard_normal((ny, nx)), _BG_SMOOTH_NODES, mode="wrap")
    coarse *= 1 + optics.background_texture * uneven / (uneven.std() + 1e-9)
    # node j sits at pixel (j − 1) · node_px: map output pixel centres onto node coordinates
    rows = (np.arange(height) + 0.5) / node_px + 1
    cols = (np.arange(width) + 0.5) / node_px + 1
    bg = _bilinear(coarse.astype(np.float32), rows, cols)
    bg *= np.float32(look.grey)
    for fx, fy, fr, strength in look.dust:
        cx, cy, r = fx * width, fy * height, fr * width
        x0, x1 = max(0, int(cx - 2 * r)), min(width, int(cx + 2 * r) + 1)
        y0, y1 = max(0, int(cy - 2 * r)), min(height, int(cy + 2 * r) + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        xx = np.arange(x0, x1, dtype=np.float32)[None, :] - cx
        yy = np.arange(y0, y1, dtype=np.float32)[:, None] - cy
        rho = np.sqrt(xx * xx + yy * yy) / r
        ring = -strength * np.exp(-((rho - 1) ** 2) / 0.02) + 0.5 * strength * np.exp(-(rho**2) / 0.3)
        bg[y0:y1, x0:x1] *= 1 + ring
    return bg


def _bilinear(grid: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Separable linear interpolation of ``grid`` (ny, nx) at fractional ``rows`` × ``cols``.

    Along the grid's rows first (a small array), then whole rows are blended (contiguous copies).
    """
    c0 = np.clip(np.floor(cols).astype(np.intp), 0, grid.shape[1] - 2)
    fc = (cols - c0).astype(np.float32)[None, :]
    across = grid[:, c0] * (1 - fc) + grid[:, c0 + 1] * fc  # (ny, len(cols))
    r0 = np.clip(np.floor(rows).astype(np.intp), 0, grid.shape[0] - 2)
    fr = (rows - r0).astype(np.float32)[:, None]
    out = across[r0]
    out *= 1 - fr
    out += across[r0 + 1] * fr
    return out


def render_well(
    scene: WellScene, *, preset: CellLinePreset, image_size: tuple[int, int] = FULL_SIZE
) -> np.ndarray:
    """Render one synthetic bright-field image of a well.

    Parameters
    ----------
    scene : WellScene
        Cell counts in the field, drug stress, focus and seeds.
    preset : CellLinePreset
        Cell line morphology and optics.
    image_size : (int, int)
        ``(width, height)`` in pixels; the field of view is the same at every size
        (``preset.optics.field_width_um`` wide), so smaller images are coarser, not zoomed in.

    Returns
    -------
    ndarray, shape (height, width, 3), uint8
        The RGB image.
    """
    out_width, out_height = parse_image_size(image_size)
    optics, m = preset.optics, preset.morphology
    # small images are drawn at an integer multiple of their size and block-averaged, so that sub-pixel
    # structures (edges, granules, nucleoli) average out as they would in a downscaled full-size image
    factor = max(1, math.ceil(_MIN_DRAW_WIDTH / out_width))
    width, height = out_width * factor, out_height * factor
    s = width / optics.field_width_um  # px per µm
    rng = np.random.default_rng(np.random.SeedSequence([int(scene.seed), 1]))
    canvas = Canvas(width, height, s)
    field_w, field_h = width / s, height / s

    n_live = int(scene.n_live)
    n_mitotic = int(rng.binomial(n_live, m.mitotic_fraction * (1 - scene.stress))) if n_live else 0
    centres = cell_positions(rng, n_live, m, field_w, field_h) if n_live else np.zeros((0, 2))
    # mitotic cells are counted among the live ones inside the field; the border band is all spread cells
    spread = spread_cell_params(rng, m, max(0, len(centres) - n_mitotic), scene.stress)
    for (cx, cy), params in zip(centres[n_mitotic:].tolist(), spread, strict=True):
        draw_spread_cell(canvas, m, cx * s, cy * s, params)
    for cx, cy in centres[:n_mitotic].tolist():
        draw_rounded_cell(
            canvas, rng, cx * s, cy * s, m.rounded_diameter_um, dying=False, refractility=m.refractility
        )
    for _ in range(int(scene.n_dying)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        draw_rounded_cell(canvas, rng, cx, cy, m.dying_diameter_um, dying=True, refractility=m.refractility)
    draw_debris(canvas, rng, int(scene.n_debris))

    look = plate_look(scene.plate_seed, optics)
    intensity = _compose(canvas, look, m, optics, rng, focus_um=scene.focus_um)
    if factor > 1:
        intensity = intensity.reshape(out_height, factor, out_width, factor).mean(axis=(1, 3))
    # camera shot noise (∝ √signal), specified at full size and averaged down for smaller images
    sd = optics.noise * out_width / FULL_SIZE[0] / math.sqrt(look.grey)
    shot = np.maximum(intensity, 0)
    np.sqrt(shot, out=shot)
    shot *= np.float32(sd)
    shot *= _normal_noise(rng, (out_height, out_width))
    intensity += shot
    return _to_rgb8(intensity, look)


def _binomial3(image: np.ndarray) -> np.ndarray:
    """Separable [1, 2, 1] / 4 smoothing (a Gaussian of σ = 0.71 px), edges replicated."""
    rows = image * np.float32(2)  # each pass in place: a new full-size array costs page faults
    rows[1:] += image[:-1]
    rows[0] += image[0]
    rows[:-1] += image[1:]
    rows[-1] += image[-1]
    out = rows * np.float32(2)
    out[:, 1:] += rows[:, :-1]
    out[:, 0] += rows[:, 0]
    out[:, :-1] += rows[:, 1:]
    out[:, -1] += rows[:, -1]
    out *= np.float32(1 / 16)
    return out


def _compose(
    canvas: Canvas,
    look: PlateLook,
    m: Morphology,
    optics: Optics,
    rng: np.random.Generator,
    *,
    focus_um: float,
) -> np.ndarray:
    """Texture, halo optics, illumination and defocus: the noiseless grey image (height, width)."""
    s = canvas.s
    height, width = canvas.thickness.shape
    noise = _normal_noise(rng, (height, width))
    smooth = _binomial3(noise)  # σ = 0.71 px; SD of white noise × 6/16
    mottle = _binomial3(smooth)  # σ = 1 px (0.65 µm at full size); SD of white noise × 70/256
    # granules: the noise smoothed at 0.7 px, normalised, above 1.3 SD
    granules = smooth
    granules *= np.float32(16 / 6)
    granules -= np.float32(1.3)
    np.maximum(granules, 0, out=granules)
    granules *= canvas.granule
    granules *= np.float32(_K_GRANULE * m.granularity)
    # mottled thickness (±15 %)
    mottle *= np.float32(0.15 * 256 / 70)
    mottle += 1
    thickness = canvas.thickness
    thickness *= mottle
    # contrast = 1 − k_halo·(T − blur T) − k_abs·T − A − granules + L
    contrast = _blur(thickness, optics.halo_um * s)
    contrast -= thickness
    contrast *= np.float32(_K_HALO * m.refractility)
    thickness *= np.float32(_K_ABSORB)
    contrast -= thickness
    contrast -= canvas.absorb
    contrast -= granules
    contrast += canvas.lens
    contrast += 1
    contrast *= _background(look, width, height, rng=rng, px_per_um=s, optics=optics)
    return _blur(contrast, (optics.blur_um + optics.blur_per_um_defocus * abs(focus_um)) * s)


def _to_rgb8(intensity: np.ndarray, look: PlateLook) -> np.ndarray:
    """Grey intensity (0–1) × the plate's white balance → uint8 RGB, shape (height, width, 3)."""
    out = np.empty((*intensity.shape, 3), np.uint8)
    channel = np.empty_like(intensity)
    for c, gain in enumerate(look.tint):
        np.multiply(intensity, np.float32(255 * gain), out=channel)
        channel += np.float32(0.5)
        np.clip(channel, 0, 255, out=channel)
        out[:, :, c] = channel
    return out

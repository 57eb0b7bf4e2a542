"""Drawing one synthetic bright-field well image (×100, 10× objective) from a description of its cells.

The image model, in order (all lengths in µm, converted with the image's pixels per µm, so a small image
looks like a downscaled full-size one):

1. **Cells as sprites.** Each live spread cell is a small array computed over its own bounding box: an
   ellipse with a wobbly outline and processes (lamellipodia, or bipolar spindle ends), a dome-to-flat
   thickness profile, a raised nucleus with dark nucleoli, and a perinuclear zone where granules sit.
   Sprites are combined into full-size layers: optical thickness ``T`` (maximum, so overlapping cells do
   not add up), absorption ``A`` (sum), direct intensity ``L`` of rounded refractile bodies (sum) and the
   granule weight ``G`` (maximum). Rounded mitotic cells, shrunken dying cells with blebs and debris
   particles are drawn as bright-core / dark-rim bodies or dark specks.
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
from scipy import ndimage

from training.sim_presets import CellLinePreset, Morphology, Optics

__all__ = ["FULL_SIZE", "PlateLook", "WellScene", "parse_image_size", "plate_look", "render_well"]

#: (width, height) of the paper's images in pixels.
FULL_SIZE: tuple[int, int] = (2560, 2160)

# Contrast gains of the layers (dimensionless, tuned by eye against phase/bright-field micrographs).
_K_ABSORB = 0.07  # overall darkening per unit thickness
_K_HALO = 0.6  # edge darkening / halo brightening per unit of high-passed thickness
_K_GRANULE = 0.8  # darkening by granules at granularity 1
_K_NUCLEOLUS = 0.16  # darkening at the centre of a nucleolus
_K_EDGE = 0.10  # darkening along each cell's outline (visible cell borders inside colonies)
_BG_NODE_UM = 30.0  # spacing (µm) of the coarse grid of the slowly varying background
_BG_SMOOTH_NODES = 3.0  # its smoothing (nodes): unevenness on a scale of about 100 µm and more
_MAX_PROCESSES = 6  # processes per cell
_MAX_NUCLEOLI = 5
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


class _Canvas:
    """Full-size float32 layers and the pixel scale; sprites are stamped into them."""

    def __init__(self, width: int, height: int, px_per_um: float):
        self.width, self.height, self.s = width, height, px_per_um
        shape = (height, width)
        self.thickness = np.zeros(shape, np.float32)
        self.absorb = np.zeros(shape, np.float32)
        self.lens = np.zeros(shape, np.float32)
        self.granule = np.zeros(shape, np.float32)

    def grid(
        self, cx: float, cy: float, half_x: float, half_y: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Pixel-centre offsets ``dx`` (1, w) and ``dy`` (h, 1) from (cx, cy) over a box of half-sides
        ``half_x`` × ``half_y`` px, clipped to the canvas; also the box's top-left pixel (x0, y0).
        The box may be empty (w or h = 0) when it lies outside the canvas."""
        half_y = half_x if half_y is None else half_y
        x0 = max(0, math.floor(cx - half_x) - 1)
        y0 = max(0, math.floor(cy - half_y) - 1)
        x1 = min(self.width, math.ceil(cx + half_x) + 2)
        y1 = min(self.height, math.ceil(cy + half_y) + 2)
        dx = (np.arange(x0, max(x0, x1), dtype=np.float32) + np.float32(0.5 - cx))[None, :]
        dy = (np.arange(y0, max(y0, y1), dtype=np.float32) + np.float32(0.5 - cy))[:, None]
        return dx, dy, x0, y0

    def stamp(self, layer: np.ndarray, sprite: np.ndarray, x0: int, y0: int, *, combine_max: bool) -> None:
        """Combine ``sprite`` (top-left pixel at x0, y0) into ``layer`` by maximum or sum, clipped."""
        h, w = sprite.shape
        ys, xs = max(0, y0), max(0, x0)
        ye, xe = min(self.height, y0 + h), min(self.width, x0 + w)
        if ys >= ye or xs >= xe:
            return
        sub = sprite[ys - y0 : ye - y0, xs - x0 : xe - x0]
        target = layer[ys:ye, xs:xe]
        if combine_max:
            np.maximum(target, sub, out=target)
        else:
            target += sub


def _ramp(distance_px: np.ndarray, edge_px: float) -> np.ndarray:
    """Anti-aliased inside-mask from a signed distance to the outline (positive inside)."""
    return np.clip(0.5 + distance_px / edge_px, 0.0, 1.0)


def _spread_cell_params(rng: np.random.Generator, m: Morphology, n: int, stress: float) -> list[tuple]:
    """Random shape parameters of ``n`` spread cells, drawn in a few vectorised calls (one tuple per cell)."""
    ks = np.arange(2, 6)
    radius = m.diameter_um / 2 * np.exp(rng.normal(0, m.size_cv, n)) * (1 - 0.3 * stress)
    elong = np.clip(np.exp(rng.normal(math.log(m.elongation), m.elongation_sd, n)), 1.0, 6.0)
    elong = 1 + (elong - 1) * (1 - 0.6 * stress)
    theta = rng.uniform(0, math.pi, n)
    wobble = m.irregularity * rng.normal(0, 1, (n, ks.size)) / np.sqrt(ks)
    wobble = wobble * np.exp(1j * rng.uniform(0, 2 * math.pi, (n, ks.size)))
    n_proc = np.minimum(rng.poisson(m.protrusions * (1 - 0.7 * stress), n), _MAX_PROCESSES)
    bipolar = rng.random(n) < m.bipolar
    polar = np.where(np.arange(_MAX_PROCESSES) % 2 == 0, 0.0, math.pi) + rng.normal(
        0, 0.12, (n, _MAX_PROCESSES)
    )
    proc_angle = np.where(bipolar[:, None], polar, rng.uniform(0, 2 * math.pi, (n, _MAX_PROCESSES)))
    proc_len = m.protrusion_length * rng.uniform(0.5, 1.5, (n, _MAX_PROCESSES))
    proc_kappa = 1.0 / rng.uniform(0.10, 0.28, (n, _MAX_PROCESSES)) ** 2
    height = m.thickness * np.exp(rng.normal(0, 0.18, n)) * (1 + 0.6 * stress)
    a, b = radius * np.sqrt(elong), radius / np.sqrt(elong)  # semi-axes (µm)
    n_elong = elong**0.35
    na = m.nucleus_ratio * radius * np.sqrt(n_elong) * (1 + 0.25 * stress)
    nb = m.nucleus_ratio * radius / np.sqrt(n_elong) * (1 + 0.25 * stress)
    nu0, nv0 = rng.normal(0, 1, n) * 0.12 * a, rng.normal(0, 1, n) * 0.08 * b
    n_nucleoli = np.clip(rng.poisson(m.nucleoli, n), 1, _MAX_NUCLEOLI)
    nucleoli = np.stack(
        [
            np.sqrt(rng.random((n, _MAX_NUCLEOLI))) * 0.55,
            rng.uniform(0, 2 * math.pi, (n, _MAX_NUCLEOLI)),
            rng.uniform(0.6, 1.2, (n, _MAX_NUCLEOLI)),
        ],
        axis=2,
    )
    spreading = m.spreading * (1 - 0.6 * stress)
    return [
        (
            float(radius[i]),
            float(a[i]),
            float(b[i]),
            float(theta[i]),
            wobble[i],
            [
                (float(proc_angle[i, j]), float(proc_len[i, j]), float(proc_kappa[i, j]))
                for j in range(int(n_proc[i]))
            ],
            spreading,
            float(height[i]),
            float(na[i]),
            float(nb[i]),
            float(nu0[i]),
            float(nv0[i]),
            nucleoli[i, : int(n_nucleoli[i])].tolist(),
        )
        for i in range(n)
    ]


def _draw_spread_cell(canvas: _Canvas, m: Morphology, cx: float, cy: float, params: tuple) -> None:
    """One adherent live cell at (cx, cy) px: outline with processes, thickness, nucleus, nucleoli, granules.

    The outline is ``rho = r(phi)`` in the cell's elliptic coordinates, ``r = 1 + wobble harmonics +
    processes`` (harmonics and the von Mises-shaped processes are evaluated from cos/sin of ``phi``, without
    trigonometric calls). ``params`` is one tuple of :func:`_spread_cell_params`.
    """
    s = canvas.s
    radius, a, b, theta, wobble, processes, spreading, height, na, nb, nu0, nv0, nucleoli = params
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    reach = 1 + 2 * m.irregularity + max((length for _, length, _ in processes), default=0.0)
    half_x = reach * math.hypot(a * cos_t, b * sin_t) * s + 2
    half_y = reach * math.hypot(a * sin_t, b * cos_t) * s + 2
    dx, dy, x0, y0 = canvas.grid(cx, cy, half_x, half_y)
    if dx.size == 0 or dy.size == 0:
        return
    u = dx * np.float32(cos_t / s) + dy * np.float32(sin_t / s)  # µm along the long axis
    v = dy * np.float32(cos_t / s) - dx * np.float32(sin_t / s)
    un, vn = u * np.float32(1 / a), v * np.float32(1 / b)
    rho = np.sqrt(un * un + vn * vn)
    inv = 1 / np.maximum(rho, np.float32(1e-6))
    cos_p, sin_p = un * inv, vn * inv
    z = (cos_p + 1j * sin_p).astype(np.complex64)
    zk = z * z
    outline = np.ones_like(rho)
    for w in wobble:
        outline += (np.complex64(w) * zk).real
        zk *= z
    for ang, length, kappa in processes:
        cos_d = cos_p * np.float32(math.cos(ang)) + sin_p * np.float32(math.sin(ang))
        outline += np.float32(length) * np.exp(np.float32(kappa) * (cos_d - 1))
    local_scale = np.sqrt((a * cos_p) ** 2 + (b * sin_p) ** 2) * np.float32(s)  # px per unit of rho
    edge_px = max(1.0, 0.8 * s)
    mask = _ramp((outline - rho) * local_scale, edge_px)
    q = np.minimum(rho / outline, 1)
    flat = 0.25 + 0.55 * spreading
    profile = flat + (1 - flat) * (1 - q * q) ** (1 + 2 * (1 - spreading))
    thickness = np.float32(height) * mask * profile
    outline_line = mask * (1 - mask)
    outline_line *= np.float32(4 * _K_EDGE * m.thickness)
    canvas.stamp(canvas.absorb, outline_line, x0, y0, combine_max=False)

    # nucleus: a raised ellipse near the centre, along the cell's axis
    nu, nv = (u - np.float32(nu0)) * np.float32(1 / na), (v - np.float32(nv0)) * np.float32(1 / nb)
    nrho2 = nu * nu + nv * nv
    nmask = _ramp((1 - np.sqrt(nrho2)) * np.float32(min(na, nb) * s), edge_px)
    thickness += np.float32(m.nucleus_contrast * height) * nmask
    canvas.stamp(canvas.thickness, thickness, x0, y0, combine_max=True)

    # granule zone: the perinuclear cytoplasm
    zone = mask * (1 - nmask) * np.exp(np.float32(-0.5 * na * nb / (0.45 * radius) ** 2) * nrho2)
    canvas.stamp(canvas.granule, zone, x0, y0, combine_max=True)

    # nucleoli: small dark spots inside the nucleus (own small boxes)
    sigma = max(0.55, 0.7 * s)
    for r, t, strength in nucleoli:
        pu, pv = nu0 + r * na * math.cos(t), nv0 + r * nb * math.sin(t)
        px = cx + (pu * cos_t - pv * sin_t) * s
        py = cy + (pu * sin_t + pv * cos_t) * s
        ddx, ddy, bx0, by0 = canvas.grid(px, py, 3 * sigma)
        spot = np.float32(_K_NUCLEOLUS * strength) * np.exp(
            (ddx * ddx + ddy * ddy) * np.float32(-0.5 / sigma**2)
        )
        canvas.stamp(canvas.absorb, spot, bx0, by0, combine_max=False)


def _round_body(dx: np.ndarray, dy: np.ndarray, r_px: float, *, core: float, rim: float) -> np.ndarray:
    """Intensity of a rounded refractile body: bright (or dark) core, dark rim, faint outer halo."""
    rho = np.sqrt(dx * dx + dy * dy)
    w = 0.22 * r_px + 0.45
    out = core * np.exp(-(rho * rho) / (2 * (0.5 * r_px + 0.4) ** 2))
    out -= rim * np.exp(-((rho - r_px) ** 2) / (2 * w * w))
    out += 0.35 * rim * np.exp(-((rho - r_px - 1.6 * w) ** 2) / (2 * w * w))
    return out


def _draw_rounded_cell(
    canvas: _Canvas,
    rng: np.random.Generator,
    cx: float,
    cy: float,
    diameter_um: float,
    *,
    dying: bool,
    refractility: float,
) -> None:
    """A rounded cell at (cx, cy) px: mitotic (bright, smooth, maybe a doublet) or dying (shrunken, blebs)."""
    s = canvas.s
    r_px = diameter_um / 2 * float(np.exp(rng.normal(0, 0.18))) * s
    if dying:
        apoptotic = rng.random() < 0.6
        core = (0.25 if apoptotic else -0.12) * refractility * rng.uniform(0.6, 1.2)
        rim = 0.30 * rng.uniform(0.7, 1.2)
        bodies = [(0.0, 0.0, r_px)]
        for _ in range(int(rng.integers(0, 4))):
            ang = rng.uniform(0, 2 * math.pi)
            rb = r_px * rng.uniform(0.3, 0.6)
            bodies.append((math.cos(ang) * (r_px + 0.5 * rb), math.sin(ang) * (r_px + 0.5 * rb), rb))
    else:
        core, rim = 0.35 * refractility, 0.28
        bodies = [(0.0, 0.0, r_px)]
        if rng.random() < 0.4:  # telophase doublet
            ang = rng.uniform(0, 2 * math.pi)
            off_x, off_y = math.cos(ang) * 0.9 * r_px, math.sin(ang) * 0.9 * r_px
            bodies = [(off_x, off_y, 0.85 * r_px), (-off_x, -off_y, 0.85 * r_px)]
    reach = max(abs(bx) + br for bx, _, br in bodies) + max(abs(by) for _, by, _ in bodies)
    dx, dy, x0, y0 = canvas.grid(cx, cy, 1.8 * reach + 3)
    if dx.size == 0 or dy.size == 0:
        return
    sprite = np.zeros((dy.shape[0], dx.shape[1]), np.float32)
    for bx, by, br in bodies:
        sprite += _round_body(dx - bx, dy - by, br, core=core, rim=rim)
    canvas.stamp(canvas.lens, sprite, x0, y0, combine_max=False)


def _draw_debris(canvas: _Canvas, rng: np.random.Generator, n: int) -> None:
    """Detached particles: dark specks in focus, or soft out-of-focus blobs floating above (30 %)."""
    s = canvas.s
    xs, ys = rng.uniform(0, canvas.width, n), rng.uniform(0, canvas.height, n)
    floating = rng.random(n) < 0.3
    size = rng.uniform(1.0, 3.5, n) * s  # px
    amp = rng.uniform(0.10, 0.35, n) * np.minimum(1.0, size / 0.8)
    for cx, cy, is_floating, size_px, amplitude in zip(
        xs.tolist(), ys.tolist(), floating.tolist(), size.tolist(), amp.tolist(), strict=True
    ):
        sigma = max(0.5, size_px * (3.0 if is_floating else 1.0))
        dx, dy, x0, y0 = canvas.grid(cx, cy, 3.5 * sigma + 1)
        if dx.size == 0 or dy.size == 0:
            continue
        d2 = (dx * dx + dy * dy) * np.float32(1 / (sigma * sigma))
        if is_floating:
            ring = (np.sqrt(d2) - 1.5) ** 2
            sprite = np.float32(0.06) * np.exp(-0.5 * d2) - np.float32(0.05) * np.exp(-2.0 * ring)
            canvas.stamp(canvas.lens, sprite, x0, y0, combine_max=False)
        else:
            canvas.stamp(canvas.absorb, np.float32(amplitude) * np.exp(-0.5 * d2), x0, y0, combine_max=False)


def _cell_positions(
    rng: np.random.Generator, n_inside: int, m: Morphology, width_um: float, height_um: float
) -> np.ndarray:
    """Centres (µm) of ``n_inside`` cells in the field plus those in a border band, clustered as ``m`` says.

    Colonies are a Thomas process (parents uniform, children Gaussian around them); the rest uniform.
    Returns shape (n, 2); the first ``n_inside`` rows lie inside the field.
    """
    margin = m.diameter_um * 1.2
    ext_w, ext_h = width_um + 2 * margin, height_um + 2 * margin
    n_margin = int(rng.poisson(n_inside * (ext_w * ext_h / (width_um * height_um) - 1)))
    want = n_inside + n_margin
    n_parents = max(1, round(want * m.clustering / m.cluster_cells))
    parents = rng.uniform((-margin, -margin), (width_um + margin, height_um + margin), size=(n_parents, 2))
    inside: list[np.ndarray] = []
    border: list[np.ndarray] = []
    n_in = n_out = 0
    while n_in < n_inside or n_out < n_margin:
        batch = 2 * want + 16
        clustered = rng.random(batch) < m.clustering
        pts = rng.uniform((-margin, -margin), (width_um + margin, height_um + margin), size=(batch, 2))
        which = rng.integers(0, n_parents, size=batch)
        jitter = rng.normal(0, m.cluster_radius_um, size=(batch, 2))
        pts[clustered] = parents[which[clustered]] + jitter[clustered]
        is_in = (pts[:, 0] >= 0) & (pts[:, 0] < width_um) & (pts[:, 1] >= 0) & (pts[:, 1] < height_um)
        in_ext = (pts[:, 0] >= -margin) & (pts[:, 0] < width_um + margin)
        in_ext &= (pts[:, 1] >= -margin) & (pts[:, 1] < height_um + margin)
        take_in = pts[is_in][: max(0, n_inside - n_in)]
        take_out = pts[in_ext & ~is_in][: max(0, n_margin - n_out)]
        inside.append(take_in)
        border.append(take_out)
        n_in += len(take_in)
        n_out += len(take_out)
    return np.concatenate(inside + border, axis=0)


def _blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur into a new array; large kernels run on a block-averaged copy (faster, looks the same)."""
    if sigma_px < 0.3:
        return image.copy()
    factor = int(sigma_px // 1.5)
    if factor < 2:
        return ndimage.gaussian_filter(image, sigma_px, mode="nearest")
    h, w = image.shape
    hp, wp = -(-h // factor) * factor, -(-w // factor) * factor
    padded = np.pad(image, ((0, hp - h), (0, wp - w)), mode="edge")
    small = padded.reshape(hp // factor, factor, wp // factor, factor).mean(axis=(1, 3))
    sigma_small = math.sqrt(max(sigma_px**2 / factor**2 - 0.25, 0.1))
    small = ndimage.gaussian_filter(small, sigma_small, mode="nearest")
    big = ndimage.zoom(small, factor, order=1, mode="nearest", grid_mode=True)
    return np.ascontiguousarray(big[:h, :w], dtype=np.float32)


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
    """Separable linear interpolation of ``grid`` (ny, nx) at fractional ``rows`` × ``cols``."""
    r0 = np.clip(np.floor(rows).astype(np.intp), 0, grid.shape[0] - 2)
    fr = (rows - r0).astype(np.float32)[:, None]
    tmp = grid[r0] * (1 - fr) + grid[r0 + 1] * fr  # (len(rows), nx)
    c0 = np.clip(np.floor(cols).astype(np.intp), 0, grid.shape[1] - 2)
    fc = (cols - c0).astype(np.float32)[None, :]
    out = tmp[:, c0]
    out *= 1 - fc
    out += tmp[:, c0 + 1] * fc
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
    canvas = _Canvas(width, height, s)
    field_w, field_h = width / s, height / s

    n_live = int(scene.n_live)
    n_mitotic = int(rng.binomial(n_live, m.mitotic_fraction * (1 - scene.stress))) if n_live else 0
    centres = _cell_positions(rng, n_live, m, field_w, field_h) if n_live else np.zeros((0, 2))
    # mitotic cells are counted among the live ones inside the field; the border band is all spread cells
    spread = _spread_cell_params(rng, m, max(0, len(centres) - n_mitotic), scene.stress)
    for (cx, cy), params in zip(centres[n_mitotic:].tolist(), spread, strict=True):
        _draw_spread_cell(canvas, m, cx * s, cy * s, params)
    for cx, cy in centres[:n_mitotic].tolist():
        _draw_rounded_cell(
            canvas, rng, cx * s, cy * s, m.rounded_diameter_um, dying=False, refractility=m.refractility
        )
    for _ in range(int(scene.n_dying)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        _draw_rounded_cell(canvas, rng, cx, cy, m.dying_diameter_um, dying=True, refractility=m.refractility)
    _draw_debris(canvas, rng, int(scene.n_debris))

    look = plate_look(scene.plate_seed, optics)
    intensity = _compose(canvas, look, m, optics, rng, focus_um=scene.focus_um)
    if factor > 1:
        intensity = intensity.reshape(out_height, factor, out_width, factor).mean(axis=(1, 3))
    # camera shot noise (∝ √signal), specified at full size and averaged down for smaller images
    sd = optics.noise * out_width / FULL_SIZE[0] / math.sqrt(look.grey)
    shot = np.sqrt(np.maximum(intensity, 0))
    shot *= rng.standard_normal((out_height, out_width), dtype=np.float32)
    shot *= np.float32(sd)
    intensity += shot
    return _to_rgb8(intensity, look)


def _binomial3(image: np.ndarray) -> np.ndarray:
    """Separable [1, 2, 1] / 4 smoothing (a Gaussian of σ = 0.71 px), edges replicated."""
    padded = np.pad(image, 1, mode="edge")
    rows = padded[:-2] + 2 * padded[1:-1] + padded[2:]
    return (rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]) * np.float32(1 / 16)


def _compose(
    canvas: _Canvas,
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
    noise = rng.standard_normal((height, width), dtype=np.float32)
    # granules: the noise smoothed at 0.7 px, normalised (its SD is 6/16), above 1.3 SD
    granules = _binomial3(noise)
    granules *= np.float32(16 / 6)
    granules -= np.float32(1.3)
    np.maximum(granules, 0, out=granules)
    granules *= canvas.granule
    granules *= np.float32(_K_GRANULE * m.granularity)
    # mottled thickness (±15 %)
    mottle = _binomial3(_binomial3(noise))  # σ = 1 px (0.65 µm at full size); SD of white noise × 70/256
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

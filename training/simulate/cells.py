"""Cells as sprites: the live, mitotic and dying cells and the debris of one simulated well image.

Each live spread cell is a small array computed over its own bounding box: an ellipse with a wobbly
outline and processes (lamellipodia, or bipolar spindle ends), a dome-to-flat thickness profile, a raised
nucleus with dark nucleoli, and a perinuclear zone where granules sit. Sprites are combined into the
full-size layers of a :class:`Canvas`: optical thickness (maximum, so overlapping cells do not add up),
absorption (sum), direct intensity of rounded refractile bodies (sum) and the granule weight (maximum).
Rounded mitotic cells, shrunken dying cells with blebs and debris particles are drawn as bright-core /
dark-rim bodies or dark specks. :mod:`training.simulate.render` turns the layers into an image.

All lengths in µm unless a name ends in ``_px``; every random draw comes from the generator passed in.
"""

from __future__ import annotations

import math

import numpy as np

from training.simulate.presets import Morphology

__all__ = [
    "Canvas",
    "cell_positions",
    "draw_debris",
    "draw_rounded_cell",
    "draw_spread_cell",
    "spread_cell_params",
]

# Contrast gains of the sprites (dimensionless, tuned by eye against phase/bright-field micrographs).
_K_NUCLEOLUS = 0.16  # darkening at the centre of a nucleolus
_K_EDGE = 0.10  # darkening along each cell's outline (visible cell borders inside colonies)
_MAX_PROCESSES = 6  # processes per cell
_MAX_NUCLEOLI = 5


class Canvas:
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


def spread_cell_params(rng: np.random.Generator, m: Morphology, n: int, stress: float) -> list[tuple]:
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


#: Samples of a cell's outline per turn, at equal steps of the pseudo-angle of :func:`_pseudo_angle`.
_OUTLINE_SAMPLES = 1024


def _pseudo_angle(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A monotone stand-in for the polar angle of (x, y), in [0, 4) quarter turns, without trigonometry.

    In each quadrant it is ``|y| / (|x| + |y|)`` (0 on an axis, ½ on a diagonal), offset by the quadrant;
    it rises with the angle, so a table sampled at equal pseudo-angle steps can be indexed by it.
    """
    ax, ay = np.abs(x), np.abs(y)
    t = ay / np.maximum(ax + ay, np.float32(1e-12))
    # quadrant by quadrant: t, 2 − t, 2 + t, 4 − t; left = [x < 0], below = [y < 0], no branches
    left, below = (x < 0).astype(np.float32), (y < 0).astype(np.float32)
    t *= (1 - 2 * left) * (1 - 2 * below)
    t += 2 * left + 4 * below - 4 * left * below
    return t


def _sample_directions() -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the directions at the pseudo-angle samples (the inverse of :func:`_pseudo_angle`)."""
    t = np.arange(_OUTLINE_SAMPLES + 1) * (4.0 / _OUTLINE_SAMPLES)
    quadrant = np.minimum(t // 1, 3)
    frac = t - quadrant
    frac = np.where(quadrant % 2 == 1, 1 - frac, frac)  # |y| / (|x| + |y|) in each quadrant
    x = (1 - frac) * np.where((quadrant == 1) | (quadrant == 2), -1.0, 1.0)
    y = frac * np.where(quadrant >= 2, -1.0, 1.0)
    norm = np.hypot(x, y)
    return x / norm, y / norm


_COS, _SIN = _sample_directions()
_ANGLE = np.arctan2(_SIN, _COS)
#: cos(kφ) and sin(kφ) of the outline's wobble harmonics k = 2, 3, 4, 5 at the samples.
_HARMONICS = np.arange(2, 6)[:, None] * _ANGLE[None, :]
_COS_K, _SIN_K = np.cos(_HARMONICS), np.sin(_HARMONICS)


def _outline_table(wobble: np.ndarray, processes: list, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """A cell's outline ``r`` (in units of its ellipse) at the pseudo-angle samples, and the µm per unit.

    ``r = 1 + Re Σ wₖ e^{ikφ} (k = 2…5, the wobble) + processes`` (von Mises-shaped bumps). Both arrays have
    ``_OUTLINE_SAMPLES + 1`` samples (the last repeats the first); the second is the length of one unit of
    ``r`` in µm in each direction, ``sqrt((a·cos φ)² + (b·sin φ)²)``.
    """
    radius = 1.0 + wobble.real @ _COS_K - wobble.imag @ _SIN_K
    for ang, length, kappa in processes:
        radius += length * np.exp(kappa * (_COS * math.cos(ang) + _SIN * math.sin(ang) - 1))
    return radius, np.hypot(a * _COS, b * _SIN)


def draw_spread_cell(canvas: Canvas, m: Morphology, cx: float, cy: float, params: tuple) -> None:
    """One adherent live cell at (cx, cy) px: outline with processes, thickness, nucleus, nucleoli, granules.

    The outline is ``rho = r(phi)`` in the cell's elliptic coordinates, ``r = 1 + wobble harmonics +
    processes``, tabulated once per cell (:func:`_outline_table`) and read per pixel by linear
    interpolation at the pixel's pseudo-angle; the cell is drawn in the box that the outline spans.
    ``params`` is one tuple of :func:`spread_cell_params`.
    """
    s = canvas.s
    radius, a, b, theta, wobble, processes, spreading, height, na, nb, nu0, nv0, nucleoli = params
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    table, um_per_unit = _outline_table(wobble, processes, a, b)
    edge_px = max(1.0, 0.8 * s)
    along, across = a * table * _COS, b * table * _SIN  # outline points (µm) in the cell's frame
    margin = edge_px / 2 + 2
    half_x = float(np.abs(along * cos_t - across * sin_t).max()) * s + margin
    half_y = float(np.abs(along * sin_t + across * cos_t).max()) * s + margin
    dx, dy, x0, y0 = canvas.grid(cx, cy, half_x, half_y)
    if dx.size == 0 or dy.size == 0:
        return
    u = dx * np.float32(cos_t / s) + dy * np.float32(sin_t / s)  # µm along the long axis
    v = dy * np.float32(cos_t / s) - dx * np.float32(sin_t / s)
    un, vn = u * np.float32(1 / a), v * np.float32(1 / b)
    rho = np.sqrt(un * un + vn * vn)
    position = _pseudo_angle(un, vn)
    position *= np.float32(_OUTLINE_SAMPLES / 4)
    index = np.minimum(position.astype(np.intp), _OUTLINE_SAMPLES - 1)
    position -= index  # fraction between samples
    table32 = table.astype(np.float32)
    outline = table32[index]
    outline += position * (table32[index + 1] - outline)
    local_scale = (um_per_unit * s).astype(np.float32)[index]  # px per unit of rho
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


def draw_rounded_cell(
    canvas: Canvas,
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


def draw_debris(canvas: Canvas, rng: np.random.Generator, n: int) -> None:
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


def cell_positions(
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

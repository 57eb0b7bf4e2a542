// What a microscope TIFF says about itself: OME-XML, ImageJ and MetaSeries descriptions, resolution tags.
// The twin of training/tiffmeta.py (same results; tests/e2e/test_tiff_variants.py). Pure functions on strings
// and numbers: no DOM (a Web Worker has no DOMParser, so OME-XML is read by a small tag scanner), no pixels.
// Display ranges (ImageJ min=/max=, MetaSeries scale-min/scale-max) are not read: see training/preprocess.py,
// "Bit depth".

/** Length units → µm (OME UnitsLength symbols, ImageJ's unit= words, MetaSeries' um). */
export const UNITS_UM = {
  m: 1e6,
  dm: 1e5,
  cm: 1e4,
  mm: 1e3,
  µm: 1,
  μm: 1,
  um: 1,
  micron: 1,
  microns: 1,
  micrometer: 1,
  micrometre: 1,
  nm: 1e-3,
  pm: 1e-6,
  å: 1e-4,
  inch: 25400,
  in: 25400,
};
/** TIFF ResolutionUnit → µm per unit (2 inch, 3 cm; 4 mm and 5 µm are tifffile's extensions). */
const RESOLUTION_UNITS_UM = { 2: 25400, 3: 1e4, 4: 1e3, 5: 1 };
/** Pixel sizes (µm) a resolution tag may give for a microscope; outside, it is a print resolution (72 dpi). */
const TAG_PIXEL_UM = [0.01, 50];
/** Images and a model's training images differ in scale when their sizes differ by more than this factor. */
export const SCALE_WARNING_RATIO = 2;
const TRANSMITTED_CONTRAST = new Set(['brightfield', 'phase', 'dic']);

/** A Python-like int(): digits (with sign and spaces around) or the default. */
function int(text, fallback) {
  const m = /^\s*([+-]?\d+)\s*$/.exec(String(text ?? ''));
  return m ? Number(m[1]) : fallback;
}

/** A Python-like float(): a decimal or exponent number (spaces around allowed), or NaN. */
function float(text) {
  const t = String(text ?? '').trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : Number.NaN;
}

/**
 * A length in µm from a value and a unit name (null: unknown unit, or not a positive number).
 *
 * @param {string|number|null|undefined} value
 * @param {string|null|undefined} unit  default µm
 * @returns {number|null}
 */
export function lengthUm(value, unit) {
  const number = typeof value === 'number' ? value : float(value);
  const factor =
    UNITS_UM[
      String(unit ?? 'µm')
        .trim()
        .toLowerCase()
    ];
  if (factor === undefined || !(number > 0) || number === Number.POSITIVE_INFINITY) return null;
  return number * factor;
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text) {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (all, e) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e] ?? all;
  });
}

/**
 * The elements of an XML document as a tree of {name, attrs, children, text} (names without namespace
 * prefixes). Enough for OME-XML: comments, processing instructions, CDATA and DOCTYPE are skipped.
 *
 * @param {string} text
 * @returns {{name: string, attrs: Object<string, string>, children: object[], text: string}|null}  the root
 */
function parseXml(text) {
  const root = { name: '', attrs: {}, children: [], text: '' };
  const stack = [root];
  const tag =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>|<!DOCTYPE[^>]*>|<(\/?)([\w.:-]+)((?:\s+[^\s=>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  const attr = /([^\s=>/]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  for (const m of text.matchAll(tag)) {
    const [, closing, qname, attrText, selfClosing, chars] = m;
    const top = stack[stack.length - 1];
    if (chars !== undefined) {
      top.text += unescapeXml(chars);
      continue;
    }
    if (qname === undefined) continue;
    const name = qname.slice(qname.indexOf(':') + 1);
    if (closing) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const attrs = {};
    for (const a of (attrText ?? '').matchAll(attr)) {
      attrs[a[1].slice(a[1].indexOf(':') + 1)] = unescapeXml(a[2] ?? a[3]);
    }
    const element = { name, attrs, children: [], text: '' };
    top.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  return root.children[0] ?? null;
}

const childrenNamed = (element, name) => element.children.filter((c) => c.name === name);

/**
 * The first image of an OME-XML document, or null when the text is not OME-XML (training/tiffmeta.py
 * `parse_ome`, the same object with the same keys).
 *
 * @param {string} text  the first ImageDescription
 * @returns {object|null}  {images, size_z, size_c (planes per z and t: an RGB channel counts once), size_t, dimension_order, significant_bits, pixel_size_um,
 *   objective, uuid, channels: [{name, samples, illumination, contrast}], tiff_data: [...]}
 */
export function parseOme(text) {
  if (!text.slice(0, 4096).includes('<OME')) return null;
  const root = parseXml(text);
  if (root?.name !== 'OME') return null;
  const images = childrenNamed(root, 'Image');
  if (!images.length) return null;
  const [image] = images;
  const [pixels] = childrenNamed(image, 'Pixels');
  if (!pixels) return null;
  const a = pixels.attrs;
  const xUm = lengthUm(a.PhysicalSizeX, a.PhysicalSizeXUnit);
  const yUm = lengthUm(a.PhysicalSizeY, a.PhysicalSizeYUnit);
  const channels = childrenNamed(pixels, 'Channel').map((c) => ({
    name: c.attrs.Name ?? null,
    samples: int(c.attrs.SamplesPerPixel, 1),
    illumination: c.attrs.IlluminationType ?? null,
    contrast: c.attrs.ContrastMethod ?? null,
  }));
  const tiffData = childrenNamed(pixels, 'TiffData').map((t) => {
    const [uuid] = childrenNamed(t, 'UUID');
    return {
      ifd: int(t.attrs.IFD, 0),
      has_ifd: 'IFD' in t.attrs,
      first_z: int(t.attrs.FirstZ, 0),
      first_c: int(t.attrs.FirstC, 0),
      first_t: int(t.attrs.FirstT, 0),
      plane_count: 'PlaneCount' in t.attrs ? int(t.attrs.PlaneCount, -1) : null,
      uuid: uuid ? uuid.text.trim() : null,
      file_name: uuid ? (uuid.attrs.FileName ?? null) : null,
    };
  });
  const bits = int(a.SignificantBits, 0);
  let sizeC = Math.max(1, int(a.SizeC, 1));
  const samples = channels.reduce((sum, c) => sum + Math.max(1, c.samples), 0);
  if (channels.length && channels.length < sizeC && samples === sizeC) {
    sizeC = channels.length; // SizeC counts samples: an RGB channel (SamplesPerPixel 3) is one plane
  }
  return {
    images: images.length,
    size_z: Math.max(1, int(a.SizeZ, 1)),
    size_c: sizeC,
    size_t: Math.max(1, int(a.SizeT, 1)),
    dimension_order: String(a.DimensionOrder || 'XYZCT').toUpperCase(),
    significant_bits: bits > 0 ? bits : null,
    pixel_size_um: xUm !== null ? [xUm, yUm ?? xUm] : null,
    objective: omeObjective(root, image),
    uuid: root.attrs.UUID ?? null,
    channels,
    tiff_data: tiffData,
  };
}

/** Nominal magnification of the image's objective (ObjectiveSettings ID, else the only one), e.g. "10×". */
function omeObjective(root, image) {
  const objectives = childrenNamed(root, 'Instrument').flatMap((i) => childrenNamed(i, 'Objective'));
  const [settings] = childrenNamed(image, 'ObjectiveSettings');
  let chosen = objectives.find((o) => settings && o.attrs.ID === settings.attrs.ID);
  if (!chosen && objectives.length === 1) [chosen] = objectives;
  const magnification = float(chosen?.attrs.NominalMagnification);
  return magnification > 0 ? `${magnification}×` : null;
}

/** An OME channel marked as transmitted light by its own attributes (not its name). */
export function omeIsTransmitted(channel) {
  return (
    String(channel.illumination ?? '').toLowerCase() === 'transmitted' ||
    TRANSMITTED_CONTRAST.has(String(channel.contrast ?? '').toLowerCase())
  );
}

/** Linear index of plane (z, c, t) in DimensionOrder (e.g. XYZCT: z fastest, then c, then t). */
export function planeIndex(ome, z, c, t) {
  const sizes = { Z: ome.size_z, C: ome.size_c, T: ome.size_t };
  const position = { Z: z, C: c, T: t };
  let index = 0;
  let stride = 1;
  for (const axis of ome.dimension_order.slice(2, 5)) {
    index += position[axis] * stride;
    stride *= sizes[axis];
  }
  return index;
}

/**
 * Which IFD of this file holds each plane (training/tiffmeta.py `ome_plane_ifds`): TiffData maps PlaneCount
 * planes from (FirstZ, FirstC, FirstT) on to consecutive IFDs from IFD; PlaneCount defaults to 1 when IFD is
 * given and to every IFD otherwise; planes whose UUID names another file are left out.
 *
 * @param {object} ome  parseOme's result
 * @param {number} nIfds  IFDs in the file
 * @param {string|null} [fileName]  this file's name
 * @returns {Map<number, number>}  linear plane index → IFD index
 */
export function omePlaneIfds(ome, nIfds, fileName = null) {
  const nPlanes = ome.size_z * ome.size_c * ome.size_t;
  const entries = ome.tiff_data.length
    ? ome.tiff_data
    : [{ ifd: 0, has_ifd: false, first_z: 0, first_c: 0, first_t: 0, plane_count: null, uuid: null }];
  const mapping = new Map();
  for (const entry of entries) {
    const elsewhere =
      entry.uuid !== null && entry.uuid !== ome.uuid && !(fileName && entry.file_name === fileName);
    if (elsewhere) continue;
    const count = entry.plane_count ?? (entry.has_ifd ? 1 : nIfds);
    const start = planeIndex(ome, entry.first_z, entry.first_c, entry.first_t);
    for (let k = 0; k < Math.max(count, 0); k++) {
      if (start + k < nPlanes && entry.ifd + k < nIfds) mapping.set(start + k, entry.ifd + k);
    }
  }
  return mapping;
}

/**
 * An ImageJ description (`ImageJ=1.54f`, `channels=2`, `slices=5`, `unit=micron`…) or null
 * (training/tiffmeta.py `parse_imagej`).
 *
 * @param {string} text
 * @returns {{images: number, channels: number, slices: number, frames: number, unit: string|null,
 *   display_bits: number|null}|null}  display_bits: b when min=/max= is exactly 0–2^b − 1 (ImageJ's "b-bit
 *   range"), else null
 */
export function parseImagej(text) {
  if (!text.startsWith('ImageJ=')) return null;
  const values = {};
  for (const line of text.split(/\r\n|\r|\n/)) {
    const at = line.indexOf('=');
    if (at >= 0) values[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  const counts = {};
  for (const k of ['channels', 'slices', 'frames']) counts[k] = Math.max(1, int(values[k], 1));
  let unit = values.unit ?? null;
  if (unit !== null) unit = unit.replaceAll('\\u00B5', 'µ').replaceAll('\\u00b5', 'µ');
  const images = int(values.images, counts.channels * counts.slices * counts.frames);
  const display_bits = bitDepthRange(values.min, values.max);
  return { images: Math.max(1, images), ...counts, unit, display_bits };
}

/** b when a display range is exactly a bit depth's, 0 to 2^b − 1 (8 ≤ b ≤ 32); else null. */
function bitDepthRange(low, high) {
  const [lowValue, highValue] = [float(low), float(high)];
  if (lowValue !== 0 || !(Number.isFinite(highValue) && highValue > 0)) return null;
  const bits = Math.round(Math.log2(highValue + 1));
  return bits >= 8 && bits <= 32 && highValue === 2 ** bits - 1 ? bits : null;
}

/**
 * A MetaSeries (MetaMorph, MetaXpress, ImageXpress) description, or null (training/tiffmeta.py
 * `parse_metaseries`).
 *
 * @param {string} text
 * @returns {{pixel_size_um: number[]|null, camera_bits: number|null, objective: string|null}|null}
 */
export function parseMetaseries(text) {
  if (!text.trimStart().startsWith('<MetaData>')) return null;
  const props = {};
  for (const m of text.matchAll(/<(?:custom-)?prop\s+id="([^"]*)"\s+type="[^"]*"\s+value="([^"]*)"\s*\/>/g)) {
    props[m[1]] = m[2];
  }
  let pixel = null;
  if (props['spatial-calibration-state'] === 'on') {
    const unit = props['spatial-calibration-units'];
    const x = lengthUm(props['spatial-calibration-x'], unit);
    const y = lengthUm(props['spatial-calibration-y'], unit);
    pixel = x !== null ? [x, y ?? x] : null;
  }
  const bits = Math.trunc(float(props['Camera Bit Depth']));
  const objective = props._MagSetting_ || props['ImageXpress Micro Objective'] || null;
  return { pixel_size_um: pixel, camera_bits: bits > 0 ? bits : null, objective };
}

/**
 * Pixel size [x, y] (µm) from XResolution/YResolution (pixels per unit), or null (training/tiffmeta.py
 * `resolution_pixel_size`). `unitName` (ImageJ's unit=) takes precedence over the ResolutionUnit code; a
 * code-only size outside 0.01–50 µm is a print resolution, not a microscope's.
 *
 * @param {number|null} xResolution
 * @param {number|null} yResolution
 * @param {number|null} unitCode  TIFF ResolutionUnit
 * @param {string|null} [unitName]
 * @returns {number[]|null}
 */
export function resolutionPixelSize(xResolution, yResolution, unitCode, unitName = null) {
  if (!(xResolution > 0)) return null;
  const yRes = yResolution > 0 ? yResolution : xResolution;
  if (unitName !== null) {
    const x = lengthUm(1 / xResolution, unitName);
    const y = lengthUm(1 / yRes, unitName);
    return x !== null && y !== null ? [x, y] : null;
  }
  const perUnit = RESOLUTION_UNITS_UM[unitCode ?? 1];
  if (perUnit === undefined) return null;
  const x = perUnit / xResolution;
  const y = perUnit / yRes;
  const [low, high] = TAG_PIXEL_UM;
  return low <= x && x <= high && low <= y && y <= high ? [x, y] : null;
}

/** `value` (> 0) to `digits` significant digits, halves rounded up (training/tiffmeta.py `_number`). */
function numberText(value, digits) {
  const places = digits - 1 - Math.floor(Math.log10(value));
  const rounded =
    places >= 0
      ? Math.floor(value * 10 ** places + 0.5) / 10 ** places
      : Math.floor(value / 10 ** -places + 0.5) * 10 ** -places;
  return String(rounded);
}

/**
 * A plain warning when an image's scale differs from the model's training images by more than 2×
 * (training/tiffmeta.py `pixel_size_warning`: field widths when the card gives `image_width_px`, else pixel
 * sizes).
 *
 * @param {number|null} pixelSizeUm  the image's pixel size (µm per pixel, x), from its metadata
 * @param {number|null} widthPx  the image's width (px)
 * @param {object|string|null} imaging  the model card's `imaging`: {pixel_size_um, objective, image_width_px}
 *   (any key optional) or, in older cards, a sentence (nothing to compare)
 * @param {string} modelName  e.g. 'A549-M'
 * @returns {string|null}  e.g. 'these images are at 0.65 µm/px; A549-M was trained at 1.3 µm/px'
 */
export function pixelSizeWarning(pixelSizeUm, widthPx, imaging, modelName) {
  if (!imaging || typeof imaging !== 'object' || !(pixelSizeUm > 0)) return null;
  const trained = imaging.pixel_size_um;
  if (typeof trained !== 'number' || !(trained > 0)) return null;
  const ours = `these images are at ${numberText(pixelSizeUm, 3)} µm/px`;
  const theirs = `${modelName} was trained at ${numberText(trained, 3)} µm/px`;
  const trainedWidth = imaging.image_width_px;
  if (typeof trainedWidth === 'number' && trainedWidth > 0 && widthPx) {
    const field = pixelSizeUm * widthPx;
    const trainedField = trained * trainedWidth;
    const ratio = trainedField / field; // > 1: the cells look larger to the model than in training
    const factor = Math.max(ratio, 1 / ratio);
    if (factor <= SCALE_WARNING_RATIO) return null;
    const look = ratio > 1 ? 'larger' : 'smaller';
    return (
      `${ours} (${Math.floor(field + 0.5)} µm wide); ${theirs} (${Math.floor(trainedField + 0.5)} µm ` +
      `wide): cells look ${numberText(factor, 2)}× ${look} to the model than in its training`
    );
  }
  const ratio = pixelSizeUm / trained;
  return Math.max(ratio, 1 / ratio) > SCALE_WARNING_RATIO ? `${ours}; ${theirs}` : null;
}

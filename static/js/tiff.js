// One plane of a microscope TIFF, the twin of training/tiff.py (same rules, same results: which plane and
// channel, what the file declares about bit depth, pixel size and objective; the rules are written out in
// that module's docstring and docs/formats.md). geotiff.js (vendored) reads the container — classic and
// BigTIFF, strips and tiles, uncompressed, LZW, Deflate, PackBits, planar or interleaved samples, 8–32-bit
// integers (10/12/14-bit packed) and 16–64-bit floats; JPEG tiles are decoded by the browser's own JPEG
// decoder (libjpeg-turbo, like tifffile's imagecodecs: bit-identical), not geotiff's. Runs in a Web Worker.
import { decodeWithBrowser } from './bitmap.js';
import { isTransmittedLight } from './instruments.js';
import { ImageProblem } from './problem.js';
import {
  omeIsTransmitted,
  omePlaneIfds,
  parseImagej,
  parseMetaseries,
  parseOme,
  planeIndex,
  resolutionPixelSize,
} from './tiffmeta.js';
import { rawGreySamples } from './tiffraw.js';

const SUPPORTED = { 1: [8, 10, 12, 14, 16, 32], 2: [8, 16, 32], 3: [16, 32, 64] };
const ALPHA = new Set([1, 2]); // ExtraSamples: associated, unassociated alpha
const JPEG = 7;

let geotiff = null;

/** JPEG tiles and strips, decoded by the browser (tables from JPEGTables merged in front of each). */
function browserJpegDecoder(GeoTIFF) {
  return class BrowserJpeg extends GeoTIFF.BaseDecoder {
    async decodeBlock(buffer) {
      let bytes = new Uint8Array(buffer);
      const tables = this.parameters.JPEGTables;
      if (tables?.length > 4) {
        const merged = new Uint8Array(tables.length - 2 + bytes.length - 2); // tables' EOI, block's SOI out
        merged.set(tables.subarray(0, tables.length - 2));
        merged.set(bytes.subarray(2), tables.length - 2);
        bytes = merged;
      }
      const { pixels, order, width, height } = await decodeWithBrowser(
        new Blob([bytes], { type: 'image/jpeg' }),
        'JPEG-in-TIFF',
      );
      const spp = this.parameters.samplesPerPixel;
      const rgb = order === 'BGRA' ? [2, 1, 0] : [0, 1, 2];
      const out = new Uint8Array(width * height * spp);
      for (let p = 0, q = 0, o = 0; p < width * height; p++, q += 4, o += spp) {
        for (let s = 0; s < spp; s++) out[o + s] = pixels[q + rgb[Math.min(s, 2)]];
      }
      return out.buffer;
    }
  };
}

/** The vendored geotiff.js (a classic UMD script: it sets self.GeoTIFF), with the browser's JPEG decoder. */
async function loadGeotiff() {
  if (!geotiff) {
    if (!globalThis.GeoTIFF) await import('../vendor/geotiff.js');
    const GeoTIFF = globalThis.GeoTIFF;
    GeoTIFF.setLogger({ log() {}, info() {}, warn() {}, error() {}, debug() {}, time() {}, timeEnd() {} });
    const Decoder = browserJpegDecoder(GeoTIFF);
    GeoTIFF.addDecoder(
      JPEG,
      () => Promise.resolve(Decoder),
      async (fd) => {
        const tiled = fd.hasTag('TileWidth');
        return {
          tileWidth: await fd.loadValue(tiled ? 'TileWidth' : 'ImageWidth'),
          tileHeight: tiled
            ? await fd.loadValue('TileLength')
            : (await fd.loadValue('RowsPerStrip')) || (await fd.loadValue('ImageLength')),
          planarConfiguration: await fd.loadValue('PlanarConfiguration'),
          bitsPerSample: await fd.loadValue('BitsPerSample'),
          predictor: 1,
          samplesPerPixel: (await fd.loadValue('SamplesPerPixel')) || 1,
          JPEGTables: await fd.loadValue('JPEGTables'),
        };
      },
      false,
    );
    geotiff = GeoTIFF;
  }
  return geotiff;
}

/** A text tag as tifffile reads it: UTF-8 (geotiff gives one character per byte), trailing NULs stripped. */
function text(value) {
  if (value === undefined || value === null) return '';
  let s = String(value).replace(/\0+$/, '');
  const codes = Array.from(s, (c) => c.charCodeAt(0));
  if (codes.some((c) => c > 127) && codes.every((c) => c < 256)) {
    try {
      s = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(codes));
    } catch {
      // not UTF-8: keep the bytes as Latin-1 characters
    }
  }
  return s;
}

const first = (v) => (v === undefined || v === null ? null : typeof v === 'number' ? v : (v[0] ?? null));
const rational = (v) => (v && v.length === 2 ? (v[1] ? v[0] / v[1] : null) : (first(v) ?? null));

/**
 * Planes and channels of a file (training/tiff.py `file_layout`).
 *
 * @param {string} description  the first page's ImageDescription
 * @param {number} nIfds  IFDs in the file
 * @param {number[]} mainIfds  those that are not reduced-resolution copies
 * @param {string|null} [fileName]
 * @returns {{source: string, size_z: number, size_c: number, size_t: number, channel_names: (string|null)[],
 *   channel_marked: boolean[], ifds: Map<string, number>, images: number}}  ifds: "z,c,t" → IFD index
 * @throws {ImageProblem}  an ImageJ file with fewer IFDs than images (ImageJ's > 4 GB layout)
 */
export function fileLayout(description, nIfds, mainIfds, fileName = null) {
  const ome = parseOme(description);
  const ifds = new Map();
  if (ome) {
    const mapping = omePlaneIfds(ome, nIfds, fileName);
    const { size_z: z, size_c: c, size_t: t } = ome;
    const channels = ome.channels.length === c ? ome.channels : Array.from({ length: c }, () => ({}));
    for (let zi = 0; zi < z; zi++)
      for (let ci = 0; ci < c; ci++)
        for (let ti = 0; ti < t; ti++) {
          const plane = planeIndex(ome, zi, ci, ti);
          if (mapping.has(plane)) ifds.set(`${zi},${ci},${ti}`, mapping.get(plane));
        }
    return {
      source: 'OME-XML',
      size_z: z,
      size_c: c,
      size_t: t,
      channel_names: channels.map((ch) => ch.name ?? null),
      channel_marked: channels.map((ch) => omeIsTransmitted(ch)),
      ifds,
      images: ome.images,
    };
  }
  const imagej = parseImagej(description);
  if (imagej && imagej.images > 1) {
    let [c, z, t] = [imagej.channels, imagej.slices, imagej.frames];
    if (c * z * t !== imagej.images) [c, z, t] = [1, imagej.images, 1];
    if (imagej.images > nIfds) {
      throw new ImageProblem(
        'unsupported',
        `this ImageJ file holds ${imagej.images} images in ${nIfds} IFD(s) (ImageJ's layout for files ` +
          'over 4 GB), which cannot be read here: save the plane you need as its own TIFF',
      );
    }
    for (let zi = 0; zi < z; zi++)
      for (let ci = 0; ci < c; ci++)
        for (let ti = 0; ti < t; ti++) ifds.set(`${zi},${ci},${ti}`, ti * z * c + zi * c + ci);
    const none = Array.from({ length: c }, () => null);
    return {
      source: 'ImageJ',
      size_z: z,
      size_c: c,
      size_t: t,
      channel_names: none,
      channel_marked: none.map(() => false),
      ifds,
      images: 1,
    };
  }
  const pages = mainIfds.length ? mainIfds : [0];
  for (const [i, p] of pages.entries()) ifds.set(`${i},0,0`, p);
  return {
    source: 'pages',
    size_z: pages.length,
    size_c: 1,
    size_t: 1,
    channel_names: [null],
    channel_marked: [false],
    ifds,
    images: 1,
  };
}

const label = (index, name) => name || `channel ${index + 1}`;

/**
 * The channel to use (index from 0) and the sentence saying so (null with one channel): training/tiff.py
 * `choose_channel`.
 *
 * @param {(string|null)[]} names
 * @param {boolean[]} marked  marked as transmitted light by OME attributes
 * @param {number|string|null} channel  the worker's `channel` option: an index from 0, or a name
 * @returns {[number, string|null]}
 * @throws {ImageProblem}  'choose_channel' (details.channels) or 'bad_option'
 */
export function chooseChannel(names, marked, channel) {
  const n = names.length;
  const labels = names.map((name, i) => label(i, name));
  if (channel !== null && channel !== undefined) {
    const index =
      typeof channel === 'string'
        ? names.findIndex((name) => name && name.toLowerCase() === channel.trim().toLowerCase())
        : Math.trunc(channel);
    if (!(index >= 0 && index < n)) {
      const asked = typeof channel === 'string' ? `'${channel}'` : String(Math.trunc(channel) + 1);
      throw new ImageProblem(
        'bad_option',
        `channel ${asked} was asked for, but the file holds ${n}: ${labels.join(', ')}`,
      );
    }
    return [index, n > 1 ? `channel ${index + 1} of ${n} (${labels[index]}) was used, as chosen` : null];
  }
  if (n === 1) return [0, null];
  const transmitted = names.map((_, i) => i).filter((i) => isTransmittedLight(names[i]) || marked[i]);
  if (transmitted.length === 1) {
    const [index] = transmitted;
    return [index, `channel ${index + 1} of ${n} (${labels[index]}) was used: the transmitted-light one`];
  }
  const channels = names.map((name, index) => ({ index, name }));
  if (transmitted.length) {
    const which = transmitted.map((i) => labels[i]).join(', ');
    throw new ImageProblem(
      'choose_channel',
      `this file holds several transmitted-light channels (${which}): choose one`,
      { channels },
    );
  }
  throw new ImageProblem(
    'choose_channel',
    `this file holds ${n} channels (${labels.join(', ')}) and none is named as bright field: choose one`,
    { channels },
  );
}

/**
 * The plane to use (index from 0) and the sentence saying so (null with one plane): training/tiff.py
 * `choose_plane`. A declared z-stack ('z') uses its middle plane, (count − 1) // 2; pages of unknown
 * meaning ('page') the first.
 *
 * @param {number} count
 * @param {'z'|'page'} axis
 * @param {number|null} plane  the worker's `plane` option (index from 0)
 * @returns {[number, string|null]}
 * @throws {ImageProblem}  'bad_option'
 */
export function choosePlane(count, axis, plane) {
  if (plane !== null && plane !== undefined) {
    const index = Math.trunc(plane);
    if (!(index >= 0 && index < count)) {
      throw new ImageProblem(
        'bad_option',
        `plane ${index + 1} was asked for, but the file has ${count} plane(s)`,
      );
    }
    return [index, count > 1 ? `plane ${index + 1} of ${count} was used, as chosen` : null];
  }
  if (count === 1) return [0, null];
  if (axis === 'z') {
    const index = Math.floor((count - 1) / 2);
    return [index, `z-stack of ${count} planes: the middle one (plane ${index + 1}) was used`];
  }
  return [0, `multi-page TIFF (${count} pages): only the first page was used`];
}

/** Bits of each integer container (signed: the bits of its positive range); floats have none. */
function containerBits(samples) {
  if (samples instanceof Uint8Array) return 8;
  if (samples instanceof Uint16Array) return 16;
  if (samples instanceof Uint32Array) return 32;
  if (samples instanceof Int8Array) return 7;
  if (samples instanceof Int16Array) return 15;
  if (samples instanceof Int32Array) return 31;
  return null;
}

/** Significant bits the file declares, when fewer than the container's (training/tiff.py `_declared_bits`). */
function declaredBits(tags, samples, ome, meta, imagej) {
  const container = containerBits(samples);
  if (container === null) return [null, null];
  const bitLength = (v) =>
    v === null
      ? null
      : Math.max(0, ...v)
          .toString(2)
          .replace(/^0$/, '').length;
  const candidates = [
    [ome?.significant_bits ?? null, 'OME SignificantBits'],
    [meta?.camera_bits ?? null, 'MetaSeries camera bit depth'],
    [imagej?.display_bits ?? null, 'ImageJ display range'],
    [[8, 16, 32, 64].includes(tags.bits) ? null : tags.bits, 'BitsPerSample'],
    [bitLength(tags.sMaxSample), 'SMaxSampleValue'],
    [bitLength(tags.maxSample), 'MaxSampleValue'],
  ];
  for (const [bits, source] of candidates)
    if (bits !== null && bits > 0 && bits < container) return [bits, source];
  return [null, null];
}

/** Pixel size from OME, ImageJ, MetaSeries, then the resolution tags (training/tiff.py `_pixel_size`). */
function pixelSize(description, tags, ome, meta) {
  if (ome?.pixel_size_um) {
    const [x, y] = ome.pixel_size_um;
    return { x_um: x, y_um: y, source: 'OME PhysicalSizeX/Y' };
  }
  const imagej = parseImagej(description);
  if (imagej?.unit) {
    const size = resolutionPixelSize(tags.xResolution, tags.yResolution, null, imagej.unit);
    if (size) return { x_um: size[0], y_um: size[1], source: 'ImageJ unit and XResolution/YResolution' };
  }
  if (meta?.pixel_size_um) {
    const [x, y] = meta.pixel_size_um;
    return { x_um: x, y_um: y, source: 'MetaSeries spatial calibration' };
  }
  const size = resolutionPixelSize(tags.xResolution, tags.yResolution, tags.resolutionUnit, null);
  return size ? { x_um: size[0], y_um: size[1], source: 'TIFF XResolution/YResolution' } : null;
}

/** The tags of one IFD this module uses. */
async function pageTags(image) {
  const fd = image.fileDirectory;
  const value = (name) => fd.loadValue(name);
  const arr = async (name) => {
    const v = await value(name);
    return v === undefined ? null : Array.from(typeof v === 'number' ? [v] : v);
  };
  return {
    photometric: first(await value('PhotometricInterpretation')) ?? 1,
    compression: first(await value('Compression')) ?? 1,
    spp: first(await value('SamplesPerPixel')) ?? 1,
    bits: first(await value('BitsPerSample')) ?? 1,
    sampleFormat: first(await value('SampleFormat')) ?? 1,
    extraSamples: (await arr('ExtraSamples')) ?? [],
    xResolution: rational(await value('XResolution')),
    yResolution: rational(await value('YResolution')),
    resolutionUnit: first(await value('ResolutionUnit')),
    maxSample: await arr(281),
    sMaxSample: await arr(341),
  };
}

/**
 * What the samples of one IFD are, as training/tiff.py `_page_samples`: RGB (photometric RGB, or YCbCr
 * decoded by JPEG) or grey, and how many grey channels (samples that are not alpha; 1 for RGB).
 *
 * @throws {ImageProblem}  a sample type or photometric interpretation that cannot be read
 */
function sampleKinds(tags) {
  const { photometric, compression, spp, bits, sampleFormat } = tags;
  if (!SUPPORTED[sampleFormat]?.includes(bits)) {
    const kind =
      { 1: 'unsigned', 2: 'signed', 3: 'floating-point' }[sampleFormat] ?? `sample format ${sampleFormat}`;
    throw new ImageProblem('unsupported', `${bits}-bit ${kind} TIFF samples cannot be read here`);
  }
  const jpegColour = photometric === 6 && compression === JPEG;
  if (![0, 1, 2].includes(photometric) && !jpegColour) {
    throw new ImageProblem(
      'unsupported',
      `TIFF photometric interpretation ${photometric} (palette, CMYK, YCbCr, CIELab…) cannot be read here: ` +
        'export the image as grey or RGB',
    );
  }
  if (compression === JPEG && bits !== 8) {
    throw new ImageProblem('unsupported', `${bits}-bit JPEG-compressed TIFFs cannot be read here`);
  }
  if (compression === 6) {
    throw new ImageProblem('unsupported', 'old-style JPEG TIFFs (compression 6) cannot be read here');
  }
  const rgb = photometric === 2 || jpegColour;
  const grey = rgb ? 1 : Math.max(spp - tags.extraSamples.filter((e) => ALPHA.has(e)).length, 1);
  return { rgb, grey };
}

/**
 * Refuse an IFD with a strip or tile (partly) beyond the end of the file (training/tiff.py
 * `_check_complete`): geotiff.js reads what is missing as zeros, a black band or a black well.
 *
 * @throws {ImageProblem}  the file is truncated
 */
async function checkComplete(image, fileBytes) {
  const fd = image.fileDirectory;
  const tiled = !fd.hasTag('StripOffsets');
  const list = async (name) => {
    const v = await fd.loadValue(name);
    return v === undefined || v === null ? [] : Array.from(typeof v === 'number' ? [v] : v, Number);
  };
  const offsets = await list(tiled ? 'TileOffsets' : 'StripOffsets');
  const counts = await list(tiled ? 'TileByteCounts' : 'StripByteCounts');
  // A strip or tile of 0 bytes is absent (sparse files): filled by design, not truncated.
  const ends = offsets.map((offset, i) => (counts[i] ? offset + counts[i] : 0));
  if (ends.some((end) => end > fileBytes)) {
    throw new ImageProblem('corrupt', 'the file ends before its image data (truncated?)');
  }
}

async function readSamples(image, samples) {
  try {
    return await image.readRasters({ samples, interleave: true });
  } catch (err) {
    if (err instanceof ImageProblem) throw err;
    throw new ImageProblem(
      'corrupt',
      `corrupt or unreadable TIFF file: its image data do not decode (${err?.message ?? err})`,
    );
  }
}

/**
 * Read one plane and channel of a TIFF (training/tiff.py `read_tiff`).
 *
 * @param {ArrayBuffer} buffer  the whole file
 * @param {{plane?: number|null, channel?: number|string|null, fileName?: string|null}} [options]
 * @returns {Promise<{samples: Uint8Array|Uint16Array|Uint32Array|Int8Array|Int16Array|Int32Array|Float32Array|
 *   Float64Array, width: number, height: number, channels: 1|3, declaredBits: number|null,
 *   declaredSource: string|null, pixelSize: {x_um: number, y_um: number, source: string}|null,
 *   objective: string|null, selection: object, warnings: string[]}>}  samples interleaved (height, width,
 *   channels); selection as training/tiff.py Selection.to_dict()
 * @throws {ImageProblem}
 */
export async function readTiff(buffer, { plane = null, channel = null, fileName = null } = {}) {
  const GeoTIFF = await loadGeotiff();
  let tiff;
  const images = [];
  try {
    tiff = await GeoTIFF.fromArrayBuffer(buffer);
    const count = await tiff.getImageCount();
    for (let i = 0; i < count; i++) images.push(await tiff.getImage(i));
  } catch (err) {
    throw new ImageProblem('corrupt', `corrupt or unreadable TIFF file (${err?.message ?? err})`);
  }
  if (!images.length)
    throw new ImageProblem('corrupt', 'corrupt or unreadable TIFF file (no image in the file)');
  const description = text(await images[0].fileDirectory.loadValue('ImageDescription'));
  const main = [];
  for (let i = 0; i < images.length; i++) {
    if (!((first(await images[i].fileDirectory.loadValue('NewSubfileType')) ?? 0) & 1)) main.push(i);
  }
  const layout = fileLayout(description, images.length, main, fileName);
  const warnings = [];
  if (layout.images > 1) warnings.push(`the file holds ${layout.images} images (series): the first was used`);
  const byLayout = layout.size_c > 1 ? channel : null;
  const [layoutChannel, said] = chooseChannel(layout.channel_names, layout.channel_marked, byLayout);
  const axis = layout.source !== 'pages' ? 'z' : 'page';
  const [planeUsed, planeSaid] = choosePlane(layout.size_z, axis, plane);
  warnings.push(...[planeSaid, said].filter(Boolean));
  if (layout.size_t > 1) warnings.push(`time series of ${layout.size_t} time points: the first was used`);
  const ifd = layout.ifds.get(`${planeUsed},${layoutChannel},0`);
  if (ifd === undefined) {
    throw new ImageProblem(
      'unsupported',
      `plane ${planeUsed + 1}, channel ${layoutChannel + 1} is not in this file (its OME-XML puts it in ` +
        'another file of the acquisition)',
    );
  }
  const image = images[ifd];
  await checkComplete(image, buffer.byteLength);
  const tags = await pageTags(image);
  const { rgb, grey } = sampleKinds(tags);
  let channelIndex = layoutChannel;
  let channelName = layout.channel_names[layoutChannel];
  let channels = layout.size_c;
  let samples;
  if (grey > 1 && layout.size_c === 1) {
    let sampleSaid;
    [channelIndex, sampleSaid] = chooseChannel(Array(grey).fill(null), Array(grey).fill(false), channel);
    samples = await readSamples(image, [channelIndex]);
    [channels, channelName] = [grey, null];
    if (sampleSaid) warnings.push(sampleSaid);
  } else {
    if (layout.size_c === 1 && channel !== null && channel !== undefined)
      chooseChannel([null], [false], channel);
    // One grey channel, uncompressed strips (most microscope exports): read directly (tiffraw.js).
    samples =
      (rgb ? null : await rawGreySamples(image, buffer)) ?? (await readSamples(image, rgb ? [0, 1, 2] : [0]));
  }
  if (tags.photometric === 0) {
    warnings.push('TIFF stores white as zero: used as stored (as training does), not inverted');
  }
  const ome = parseOme(description);
  const meta = parseMetaseries(description);
  const [bits, bitsSource] = declaredBits(tags, samples, ome, meta, parseImagej(description));
  return {
    samples,
    width: image.getWidth(),
    height: image.getHeight(),
    channels: rgb ? 3 : 1,
    declaredBits: bits,
    declaredSource: bitsSource,
    pixelSize: pixelSize(description, tags, ome, meta),
    objective: ome?.objective || meta?.objective || null,
    selection: {
      plane: planeUsed,
      planes: layout.size_z,
      plane_axis: layout.size_z > 1 ? axis : 'none',
      channel: channelIndex,
      channels,
      channel_name: channelName,
      timepoints: layout.size_t,
    },
    warnings,
  };
}

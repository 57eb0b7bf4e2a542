// A lab's own plates → the wells a model can be trained on: image files matched to the plate reader's OD450
// readings well by well, with the layout's concentrations and dose series. The page's twin of
// training/labdata.py `match_lab_data` (same rules, same codes, same messages; both decide the shared cases
// of tests/data/labdata/ alike). Pure: file names and parsed files in (layouts.js parseLayout/parseReader,
// instruments.js), a plain object out (labdata's LabData.to_dict()). No DOM, no I/O.
//
// The rules, in short (labdata.py's docstring has them in full): images → wells by the instrument rules,
// else the well ID in the name with the folder as the plate; the reader's plates are the plates, paired with
// image and layout plates by name (case, spaces, punctuation, "plate", "P" and leading zeros ignored; one on
// each side pairs whatever the names; one layout plate serves every plate); series per plate from the
// layout's series labels, else the plate row; saturated ("OVER"), below-range and unreadable readings,
// controls, undescribed wells, repeats of a series' concentration are left out and named; nothing matched, a
// single concentration or constant readings are refused with the reason; too few series for the
// cross-validation by series is a warning.
import { parseWellId } from './concentrations.js';
import { groupWells, reading as imageName, parseInstrumentPath } from './instruments.js';
import { CV_FOLDS, N_VAL_SERIES } from './train/split.js';

/** Image files the matching considers, by suffix (labdata.IMAGE_SUFFIXES). */
const IMAGE_RE = /\.(?:tif|tiff|png|jpg|jpeg|bmp|webp)$/i;
/** Text that marks a layout or reader file as made by nostain's simulator (labdata.SYNTHETIC_MARK). */
export const SYNTHETIC_MARK = 'nostain synthetic';
/** The OD450 range a training reading must lie in (training/manifest.py OD450_RANGE). */
export const OD450_RANGE = [-0.1, 5.0];

/** Why a well is left out: code → words (labdata.py's _LEFT_OUT_WORDS). */
const LEFT_OUT_WORDS = {
  saturated: 'the reading is saturated',
  below_range: "the reading is below the reader's range",
  invalid: 'the reading is not a number',
  od450_range: `the reading is outside ${formatG(OD450_RANGE[0])}–${formatG(OD450_RANGE[1])} OD450`,
  no_layout: 'the layout gives no concentration for this well',
  blank: 'a blank control (no cells)',
  kill: 'a killed-cell control',
  no_series: 'the layout gives other wells a series but not this one',
  no_drug: 'no drug: the layout names none for this well and none was given',
  repeat: 'its dose series already has a well at this concentration',
};

/** A number as Python's `format(x, 'g')` writes it (6 significant digits, no trailing zeros). */
export function formatG(x) {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(6)))));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, power] = x.toExponential(5).split('e');
    const digits = mantissa.replace(/\.?0+$/, '');
    const p = Number(power);
    return `${digits}e${p < 0 ? '-' : '+'}${String(Math.abs(p)).padStart(2, '0')}`;
  }
  return String(Number(x.toPrecision(6)));
}

/** The name by which plates are paired: "plate1", "Plate 01", "P1" → "1" (null stays null). */
export function plateKey(label) {
  if (label === null || label === undefined) return null;
  const text = label
    .toLowerCase()
    .replaceAll('plate', '')
    .replace(/[^0-9a-z]/g, '');
  return text.replace(/^p(?=\d)/, '').replace(/\d+/g, (digits) => String(Number.parseInt(digits, 10)));
}

/**
 * The fewest series for `folds`-fold cross-validation by series: every fold's training part must keep
 * `valSeries` series for early stopping and one to train on (labdata.cv_min_series).
 */
export function cvMinSeries(folds = CV_FOLDS, valSeries = N_VAL_SERIES) {
  if (folds < 2 || valSeries < 0)
    throw new RangeError(`folds must be >= 2 and valSeries >= 0; got ${folds}, ${valSeries}`);
  let n = folds;
  while (n - Math.ceil(n / folds) < valSeries + 1) n++;
  return n;
}

/** Does any of these file texts hold SYNTHETIC_MARK (a file nostain's simulator wrote)? */
export function markedSynthetic(texts) {
  return texts.some((text) => text.includes(SYNTHETIC_MARK));
}

/** A left-out well's reason in words, naming the well (labdata LeftOut.message). */
export function leftOutMessage({ plate, well, reason, text }) {
  const said = !text ? '' : reason === 'repeat' ? ` (${text})` : ` ('${text}')`;
  return `plate ${plate}, well ${well}: ${LEFT_OUT_WORDS[reason]}${said}`;
}

/** The instrument rules, else the well ID in the file name with its folder as the plate. */
function readImageName(path) {
  const parsed = parseInstrumentPath(path);
  if (parsed !== null) return parsed; // an ambiguous path is reported by groupWells
  const parts = path.split(/[\\/]+/).filter(Boolean);
  const well = parts.length ? parseWellId(parts.at(-1)) : null;
  if (well === null) return null;
  return imageName('name', { plate: parts.length > 1 ? parts.at(-2) : null, well });
}

/** A file name's stem (the last path part without its last suffix), as Python's PurePosixPath.stem. */
function stemOf(name) {
  const last = name.replaceAll('\\', '/').split('/').at(-1);
  const dot = last.lastIndexOf('.');
  return dot > 0 ? last.slice(0, dot) : last;
}

/**
 * Plates of several parsed files by label. Files that each hold one plate under the same label (one
 * unnamed grid each, all "1") name their plate after the file; any other label given twice is a problem.
 */
function platesOf(files, what, problems, notes) {
  const counts = new Map();
  for (const [, parsed] of files)
    for (const plate of parsed.plates) counts.set(plate.plate, (counts.get(plate.plate) ?? 0) + 1);
  const plates = new Map();
  for (const [name, parsed] of files) {
    problems.push(...parsed.problems);
    for (let plate of parsed.plates) {
      if (counts.get(plate.plate) > 1 && parsed.plates.length === 1) {
        const label = stemOf(name);
        notes.push({
          code: 'plate_named_after_file',
          message:
            `${name}: its plate '${plate.plate}' is in other ${what} files too; ` +
            `named '${label}' after the file`,
        });
        plate = { ...plate, plate: label };
      }
      if (plates.has(plate.plate)) {
        problems.push(`plate ${plate.plate} is in two ${what} files; the first is used`);
        continue;
      }
      plates.set(plate.plate, plate);
    }
  }
  return plates;
}

/** Each label's partners among `others`; and whether a pair's names differ. */
function pair(labels, others, oneForAll) {
  if (others.length === 1 && (labels.length === 1 || oneForAll)) {
    const [only] = others;
    return {
      pairs: new Map(labels.map((label) => [label, [only]])),
      renamed: labels.some((label) => plateKey(label) !== plateKey(only)),
    };
  }
  const pairs = new Map(
    labels.map((label) => [label, others.filter((o) => o !== null && plateKey(o) === plateKey(label))]),
  );
  return { pairs, renamed: false };
}

/** A01…H12 order: by row letter, then column number. */
function compareWells(a, b) {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : Number(a.slice(1)) - Number(b.slice(1));
}

/** One well with a reading and images: matched, or left out with its reason. */
function judgeWell(name, well, reading, images, layout, { drug, layoutHasSeries, tally }) {
  const leave = (reason, text = null) => tally.leftOut.push({ plate: name, well, images, reason, text });
  if (reading.od450 === null) return leave(reading.flag ?? 'invalid', reading.text);
  if (!(OD450_RANGE[0] <= reading.od450 && reading.od450 <= OD450_RANGE[1])) return leave('od450_range');
  const spot = layout?.[well] ?? null;
  if (spot === null) return leave('no_layout');
  if (spot.concentration_um === null)
    return leave(spot.control === 'blank' || spot.control === 'kill' ? spot.control : 'no_layout');
  if (layoutHasSeries && !spot.series) return leave('no_series');
  const wellDrug = spot.drug || drug;
  if (!wellDrug) return leave('no_drug');
  const series = `${name}-${layoutHasSeries ? spot.series : well[0]}`;
  const dose = JSON.stringify([series, spot.concentration_um]);
  if (!tally.doses.has(dose)) tally.doses.set(dose, well);
  const kept = tally.doses.get(dose);
  if (kept !== well) return leave('repeat', kept);
  tally.matched.push({
    plate: name,
    well,
    images,
    concentration_um: spot.concentration_um,
    od450: reading.od450,
    series,
    drug: wellDrug,
    control: spot.control ?? null,
  });
}

function refusal(matched) {
  if (!matched.length)
    return {
      code: 'nothing_matched',
      message: 'no well has an image, a usable reading and a concentration: nothing to train on',
    };
  const concentrations = new Set(matched.map((m) => m.concentration_um));
  if (concentrations.size < 2)
    return {
      code: 'single_concentration',
      message:
        `all ${matched.length} matched wells are at one concentration (${formatG([...concentrations][0])} µM): ` +
        'a model of a dose response needs wells at several concentrations',
    };
  const readings = new Set(matched.map((m) => m.od450));
  if (readings.size < 2)
    return {
      code: 'constant_readings',
      message:
        `all ${matched.length} matched readings are the same (${formatG([...readings][0])} OD450): ` +
        'there is nothing for a model to learn',
    };
  return null;
}

function warnings(matched, minSeries, { layoutEverywhere, renamed }) {
  const notes = [];
  if (layoutEverywhere)
    notes.push({
      code: 'layout_for_every_plate',
      message: 'the layout describes one plate: it is used for every plate',
    });
  notes.push(...renamed.map((message) => ({ code: 'plates_paired_by_position', message })));
  const nSeries = new Set(matched.map((m) => m.series)).size;
  if (matched.length && nSeries < minSeries)
    notes.push({
      code: 'few_series',
      message:
        `${nSeries} dose series: cross-validation by series needs at least ${minSeries}; ` +
        'use a plain train/test split',
    });
  return notes;
}

/**
 * Match image files to readings well by well, with the layout's concentrations and series.
 *
 * @param {string[]} images  image file paths relative to the dropped folder ("plate1/B07.jpg"); files that
 *   are not images by their suffix are skipped
 * @param {[string, {plates: object[], problems: string[]}][]} layouts  each file's name and its
 *   layouts.js parseLayout result
 * @param {[string, {plates: object[], problems: string[]}][]} readings  each file's name and its
 *   layouts.js parseReader result
 * @param {{drug?: string|null, platePrefix?: string, folds?: number, valSeries?: number,
 *   brightField?: number|string|null, synthetic?: boolean}} [options]  drug: of wells whose layout names
 *   none; platePrefix: put before every plate name; folds, valSeries: the cross-validation whose series need
 *   sets the few_series warning; brightField: the channel to keep when the names do not say;
 *   channelNames: ImageXpress wavelength → name from a dropped .HTD file (the page's extra: the CLI reads
 *   none); synthetic: the inputs are simulated
 * @returns {object}  labdata's LabData.to_dict(): n_images, n_readings, n_matched, n_matched_images,
 *   n_series, cv_min_series, series_from ('layout'|'plate_row'), synthetic, plates, matched ({plate, well,
 *   images, concentration_um (µM), od450, series, drug, control}), readings_without_image ({plate, well}),
 *   images_without_reading, left_out ({plate, well, images, reason, text}), unread_images,
 *   channels_left_out ({channel, files}), thumbnails, problems, warnings ({code, message}), refused
 *   ({code, message} or null)
 */
export function matchLabData(images, layouts, readings, options = {}) {
  const {
    drug = null,
    platePrefix = '',
    folds = CV_FOLDS,
    valSeries = N_VAL_SERIES,
    brightField = null,
    channelNames = {},
    synthetic = false,
  } = options;
  const problems = [];
  const fileNotes = [];
  const readerPlates = platesOf(readings, 'reader', problems, fileNotes);
  const layoutPlates = platesOf(layouts, 'layout', problems, fileNotes);
  const imageFiles = images.filter((path) => IMAGE_RE.test(path));
  const groups = groupWells(
    imageFiles.map((path) => ({ name: path, parsed: readImageName(path) })),
    { brightField, channelNames },
  );
  problems.push(...groups.problems);

  const imageLabels = [...new Set(groups.wells.map((w) => w.plate))];
  const byImagePlate = new Map();
  for (const files of groups.wells) {
    if (!byImagePlate.has(files.plate)) byImagePlate.set(files.plate, new Map());
    byImagePlate.get(files.plate).set(files.well, files);
  }
  const readerLabels = [...readerPlates.keys()];
  const imagePairs = pair(readerLabels, imageLabels, false);
  const layoutPairs = pair(readerLabels, [...layoutPlates.keys()], true);
  const layoutHasSeries = [...layoutPlates.values()].some((p) =>
    Object.values(p.wells).some((w) => w.series),
  );

  const tally = { matched: [], leftOut: [], withoutImage: [], doses: new Map() };
  const pairings = [];
  const withoutReading = [];
  const usedImagePlates = new Set();
  for (const [label, plate] of readerPlates) {
    const name = `${platePrefix}${label}`;
    const partners = imagePairs.pairs.get(label);
    for (const partner of partners) usedImagePlates.add(partner);
    const filesByWell = new Map();
    for (const partner of partners)
      for (const [well, files] of byImagePlate.get(partner) ?? [])
        filesByWell.set(well, [...(filesByWell.get(well) ?? []), ...files.files]);
    const layoutLabel = layoutPairs.pairs.get(label)[0] ?? null;
    const layout = layoutLabel === null ? null : layoutPlates.get(layoutLabel).wells;
    pairings.push({ plate: name, reading: label, images: partners.map((p) => p ?? ''), layout: layoutLabel });
    for (const well of Object.keys(plate.wells).sort(compareWells)) {
      if (!filesByWell.has(well)) {
        tally.withoutImage.push([name, well]);
        continue;
      }
      judgeWell(name, well, plate.wells[well], filesByWell.get(well), layout, {
        drug,
        layoutHasSeries,
        tally,
      });
    }
    for (const [well, paths] of filesByWell) if (!(well in plate.wells)) withoutReading.push(...paths);
  }
  for (const files of groups.wells)
    if (!usedImagePlates.has(files.plate)) withoutReading.push(...files.files);
  const renamed = [];
  if (imagePairs.renamed && imageLabels[0] !== null) {
    renamed.push(
      `the images' plate '${imageLabels[0] || '(top folder)'}' is taken as the reader's plate '${readerLabels[0]}'`,
    );
  }
  if (layoutPairs.renamed && layoutPlates.size === 1 && readerPlates.size === 1) {
    renamed.push(
      `the layout's plate '${[...layoutPlates.keys()][0]}' is taken as the reader's plate '${readerLabels[0]}'`,
    );
  }
  const minSeries = cvMinSeries(folds, valSeries);
  const { matched } = tally;
  return {
    n_images: imageFiles.length,
    n_readings: [...readerPlates.values()].reduce((n, p) => n + Object.keys(p.wells).length, 0),
    n_matched: matched.length,
    n_matched_images: matched.reduce((n, m) => n + m.images.length, 0),
    n_series: new Set(matched.map((m) => m.series)).size,
    cv_min_series: minSeries,
    series_from: layoutHasSeries ? 'layout' : 'plate_row',
    synthetic,
    plates: pairings,
    matched,
    readings_without_image: tally.withoutImage.map(([plate, well]) => ({ plate, well })),
    images_without_reading: withoutReading,
    left_out: tally.leftOut,
    unread_images: groups.unrecognised,
    channels_left_out: groups.left_out.map(({ channel, files }) => ({ channel, files })),
    thumbnails: groups.thumbnails,
    problems,
    warnings: [
      ...fileNotes,
      ...warnings(matched, minSeries, {
        layoutEverywhere: layoutPlates.size === 1 && readerPlates.size > 1,
        renamed,
      }),
    ],
    refused: refusal(matched),
  };
}

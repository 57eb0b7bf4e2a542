// The curves a drop of images makes, as its plate layout says: one per plate, per series (or drug) of the
// layout and per time point, the plate's control wells shared by its curves. Pure functions (no DOM).
//
// A layout plate is matched to the images' plate by name: the same letters and digits ("Plate_2" = "plate 2"),
// or the same plate number ("P2", "plate02", "Plate 2 (dox)" and the layout's "2"). A layout of one plate
// is every plate's; a plate that matches none (or two) gets no concentrations from it, and the notes say so.
import { parseNameConcentration, parseWellId } from './concentrations.js';

const MINUTES_PER_HOUR = 60;
const MS_PER_HOUR = 3_600_000;

const normal = (label) =>
  String(label ?? '')
    .replace(/[^A-Za-z0-9]+/g, '')
    .toLowerCase();

/** The plate number a label names ("2", "P2", "plate_02", "Plate 2 (dox)"), or null. */
function plateNumber(label) {
  const text = String(label ?? '').trim();
  if (/^\d+$/.test(text)) return Number(text);
  const m = /(?:^|[^A-Za-z0-9])(?:plate|p)[\s_-]*(\d+)(?!\d)/i.exec(text) ?? /^(?:plate|p)(\d+)$/i.exec(text);
  return m ? Number(m[1]) : null;
}

function samePlate(layoutLabel, imageLabel) {
  if (normal(layoutLabel) !== '' && normal(layoutLabel) === normal(imageLabel)) return true;
  const number = plateNumber(layoutLabel);
  return number !== null && number === plateNumber(imageLabel);
}

/**
 * The layout plate of the images of one plate.
 *
 * @param {string|null} plate  the images' plate label (null: loose files of one plate)
 * @param {{plate: string, size: number, wells: object, source: string}[]} layoutPlates  every imported one
 * @returns {{layout: object|null, problem: string|null}}
 */
export function layoutForPlate(plate, layoutPlates) {
  if (!layoutPlates.length) return { layout: null, problem: null };
  if (layoutPlates.length === 1) return { layout: layoutPlates[0], problem: null };
  const matches = layoutPlates.filter((l) => plate !== null && samePlate(l.plate, plate));
  if (matches.length === 1) return { layout: matches[0], problem: null };
  const names = layoutPlates.map((l) => l.plate).join(', ');
  const which = plate === null ? 'the loose images (no plate folder)' : `plate ${plate}`;
  const why = matches.length ? `more than one of them matches` : 'none of them is this plate';
  return {
    layout: null,
    problem:
      `${which}: the layouts describe plates ${names} and ${why}, so its wells get no concentration ` +
      'from a layout (name the plate folders, or the grids’ titles, alike: "Plate 2" ↔ plate2)',
  };
}

function fileName(path) {
  return String(path).split(/[\\/]/).at(-1);
}

/** When an image was taken: {kind, value} from its instrument name, or null. */
function timeOf(site) {
  if (!site) return null;
  if (site.elapsed_minutes !== null) return { kind: 'elapsed', value: site.elapsed_minutes };
  if (site.acquired !== null) return { kind: 'acquired', value: site.acquired };
  if (site.timepoint !== null) return { kind: 'point', value: site.timepoint };
  return null;
}

const timeKey = (time) => (time ? `${time.kind}:${time.value}` : '');

/** Hours after the plate's first read, when the names say (elapsed time, or acquisition dates). */
function readHours(time, first) {
  if (time?.kind === 'elapsed') return time.value / MINUTES_PER_HOUR;
  if (time?.kind === 'acquired') return (Date.parse(time.value) - Date.parse(first.value)) / MS_PER_HOUR;
  return null;
}

function timeText(time, hours) {
  if (!time) return '';
  if (hours !== null) return `${Number(hours.toFixed(2))} h`;
  return `time point ${time.value}`;
}

function compareTime(a, b) {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  return a.kind === 'acquired' ? a.value.localeCompare(b.value) : a.value - b.value;
}

/** A layout well that serves every series of its plate: a control (vehicle, untreated, blank, kill). */
const isSharedControl = (lw) => !lw.series && !lw.drug && (lw.control !== null || lw.concentration_um === 0);

/**
 * Sort a drop's images into curves.
 *
 * @param {{file: File, path: string, plate: string|null, site: object|null}[]} images  planImport's images
 * @param {{plate: string, size: number, wells: object, source: string}[]} layoutPlates  the session's
 *   layout plates (layouts.js parseLayout's plates, each with the file it came from)
 * @returns {{curves: {key: string, label: string, plate: string|null, series: string|null,
 *   drug: string|null, readTimeH: number|null, course: string|null, layout: object|null,
 *   images: object[]}[], left: {path: string, kind: string, reason: string}[], notes: string[]}}
 *   curves sorted by plate, series (layout order) and time; each image is {...image, well, layoutWell}
 *   (well: its well ID or ''; layoutWell: the layout's entry, or null); a control well shared by several
 *   series is the same object in each of their curves; course: the key shared by one series' reads at
 *   different times (a time course), null for a single read; readTimeH: hours after the first read (from
 *   elapsed times or acquisition dates; null when the names give only time-point numbers)
 */
export function arrangeCurves(images, layoutPlates) {
  const left = [];
  const notes = [];
  const plates = new Map();
  for (const image of images) {
    if (!plates.has(image.plate)) plates.set(image.plate, []);
    plates.get(image.plate).push(image);
  }
  const specs = [];
  for (const [plate, members] of plates) {
    const { layout, problem } = layoutForPlate(plate, layoutPlates);
    if (problem) notes.push(problem);
    const times = [...new Map(members.map((m) => [timeKey(timeOf(m.site)), timeOf(m.site)])).values()].sort(
      compareTime,
    );
    const timed = times.length > 1;
    const seriesOrder = layout
      ? [...new Set(Object.values(layout.wells).map((w) => w.series ?? w.drug ?? null))]
      : [null];
    const byKey = new Map();
    const shared = [];
    for (const image of members) {
      const well = image.site?.well ?? parseWellId(fileName(image.path)) ?? '';
      const placed = { ...image, well, layoutWell: null };
      if (layout && !well) {
        if (parseNameConcentration(fileName(image.path)).um === null) {
          left.push({
            path: image.path,
            kind: 'no_well',
            reason: 'no well ID in the name, so the layout cannot place it (name the well, e.g. _B07)',
          });
          continue;
        }
      } else if (layout) {
        placed.layoutWell = layout.wells[well] ?? null;
        if (!placed.layoutWell) {
          left.push({
            path: image.path,
            kind: 'no_concentration',
            reason: `the layout (${layout.source}, plate ${layout.plate}) gives well ${well} no concentration`,
          });
          continue;
        }
      }
      const time = timed ? timeOf(image.site) : null;
      const lw = placed.layoutWell;
      if (lw && isSharedControl(lw) && seriesOrder.some((s) => s !== null)) {
        shared.push({ placed, time });
        continue;
      }
      const series = lw ? (lw.series ?? lw.drug ?? null) : null;
      const key = JSON.stringify([plate, series, timeKey(time)]);
      if (!byKey.has(key)) byKey.set(key, { key, plate, series, time, layout, images: [] });
      byKey.get(key).images.push(placed);
    }
    for (const { placed, time } of shared) {
      const targets = [...byKey.values()].filter((s) => timeKey(s.time) === timeKey(time));
      if (!targets.length) {
        const key = JSON.stringify([plate, null, timeKey(time)]);
        byKey.set(key, { key, plate, series: null, time, layout, images: [] });
        targets.push(byKey.get(key));
      }
      for (const spec of targets) spec.images.push(placed);
    }
    const order = (s) => seriesOrder.indexOf(s.series);
    const sorted = [...byKey.values()].sort((a, b) => order(a) - order(b) || compareTime(a.time, b.time));
    for (const spec of sorted) {
      const hours = timed ? readHours(spec.time, times[0]) : null;
      const drug = spec.series !== null && layout ? drugOf(spec) : null;
      specs.push({
        key: spec.key,
        label: [plate, spec.series, timeText(spec.time, hours)].filter(Boolean).join(' · '),
        plate,
        series: spec.series,
        drug,
        readTimeH: hours,
        course: timed ? JSON.stringify([plate, spec.series]) : null,
        layout,
        images: spec.images,
      });
    }
  }
  return { curves: specs, left, notes };
}

/** The drug of a curve's treated wells when the layout names one (a drug grid, or "Dox 10 µM" cells). */
function drugOf(spec) {
  const drugs = new Set(spec.images.map((i) => i.layoutWell?.drug).filter(Boolean));
  return drugs.size === 1 ? [...drugs][0] : null;
}

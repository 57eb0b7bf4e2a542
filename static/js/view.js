// From the session's state to the page: what the wells table, the progress line, the results and the curve
// list show, computed from plain data and handed to ui.js. Renders at most every RENDER_INTERVAL_MS (less often
// while a plate is scored).
import { groupReplicates, UNITS } from './concentrations.js';
import { channelQuestions, offeredOptions } from './image-options.js';
import { importSummary } from './imports.js';
import {
  fitOptions,
  metricRows,
  outlierRows,
  plateMaps,
  plotValue,
  UNIT_TEXT,
  wellValues,
} from './results.js';
import * as session from './session.js';
import * as ui from './ui.js';
import { fieldFlags, fieldName } from './well-fields.js';

/** Instruments as people name them (instruments.js reading formats). */
const FORMAT_NAMES = {
  imagexpress: 'ImageXpress',
  opera: 'Opera/Operetta',
  incucyte: 'Incucyte',
  cytation: 'Cytation',
  folder: 'well folders',
};

/** The page is redrawn at most this often (ms)… */
const RENDER_INTERVAL_MS = 200;
/** … and while a plate is scored, when the workers need the CPU, at most this often (ms). */
const SCORING_RENDER_INTERVAL_MS = 500;

/** What the wells table is told of the analysis while its plate is scored: no current fit. */
const BUSY_ANALYSIS = Object.freeze({
  job: null,
  current: false,
  fit: null,
  outliers: null,
  leftOut: new Map(),
  values: new Map(),
  viability: false,
  unit: UNIT_TEXT.response,
});

/** Table order: concentration (missing last), then plate, well ID, then name. */
function byConcentrationThenWell(a, b) {
  const ca = a.c.um ?? Infinity;
  const cb = b.c.um ?? Infinity;
  if (ca !== cb) return ca < cb ? -1 : 1;
  return (
    a.w.plate.localeCompare(b.w.plate, undefined, { numeric: true }) ||
    (a.w.well || '~').localeCompare(b.w.well || '~') ||
    a.name.localeCompare(b.name, undefined, { numeric: true })
  );
}

/**
 * The wells a curve's heatmaps show: those of its first plate (a curve made from a drop holds one plate).
 *
 * @returns {{plate: string, wells: {id: number, status: string, well: string, od450: number|null}[]}}
 */
function mapWells(curve) {
  const groups = session.plateWells(curve);
  const plate = groups[0]?.rep.plate ?? '';
  const wells = groups
    .filter((g) => g.rep.plate === plate)
    .map((g) => ({ id: g.id, status: g.status, well: g.rep.well, od450: g.od450 }));
  return { plate, wells };
}

/** One field of a well as the wells table lists it. */
function fieldRow(image, index) {
  return {
    id: image.id,
    label: fieldName(image, index),
    name: image.name,
    thumb: image.thumb,
    od450: image.od450,
    status: image.status,
    problem: image.problem?.message ?? null,
    warnings: [...image.trustFlags, ...image.warnings],
    leftOut: image.fieldLeftOut,
  };
}

export class View {
  #state;
  #scorer;
  #trust;
  #on;
  #queued = false;
  #lastRender = 0;
  #plotKey = null; // what the chart shows, to redraw only when it changes
  #plotCurve = null; // the curve it shows
  #busyCurve = null; // the curve whose scoring run has had its one full redraw

  /**
   * @param {{state: object, scorer: import('./scoring.js').Scorer, trust: import('./trust.js').TrustCheck,
   *   on: {onToggle: (id: number, use: boolean|null) => void, onConcentration: (id: number, text: string) =>
   *   void, onThumb: (id: number) => void, onOpen: (id: number) => void, onRemove: (id: number) => void,
   *   onControl: (id: number, kind: string|null) => void, onAccept: (id: number) => void,
   *   onUndo: (id: number) => void, onRedo: (id: number) => void, onField: (id: number, use: boolean) =>
   *   void, onChannel: (importId: number, value: number|string) => void, onFileChannel: (importId: number,
   *   key: string, index: number) => void, onImageOptions: (change: {plane?: number|null, window?: string})
   *   => void}}} options  (ids are a well's first image's id; onField's is a field's image id)
   *   state is main.js's session state (curves, activeId, tableUnit, limits, analysis, timeCourse); on are
   *   the user's actions.
   */
  constructor({ state, scorer, trust, on }) {
    this.#state = state;
    this.#scorer = scorer;
    this.#trust = trust;
    this.#on = on;
  }

  /** Render soon: at most every RENDER_INTERVAL_MS, or SCORING_RENDER_INTERVAL_MS while a plate is scored. */
  queue() {
    if (this.#queued) return;
    this.#queued = true;
    const run = this.#scorer.run;
    const interval = run && run.end === null ? SCORING_RENDER_INTERVAL_MS : RENDER_INTERVAL_MS;
    const wait = Math.max(0, this.#lastRender + interval - performance.now());
    setTimeout(
      () =>
        requestAnimationFrame(() => {
          this.#queued = false;
          this.render();
        }),
      wait,
    );
  }

  /** Render the open curve and the curve list now. */
  render() {
    const state = this.#state;
    this.#lastRender = performance.now();
    const curve = state.curves.find((c) => c.id === state.activeId);
    if (!curve) return;
    this.#trust.update(curve);
    ui.renderTrustWarning(curve.trustWarning);
    const counts = session.curveCounts(curve);
    const scoring = counts.queued + counts.scoring > 0;
    // While the open plate is scored, its fit is stale: the wells table and the progress line are redrawn,
    // the results, analysis and imports once when scoring starts and again when the plate is scored (the
    // workers need the CPU: a full redraw costs tens of ms of the page's thread).
    const analysis = scoring ? BUSY_ANALYSIS : this.#analysis(curve);
    const { lines } = session.plateLines(curve);
    const listed = session
      .plateWells(curve)
      .map((g) => ({ g, w: g.rep, name: g.name, c: session.concentrationOf(g.rep, curve, lines) }));
    listed.sort(byConcentrationThenWell);
    ui.renderWells(
      listed.map(({ g, w, c }) => ({
        id: w.id,
        thumb: w.thumb,
        name: g.name,
        well: w.well,
        plate: w.plate,
        concValue: this.#concDisplay(c.um),
        concSource: c.source,
        concNote: g.status === 'problem' ? null : c.note,
        od450: g.od450,
        status: g.status,
        problem: g.problem,
        warnings: g.images.length === 1 ? fieldFlags(g) : [],
        fields: g.images.length === 1 ? null : g.images.map((i, k) => fieldRow(i, k)),
        excluded: w.excluded,
        control: w.control,
        outlier: analysis.leftOut.get(w.id) ?? null,
      })),
      {
        onToggle: this.#on.onToggle,
        onConcentration: this.#on.onConcentration,
        onThumb: this.#on.onThumb,
        onControl: this.#on.onControl,
        onField: this.#on.onField,
      },
    );
    this.#renderProgressLine(curve);
    this.#renderCurveList();
    if (scoring && this.#busyCurve === curve.id) return;
    this.#busyCurve = scoring ? curve.id : null;
    this.#renderResults(curve, analysis);
    this.#renderAnalysis(curve, analysis);
    this.#renderImports();
    ui.renderImageOptions(offeredOptions(curve), { onImageOptions: this.#on.onImageOptions });
  }

  /** What became of each drop's files, and the layout in use. */
  #renderImports() {
    const state = this.#state;
    ui.renderImports(
      state.imports.map((r) => ({
        id: r.id,
        summary: importSummary(r, state.curves),
        channel: r.plan?.channel ?? null,
        formats: (r.plan?.formats ?? []).map((f) => FORMAT_NAMES[f] ?? f),
        choice: r.plan?.choice ?? null,
        channels: r.plan?.channels ?? [],
        questions: channelQuestions(r.records.values()).map((q) => ({
          key: q.key,
          files: q.images.length,
          channels: q.channels,
          message: q.message,
        })),
        notes: [...r.notes, ...r.placeNotes],
      })),
      { onChannel: this.#on.onChannel, onFileChannel: this.#on.onFileChannel },
    );
    ui.renderLayout(state.layout);
  }

  /** The open curve's current fit (null while it is stale) and what it says about each well. */
  #analysis(curve) {
    const state = this.#state;
    const job = session.fitJob(curve, state.curves, state.limits, fitOptions(state.analysis));
    const current = job !== null && curve.fitKey === job.key;
    const fit = current ? curve.fit : null;
    const fitted = session.fittedWells(curve).map((x) => x.well);
    const outliers = fit && state.analysis.outliers ? outlierRows(fit, fitted) : null;
    const leftOut = new Map((outliers ?? []).filter((o) => o.removed).map((o) => [o.id, o.reason]));
    const viability = fit?.wells && state.analysis.fitOn === 'viability';
    return {
      job,
      current,
      fit,
      outliers,
      leftOut,
      values: wellValues(fit, fitted),
      viability,
      unit: UNIT_TEXT[viability ? 'viability' : 'response'],
    };
  }

  /** The analysis form, the "Beyond the IC50" table, the outliers, plate QC and the time course. */
  #renderAnalysis(curve, { fit, outliers, values, unit }) {
    const state = this.#state;
    ui.fillAnalysisForm({ ...state.analysis, readTimeH: curve.readTimeH });
    ui.renderMetrics(metricRows(fit, state.analysis.icPercents), fit?.notes ?? []);
    ui.renderOutliers(outliers, {
      onAccept: this.#on.onAccept,
      onUndo: this.#on.onUndo,
      onRedo: this.#on.onRedo,
    });
    const { plate, wells } = mapWells(curve);
    const maps = plateMaps(wells, values);
    ui.renderPlateQc(fit?.qc ?? null, maps && { ...maps, plate }, unit);
    ui.renderTimeCourseBox(state.timeCourse?.course ?? null, state.timeCourse?.status ?? '');
  }

  #concDisplay(um) {
    if (um === null) return '';
    return String(Number((um / UNITS[this.#state.tableUnit]).toPrecision(6)));
  }

  #renderProgressLine(curve) {
    const n = session.curveCounts(curve);
    const finished = n.done + n.problems;
    const parts = [];
    if (!n.total) parts.push('No images yet.');
    else parts.push(`${finished} of ${n.total} images scored`);
    if (n.wells !== n.total) parts.push(`${n.wells} wells`);
    const run = this.#scorer.run;
    if (run && run.end !== null && n.total && !n.queued && !n.scoring) {
      const ms = run.end - run.start;
      parts.push(`in ${(ms / 1000).toFixed(1)} s (${(ms / run.total).toFixed(0)} ms per image)`);
    }
    if (n.problems) parts.push(`${n.problems} could not be scored (see Notes)`);
    if (n.missingConc) parts.push(`${n.missingConc} without a concentration`);
    if (curve.model && this.#scorer.modelId !== curve.model.id && (n.queued || n.scoring)) {
      parts.push(`waiting for model ${curve.model.name}`);
    }
    ui.renderProgress({ done: finished, total: n.total, text: parts.join(' · ') });
  }

  #renderResults(curve, { job, current, fit, leftOut, values, viability, unit }) {
    const entries = session.scoredWells(curve);
    const n = session.curveCounts(curve);
    ui.renderReplicates(session.replicates(curve));
    const request = job?.request ?? null;
    ui.renderParams(fit, fit?.wells ? unit : null);
    let status = { kind: null, text: '' };
    if (n.queued + n.scoring > 0)
      status = { kind: 'busy', text: 'Scoring images… the curve is fitted when all are done.' };
    else if (current && curve.fitError) status = { kind: 'error', text: `The fit failed: ${curve.fitError}` };
    else if (fit) status = { kind: fit.status === 'ok' ? 'ok' : 'warn', text: fit.message };
    else if (request) status = { kind: 'busy', text: 'Fitting…' };
    else if (entries.length)
      status = { kind: 'warn', text: 'Every scored well is excluded: include some to fit the curve.' };
    else if (n.total) status = { kind: null, text: 'No scored image has a concentration yet.' };
    ui.renderFitStatus(status);
    const hasPoints = entries.length > 0;
    ui.enablePlotDownloads(hasPoints);
    if (!hasPoints) {
      if (this.#plotKey !== null) ui.clearPlot();
      this.#plotKey = null;
      this.#plotCurve = null;
      return;
    }
    if (n.queued + n.scoring > 0 && this.#plotCurve === curve.id) return; // redraw when the plate is scored
    const others = this.#state.curves
      .filter((c) => c !== curve && c.fit?.curve?.concentrations_um?.length)
      .map((c) => ({ label: c.label, curve: c.fit.curve }));
    const points = entries.map((e) => ({
      id: e.well.id,
      name: e.group.name,
      well: e.well.well,
      um: e.um,
      od450: e.od450,
      y: plotValue(fit, { id: e.well.id, od450: e.od450 }, values, viability),
      excluded: e.well.excluded,
      outlier: leftOut.has(e.well.id),
      control: e.well.control,
    }));
    const data = {
      points,
      groups: groupReplicates(
        points.filter((p) => !p.excluded && !p.outlier && !p.control).map((p) => ({ um: p.um, value: p.y })),
      ),
      fit,
      unit,
      others,
      title:
        [curve.label, curve.cellLine, curve.drug].filter(Boolean).join(' · ') +
        (curve.model
          ? ` — model ${curve.model.name}${curve.model.synthetic ? ' (synthetic training data)' : ''}`
          : ''),
    };
    const key = JSON.stringify([curve.id, data]);
    if (key === this.#plotKey) return;
    ui.drawPlot(data, (id) => this.#on.onToggle(id, null));
    this.#plotKey = key;
    this.#plotCurve = curve.id;
  }

  #renderCurveList() {
    const state = this.#state;
    ui.renderCurveList(
      state.curves.map((c) => {
        const n = session.curveCounts(c);
        const waiting = n.queued + n.scoring;
        return {
          id: c.id,
          label: c.label,
          model: c.model?.name,
          n: n.wells,
          ic50: c.fit?.ic50_um ?? null,
          ci: c.fit?.ic50_ci_um,
          message: c.fit?.message,
          pending: waiting ? `${waiting} waiting to be scored` : null,
        };
      }),
      state.activeId,
      { onOpen: this.#on.onOpen, onRemove: this.#on.onRemove },
    );
  }
}

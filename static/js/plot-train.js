// The charts of a training run (Plotly, the global from static/vendor/plotly-basic.min.js): measured vs
// predicted OD450 of the held-out test series (with the identity line), and each test series' Hill curves
// fitted to its measured and to its predicted OD450 on a log concentration axis (plot.js's axis, vehicle
// controls left of the lowest dose). Knows Plotly only; the data come in as plain numbers.
import { logAxisLayout } from './plot.js';

const FONT = {
  family: 'system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif',
  size: 12,
};
const BASE = {
  paper_bgcolor: '#ffffff',
  plot_bgcolor: '#ffffff',
  font: FONT,
  margin: { l: 60, r: 20, t: 40, b: 50 },
  height: 360,
};
const CONFIG = { displaylogo: false, responsive: true };

/** One colour per series. */
const colour = (k, n) => `hsl(${Math.round((360 * k) / Math.max(n, 1))}, 65%, 42%)`;

/**
 * Measured vs predicted OD450 of the test images, one colour per series.
 *
 * @param {HTMLElement} el
 * @param {{series: string, measured: number, predicted: number, concentrationUm: number}[]} points
 * @param {number|null} r2  of the test images (shown in the title)
 */
export function renderScatter(el, points, r2) {
  const series = [...new Set(points.map((p) => p.series))].sort();
  const values = points.flatMap((p) => [p.measured, p.predicted]);
  const lo = Math.min(0, ...values);
  const hi = Math.max(...values) * 1.05;
  const traces = series.map((s, k) => {
    const mine = points.filter((p) => p.series === s);
    return {
      type: 'scatter',
      mode: 'markers',
      name: s,
      x: mine.map((p) => p.measured),
      y: mine.map((p) => p.predicted),
      text: mine.map((p) => `${p.concentrationUm} µM`),
      marker: { color: colour(k, series.length), size: 7 },
      hovertemplate: `${s}, %{text}: measured %{x:.3f}, predicted %{y:.3f}<extra></extra>`,
    };
  });
  traces.push({
    type: 'scatter',
    mode: 'lines',
    name: 'predicted = measured',
    x: [lo, hi],
    y: [lo, hi],
    line: { color: '#9ca3af', dash: 'dash', width: 1 },
    hoverinfo: 'skip',
  });
  const title = `Test series: predicted vs measured OD450${Number.isFinite(r2) ? ` (r² ${r2.toFixed(3)})` : ''}`;
  const layout = {
    ...BASE,
    title: { text: title, font: { size: 14 }, x: 0.01, xanchor: 'left' },
    xaxis: { title: { text: 'Measured OD450' }, range: [lo, hi] },
    yaxis: { title: { text: 'Predicted OD450' }, range: [lo, hi], scaleanchor: 'x' },
    legend: { orientation: 'h', y: -0.25 },
  };
  globalThis.Plotly.react(el, traces, layout, CONFIG);
}

/**
 * The test series' wells and Hill curves: measured (filled, solid line) and predicted (open, dashed).
 *
 * @param {HTMLElement} el
 * @param {{series: string, measured: number, predicted: number, concentrationUm: number}[]} points
 * @param {{series: string, measured: object, predicted: object}[]} curves  /api/fit results per series
 */
export function renderHillCurves(el, points, curves) {
  const doses = [...new Set(points.map((p) => p.concentrationUm).filter((c) => c > 0))];
  const ic50s = curves.flatMap((c) => [c.measured.ic50_um, c.predicted.ic50_um]).filter((x) => x > 0);
  const axis = logAxisLayout(ic50s, doses);
  const at = (um) => (um > 0 ? um : axis.controlX);
  const traces = [];
  curves.forEach((c, k) => {
    const color = colour(k, curves.length);
    const mine = points.filter((p) => p.series === c.series);
    for (const [kind, dash, symbol] of [
      ['measured', 'solid', 'circle'],
      ['predicted', 'dash', 'circle-open'],
    ]) {
      traces.push({
        type: 'scatter',
        mode: 'markers',
        name: `${c.series} ${kind}`,
        legendgroup: `${c.series} ${kind}`,
        showlegend: false,
        x: mine.map((p) => at(p.concentrationUm)),
        y: mine.map((p) => p[kind]),
        marker: { color, symbol, size: 7 },
        hovertemplate: `${c.series} ${kind}: %{y:.3f}<extra></extra>`,
      });
      const fit = c[kind];
      if (fit?.curve)
        traces.push({
          type: 'scatter',
          mode: 'lines',
          name: `${c.series} ${kind}${fit.ic50_um ? ` (IC50 ${Number(fit.ic50_um.toPrecision(3))} µM)` : ''}`,
          legendgroup: `${c.series} ${kind}`,
          x: fit.curve.concentrations_um,
          y: fit.curve.responses,
          line: { color, dash, width: 2 },
          hoverinfo: 'skip',
        });
    }
  });
  const layout = {
    ...BASE,
    title: {
      text: 'Test series: Hill fits, measured vs predicted',
      font: { size: 14 },
      x: 0.01,
      xanchor: 'left',
    },
    xaxis: {
      type: 'log',
      title: { text: 'Concentration (µM)' },
      range: axis.range,
      tickvals: axis.tickvals,
      ticktext: axis.ticktext,
    },
    yaxis: { title: { text: 'OD450' }, rangemode: 'tozero' },
    legend: { orientation: 'h', y: -0.25 },
    shapes: [
      {
        type: 'line',
        x0: axis.breakX,
        x1: axis.breakX,
        yref: 'paper',
        y0: 0,
        y1: 1,
        line: { color: '#d1d5db', dash: 'dot', width: 1 },
      },
    ],
  };
  globalThis.Plotly.react(el, traces, layout, CONFIG);
}

/** Remove a chart. */
export function clearChart(el) {
  if (el.data) globalThis.Plotly.purge(el);
}

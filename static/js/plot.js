// The dose-response chart (Plotly, the global from static/vendor/plotly-basic.min.js): wells, mean ± SD,
// fitted Hill curve and IC50 with its CI on a log concentration axis; vehicle controls (0 µM) and blank/kill
// wells at a marked position left of the lowest dose; wells the outlier test left out marked apart. Knows
// Plotly only; the data come in as plain numbers (predicted OD450 or % viability, as the fit).

const COLORS = {
  well: '#2563eb',
  excluded: '#9ca3af',
  outlier: '#dc2626',
  blank: '#6b7280',
  mean: '#111827',
  fit: '#dc2626',
  ic50: '#b45309',
  other: '#a3a3a3',
};

const fmt = (x) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : String(Number(x.toPrecision(3)));

/**
 * Where the log axis puts things: vehicle controls at `controlX`, a break between it and the doses.
 *
 * @param {number[]} positive  concentrations > 0 (µM) to show (doses, IC50, CI)
 * @param {number[]} doses  tested concentrations > 0 (µM)
 * @returns {{controlX: number, breakX: number, range: [number, number], tickvals: number[], ticktext: string[]}}
 *   range in log10 units (Plotly's convention for log axes)
 */
export function logAxisLayout(positive, doses) {
  const dl = doses.length ? doses.map(Math.log10) : [0];
  const lo = Math.min(...dl);
  const hi = Math.max(...dl);
  const span = Math.max(hi - lo, 1);
  // Show an IC50 or CI outside the tested range, but at most 2 decades beyond it.
  const shown = positive.map(Math.log10).filter((v) => Number.isFinite(v) && v >= lo - 2 && v <= hi + 2);
  const top = Math.max(hi, ...shown);
  const bottom = Math.min(lo, ...shown);
  const gap = Math.max(0.6, 0.15 * span);
  const controlLog = bottom - gap;
  const breakLog = bottom - gap / 2;
  const tickvals = [10 ** controlLog];
  const ticktext = ['control'];
  for (let k = Math.ceil(breakLog + 0.15); k <= Math.floor(top + 0.3); k++) {
    tickvals.push(10 ** k);
    ticktext.push(k >= 0 ? String(10 ** k) : String(Number((10 ** k).toPrecision(1))));
  }
  return {
    controlX: 10 ** controlLog,
    breakX: 10 ** breakLog,
    range: [controlLog - 0.25, top + 0.25],
    tickvals,
    ticktext,
  };
}

/**
 * Draw (or redraw) a curve.
 *
 * @param {HTMLElement} el
 * @param {object} data
 * @param {{id: number, name: string, well: string, um: number, od450: number, y: number, excluded: boolean,
 *   outlier: boolean, control: string|null}[]} data.points  y: the value plotted (the fit's unit); outlier:
 *   left out by the outlier test; control: 'blank' or 'kill' (drawn at the control position)
 * @param {{um: number, mean: number, sd: number|null, n: number}[]} data.groups  replicates of the fitted wells
 * @param {object|null} data.fit  the /api/fit result
 * @param {string} data.title
 * @param {string} [data.unit]  y-axis title (default "Predicted OD450")
 * @param {{label: string, curve: {concentrations_um: number[], responses: number[]}}[]} [data.others]
 *   other curves' fitted lines, drawn faint for comparison
 * @param {(wellId: number) => void} [onWellClick]
 */
export function renderCurve(
  el,
  { points, groups, fit, title, others = [], unit = 'Predicted OD450' },
  onWellClick,
) {
  const Plotly = globalThis.Plotly;
  const doses = points.filter((p) => p.um > 0 && !p.control).map((p) => p.um);
  const censored = fit?.ic50_censored && fit.ic50_censored.censor !== 'none';
  const ci = censored ? [] : (fit?.ic50_ci_um ?? []);
  const extra = censored ? [] : [fit?.ic50_um, ...ci].filter((v) => v > 0);
  const axis = logAxisLayout([...doses, ...extra], doses);
  const xOf = (p) => (p.um > 0 && !p.control ? p.um : axis.controlX);
  const where = (p) => (p.control ? `${p.control} control` : p.um > 0 ? `${fmt(p.um)} µM` : 'control (0 µM)');
  const value = (p) => `OD450 ${p.od450.toFixed(3)}${p.y !== p.od450 ? ` · ${fmt(p.y)} ${unit}` : ''}`;
  const action = (p) =>
    p.excluded
      ? 'excluded — click to include'
      : p.outlier
        ? 'left out by the outlier test'
        : 'click to exclude';
  const wellTrace = (subset, name, color, symbol) => ({
    type: 'scatter',
    mode: 'markers',
    name,
    x: subset.map(xOf),
    y: subset.map((p) => p.y),
    customdata: subset.map((p) => p.id),
    text: subset.map(
      (p) => `${p.name}${p.well ? ` (${p.well})` : ''}<br>${where(p)}<br>${value(p)}<br>${action(p)}`,
    ),
    hovertemplate: '%{text}<extra></extra>',
    marker: { color, symbol, size: 8, opacity: 0.75, line: { width: 1, color } },
  });
  const traces = [];
  for (const o of others) {
    if (!o.curve?.concentrations_um?.length) continue;
    traces.push({
      type: 'scatter',
      mode: 'lines',
      name: o.label,
      x: o.curve.concentrations_um,
      y: o.curve.responses,
      line: { color: COLORS.other, width: 1.5, dash: 'dot' },
      hoverinfo: 'name',
    });
  }
  const plain = (p) => !p.excluded && !p.outlier && !p.control;
  traces.push(wellTrace(points.filter(plain), 'wells', COLORS.well, 'circle'));
  const extraTraces = [
    [points.filter((p) => p.excluded), 'excluded', COLORS.excluded, 'x-thin-open'],
    [points.filter((p) => !p.excluded && p.outlier), 'outliers (left out)', COLORS.outlier, 'circle-x-open'],
    [points.filter((p) => !p.excluded && p.control), 'blank / kill', COLORS.blank, 'square-open'],
  ];
  for (const [subset, name, color, symbol] of extraTraces)
    if (subset.length) traces.push(wellTrace(subset, name, color, symbol));
  traces.push({
    type: 'scatter',
    mode: 'markers',
    name: 'mean ± SD',
    x: groups.map(xOf), // a group has no control kind: at its concentration
    y: groups.map((g) => g.mean),
    error_y: {
      type: 'data',
      array: groups.map((g) => g.sd ?? 0),
      visible: true,
      color: COLORS.mean,
      thickness: 1.5,
      width: 6,
    },
    marker: {
      color: COLORS.mean,
      symbol: 'line-ew-open',
      size: 16,
      line: { width: 2.5, color: COLORS.mean },
    },
    text: groups.map(
      (g) =>
        `${g.um > 0 ? `${fmt(g.um)} µM` : 'control'}: mean ${g.mean.toFixed(3)}` +
        `${g.sd === null ? '' : ` ± ${g.sd.toFixed(3)}`} (n = ${g.n})`,
    ),
    hovertemplate: '%{text}<extra></extra>',
  });
  const shapes = [
    {
      type: 'line',
      xref: 'x',
      yref: 'paper',
      x0: axis.breakX,
      x1: axis.breakX,
      y0: 0,
      y1: 1,
      line: { color: '#d1d5db', width: 1, dash: 'dash' },
    },
  ];
  const annotations = [];
  if (fit?.curve?.concentrations_um?.length) {
    traces.push({
      type: 'scatter',
      mode: 'lines',
      name: 'Hill fit',
      x: fit.curve.concentrations_um,
      y: fit.curve.responses,
      line: { color: COLORS.fit, width: 2.5 },
      hoverinfo: 'skip',
    });
  }
  if (censored) {
    annotations.push({
      xref: 'paper',
      yref: 'paper',
      x: 1,
      y: 1,
      xanchor: 'right',
      text: `IC50 ${fit.ic50_censored.text}`,
      showarrow: false,
      font: { color: COLORS.ic50, size: 12 },
    });
  } else if (fit?.ic50_um > 0 && fit.top !== null && fit.bottom !== null) {
    const y = (fit.top + fit.bottom) / 2;
    const [lo, hi] = ci;
    const hasCi = lo > 0 && hi > 0;
    traces.push({
      type: 'scatter',
      mode: 'markers',
      name: 'IC50 (95 % CI)',
      x: [fit.ic50_um],
      y: [y],
      marker: { color: COLORS.ic50, size: 11, symbol: 'diamond' },
      error_x: hasCi
        ? {
            type: 'data',
            symmetric: false,
            array: [hi - fit.ic50_um],
            arrayminus: [fit.ic50_um - lo],
            color: COLORS.ic50,
            thickness: 2,
            width: 6,
          }
        : { visible: false },
      hovertemplate: `IC50 ${fmt(fit.ic50_um)} µM${hasCi ? ` (95 % CI ${fmt(lo)}–${fmt(hi)})` : ''}<extra></extra>`,
    });
    annotations.push({
      x: Math.log10(fit.ic50_um),
      y,
      xref: 'x',
      yref: 'y',
      text: `IC50 ${fmt(fit.ic50_um)} µM`,
      showarrow: true,
      arrowhead: 0,
      ax: 40,
      ay: -30,
      font: { color: COLORS.ic50, size: 12 },
    });
  }
  const layout = {
    title: { text: title, font: { size: 15 }, x: 0.01, xanchor: 'left' },
    xaxis: {
      type: 'log',
      title: { text: 'Concentration (µM, log scale)' },
      range: axis.range,
      tickvals: axis.tickvals,
      ticktext: axis.ticktext,
      zeroline: false,
      showgrid: true,
      gridcolor: '#f1f5f9',
    },
    yaxis: { title: { text: unit }, rangemode: 'tozero', zeroline: false, gridcolor: '#f1f5f9' },
    legend: { orientation: 'h', y: -0.22, x: 0 },
    margin: { l: 60, r: 20, t: 40, b: 70 },
    shapes,
    annotations,
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    font: { family: 'system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif', size: 12 },
  };
  const config = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'],
  };
  Plotly.react(el, traces, layout, config);
  el.removeAllListeners?.('plotly_click');
  if (onWellClick) {
    el.on('plotly_click', (ev) => {
      const p = ev.points?.[0];
      if (p && Number.isInteger(p.customdata)) onWellClick(p.customdata);
    });
  }
}

/** Remove the chart. */
export function clearPlot(el) {
  globalThis.Plotly.purge(el);
}

/**
 * Download the chart as an image file.
 *
 * @param {HTMLElement} el
 * @param {'png'|'svg'} format
 * @param {string} filename  without extension
 */
export function downloadPlot(el, format, filename) {
  return globalThis.Plotly.downloadImage(el, {
    format,
    filename,
    width: 960,
    height: 600,
    scale: format === 'png' ? 2 : 1,
  });
}

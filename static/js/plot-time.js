// The time-course chart (Plotly, the global from static/vendor/plotly-basic.min.js): mean % viability per
// concentration against time (top), and GR per interval between reads at the interval's midpoint (bottom).
// Knows Plotly only; the data come in as the /api/timecourse response.

const fmt = (um) => (um === 0 ? 'vehicle' : `${Number(um.toPrecision(3))} µM`);

/** One colour per concentration, light (low) to dark (high). */
function colour(k, n) {
  const t = n > 1 ? k / (n - 1) : 1;
  return `hsl(${220 - 200 * t}, 70%, ${55 - 15 * t}%)`;
}

/**
 * Draw (or redraw) a time course.
 *
 * @param {HTMLElement} el
 * @param {{times_h: number[], concentrations: {time_h: number, conc_um: number, mean_viability_percent: number,
 *   sd_viability_percent: number|null}[], gr: {kind: string, t_mid_h: number, conc_um: number, gr: number|null}[],
 *   label: string}} course
 */
export function renderTimeCourse(el, course) {
  const doses = [...new Set(course.concentrations.map((c) => c.conc_um))].sort((a, b) => a - b);
  const traces = [];
  doses.forEach((um, k) => {
    const rows = course.concentrations.filter((c) => c.conc_um === um);
    const gr = course.gr.filter((g) => g.kind === 'interval' && g.conc_um === um && g.gr !== null);
    const color = colour(k, doses.length);
    traces.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: fmt(um),
      legendgroup: fmt(um),
      x: rows.map((r) => r.time_h),
      y: rows.map((r) => r.mean_viability_percent),
      error_y: { type: 'data', array: rows.map((r) => r.sd_viability_percent ?? 0), visible: true, width: 3 },
      line: { color },
      marker: { color, size: 6 },
      hovertemplate: `${fmt(um)}: %{y:.1f} % at %{x} h<extra></extra>`,
    });
    if (um > 0 && gr.length)
      traces.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: `GR ${fmt(um)}`,
        legendgroup: fmt(um),
        showlegend: false,
        xaxis: 'x2',
        yaxis: 'y2',
        x: gr.map((g) => g.t_mid_h),
        y: gr.map((g) => g.gr),
        line: { color, dash: 'dot' },
        marker: { color, size: 6, symbol: 'diamond' },
        hovertemplate: `${fmt(um)}: GR %{y:.2f} (interval around %{x} h)<extra></extra>`,
      });
  });
  const layout = {
    title: {
      text: `${course.label}: viability and GR over time`,
      font: { size: 14 },
      x: 0.01,
      xanchor: 'left',
    },
    xaxis: { title: { text: 'Time after treatment (h)' }, anchor: 'y' },
    yaxis: { title: { text: '% viability' }, domain: [0.55, 1], rangemode: 'tozero' },
    xaxis2: { title: { text: 'Time after treatment (h), interval midpoint' }, anchor: 'y2', matches: 'x' },
    yaxis2: { title: { text: 'GR (per interval)' }, domain: [0, 0.4], range: [-1.05, 1.05], zeroline: true },
    legend: { orientation: 'v', x: 1.02, y: 1 },
    margin: { l: 60, r: 120, t: 40, b: 50 },
    height: 520,
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    font: { family: 'system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif', size: 12 },
  };
  globalThis.Plotly.react(el, traces, layout, { displaylogo: false, responsive: true });
}

/** Remove the chart. */
export function clearTimeCourse(el) {
  if (el.data) globalThis.Plotly.purge(el);
}

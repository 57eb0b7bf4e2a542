// Every network call of the page (no DOM): the server's JSON API (app/schemas.py) — /api/fit,
// /api/report.csv, /api/report.zip, /api/timecourse, /api/limits, POST /api/models — and the models'
// card.json files.

/** An HTTP error with the server's explanation (FastAPI's `detail`, or app/errors.py's `problems`). */
export class ApiError extends Error {
  constructor(status, message, problems = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problems = problems;
  }
}

async function request(url, init = {}) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, `the server did not answer (${err.message}); is nostain still running?`);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    let problems = [];
    try {
      const json = await response.json();
      if (typeof json.detail === 'string') detail = json.detail;
      else if (json.detail) detail = JSON.stringify(json.detail);
      problems = json.problems ?? [];
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, detail, problems);
  }
  return response;
}

const post = (url, body) =>
  request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Points of each fitted curve the page asks for, to draw it (the server sends none unless asked). */
export const CURVE_POINTS = 100;

/**
 * Fit the Hill equation to curves (POST /api/fit), with each fitted curve's points for the plot.
 *
 * @param {{label: string, concentrations_um: number[], responses: number[], fix_top?: number|null,
 *   fix_bottom?: number|null}[]} curves
 * @param {object} [options]  analysis options (app/schemas_analysis.py AnalysisOptions; results.js fitOptions)
 * @returns {Promise<object[]>}  one result per curve, in order (status, message, ic50_um, ic50_ci_um, …,
 *   curve: {concentrations_um, responses}, and the analysis blocks the options ask for)
 */
export async function fitCurves(curves, options = {}) {
  const response = await post('/api/fit', { curves, curve_points: CURVE_POINTS, ...options });
  return (await response.json()).results;
}

async function download(url, request, fallback) {
  const response = await post(url, request);
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallback;
  return { blob: await response.blob(), filename };
}

/**
 * The IC50 report as CSV (POST /api/report.csv).
 *
 * @param {{curves: object[], title?: string}} request  app.schemas.ReportRequest (with analysis options)
 * @returns {Promise<{blob: Blob, filename: string}>}
 */
export const reportCsv = (request) => download('/api/report.csv', request, 'nostain-report.csv');

/**
 * The same report as tidy tables in a zip (POST /api/report.zip): metadata, curves, wells, plates, columns.
 *
 * @param {{curves: object[], title?: string}} request  app.schemas.ReportRequest (with analysis options)
 * @returns {Promise<{blob: Blob, filename: string}>}
 */
export const reportZip = (request) => download('/api/report.zip', request, 'nostain-report.zip');

/**
 * One plate read at several times (POST /api/timecourse): viability, fits and GR over time.
 *
 * @param {object} request  app.schemas_growth.TimeCourseRequest (session.timeCourseRequest)
 * @returns {Promise<object>}  the TimeCourseResponse
 */
export async function timeCourse(request) {
  const response = await post('/api/timecourse', request);
  return response.json();
}

/**
 * The server's request limits (GET /api/limits): the same object the page embeds as `nostain-config`.
 *
 * @returns {Promise<object>}  e.g. {max_label_length: 200, max_well_id_length: 12, max_flags_per_well: 20, …}
 */
export async function fetchLimits() {
  const response = await request('/api/limits');
  return (await response.json()).limits;
}

/**
 * A model's full card (its card.json, next to model.json), e.g. for the `ood` block the page did not embed.
 *
 * @param {string} modelUrl  the card's `model_url` (…/model.json)
 * @returns {Promise<object>}
 */
export async function fetchModelCard(modelUrl) {
  const response = await request(modelUrl.replace(/[^/]*$/, 'card.json'));
  return response.json();
}

/**
 * Add a model trained in the page to the server (POST /api/models), which serves it at once. The server
 * takes uploads only when its operator set NOSTAIN_MODEL_UPLOAD_TOKEN: otherwise ApiError 403 saying how;
 * a missing or wrong token is 401; a model it cannot serve 409/422 with the reason.
 *
 * @param {Uint8Array} zipBytes  the model folder as one zip (train/bundle.js zipFiles(exportFiles(record)))
 * @param {string} token  the operator's upload token
 * @returns {Promise<{id: string, model: object}>}  the model as GET /api/models lists it
 */
export async function uploadModel(zipBytes, token) {
  const response = await request('/api/models', {
    method: 'POST',
    headers: { 'Content-Type': 'application/zip', Authorization: `Bearer ${token}` },
    body: zipBytes,
  });
  return response.json();
}

// The session's time course: its curves with read times, taken as one plate read several times (wells
// matched by well ID), sent to POST /api/timecourse when they change. No DOM: the result goes into the
// session state and the caller redraws.
import * as api from './api.js';
import * as session from './session.js';

const NEEDS =
  'A time course needs two or more curves of the same plate (well IDs in the file names) read at ' +
  'different times, with vehicle wells.';

/**
 * Bring `state.timeCourse` ({key, course, status}, or null when no curve of the open curve's course has a
 * read time) up to date. A course is one plate (and series) read over time: an instrument's time points, or
 * the curves given read times by hand.
 *
 * @param {{curves: object[], activeId: number, limits: object, timeCourse: object|null}} state  main.js's
 *   session state
 * @param {() => void} render  redraws the page (called when the state changes)
 * @returns {Promise<void>}
 */
export async function refreshTimeCourse(state, render) {
  const open = state.curves.find((c) => c.id === state.activeId);
  const reads = session.courseOf(open, state.curves);
  const request = session.timeCourseRequest(reads, state.limits);
  const key = JSON.stringify(request);
  if (key === state.timeCourse?.key) return;
  if (!request) {
    const timed = reads.some((c) => c.readTimeH !== null);
    if (!timed && state.timeCourse === null) return; // no time course before or now: nothing to redraw
    state.timeCourse = timed ? { key, course: null, status: NEEDS } : null;
    render();
    return;
  }
  state.timeCourse = { key, course: null, status: 'Computing the time course…' };
  render();
  let course = null;
  let status;
  try {
    course = await api.timeCourse(request);
    status =
      `${request.times_h.length} reads of ${request.well_ids.length} wells matched by well ID` +
      (request.blank_level === 0 ? '; no blank or kill wells marked, so 0 % viability is OD450 0.' : '.');
  } catch (err) {
    status = `The time course failed: ${err.message}`;
  }
  if (state.timeCourse?.key !== key) return; // superseded by a newer request
  state.timeCourse = { key, course, status };
  render();
}

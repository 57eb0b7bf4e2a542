"""The server's request limits reach the page once (its `nostain-config`, else GET /api/limits) and
static/js/session.js obeys the limits it is given instead of copies of app/schemas.py's numbers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Server, api_limits

pytestmark = pytest.mark.e2e

_SESSION = """async ([limits]) => {
  const m = await import('/static/js/session.js');
  const c = m.newCurve({ id: 1, label: 'a label longer than ten characters' });
  const well = Object.assign(m.newWell({ id: 1, file: new File([''], 'x_1uM_B07.jpg') }), {
    status: 'done', od450: 0.5, warnings: ['first warning', 'second warning'] });
  c.wells = [well, Object.assign(m.newWell({ id: 2, file: new File([''], 'y.jpg') }), { status: 'done' })];
  c.notes = ['note one', 'note two', 'note three'];
  return { report: m.reportCurve(c, limits).curve, fit: m.fitRequestCurve(c, limits) };
}"""


def test_session_obeys_the_limits_it_is_given(origin_page: Any):
    small = {
        "max_label_length": 10, "max_well_id_length": 2, "max_flags_per_well": 1, "max_notes_per_curve": 2,
    }  # fmt: skip
    got = origin_page.evaluate(_SESSION, [small])
    report = got["report"]
    assert report["label"] == "a label l…" and got["fit"]["label"] == "a label l…"
    assert report["wells"][0]["well"] == "B0"
    assert report["wells"][0]["flags"] == ["first war…"]
    assert len(report["notes"]) == 2 and report["notes"][0] == "note one"
    full = origin_page.evaluate(_SESSION, [api_limits()])["report"]
    assert full["label"] == "a label longer than ten characters" and full["wells"][0]["well"] == "B07"
    assert len(full["wells"][0]["flags"]) == 3 and len(full["notes"]) == 4  # + the unscored well's note


#: The limits static/js/session.js applies to what it sends (the others bound whole requests, server-side).
SESSION_LIMITS = ("max_flags_per_well", "max_label_length", "max_notes_per_curve", "max_well_id_length")


@pytest.mark.parametrize("missing", SESSION_LIMITS)
def test_incomplete_limits_are_refused_by_name(origin_page: Any, missing: str):
    limits = {k: v for k, v in api_limits().items() if k != missing}
    script = """async ([limits]) => {
      const m = await import('/static/js/session.js');
      try { m.checkLimits(limits); return null; } catch (e) { return e.message; }
    }"""
    assert missing in origin_page.evaluate(script, [limits])


def test_page_config_is_read_from_the_page(origin_page: Any):
    script = """async ([config]) => {
      const ui = await import('/static/js/ui.js');
      const before = ui.readConfig();
      const el = Object.assign(document.createElement('script'),
        { type: 'application/json', id: 'nostain-config', textContent: JSON.stringify(config) });
      document.body.append(el);
      const after = ui.readConfig();
      el.remove();
      return { before, after };
    }"""
    config = {"limits": api_limits()}
    assert origin_page.evaluate(script, [config]) == {"before": None, "after": config}


def _without_config(route: Any) -> None:
    """The page as a server without the embedded config would send it."""
    response = route.fetch()
    html = re.sub(r'<script[^>]*id="nostain-config".*?</script>', "", response.text(), flags=re.S)
    route.fulfill(response=response, body=html)


def test_page_without_limits_says_so_instead_of_guessing(page: Any, server: Server):
    page.route(server.url + "/", _without_config)
    unavailable = {"detail": "limits unavailable"}
    page.route("**/api/limits", lambda route: route.fulfill(status=503, json=unavailable))
    page.goto(server.url + "/")
    page.wait_for_selector("#page-errors .alert-error")
    text = page.inner_text("#page-errors")
    assert "could not read the server's limits (limits unavailable)" in text, text
    assert "disabled" in (page.get_attribute("#drop-zone", "class") or "")
    page.expected_errors = ("503", "limits")  # the browser's log of the failed request, and the page's

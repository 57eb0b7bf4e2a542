"""The fit panel beyond the IC50, in the real page: IC levels the user asks for, a censored IC50, outlier
accept/undo, blank/kill wells and % viability, the plate heatmaps and the tidy (zip) download."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest

from tests.e2e.conftest import Fixture, Server, open_app, parse_report, rows, screenshot, wait_scored

pytestmark = pytest.mark.e2e

#: A heatmap's cells as [well ID, value] pairs.
CELLS = "els => els.map(e => [e.dataset.well, Number(e.dataset.value)])"
#: What the page asks for with every fit (static/js/results.js fitOptions), besides the user's choices.
PAGE_OPTIONS = {"metrics": True, "qc": True, "per_well": True}


def js_sig(x: float) -> str:
    """``x`` as the page writes it: 3 significant digits, no trailing ".0" (JavaScript's Number → String)."""
    value = float(f"{x:.3g}")
    return str(int(value)) if value == int(value) else repr(value)


def _load(page: Any, server: Server, fixture: Fixture) -> None:
    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in fixture.files])
    wait_scored(page)


def _refit(page: Any, action: Any) -> None:
    """Do ``action`` and wait for the refit it causes."""
    fits = page.evaluate("window.nostainDebug.fits")
    action()
    wait_scored(page, fits_before=fits)


def _set(page: Any, selector: str, text: str) -> None:
    _refit(page, lambda: (page.fill(selector, text), page.dispatch_event(selector, "change")))


def _param(page: Any, name: str) -> str:
    return page.inner_text(f"#params tr[data-param='{name}'] td")


def _api_fit(server: Server, fixture: Fixture, page: Any, **options: Any) -> dict:
    """/api/fit on the page's wells (non-excluded, in table order) with the page's options and ``options``."""
    table = [r for r in rows(page) if not r["excluded"]]
    curve = {
        "label": "curve 1",
        "concentrations_um": [float(r["concentration"]) for r in table],
        "responses": [r["od450"] for r in table],
        "well_ids": [fixture.plate[r["name"]]["well"] for r in table],
        **options.pop("curve", {}),
    }
    status, body = server.post_json("/api/fit", {"curves": [curve], **PAGE_OPTIONS, **options})
    assert status == 200, body
    return json.loads(body)["results"][0]


def _download(page: Any, button: str) -> bytes:
    with page.expect_download() as info:
        page.click(button)
    return info.value.path().read_bytes()


def test_ic_levels_heatmaps_and_the_tidy_download(page, server: Server, fixture: Fixture):
    _load(page, server, fixture)
    _set(page, "#ic-percents", "20, 80")
    result = _api_fit(server, fixture, page, ic_percents=[50, 20, 80])
    ic = {(x["percent"], x["kind"]): x for x in result["ic_x"]}
    ic20, ic20_abs, ic80 = ic[20, "relative"], ic[20, "absolute"], ic[80, "relative"]
    low, high = ic20["ci_um"]
    assert page.inner_text("#metrics tr[data-metric='ic20'] td") == (
        f"{js_sig(ic20['concentration']['value_um'])} µM (95 % CI {js_sig(low)}–{js_sig(high)})"
    )
    assert page.inner_text("#metrics tr[data-metric='ic20-abs'] td") == (
        f"{js_sig(ic20_abs['concentration']['value_um'])} µM"
    )
    assert page.inner_text("#metrics tr[data-metric='ic80'] td").startswith(
        f"{js_sig(ic80['concentration']['value_um'])} µM"
    )
    assert page.inner_text("#metrics tr[data-metric='aac'] td") == js_sig(result["aac"]["aac"])
    assert page.inner_text("#metrics tr[data-metric='emax'] td").startswith(
        f"{js_sig(result['efficacy']['emax_percent'])} %"
    )

    # Heatmaps: every scored well at its well ID, OD450 and the API's residual.
    od450 = page.eval_on_selector_all(
        "#heatmap-od450 td[data-value]", "els => els.map(e => [e.dataset.well, +e.dataset.value])"
    )
    by_name = {fixture.plate[r["name"]]["well"]: r["od450"] for r in rows(page)}
    assert dict(od450) == pytest.approx(by_name) and len(od450) == 24
    residual = dict(
        page.eval_on_selector_all(
            "#heatmap-residual td[data-value]", "els => els.map(e => [e.dataset.well, +e.dataset.value])"
        )
    )
    wells = [fixture.plate[r["name"]]["well"] for r in rows(page)]
    assert residual == pytest.approx(dict(zip(wells, result["wells"]["residual"], strict=True)))
    colours = page.eval_on_selector_all(
        "#heatmap-od450 td[data-value]", "els => new Set(els.map(e => e.style.background)).size"
    )
    assert colours > 5  # coloured by value, not one colour
    qc = page.inner_text("#qc-summary")
    assert (
        "Z′ and SSMD not assessed: 3 vehicle and 0 blank/kill wells" in qc
    )  # the fixture has no blank wells

    # The tidy download: tables that csv (pandas, R) reads whole, with the page's numbers.
    archive = zipfile.ZipFile(io.BytesIO(_download(page, "#download-zip")))
    assert sorted(archive.namelist()) == [
        "columns.csv",
        "curves.csv",
        "metadata.csv",
        "plates.csv",
        "wells.csv",
    ]
    read = {n: list(csv.DictReader(io.StringIO(archive.read(n).decode()))) for n in archive.namelist()}
    (curve,) = read["curves.csv"]
    assert float(curve["ic50_um"]) == pytest.approx(result["ic50_um"], rel=1e-5)
    assert float(curve["ic20_um"]) == pytest.approx(ic20["concentration"]["value_um"], rel=1e-5)
    assert curve["response_unit"] == "OD450" and len(read["wells.csv"]) == 24
    facts = {row["key"]: row["value"] for row in read["metadata.csv"]}
    assert facts["models"].startswith("Fixture-A") and "synthetic" in facts["warning"]
    screenshot(page, "fit-panel")

    # A level that is not a number is named; the typed text stays, the last good levels stay in use.
    page.fill("#ic-percents", "20, abc")
    page.dispatch_event("#ic-percents", "change")
    assert page.inner_text("#analysis-error") == 'IC levels must be numbers between 0 and 100 (got "abc")'
    assert page.input_value("#ic-percents") == "20, abc"
    assert page.locator("#metrics tr[data-metric='ic80']").count() == 1


def test_an_ic50_outside_the_tested_range_is_shown_censored(page, server: Server, fixture: Fixture):
    _load(page, server, fixture)
    high_doses = [r["name"] for r in rows(page) if float(r["concentration"]) >= 0.3]
    fits = page.evaluate("window.nostainDebug.fits")
    for name in high_doses:
        page.locator(f"#wells tbody tr[data-name='{name}'] input.use").click()
    page.wait_for_function(
        "() => document.querySelector(\"#params tr[data-param='Wells fitted'] td\")?.textContent === '12'"
    )
    wait_scored(page, fits_before=fits)
    result = _api_fit(server, fixture, page, ic_percents=[50])
    censored = result["ic50_censored"]
    assert (
        censored["censor"] in ("above_range", "no_effect", "not_reached") and "> 0.1 µM" in censored["text"]
    )
    assert _param(page, "IC50") == censored["text"]  # words, not the model's extrapolated number
    assert _param(page, "95 % CI") == "—"
    traces = page.evaluate("document.getElementById('plot').data.map(t => t.name)")
    assert "IC50 (95 % CI)" not in traces
    notes = page.evaluate("document.getElementById('plot').layout.annotations.map(a => a.text)")
    assert f"IC50 {censored['text']}" in notes
    with page.expect_download() as info:
        page.click("#download-csv")
    curves, _ = parse_report(info.value.path().read_text(encoding="utf-8"))
    assert curves[0]["ic50_um"] == "" and curves[0]["ic50_censored"] == ">0.1"


def test_a_flagged_outlier_can_be_undone_flagged_again_and_accepted(page, server: Server, fixture: Fixture):
    _load(page, server, fixture)
    _refit(page, lambda: page.check("#find-outliers"))
    wrong = "A549_dox_10uM_A08.jpg"  # a plate-map mistake: the top dose typed as a vehicle control
    _set(page, f"#wells tbody tr[data-name='{wrong}'] input.conc", "0")
    row = page.locator("#outlier-table tbody tr[data-state]")
    assert row.count() == 1 and row.get_attribute("data-state") == "removed"
    assert "below the robust curve" in row.inner_text()
    table = {r["name"]: r for r in rows(page)}
    assert "outlier" in table[wrong]["classes"] and "Left out by the outlier test" in table[wrong]["notes"]
    assert "outliers (left out)" in page.evaluate("document.getElementById('plot').data.map(t => t.name)")
    assert _param(page, "Wells fitted") == "23"

    _refit(page, lambda: row.locator("button", has_text="undo").click())
    assert row.get_attribute("data-state") == "kept" and _param(page, "Wells fitted") == "24"
    assert "outlier" not in {r["name"]: r for r in rows(page)}[wrong]["classes"]

    _refit(page, lambda: row.locator("button", has_text="flag again").click())
    assert row.get_attribute("data-state") == "removed" and _param(page, "Wells fitted") == "23"

    _refit(page, lambda: row.locator("button", has_text="accept").click())
    assert {r["name"]: r for r in rows(page)}[wrong]["excluded"]  # now an exclusion like any other
    assert page.locator("#outlier-table tbody tr[data-state]").count() == 0
    assert _param(page, "Wells fitted") == "23"
    with page.expect_download() as info:
        page.click("#download-csv")
    curves, wells = parse_report(info.value.path().read_text(encoding="utf-8"))
    flags = {w["image"]: w["flags"] for w in wells}[wrong]
    assert "excluded as an outlier (ROUT-like test, accepted): response" in flags
    assert curves[0]["n_excluded"] == "1"


def test_kill_wells_give_percent_viability(page, server: Server, fixture: Fixture):
    _load(page, server, fixture)
    top_dose = [r["name"] for r in rows(page) if float(r["concentration"]) == 10.0]
    for name in top_dose:
        _refit(
            page,
            lambda n=name: page.select_option(f"#wells tbody tr[data-name='{n}'] select.control", "kill"),
        )
    _refit(page, lambda: page.select_option("#fit-on", "viability"))
    controls = ["kill" if r["name"] in top_dose else None for r in rows(page)]
    result = _api_fit(
        server, fixture, page, fit_on="viability", ic_percents=[50], curve={"controls": controls}
    )
    assert result["status"] == "ok" and result["top"] == pytest.approx(100, abs=5)
    assert _param(page, "IC50") == f"{js_sig(result['ic50_um'])} µM"
    assert _param(page, "Fitted on") == "% viability"
    assert page.evaluate("document.getElementById('plot').layout.yaxis.title.text") == "% viability"
    traces = {t["name"]: t for t in page.evaluate("document.getElementById('plot').data")}
    assert len(traces["blank / kill"]["x"]) == 3
    assert _param(page, "Wells fitted") == "21"


def test_reads_of_one_plate_at_two_times_give_a_time_course(page, server: Server, fixture: Fixture):
    _load(page, server, fixture)
    page.fill("#read-time", "0")
    page.dispatch_event("#read-time", "change")
    fits = page.evaluate("window.nostainDebug.fits")
    page.click("#new-curve")
    page.set_input_files("#file-input", [str(p) for p in fixture.files])  # the same plate, read again
    wait_scored(page, fits_before=fits)
    _set(page, "#read-time", "48")  # now it has a time-zero read: GR is asked for
    page.wait_for_function(
        "() => document.getElementById('timecourse-status').textContent.startsWith('2 reads')"
    )
    status = page.inner_text("#timecourse-status")
    assert status.startswith("2 reads of 24 wells matched by well ID; no blank or kill wells marked")
    assert not page.locator("#timecourse").is_hidden()
    traces = page.evaluate("document.getElementById('timecourse-plot').data")
    viability = {t["name"]: t for t in traces if not t["name"].startswith("GR")}
    assert len(viability) == 8 and viability["vehicle"]["x"] == [0, 48]
    assert viability["vehicle"]["y"] == pytest.approx([100.0, 100.0])
    # The same images twice: the vehicle wells did not grow between the reads, so GR over time is undefined …
    assert not [t for t in traces if t["name"].startswith("GR")]
    # … while the 0 h read stands for the plate at treatment: x0 is the mean of all its wells (metrics.md).
    result = _api_fit(
        server, fixture, page, ic_percents=[50], curve={"time_zero": [r["od450"] for r in rows(page)]}
    )
    gr50 = result["gr"]["metrics"]["gr50"]
    assert gr50["censor"] == "none"
    assert page.inner_text("#metrics tr[data-metric='gr50'] td") == f"{js_sig(gr50['value_um'])} µM"

"""The whole workflow in the real page: upload a plate, predict in the browser, fit, plot, download."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest

from tests.e2e.conftest import (
    MODEL_A,
    MODEL_B,
    Fixture,
    Server,
    open_app,
    parse_report,
    rows,
    screenshot,
    wait_model,
    wait_scored,
)

pytestmark = pytest.mark.e2e


def _fit_via_api(server: Server, label: str, conc: list[float], resp: list[float]) -> dict:
    status, body = server.post_json(
        "/api/fit", {"curves": [{"label": label, "concentrations_um": conc, "responses": resp}]}
    )
    assert status == 200, body
    return json.loads(body)["results"][0]


def _download_csv(pg) -> str:
    with pg.expect_download() as info:
        pg.click("#download-csv")
    return info.value.path().read_text(encoding="utf-8")


def test_plate_is_scored_fitted_and_reported_like_keras_and_the_api(page, server: Server, fixture: Fixture):
    open_app(page, server, model=MODEL_A)
    page.set_input_files("#file-input", [str(p) for p in fixture.files])
    wait_scored(page)
    table = {r["name"]: r for r in rows(page)}
    assert set(table) == set(fixture.plate)
    assert all(r["status"] == "done" for r in table.values())

    # Preprocessing parity: the browser's OD450 equals Keras' on training.preprocess.preprocess of the file.
    diffs = [abs(table[n]["od450"] - fixture.plate[n]["keras_od450"]) for n in fixture.plate]
    print(f"max |browser − Keras| OD450 = {max(diffs):.2e} over {len(diffs)} images")
    assert max(diffs) < 1e-3

    # The concentrations came from the file names, controls included.
    for name, r in table.items():
        assert r["source"] == "file name"
        assert float(r["concentration"]) == pytest.approx(fixture.plate[name]["concentration_um"])

    # Tensors do not pile up across the plate (each worker reports its count after every image).
    counts = page.evaluate("window.nostainDebug.numTensors")
    after_images = [c["n"] for c in counts if c["after"] != "warm-up"]
    assert len(after_images) == len(fixture.plate)
    assert set(after_images) == {counts[0]["n"]}, counts

    # The IC50 of the page and of the CSV report equal /api/fit's on the browser's predictions.
    names = sorted(table)
    expected = _fit_via_api(
        server,
        "curve 1",
        [fixture.plate[n]["concentration_um"] for n in names],
        [table[n]["od450"] for n in names],
    )
    assert expected["status"] == "ok", expected
    three_digits = float(f"{expected['ic50_um']:.3g}")
    assert page.inner_text("#params tr[data-param='IC50'] td") == f"{three_digits!r} µM"
    curves, wells = parse_report(_download_csv(page))
    assert len(curves) == 1 and len(wells) == len(fixture.plate)
    assert float(curves[0]["ic50_um"]) == pytest.approx(expected["ic50_um"], rel=1e-5)
    assert float(curves[0]["ic50_ci_low_um"]) == pytest.approx(expected["ic50_ci_um"][0], rel=1e-5)
    assert curves[0]["model"].startswith("Fixture-A") and curves[0]["model_trained_on"] == "synthetic images"
    by_image = {w["image"]: w for w in wells}
    for n in names:
        assert float(by_image[n]["predicted_od450"]) == pytest.approx(table[n]["od450"], rel=1e-5)
    # The fitted IC50 lies near the curve the fixture model was taught (0.4 µM).
    assert 0.2 < expected["ic50_um"] < 0.8

    # The plot is drawn with the wells, mean ± SD, the fit and the IC50.
    traces = page.evaluate("document.getElementById('plot').data.map(t => t.name)")
    assert {"wells", "mean ± SD", "Hill fit", "IC50 (95 % CI)"} <= set(traces)
    path = screenshot(page, "page-fitted")
    assert path.stat().st_size > 10_000


def test_excluding_a_well_refits_and_marks_it_in_the_report(page, server: Server, fixture: Fixture):
    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in fixture.files])
    wait_scored(page)
    fits = page.evaluate("window.nostainDebug.fits")
    before = page.inner_text("#params tr[data-param='IC50'] td")
    outlier = sorted(fixture.plate)[5]
    page.locator(f"#wells tbody tr[data-name='{outlier}'] input.use").click()
    wait_scored(page, fits_before=fits)
    table = {r["name"]: r for r in rows(page)}
    assert table[outlier]["excluded"] and "excluded" in table[outlier]["classes"]
    kept = [n for n in sorted(table) if n != outlier]
    expected = _fit_via_api(
        server,
        "curve 1",
        [fixture.plate[n]["concentration_um"] for n in kept],
        [table[n]["od450"] for n in kept],
    )
    curves, wells = parse_report(_download_csv(page))
    assert float(curves[0]["ic50_um"]) == pytest.approx(expected["ic50_um"], rel=1e-5)
    assert curves[0]["n_excluded"] == "1"
    assert {w["image"]: w["excluded"] for w in wells}[outlier] == "yes"
    assert page.inner_text("#params tr[data-param='Wells fitted'] td") == str(len(kept))
    assert before  # the first fit was shown before the exclusion


def test_plot_downloads_as_png_and_svg(page, server: Server, fixture: Fixture):
    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in fixture.files[:9]])
    wait_scored(page)
    with page.expect_download() as png:
        page.click("#download-png")
    assert png.value.suggested_filename.endswith(".png")
    assert png.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as svg:
        page.click("#download-svg")
    assert svg.value.suggested_filename.endswith(".svg")
    text = svg.value.path().read_text(encoding="utf-8")
    assert text.lstrip().startswith("<svg") and "Concentration" in text


def test_two_curves_with_different_models_end_up_in_one_report(page, server: Server, fixture: Fixture):
    open_app(page, server, model=MODEL_A)
    files = [str(p) for p in fixture.files]
    page.set_input_files("#file-input", files[:12])
    wait_scored(page)
    page.fill("#curve-label", "plate 1")
    page.dispatch_event("#curve-label", "change")
    page.click("#new-curve")
    page.select_option("#model-select", MODEL_B)
    wait_model(page)
    page.fill("#curve-drug", "cisplatin")
    page.dispatch_event("#curve-drug", "change")
    fits = page.evaluate("window.nostainDebug.fits")
    page.set_input_files("#file-input", files)
    wait_scored(page, fits_before=fits)
    items = page.locator("#curve-list li")
    assert items.count() == 2
    assert "plate 1" in items.nth(0).inner_text() and "IC50" in items.nth(0).inner_text()
    # The card of model B shows its evaluation; model A's said "not evaluated".
    assert "test r²" in page.inner_text("#model-card")
    curves, wells = parse_report(_download_csv(page))
    assert [c["label"] for c in curves] == ["plate 1", "curve 2"]
    assert [c["model"].split()[0] for c in curves] == ["Fixture-A", "Fixture-B"]
    assert curves[1]["drug"] == "cisplatin"
    assert len(wells) == 12 + len(files)
    # Back to the first curve: its model is selected again and its fit is unchanged.
    items.nth(0).get_by_role("button", name="open").click()
    assert page.input_value("#model-select") == MODEL_A
    assert page.input_value("#curve-label") == "plate 1"


def test_changing_the_model_rescores_the_curve(page, server: Server, fixture: Fixture):
    open_app(page, server, model=MODEL_A)
    page.set_input_files("#file-input", [str(p) for p in fixture.files[:6]])
    wait_scored(page)
    runs = page.evaluate("window.nostainDebug.runs.length")
    page.select_option("#model-select", MODEL_B)
    page.wait_for_function("(n) => window.nostainDebug.runs.length > n", arg=runs)
    wait_scored(page)
    assert all(r["status"] == "done" for r in rows(page))
    assert "Fixture-B" in page.inner_text("#curve-list")


def test_plate_map_gives_concentrations_to_well_ids(page, server: Server, fixture: Fixture, tmp_path):
    # Files named by well only: columns 1 = control, 2–5 = 10, 1, 0.1, 0.01 µM (dilution 10).
    files = []
    for i, src in enumerate(fixture.files[:10]):
        well = f"{'ABCDEFGH'[i // 5]}{i % 5 + 1:02d}"
        dst = tmp_path / f"plate7_{well}.jpg"
        dst.write_bytes(src.read_bytes())
        files.append(str(dst))
    open_app(page, server)
    page.set_input_files("#file-input", files)
    page.wait_for_function("document.querySelectorAll('#wells tbody tr.missing-conc').length === 10")
    assert "10 without a concentration" in page.inner_text("#progress-text")
    page.click("#plate-map summary")
    page.fill("#pm-top", "10")
    page.fill("#pm-factor", "10")
    page.fill("#pm-doses", "2-5")
    page.fill("#pm-controls", "1")
    page.click("#pm-apply")
    wait_scored(page)
    got = {r["name"]: (r["concentration"], r["source"]) for r in rows(page)}
    assert got["plate7_A01.jpg"] == ("0", "plate map")
    assert got["plate7_B02.jpg"] == ("10", "plate map")
    assert got["plate7_A05.jpg"] == ("0.01", "plate map")
    assert "without a concentration" not in page.inner_text("#progress-text")
    assert "Plate map applied" in page.inner_text("#pm-status")
    # A typed concentration overrides the plate map.
    page.locator("#wells tbody tr[data-name='plate7_A03.jpg'] input.conc").fill("500 nM")
    page.locator("#wells tbody tr[data-name='plate7_A03.jpg'] input.conc").press("Enter")
    page.wait_for_function(
        "document.querySelector(\"#wells tr[data-name='plate7_A03.jpg'] .c-source\").textContent === 'typed'"
    )
    assert {r["name"]: r["concentration"] for r in rows(page)}["plate7_A03.jpg"] == "0.5"


def test_vehicle_controls_sit_left_of_the_lowest_dose_labelled_control(
    page, server: Server, fixture: Fixture
):
    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in fixture.files])
    wait_scored(page)
    axis = page.evaluate(
        "(() => { const l = document.getElementById('plot').layout.xaxis; "
        "return {tickvals: l.tickvals, ticktext: l.ticktext, type: l.type}; })()"
    )
    assert axis["type"] == "log" and axis["ticktext"][0] == "control"
    lowest = min(c for c in (v["concentration_um"] for v in fixture.plate.values()) if c > 0)
    assert axis["tickvals"][0] < lowest
    wells = page.evaluate("document.getElementById('plot').data.find(t => t.name === 'wells').x")
    n_controls = sum(1 for v in fixture.plate.values() if v["concentration_um"] == 0)
    assert sum(1 for x in wells if math.isclose(x, axis["tickvals"][0])) == n_controls
    assert np.all(np.array(wells) > 0)


def test_files_dropped_on_the_page_are_scored(page, server: Server, fixture: Fixture):
    open_app(page, server)
    files = fixture.files[:3]
    payload = [[p.name, base64.b64encode(p.read_bytes()).decode()] for p in files]
    page.evaluate(
        """(files) => {
          const dt = new DataTransfer();
          for (const [name, b64] of files) {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            dt.items.add(new File([bytes], name, { type: 'image/jpeg' }));
          }
          const zone = document.getElementById('drop-zone');
          const event = (type) => new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true });
          zone.dispatchEvent(event('dragover'));
          zone.dispatchEvent(event('drop'));
        }""",
        payload,
    )
    wait_scored(page)
    assert sorted(r["name"] for r in rows(page)) == sorted(p.name for p in files)
    assert all(r["status"] == "done" for r in rows(page))


def test_plate_map_typed_per_row_in_nanomolar(page, server: Server, fixture: Fixture, tmp_path):
    files = []
    for i, src in enumerate(fixture.files[:3]):
        dst = tmp_path / f"scan_{'ABC'[i]}07.jpg"
        dst.write_bytes(src.read_bytes())
        files.append(str(dst))
    open_app(page, server)
    page.set_input_files("#file-input", files)
    page.wait_for_function("document.querySelectorAll('#wells tbody tr.missing-conc').length === 3")
    page.click("#plate-map summary")
    page.select_option("#pm-axis", "row")
    page.select_option("#pm-mode", "typed")
    page.select_option("#pm-unit", "nM")
    inputs = page.locator("#pm-typed input")
    assert inputs.count() == 8  # rows A–H of a 96-well plate
    inputs.nth(0).fill("DMSO")
    inputs.nth(1).fill("50")
    inputs.nth(2).fill("2 µM")  # a unit typed with the value wins over the selected one
    page.click("#pm-apply")
    wait_scored(page)
    got = {r["name"]: r["concentration"] for r in rows(page)}
    assert got == {"scan_A07.jpg": "0", "scan_B07.jpg": "0.05", "scan_C07.jpg": "2"}

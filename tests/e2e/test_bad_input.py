"""Bad input is explained in the page, per file, and never stops the rest of the plate."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import Fixture, Server, open_app, rows, start_server, stop_server, wait_scored

pytestmark = pytest.mark.e2e


@pytest.fixture
def bad_files(fixture: Fixture, tmp_path: Path) -> dict[str, Path]:
    """One file of each kind of trouble, all named with a concentration unless the point is its absence."""
    good = fixture.files[0].read_bytes()
    files = {
        "text": tmp_path / "plate-notes_1uM.jpg",  # a text file with an image's name
        "corrupt": tmp_path / "A549_dox_1uM_D01.jpg",  # JPEG header, then garbage, then an end marker
        "truncated": tmp_path / "A549_dox_3uM_D02.jpg",  # the first 40 % of a JPEG
        "tiny": tmp_path / "A549_dox_10uM_D03.png",  # 30×25 px: far smaller than the 96 px model input
        "small": tmp_path / "A549_dox_0.1uM_D04.png",  # 80×70 px: scored, with a warning
        "no_conc": tmp_path / "A549_dox_D05.jpg",  # a good image whose name says no concentration
        "pdf": tmp_path / "protocol_0.1uM.pdf",
    }
    files["text"].write_text("concentration,response\n1,0.5\n", encoding="utf-8")
    files["corrupt"].write_bytes(good[:300] + os.urandom(4000) + b"\xff\xd9")
    files["truncated"].write_bytes(good[: int(len(good) * 0.4)])
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (25, 30, 3), dtype=np.uint8)).save(files["tiny"])
    Image.fromarray(rng.integers(0, 255, (70, 80, 3), dtype=np.uint8)).save(files["small"])
    files["no_conc"].write_bytes(good)
    files["pdf"].write_bytes(b"%PDF-1.4\n" + b"x" * 100)
    return files


def test_each_bad_file_gets_its_own_explanation_and_the_rest_is_fitted(
    page, server: Server, fixture: Fixture, bad_files: dict[str, Path]
):
    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in [*fixture.files, *bad_files.values()]])
    wait_scored(page)
    table = {r["name"]: r for r in rows(page)}
    note = {kind: table[path.name]["notes"] for kind, path in bad_files.items()}
    status = {kind: table[path.name]["status"] for kind, path in bad_files.items()}

    assert status["text"] == "problem" and "not an image: it holds text" in note["text"]
    assert status["pdf"] == "problem" and "not an image: it is a PDF" in note["pdf"]
    assert status["corrupt"] == "problem" and "corrupt or unreadable JPEG" in note["corrupt"]
    assert status["truncated"] == "problem" and "truncated JPEG" in note["truncated"]
    assert status["tiny"] == "problem" and "far smaller than the model's 96×96 px input" in note["tiny"]
    assert status["small"] == "done" and "small image (80×70 px)" in note["small"]
    assert status["no_conc"] == "done" and "no concentration" in note["no_conc"]
    assert "missing-conc" in table[bad_files["no_conc"].name]["classes"]
    progress = page.inner_text("#progress-text")
    assert "5 could not be scored" in progress and "1 without a concentration" in progress
    # The good images are fitted all the same; the unscored files are named in the report's notes.
    assert page.inner_text("#params tr[data-param='Wells fitted'] td") == str(len(fixture.files) + 1)
    with page.expect_download() as download:
        page.click("#download-csv")
    text = download.value.path().read_text(encoding="utf-8")
    assert "image(s) not in the fit" in text and bad_files["corrupt"].name in text
    assert "small image (80×70 px)" in text  # the warning travels with the well


def test_a_missing_concentration_can_be_typed(
    page, server: Server, fixture: Fixture, bad_files: dict[str, Path]
):
    open_app(page, server)
    page.set_input_files("#file-input", [str(bad_files["no_conc"]), *map(str, fixture.files[:6])])
    wait_scored(page)
    row = page.locator(f"#wells tbody tr[data-name='{bad_files['no_conc'].name}']")
    assert "no concentration" in row.inner_text()
    page.select_option("#table-unit", "nM")
    fits = page.evaluate("window.nostainDebug.fits")
    row.locator("input.conc").fill("250")
    row.locator("input.conc").press("Enter")
    wait_scored(page, fits_before=fits)
    typed = {r["name"]: r for r in rows(page)}[bad_files["no_conc"].name]
    assert (
        typed["source"] == "typed"
        and typed["concentration"] == "250"
        and "missing-conc" not in typed["classes"]
    )
    page.select_option("#table-unit", "uM")
    assert {r["name"]: r for r in rows(page)}[bad_files["no_conc"].name]["concentration"] == "0.25"


def test_a_typo_in_a_concentration_is_explained(page, server: Server, fixture: Fixture):
    open_app(page, server)
    page.set_input_files("#file-input", [str(fixture.files[0])])
    wait_scored(page)
    box = page.locator("#wells tbody tr input.conc").first
    box.fill("1..5")
    box.press("Enter")
    page.wait_for_selector("#page-errors .alert-error")
    assert "is not a concentration" in page.inner_text("#page-errors")


def test_an_empty_registry_says_so_instead_of_a_broken_page(browser, tmp_path: Path):
    server = start_server(tmp_path / "no-models", tmp_path / "uvicorn.log")
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.goto(server.url + "/")
        pg.wait_for_function("document.getElementById('backend-badge').textContent.includes('no model')")
        assert "No models are installed" in pg.inner_text("#no-models")
        assert pg.locator("#model-select").count() == 0
        assert "disabled" in (pg.get_attribute("#drop-zone", "class") or "")
        assert errors == []
        context.close()
    finally:
        stop_server(server)


def test_server_errors_are_shown_not_swallowed(page, server: Server, fixture: Fixture):
    open_app(page, server)
    page.route(
        "**/api/fit",
        lambda route: route.fulfill(
            status=422, content_type="application/json", body='{"detail": "curve 1: something is off"}'
        ),
    )
    page.set_input_files("#file-input", [str(p) for p in fixture.files[:6]])
    page.wait_for_selector("#fit-status.fit-error")
    assert "The fit failed: curve 1: something is off" in page.inner_text("#fit-status")
    page.expected_errors = ("422", "fit failed")  # the browser's log of the failed request, and the page's

"""A microscope's folder in the real page: instrument names → wells, fields and channels; a plate layout →
concentrations, controls and one curve per series; the page's OD450 equals training's reader.

The folder is what an ImageXpress writes for one plate: ``plate1_B02_s2_w1<GUID>.tif`` files (16-bit TIFFs
holding 12-bit camera data), three fields (sites) and two wavelengths per well, the plate's ``.HTD`` file
naming the wavelengths (w1 transmitted light, w2 DAPI), and the lab's layout grid (CSV) beside them.
Training's reader of the same folder is ``training.instruments`` (names → wells; the .HTD's channel names),
``training.layouts`` (the grid) and ``training.preprocess`` (pixels → model input); its model inputs are run
through the same exported network in Chromium (model.js, whose parity with Keras the export check and
test_workflow.py establish), so the comparison isolates reading, decoding, grouping and averaging.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.conftest import INPUT_SIZE, MODEL_A, Server, open_app, parse_report, viability, well_image
from training.instruments import group_wells, parse_htd_channel_names, parse_instrument_path
from training.layouts import read_layout
from training.preprocess import preprocess

pytestmark = pytest.mark.e2e

PLATE = "plate1"
GUID = "A1B2C3D4-5E6F-4A1B-9C2D-0123456789AB"
FIELDS = (1, 2, 3)
#: Dilution series by plate row; columns 2–7 hold these concentrations (µM), column 1 the series' vehicle.
SERIES_ROWS = {"B": "dox", "C": "cis"}
DOSES_UM = {2: 10.0, 3: 3.0, 4: 1.0, 5: 0.3, 6: 0.1, 7: 0.03}
#: Wells of no series, shared by both curves: a vehicle and a killed-cell control.
SHARED = {"D01": "DMSO", "D02": "kill"}
IMAGE_WIDTH, IMAGE_HEIGHT = 180, 150
TWELVE_BIT_MAX = 4095

HTD = (
    '"HTSInfoFile", Version 1.0\r\n"Description", "test plate"\r\n"XWells", 12\r\n"YWells", 8\r\n'
    '"Sites", TRUE\r\n"XSites", 3\r\n"YSites", 1\r\n"Waves", TRUE\r\n"NWavelengths", 2\r\n'
    '"WaveName1", "Transmitted Light"\r\n"WaveName2", "DAPI"\r\n"EndFile"\r\n'
)


def _layout_csv() -> str:
    """The lab's layout: a concentration grid (µM in the title) and a series grid, 8 × 12."""
    conc: dict[str, str] = dict(SHARED)
    series: dict[str, str] = {}
    for row, name in SERIES_ROWS.items():
        conc[f"{row}01"] = "DMSO"
        series[f"{row}01"] = name
        for column, um in DOSES_UM.items():
            conc[f"{row}{column:02d}"] = f"{um:g}"
            series[f"{row}{column:02d}"] = name
    lines = ['"Two drugs on A549, 72 h"']
    for title, grid in (("Plate 1 - concentration (µM)", conc), ("Plate 1 - series", series)):
        lines += ["", title, "," + ",".join(str(c) for c in range(1, 13))]
        for row in "ABCDEFGH":
            lines.append(row + "," + ",".join(grid.get(f"{row}{c:02d}", "") for c in range(1, 13)))
    return "\r\n".join(lines) + "\r\n"


def _twelve_bit(grey8: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 12-bit camera's values (0–4095) in a 16-bit container, like most microscope cameras write."""
    values = grey8.astype(np.int32) * 16 + rng.integers(0, 16, grey8.shape)
    return values.clip(0, TWELVE_BIT_MAX).astype(np.uint16)


def _fluorescence(rng: np.random.Generator) -> np.ndarray:
    """A DAPI-like frame: dark with bright nuclei (must never be scored)."""
    yy, xx = np.mgrid[0:IMAGE_HEIGHT, 0:IMAGE_WIDTH]
    img = rng.normal(60.0, 8.0, (IMAGE_HEIGHT, IMAGE_WIDTH))
    for cx, cy in zip(rng.uniform(0, IMAGE_WIDTH, 30), rng.uniform(0, IMAGE_HEIGHT, 30), strict=True):
        img += 3000.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 9.0)
    return img.clip(0, TWELVE_BIT_MAX).astype(np.uint16)


def _layout_wells() -> dict[str, float | None]:
    """Well → concentration (µM) as drawn; None for the kill well."""
    wells: dict[str, float | None] = {"D01": 0.0, "D02": None}
    for row in SERIES_ROWS:
        wells[f"{row}01"] = 0.0
        wells.update({f"{row}{c:02d}": um for c, um in DOSES_UM.items()})
    return wells


def write_imagexpress_folder(
    root: Path,
    *,
    wells: tuple[str, ...] | None = None,
    htd: bool = True,
    plate: str = PLATE,
    layout: bool = True,
) -> Path:
    """Write a plate folder ``root/<plate>``: ``wells``, a part of the layout's wells; ``htd``, with the
    .HTD file; ``layout``, with the layout CSV."""
    import tifffile

    folder = root / plate
    folder.mkdir(parents=True)
    rng = np.random.default_rng(14)
    for well, um in _layout_wells().items():
        if wells is not None and well not in wells:
            continue
        alive = 0.02 if um is None else viability(um)
        for site in FIELDS:
            rgb = well_image(int(20 + 250 * alive), width=IMAGE_WIDTH, height=IMAGE_HEIGHT, rng=rng)
            grey8 = rgb[:, :, 1]
            for wave, pixels in ((1, _twelve_bit(grey8, rng)), (2, _fluorescence(rng))):
                tifffile.imwrite(folder / f"{plate}_{well}_s{site}_w{wave}{GUID}.tif", pixels)
    if htd:
        (folder / f"{plate}.HTD").write_text(HTD, encoding="latin-1")
    if layout:
        (folder / "layout.csv").write_text(_layout_csv(), encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------ training's reader

_PREDICT = """async ([card, inputs]) => {
  await import('/static/vendor/tf.min.js');
  await import('/static/vendor/tf-backend-wasm.min.js');
  const model = await import('/static/js/model.js');
  await model.initBackend({ backend: 'wasm', wasmPath: '/static/vendor/', threads: 1 });
  const size = card.input.size;
  const net = await model.loadNetwork({
    backboneUrl: card.backbone_url, headUrl: card.head_url, headFormat: card.head.format, size });
  const out = [];
  for (const b64 of inputs) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    out.push((await model.predict(net, new Float32Array(bytes.buffer))).od450);
  }
  model.disposeNetwork(net);
  return out;
}"""


@dataclass(frozen=True)
class Reference:
    """What training's reader makes of the folder."""

    channel: str | None  # the channel kept
    left_out: dict[str, list[str]]  # channel → its files (relative paths)
    fields: dict[str, list[str]]  # well → its bright-field files
    od450: dict[str, float]  # well → mean OD450 of its fields
    concentration_um: dict[str, float | None]  # well → concentration (the layout's)
    series: dict[str, str | None]  # well → series (the layout's)
    control: dict[str, str | None]  # well → control kind (the layout's)


def training_reader(folder: Path, origin_page: Any, server: Server) -> Reference:
    """Read the folder as training does, and predict its model inputs with the page's network."""
    paths = sorted(p.relative_to(folder.parent).as_posix() for p in folder.glob("*.tif"))
    names = parse_htd_channel_names((folder / f"{PLATE}.HTD").read_text(encoding="latin-1"))
    groups = group_wells([(p, parse_instrument_path(p)) for p in paths], channel_names=names)
    assert not groups.problems and not groups.unrecognised
    (plate,) = read_layout(folder / "layout.csv").plates
    files = [f for w in groups.wells for f in w.files]
    inputs = [preprocess(folder.parent / f, INPUT_SIZE).astype(np.float32) for f in files]
    cards = json.loads(urllib.request.urlopen(server.url + "/api/models", timeout=10).read())["models"]
    card = next(c for c in cards if c["id"] == MODEL_A)
    encoded = [base64.b64encode(x.tobytes()).decode() for x in inputs]
    predicted = dict(zip(files, origin_page.evaluate(_PREDICT, [card, encoded]), strict=True))
    return Reference(
        channel=groups.channel,
        left_out={label: list(p) for label, p in groups.left_out},
        fields={w.well: list(w.files) for w in groups.wells},
        od450={w.well: float(np.mean([predicted[f] for f in w.files])) for w in groups.wells},
        concentration_um={w: v.concentration_um for w, v in plate.wells.items()},
        series={w: v.series for w, v in plate.wells.items()},
        control={w: v.control for w, v in plate.wells.items()},
    )


# ------------------------------------------------------------------------------ the page


def wait_all_fitted(pg: Any, n_curves: int) -> None:
    """Wait until the page holds ``n_curves`` curves, every image is scored and every curve is fitted."""
    pg.wait_for_function(
        """(n) => {
          const items = [...document.querySelectorAll('#curve-list li')];
          const counts = [...document.querySelectorAll('#imports .import .counts')];
          const busy = '#wells tbody tr[data-status="queued"], #wells tbody tr[data-status="scoring"]';
          return items.length === n && counts.some((c) => Number(c.dataset.fitted) > 0)
            && items.every((li) => li.querySelector('.curve-ic50').title !== '')  // the fit's message
            && !document.querySelector(busy) && !document.querySelector('#fit-status.fit-busy');
        }""",
        arg=n_curves,
        timeout=120_000,
    )


def import_summary(pg: Any) -> dict[str, Any]:
    """The newest import's counts line and its groups of left-out files ({kind: [(name, reason)]})."""
    return pg.evaluate(
        """() => {
          const box = document.querySelector('#imports .import');
          const groups = {};
          for (const li of box.querySelectorAll('.import-details > li[data-kind]')) {
            groups[li.dataset.kind] = [...li.querySelectorAll('.reasons li')].map(
              (item) => [item.dataset.name, item.textContent]);
          }
          const counts = box.querySelector('.counts');
          return { ...counts.dataset, text: counts.textContent, groups,
                   notes: [...box.querySelectorAll('.note')].map((n) => n.textContent),
                   imagesLine: box.querySelector('li[data-kind="images"]').textContent };
        }"""
    )


def download_report(pg: Any) -> str:
    with pg.expect_download() as info:
        pg.click("#download-csv")
    return info.value.path().read_text(encoding="utf-8")


def thumbnail_grey_levels(pg: Any) -> list[float]:
    """Mean grey level (0–255) of every field thumbnail of the open curve's wells table."""
    return pg.evaluate(
        """async () => {
          const out = [];
          for (const canvas of document.querySelectorAll('#wells tbody td.c-thumb canvas')) {
            const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let sum = 0;
            for (let i = 0; i < px.length; i += 4) sum += (px[i] + px[i + 1] + px[i + 2]) / 3;
            out.push(sum / (px.length / 4));
          }
          return out;
        }"""
    )


@pytest.fixture(scope="module")
def plate_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_imagexpress_folder(tmp_path_factory.mktemp("imagexpress"))


@pytest.fixture(scope="module")
def reference(plate_folder: Path, origin_page: Any, server: Server) -> Reference:
    return training_reader(plate_folder, origin_page, server)


def test_training_reads_the_folder_as_designed(reference: Reference):
    """The fixture itself: three bright-field fields per well, DAPI left out, the layout's wells."""
    assert reference.channel == "Transmitted Light"
    assert list(reference.left_out) == ["DAPI"]
    assert len(reference.left_out["DAPI"]) == 3 * len(_layout_wells())
    assert set(reference.fields) == set(_layout_wells())
    assert all(len(files) == 3 for files in reference.fields.values())
    assert reference.concentration_um == _layout_wells()
    assert reference.control["D02"] == "kill" and reference.series["D01"] is None


def test_imagexpress_folder_with_layout_gives_one_curve_per_series_like_training(
    page: Any, server: Server, plate_folder: Path, reference: Reference
):
    open_app(page, server)
    page.set_input_files("#folder-input", str(plate_folder))
    wait_all_fitted(page, n_curves=2)

    # Every file accounted for: 96 images + .HTD + layout = 98 files → 16 wells → 16 fitted per the counts.
    n_wells = len(_layout_wells())
    summary = import_summary(page)
    n_files = 2 * 3 * n_wells + 2
    assert (int(summary["files"]), int(summary["images"])) == (n_files, 3 * n_wells)
    assert int(summary["wells"]) == n_wells and int(summary["fitted"]) == n_wells
    assert f"{n_files} files → {n_wells} wells → {n_wells} fitted" in summary["text"]
    assert "3 fields per well" in summary["imagesLine"] and "ImageXpress" in summary["imagesLine"]
    assert "channel Transmitted Light" in summary["imagesLine"]

    # The second channel is left out with a note naming each of its files.
    dapi = summary["groups"]["channel"]
    assert sorted(name for name, _ in dapi) == sorted(reference.left_out["DAPI"])
    assert all("channel DAPI, not the bright-field channel (Transmitted Light)" in text for _, text in dapi)
    assert {name for name, _ in summary["groups"]["layout"]} == {f"{PLATE}/layout.csv"}
    assert {name for name, _ in summary["groups"]["channel_names"]} == {f"{PLATE}/{PLATE}.HTD"}

    # One curve per series, labelled by plate and series, each with its 7 wells and the 2 shared controls.
    labels = page.eval_on_selector_all("#curve-list li strong", "els => els.map(e => e.textContent)")
    assert labels == [f"{PLATE} · dox", f"{PLATE} · cis"]
    assert page.input_value("#curve-label") == labels[0]  # the open curve's form shows its new label

    curves, wells = parse_report(download_report(page))
    assert [c["label"] for c in curves] == labels
    # Each curve fitted on its own: 6 doses, its vehicle and the shared one (the kill well is a control, not
    # fitted); every curve has a status.
    for c in curves:
        assert (c["n_wells"], c["n_concentrations"]) == ("8", "7") and c["status"], c
    by_curve: dict[str, dict[str, dict[str, str]]] = {}
    for w in wells:
        by_curve.setdefault(w["label"], {})[w["well"]] = w
    for label, series in ((labels[0], "dox"), (labels[1], "cis")):
        row = next(r for r, s in SERIES_ROWS.items() if s == series)
        expected_wells = {w for w in _layout_wells() if w.startswith(row)} | set(SHARED)
        assert set(by_curve[label]) == expected_wells
        for well, w in by_curve[label].items():
            # Same OD450 as training's reader: the mean of the well's three bright-field fields.
            assert float(w["predicted_od450"]) == pytest.approx(reference.od450[well], abs=1e-4), well
            assert w["plate"] == PLATE
            assert "3 fields:" in w["image"]
            if reference.control[well] == "kill":
                assert w["control"] == "kill"  # the layout's control well is the analysis' kill control
            else:
                assert float(w["concentration_um"]) == pytest.approx(reference.concentration_um[well])

    # The wells table: one row per well, three fields each, every field shown and scored on its own.
    table = page.eval_on_selector_all(
        "#wells tbody tr",
        """trs => trs.map(tr => ({well: tr.dataset.well, fields: Number(tr.dataset.fields),
            od450: Number(tr.dataset.od450), thumbs: tr.querySelectorAll('td.c-thumb canvas').length,
            each: [...tr.querySelectorAll('.fields .field')].map(f => Number(f.dataset.od450))}))""",
    )
    assert sorted(r["well"] for r in table) == sorted(by_curve[labels[0]])
    for r in table:
        assert r["fields"] == 3 and r["thumbs"] == 3 and len(r["each"]) == 3
        assert r["od450"] == pytest.approx(float(np.mean(r["each"])), abs=1e-9)
        assert r["od450"] == pytest.approx(reference.od450[r["well"]], abs=1e-4)


def test_thumbnails_of_12bit_fields_are_visible(page: Any, server: Server, plate_folder: Path):
    open_app(page, server)
    page.set_input_files("#folder-input", str(plate_folder))
    wait_all_fitted(page, n_curves=2)
    greys = thumbnail_grey_levels(page)
    assert len(greys) == 3 * 9
    assert min(greys) > 60, f"thumbnail mean grey levels {min(greys):.1f}–{max(greys):.1f} of 255"


def test_bad_files_are_named_with_their_reason_and_the_rest_is_fitted(
    page: Any, server: Server, tmp_path: Path
):
    folder = write_imagexpress_folder(tmp_path, wells=("B01", "B02", "B03", "B04", "B05", "D02"))
    corrupt = folder / f"{PLATE}_B02_s2_w1{GUID}.tif"
    corrupt.write_bytes(b"II*\x00" + bytes(60))  # a TIFF header and nothing usable: B02's field 2 is lost
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not an image")
    (folder / f"{PLATE}_B03_s1_w1_thumb{GUID}.tif").write_bytes(
        (folder / f"{PLATE}_B03_s1_w1{GUID}.tif").read_bytes()
    )
    (folder / "B07").mkdir()
    (folder / "B07" / f"{PLATE}_C03_s1_w1{GUID}.tif").write_bytes(b"II*\0")  # names two wells: not guessed
    (folder / "broken.xlsx").write_bytes(b"PK not a workbook")
    open_app(page, server)
    page.set_input_files("#folder-input", str(folder))
    wait_all_fitted(page, n_curves=1)
    summary = import_summary(page)
    # 36 images (one of them corrupt) + .HTD + layout.csv + 4 more bad ones = 42 files; 17 fields scored in
    # 6 wells, all 6 fitted (5 with a concentration, and the kill well as a control).
    counts = (summary["files"], summary["images"], summary["wells"], summary["fitted"])
    assert counts == ("42", "17", "6", "6")
    assert "42 files → 6 wells → 6 fitted" in summary["text"]
    reasons = {kind: dict(items) for kind, items in summary["groups"].items()}
    assert "corrupt or unreadable TIFF file" in reasons["corrupt"][f"{PLATE}/{corrupt.name}"]
    assert "neither an image" in reasons["not_image"][f"{PLATE}/notes.pdf"]
    assert f"{PLATE}/{PLATE}_B03_s1_w1_thumb{GUID}.tif" in reasons["thumbnail"]
    (ambiguous,) = reasons["ambiguous"].values()
    assert "B07" in ambiguous and "C03" in ambiguous
    assert f"{PLATE}/broken.xlsx" in reasons["unreadable_layout"]
    assert len(reasons["channel"]) == 18
    # The well with the corrupt field is the mean of its two other fields, and says so.
    b02 = page.eval_on_selector(
        "#wells tbody tr[data-well='B02']",
        """tr => ({fields: tr.dataset.fields, od: Number(tr.dataset.od450),
            each: [...tr.querySelectorAll('.fields .field')].map(
              f => [f.dataset.status, f.dataset.od450])})""",
    )
    assert b02["fields"] == "3" and [e[0] for e in b02["each"]] == ["done", "problem", "done"]
    used = [float(e[1]) for e in b02["each"] if e[0] == "done"]
    assert b02["od"] == pytest.approx(sum(used) / 2, abs=1e-9)


def test_truncated_fields_are_named_and_the_rest_of_the_plate_is_fitted(
    page: Any, server: Server, tmp_path: Path
):
    """One field of four wells cut one byte short, each in another TIFF variant (the subtlest truncation:
    a decoder fills the missing byte without complaint): each is named, its well is the mean of the others."""
    import tifffile

    from tests.training.test_tiff import TRUNCATED, write_truncated

    folder = write_imagexpress_folder(tmp_path, wells=("B01", "B02", "B03", "B04", "B05", "D02"))
    cut = {}
    for well, (variant, options) in zip(("B02", "B03", "B04", "B05"), TRUNCATED, strict=True):
        path = folder / f"{PLATE}_{well}_s2_w1{GUID}.tif"
        write_truncated(path, tifffile.imread(path), options, cut="one_byte_short")
        cut[f"{PLATE}/{path.name}"] = variant
    open_app(page, server)
    page.set_input_files("#folder-input", str(folder))
    wait_all_fitted(page, n_curves=1)
    summary = import_summary(page)
    # 6 wells × 3 fields × 2 channels + .HTD + layout.csv = 38 files; 14 fields scored in 6 wells, all fitted.
    assert (summary["files"], summary["images"], summary["wells"], summary["fitted"]) == (
        "38",
        "14",
        "6",
        "6",
    )
    assert "38 files → 6 wells → 6 fitted" in summary["text"]
    reasons = dict(summary["groups"]["corrupt"])
    assert set(reasons) == set(cut)
    assert all("the file ends before its image data (truncated?)" in reason for reason in reasons.values())
    for well in ("B02", "B03", "B04", "B05"):
        row = page.eval_on_selector(
            f"#wells tbody tr[data-well='{well}']",
            """tr => ({od: Number(tr.dataset.od450), each: [...tr.querySelectorAll('.fields .field')].map(
                 f => [f.dataset.status, f.dataset.od450])})""",
        )
        assert [e[0] for e in row["each"]] == ["done", "problem", "done"], well
        used = [float(e[1]) for e in row["each"] if e[0] == "done"]
        assert row["od"] == pytest.approx(sum(used) / 2, abs=1e-9), well


def test_unnamed_channels_are_chosen_by_the_person_then_placed(page: Any, server: Server, tmp_path: Path):
    folder = write_imagexpress_folder(tmp_path, wells=("B01", "B02", "D02"), htd=False)
    open_app(page, server)
    page.set_input_files("#folder-input", str(folder))
    page.wait_for_selector("#imports .channel-choice button")
    question = page.text_content("#imports .channel-choice p")
    assert "Which channel is bright field?" in question and "none is named as bright field" in question
    assert page.eval_on_selector_all(
        "#imports .channel-choice button", "bs => bs.map(b => b.textContent)"
    ) == [
        "channel 1",
        "channel 2",
    ]
    assert page.eval_on_selector_all("#wells tbody tr", "trs => trs.length") == 0  # nothing scored meanwhile
    page.click("#imports .channel-choice button[data-channel='channel 1']")
    wait_all_fitted(page, n_curves=1)
    summary = import_summary(page)
    assert (summary["images"], summary["wells"]) == ("9", "3") and "channel channel 1" in summary[
        "imagesLine"
    ]
    assert len(summary["groups"]["channel"]) == 9 and not page.query_selector("#imports .channel-choice")


def test_a_layout_imported_after_the_images_gives_them_their_concentrations(
    page: Any, server: Server, tmp_path: Path
):
    folder = write_imagexpress_folder(tmp_path, wells=("B01", "B02", "B03", "B04", "B05", "D02"))
    layout = tmp_path / "layout.csv"
    (folder / "layout.csv").rename(layout)
    open_app(page, server)
    page.set_input_files("#folder-input", str(folder))
    page.wait_for_function(
        """() => {
          const trs = [...document.querySelectorAll('#wells tbody tr')];
          return trs.length === 6 && !trs.some((r) => ['queued', 'scoring'].includes(r.dataset.status));
        }"""
    )
    assert import_summary(page)["fitted"] == "0"  # no concentrations yet
    page.click("#layout-box summary")
    page.set_input_files("#layout-input", str(layout))
    wait_all_fitted(page, n_curves=1)
    assert "In use: layout.csv" in page.text_content("#layout-status")
    table = page.eval_on_selector_all(
        "#wells tbody tr", "trs => trs.map(tr => [tr.dataset.well, tr.querySelector('input.conc').value])"
    )
    assert dict(table) == {"B01": "0", "B02": "10", "B03": "3", "B04": "1", "B05": "0.3", "D02": ""}
    summary = page.eval_on_selector_all("#imports .import .counts", "els => els.map(e => e.dataset.fitted)")
    assert summary[-1] == "6"  # the first drop (listed last) is now fitted: 5 wells and the kill control


@pytest.mark.parametrize(("n_wells", "rows", "columns"), [(96, 8, 12), (384, 16, 24)])
def test_templates_download_as_training_writes_them(
    page: Any, server: Server, n_wells: int, rows: int, columns: int
):
    from training.layouts import layout_template

    open_app(page, server)
    page.click("#layout-box summary")
    with page.expect_download() as info:
        page.click(f"#template-{n_wells}")
    assert info.value.suggested_filename == f"nostain-layout-{n_wells}.csv"
    text = Path(info.value.path()).read_bytes().decode("utf-8")
    assert text == layout_template(n_wells)
    assert text.count("\r\nP,") == (2 if rows == 16 else 0) and f",{columns}\r\n" in text


def test_a_384_well_opera_plate_gets_its_layout_and_a_16_by_24_map(page: Any, server: Server, tmp_path: Path):
    """Opera/Operetta names (row 16 = P, columns 13–24), two fields per well, a 16 × 24 layout grid."""
    import tifffile

    doses = {13: "DMSO", **{c: f"{10 / 3 ** (c - 14):.4g}" for c in range(14, 25)}}  # 10 µM, 1:3 down
    folder = tmp_path / "Plate_1"
    (folder / "Images").mkdir(parents=True)
    rng = np.random.default_rng(384)
    for column, text in doses.items():
        um = 0.0 if text == "DMSO" else float(text)
        for field in (1, 2):
            grey8 = well_image(int(20 + 250 * viability(um)), width=IMAGE_WIDTH, height=IMAGE_HEIGHT, rng=rng)
            name = f"r16c{column:02d}f{field:02d}p01-ch1sk1fk1fl1.tiff"
            tifffile.imwrite(folder / "Images" / name, grey8[:, :, 1].astype(np.uint16) * 257)
    grid = ["Plate 1 - concentration (µM)", "," + ",".join(str(c) for c in range(1, 25))]
    grid += [row + "," + ",".join(doses.get(c, "") if row == "P" else "" for c in range(1, 25)) for row in
             "ABCDEFGHIJKLMNOP"]  # fmt: skip
    layout = tmp_path / "layout384.csv"
    layout.write_text("\n".join(grid) + "\n", encoding="utf-8")
    open_app(page, server)
    page.click("#layout-box summary")
    page.set_input_files("#layout-input", str(layout))
    page.wait_for_function("() => document.getElementById('layout-status').textContent.includes('384 wells')")
    assert "plate 1 (12 of 384 wells)" in page.text_content("#layout-status")
    page.set_input_files("#folder-input", str(folder))
    wait_all_fitted(page, n_curves=1)
    summary = import_summary(page)
    assert (summary["files"], summary["images"], summary["wells"], summary["fitted"]) == (
        "24",
        "24",
        "12",
        "12",
    )
    assert "named by Opera/Operetta" in summary["imagesLine"] and "2 fields per well" in summary["imagesLine"]
    table = page.eval_on_selector_all(
        "#wells tbody tr", "trs => trs.map(tr => [tr.dataset.well, tr.querySelector('input.conc').value])"
    )
    assert {well: float(value) for well, value in table} == pytest.approx(
        {f"P{c}": 0.0 if text == "DMSO" else float(text) for c, text in doses.items()}
    )
    heatmap = page.eval_on_selector(
        "#heatmap-od450 table",
        "t => ({rows: t.tBodies[0]?.rows.length ?? t.querySelectorAll('tr').length - 1,"
        " columns: t.querySelectorAll('th[scope=col]').length,"
        " wells: [...t.querySelectorAll('td[data-value]')].map(td => td.dataset.well)})",
    )
    assert (heatmap["rows"], heatmap["columns"]) == (16, 24)
    assert sorted(heatmap["wells"]) == sorted(f"P{c}" for c in doses)
    # Each field on its own: its thumbnail opens its occlusion map; unticking it leaves it out of the mean.
    row = "#wells tbody tr[data-well='P14']"
    page.click(f"{row} td.c-thumb canvas:nth-child(2)")
    page.wait_for_selector("#attribution[data-state='done'] canvas.attribution-map")
    (done,) = page.evaluate("window.nostainDebug.attributions")
    assert done["name"] == "r16c14f02p01-ch1sk1fk1fl1.tiff"
    fields = page.eval_on_selector_all(f"{row} .fields .field", "fs => fs.map(f => Number(f.dataset.od450))")
    page.click(f"{row} details.fields summary")
    page.uncheck(f"{row} .fields .field:nth-of-type(1) input.field-use")
    page.wait_for_function(
        "([sel, od]) => Math.abs(Number(document.querySelector(sel).dataset.od450) - od) < 1e-9",
        arg=[row, fields[1]],
    )
    assert "2 fields, OD450 = mean of 1" in page.inner_text(f"{row} details.fields summary")
    assert page.eval_on_selector(f"{row} .fields .field", "f => f.classList.contains('left-out')")


def test_two_plates_in_one_folder_take_their_own_layout_plates(page: Any, server: Server, tmp_path: Path):
    screen = tmp_path / "screen"
    wells = ("B01", "B02", "B03", "B04", "B05", "D02")
    for plate in ("plate1", "plate2"):
        write_imagexpress_folder(screen, wells=wells, plate=plate, layout=False)
    doses = {"plate1": ["DMSO", "10", "3", "1", "0.3"], "plate2": ["DMSO", "100", "30", "10", "3"]}
    lines = []
    for plate, cells in doses.items():
        lines += [f"Plate {plate[-1]} - concentration (µM)", "," + ",".join(str(c) for c in range(1, 13))]
        for row in "ABCDEFGH":
            values = {"B": cells, "D": ["", "kill"]}.get(row, [])  # doses in row B; D02 = kill
            lines.append(row + "," + ",".join(values + [""] * (12 - len(values))))
        lines.append("")
    (screen / "layout.csv").write_text("\n".join(lines), encoding="utf-8")
    open_app(page, server)
    page.set_input_files("#folder-input", str(screen))
    wait_all_fitted(page, n_curves=2)
    summary = import_summary(page)
    assert (summary["files"], summary["wells"], summary["fitted"]) == (str(2 * 36 + 3), "12", "12")
    curves, wells_out = parse_report(download_report(page))
    assert [c["label"] for c in curves] == ["plate1", "plate2"]
    for plate, cells in doses.items():
        got = {w["well"]: w for w in wells_out if w["label"] == plate}
        assert {w["plate"] for w in got.values()} == {plate} and got["D02"]["control"] == "kill"
        for column, text in enumerate(cells, start=1):
            expected = 0.0 if text == "DMSO" else float(text)
            assert float(got[f"B{column:02d}"]["concentration_um"]) == pytest.approx(expected)


def test_incucyte_reads_at_two_times_become_a_time_course_with_gr(page: Any, server: Server, tmp_path: Path):
    """Incucyte names (vessel VID7, elapsed time): the 0 h and 72 h reads are two curves of one course."""
    from PIL import Image

    doses = ["DMSO", "10", "3", "1", "0.3", "0.1", "0.03"]
    folder = tmp_path / "incucyte"
    folder.mkdir()
    rng = np.random.default_rng(72)
    for column, text in enumerate(doses, start=1):
        um = 0.0 if text == "DMSO" else float(text)
        for elapsed, cells in (("00d00h00m", 60), ("03d00h00m", int(20 + 250 * viability(um)))):
            for image in (1, 2):
                grey = well_image(cells, width=IMAGE_WIDTH, height=IMAGE_HEIGHT, rng=rng)
                Image.fromarray(grey).save(folder / f"VID7_B{column}_{image}_{elapsed}.png")
    grid = ["Plate VID7 - concentration (µM)", "," + ",".join(str(c) for c in range(1, 13))]
    grid += [row + "," + ",".join(doses if row == "B" else []) for row in "ABCDEFGH"]
    (folder / "layout.csv").write_text("\n".join(grid) + "\n", encoding="utf-8")
    open_app(page, server)
    page.set_input_files("#folder-input", str(folder))
    wait_all_fitted(page, n_curves=2)
    labels = page.eval_on_selector_all("#curve-list li strong", "els => els.map(e => e.textContent)")
    assert labels == ["VID7 · 0 h", "VID7 · 72 h"]
    assert page.input_value("#read-time") == "0"  # the open curve's read time, from the names
    page.click("#curve-list li:nth-child(2) button:has-text('open')")
    assert page.input_value("#read-time") == "72"
    page.wait_for_function(
        "() => document.getElementById('timecourse-status').textContent.startsWith('2 reads')"
    )
    assert page.inner_text("#timecourse-status").startswith("2 reads of 7 wells matched by well ID")
    _, wells = parse_report(download_report(page))
    zero = {w["well"]: float(w["predicted_od450"]) for w in wells if w["label"] == labels[0]}
    later = {w["well"]: w for w in wells if w["label"] == labels[1]}
    assert set(zero) == set(later) == {f"B{c:02d}" for c in range(1, 8)}
    for well, w in later.items():  # the 72 h read's wells carry their 0 h read: GR values
        assert float(w["time_zero_od450"]) == pytest.approx(zero[well], abs=1e-6)
        assert w["gr"] != ""

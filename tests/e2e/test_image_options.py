"""Image options on the page: a file's own bright-field channel, a z-stack's plane, the 16-bit window.

Each choice is checked against a twin: the same plate written as plain 8-bit grey TIFFs holding exactly the
pixels the choice should give (the chosen channel's samples, the chosen plane, or the 12-bit data mapped
to 8 bit by training.preprocess with the plate's window). Scored on the page, the twins must give the same
OD450 as the originals scored with the choice; the wells' notes (and the report) must say what was used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from tests.e2e.conftest import (
    Server,
    open_app,
    parse_report,
    rows,
    scored_od450,
    viability,
    wait_scored,
    well_image,
)
from tests.e2e.test_plates import download_report, import_summary
from training.preprocess import decode_image, plate_window

pytestmark = pytest.mark.e2e

#: A small plate: (concentration µM, well) per file.
PLATE = ((0.0, "B01"), (0.1, "B02"), (1.0, "B03"), (10.0, "B04"))
SHAPE = (120, 140)  # (height, width) px: larger than the model's 96 px input, small for speed


def _name(conc_um: float, well: str) -> str:
    return f"A549_dox_{'DMSO' if conc_um == 0 else f'{conc_um:g}uM'}_{well}.tif"


def _cells(conc_um: float, seed: int) -> np.ndarray:
    """A bright-field-like grey frame (uint8) with fewer cells at higher doses."""
    rng = np.random.default_rng(seed)
    return well_image(int(20 + 200 * viability(conc_um)), width=SHAPE[1], height=SHAPE[0], rng=rng)[:, :, 1]


def _write_grey8(folder: Path, name: str, grey: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    tifffile.imwrite(path, grey.astype(np.uint8), photometric="minisblack")
    return path


def _od450_by_name(pg: Any) -> dict[str, float | None]:
    return {r["name"]: r["od450"] for r in rows(pg)}


def _notes_by_name(pg: Any) -> dict[str, str]:
    return {r["name"]: r["notes"] for r in rows(pg)}


def _choose(pg: Any, selector: str, value: str) -> int:
    """Pick ``value`` in an image-options menu and wait until the plate was scored again (a scoring run ended
    and no well waits); returns the count of fits before (wait_scored's ``fits_before``)."""
    runs, fits = pg.evaluate("[window.nostainDebug.runs.length, window.nostainDebug.fits]")
    pg.select_option(selector, value)
    pg.wait_for_function(
        """(n) => window.nostainDebug.runs.length > n && [...document.querySelectorAll('#wells tbody tr')]
          .every((r) => !['queued', 'scoring'].includes(r.dataset.status))""",
        arg=runs,
    )
    return int(fits)


def test_the_lab_chooses_a_files_own_bright_field_channel(page: Any, server: Server, tmp_path: Path):
    """Two-channel TIFFs with unnamed channels: the page asks, channel 2 is chosen, OD450 is channel 2's."""
    originals, twins = [], []
    for k, (conc, well) in enumerate(PLATE):
        fluorescence = (_cells(conc, 100 + k) // 4).astype(np.uint8)  # another frame, dark
        bright = _cells(conc, k)
        path = tmp_path / "two" / _name(conc, well)
        path.parent.mkdir(exist_ok=True)
        tifffile.imwrite(
            path, np.stack([fluorescence, bright]), photometric="minisblack", planarconfig="separate"
        )
        originals.append(path)
        twins.append(_write_grey8(tmp_path / "twin", _name(conc, well), bright))
    expected = scored_od450(page, server, twins)

    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in originals])
    page.wait_for_selector("#imports .channel-choice button[data-file-channel]")
    question = page.text_content("#imports .channel-choice p")
    assert f"Which channel of these {len(PLATE)} files is bright field?" in question
    assert "Each holds 2 channels (channel 1, channel 2) and none is named as bright field." in question
    buttons = page.eval_on_selector_all("#imports .channel-choice button", "bs => bs.map(b => b.textContent)")
    assert buttons == ["channel 1", "channel 2"]
    summary = import_summary(page)  # unresolved files are named, not lost
    assert summary["text"].startswith(f"{len(PLATE)} files → 0 wells")
    assert sorted(name for name, _ in summary["groups"]["no_channel"]) == sorted(p.name for p in originals)

    page.click("#imports .channel-choice button[data-file-channel='1']")
    wait_scored(page)
    got = _od450_by_name(page)
    assert got.keys() == expected.keys()
    for name, od in expected.items():
        assert got[name] == pytest.approx(od, abs=1e-5), name
    assert all("channel 2 of 2 (channel 2) was used, as chosen" in n for n in _notes_by_name(page).values())
    name = originals[-1].name  # its occlusion map explains the OD450 of the chosen channel
    page.click(f"#wells tbody tr[data-name='{name}'] td.c-thumb")
    page.wait_for_function("window.nostainDebug.attributions.length === 1")
    assert page.evaluate("window.nostainDebug.attributions[0].od450") == pytest.approx(got[name], abs=1e-5)
    summary = import_summary(page)
    assert summary["text"].startswith(f"{len(PLATE)} files → {len(PLATE)} wells → {len(PLATE)} fitted")
    assert "no_channel" not in summary["groups"] and not page.query_selector("[data-file-channel]")


def test_the_lab_chooses_the_plane_of_a_z_stack(page: Any, server: Server, tmp_path: Path):
    """Z-stacks score their middle plane; choosing plane 1 gives the OD450 of plane 1 alone."""
    originals, twins = [], []
    for k, (conc, well) in enumerate(PLATE):
        planes = np.stack([_cells(conc, 10 * k + z) for z in range(3)])
        path = tmp_path / "stack" / _name(conc, well)
        path.parent.mkdir(exist_ok=True)
        tifffile.imwrite(path, planes, imagej=True, metadata={"axes": "ZYX"})
        originals.append(path)
        twins.append(_write_grey8(tmp_path / "twin", _name(conc, well), planes[0]))
    expected = scored_od450(page, server, twins)

    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in originals])
    wait_scored(page)
    middle = _od450_by_name(page)
    assert all("the middle one (plane 2) was used" in n for n in _notes_by_name(page).values())
    assert page.is_visible("#image-options") and not page.query_selector("#window-option")  # 8 bit: no window
    labels = page.eval_on_selector_all("#plane-option option", "os => os.map(o => o.textContent)")
    assert labels == ["middle plane (default)", "plane 1", "plane 2", "plane 3"]

    _choose(page, "#plane-option", "1")
    got = _od450_by_name(page)
    for name, od in expected.items():
        assert got[name] == pytest.approx(od, abs=1e-5), name
    assert any(abs(got[n] - middle[n]) > 1e-4 for n in got)  # plane 1 is not the middle plane
    assert all("plane 1 of 3 was used, as chosen" in n for n in _notes_by_name(page).values())


def _twelve_bit(conc_um: float, seed: int, top: int) -> np.ndarray:
    """A 12-bit camera frame (0…``top``) in a 16-bit container that declares no bit depth."""
    return np.round(_cells(conc_um, seed).astype(np.float64) * top / 255).astype(np.uint16)


def _deep_plate(folder: Path) -> tuple[list[Path], list[Path]]:
    """A 12-bit plate whose odd wells are dim (11 bits by their own range), and its twins: each file mapped
    to 8 bit by training with the plate's window (``plate_window`` of every file's own window, 0–4095)."""
    originals = []
    for k, (conc, well) in enumerate(PLATE):
        top = 4095 if k % 2 == 0 else 1500
        path = folder / "deep" / _name(conc, well)
        path.parent.mkdir(exist_ok=True)
        tifffile.imwrite(path, _twelve_bit(conc, k, top), photometric="minisblack")
        originals.append(path)
    plate = plate_window([decode_image(p).data_window for p in originals])
    assert (plate.low, plate.high) == (0, 4095)
    twins = [
        _write_grey8(folder / "twin", p.name, decode_image(p, window=plate).rgb[:, :, 0]) for p in originals
    ]
    return originals, twins


def test_the_lab_chooses_one_window_for_the_plate_or_a_stretch(page: Any, server: Server, tmp_path: Path):
    """A 12-bit plate whose dim wells need fewer bits: one window for the plate maps every well alike."""
    originals, twins = _deep_plate(tmp_path)
    expected = scored_od450(page, server, twins)

    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in originals])
    wait_scored(page)
    own = _od450_by_name(page)
    assert not page.query_selector("#plane-option")  # one plane each: no plane menu
    labels = page.eval_on_selector_all("#window-option option", "os => os.map(o => o.textContent)")
    assert labels == [
        "as the file declares (default)",
        "one window for the whole plate",
        "stretch each image (0.1–99.9 %)",
    ]

    fits = _choose(page, "#window-option", "plate")
    got = _od450_by_name(page)
    for name, od in expected.items():
        assert got[name] == pytest.approx(od, abs=1e-5), name
    dim = [p.name for k, p in enumerate(originals) if k % 2]
    assert all(abs(got[n] - own[n]) > 1e-4 for n in dim)  # their own window was 0–2047
    note = f"mapped to 8 bit by the window 0–4095 (plate: the widest of {len(PLATE)} images' windows)"
    assert all(note in n for n in _notes_by_name(page).values())
    wait_scored(page, fits_before=fits)
    _, wells = parse_report(download_report(page))
    assert len(wells) == len(PLATE) and all(note in w["flags"] for w in wells)

    _choose(page, "#window-option", "percentile")
    stretched = _od450_by_name(page)
    assert any(abs(stretched[n] - own[n]) > 1e-4 for n in own)
    notes = _notes_by_name(page).values()
    assert all("(the image's 0.1th–99.9th percentiles (as asked))" in n for n in notes)

    _choose(page, "#window-option", "file")
    back = _od450_by_name(page)
    for name, od in own.items():
        assert back[name] == pytest.approx(od, abs=1e-6), name
    assert not any("mapped to 8 bit" in n for n in _notes_by_name(page).values())


_STALE = """async () => {
  const m = await import('/static/js/image-options.js');
  const own = (high, bits) => ({ low: 0, high, bits, source: `${bits}-bit: the data's range` });
  const sent = { plane: null, channel: null, window: null };
  const image = (id, status, window, extra = {}) => ({
    id, status, scoredWith: sent, image: window && { window, data_window: window }, ...extra,
  });
  const curve = {
    imageOptions: { plane: null, window: 'plate' },
    wells: [
      image(1, 'done', own(4095, 12)),
      image(2, 'done', own(2047, 11)),
      image(3, 'done', null),  // 8 bit: no window of its own
      image(4, 'scoring', own(4095, 12)),  // looked at when it comes back
      image(5, 'problem', null, { problem: { kind: 'choose_channel', message: '', channels: [] } }),
      image(6, 'queued', null, { scoredWith: null }),
    ],
  };
  const plate = m.curvePlateWindow(curve);
  const before = m.staleImages(curve).map((w) => w.id);
  for (const w of curve.wells) if (w.status === 'done') w.scoredWith = m.scoreOptions(curve, w);
  const after = m.staleImages(curve).map((w) => w.id);
  curve.imageOptions = { plane: 0, window: 'file' };
  const replaned = m.staleImages(curve).map((w) => w.id);
  const chosen = m.scoreOptions(curve, { channel: 1 });
  return { plate, before, after, replaned, chosen,
           offered: m.offeredOptions(curve), untouched: m.offeredOptions({ wells: [] }) };
}"""


def test_images_are_scored_again_when_their_options_are_out_of_date(origin_page: Any):
    """image-options.js: the plate's window comes from every image read; stale images are found, once."""
    got = origin_page.evaluate(_STALE)
    plate = got["plate"]
    assert (plate["low"], plate["high"], plate["bits"]) == (0, 4095, 12)
    assert plate["source"] == "plate: the widest of 3 images' windows"  # 1, 2 and 4 were read
    assert got["before"] == [1, 2, 3] and got["after"] == []
    assert got["replaned"] == [1, 2, 3]  # a plane chosen: every scored image again
    assert got["chosen"] == {"plane": 0, "channel": 1, "window": None}
    assert got["offered"] == {"planes": 1, "deep": True, "plane": 0, "window": "file"}
    assert got["untouched"] == {"planes": 1, "deep": False, "plane": None, "window": "file"}


def test_files_asking_for_a_channel_are_grouped_by_the_channels_they_hold(origin_page: Any):
    asking = """async () => {
      const m = await import('/static/js/image-options.js');
      const ask = (n, names) => ({ status: 'problem', name: n, problem: { kind: 'choose_channel',
        message: `holds ${names.length}`, channels: names.map((name, index) => ({ index, name })) } });
      const images = [ask('a', [null, null]), ask('b', ['DAPI', 'GFP']), ask('c', [null, null]),
                      { status: 'problem', name: 'd', problem: { kind: 'corrupt', message: 'x' } },
                      { status: 'done', name: 'e', problem: null }];
      return m.channelQuestions(images).map((q) => [q.images.map((i) => i.name), q.channels, q.message]);
    }"""
    assert origin_page.evaluate(asking) == [
        [["a", "c"], [{"index": 0, "label": "channel 1"}, {"index": 1, "label": "channel 2"}], "holds 2"],
        [["b"], [{"index": 0, "label": "DAPI"}, {"index": 1, "label": "GFP"}], "holds 2"],
    ]


def test_a_chosen_window_is_named_and_the_default_goes_without_saying(origin_page: Any):
    notes = """async () => {
      const m = await import('/static/js/image-options.js');
      const image = { window: { low: 12.5, high: 3921.25, source: 'as asked' } };
      const eight = { window: null };  // an 8-bit image: never remapped
      return [m.windowNote(image, 'percentile'), m.windowNote(image, null), m.windowNote(eight, 'plate')];
    }"""
    assert origin_page.evaluate(notes) == [
        "mapped to 8 bit by the window 12.5–3921.25 (as asked)",
        None,
        None,
    ]


def test_images_added_in_plate_mode_widen_the_plates_window(page: Any, server: Server, tmp_path: Path):
    """The dim wells first, 'one window for the whole plate' chosen (0–2047), then the bright wells dropped on
    the same curve: every well ends mapped by the window of all four (0–4095), as training maps them."""
    originals, twins = _deep_plate(tmp_path)
    expected = scored_od450(page, server, twins)
    dim, bright = originals[1::2], originals[0::2]

    open_app(page, server)
    page.set_input_files("#file-input", [str(p) for p in dim])
    wait_scored(page)
    _choose(page, "#window-option", "plate")
    notes = _notes_by_name(page).values()
    assert all("by the window 0–2047 (plate: the widest of 2 images' windows)" in n for n in notes)

    runs = page.evaluate("window.nostainDebug.runs.length")
    page.set_input_files("#file-input", [str(p) for p in bright])
    page.wait_for_function(  # the new wells' run, then the whole curve's again with the wider window
        """(n) => window.nostainDebug.runs.length >= n + 2
          && [...document.querySelectorAll('#wells tbody tr')].every((r) => r.dataset.status === 'done')""",
        arg=runs,
    )
    got = _od450_by_name(page)
    assert got.keys() == expected.keys()
    for name, od in expected.items():
        assert got[name] == pytest.approx(od, abs=1e-5), name
    notes = _notes_by_name(page).values()
    assert all("by the window 0–4095 (plate: the widest of 4 images' windows)" in n for n in notes)

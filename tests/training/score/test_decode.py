"""training.score.decode: the batch command's --plane, --bright-field and --window on small OME-TIFFs.

Each option must give the model input :func:`training.preprocess.preprocess` gives for the same plane,
channel and window (so the batch scores what the page would), and say what it used; a file that cannot be
scored with the options is refused with its name and the reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from training.preprocess import data_window, plate_window, preprocess
from training.score.decode import EIGHT_BIT, ImageOptions, data_windows, decode_well, plate_window_of

SIZE = 32  # model input side (px): small, the rule is the same at any size
H, W = 40, 50


def _grey(seed: int, top: int) -> np.ndarray:
    """A (H, W) uint16 image of random values up to ``top``: each seed its own pixels."""
    return np.random.default_rng(seed).integers(0, top + 1, (H, W)).astype(np.uint16)


def _ome(
    path: Path, data: np.ndarray, axes: str, *, names: list[str] | None = None, um: float = 0.65
) -> Path:
    metadata: dict = {"axes": axes, "PhysicalSizeX": um, "PhysicalSizeY": um}
    if names:
        metadata["Channel"] = {"Name": names}
    tifffile.imwrite(path, data, ome=True, metadata=metadata)
    return path


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """A z-stack of 3 planes × 2 channels (Hoechst, Cy5: neither named as bright field), 12-bit data."""
    data = np.stack([np.stack([_grey(10 * z + c, 4095) for c in range(2)]) for z in range(3)])
    return _ome(tmp_path / "B02_0.1uM.ome.tif", data, "ZCYX", names=["Hoechst", "Cy5"])


def test_a_file_whose_channels_do_not_say_is_refused_with_its_name_and_how_to_choose(stack: Path):
    with pytest.raises(ValueError, match="bright field") as refused:
        decode_well(stack, SIZE, ImageOptions())
    message = str(refused.value)
    assert message.startswith(f"{stack.name}: this file holds 2 channels (Hoechst, Cy5)")
    assert "--bright-field" in message and "not scored" in message


@pytest.mark.parametrize("bright_field", [2, "Cy5", "cy5"])
def test_bright_field_picks_the_channel_inside_the_file(stack: Path, bright_field: int | str):
    pixels, used = decode_well(stack, SIZE, ImageOptions(bright_field=bright_field))
    np.testing.assert_array_equal(pixels, preprocess(stack, SIZE, channel=1))
    assert (used.plane, used.channel, used.channel_name) == (2, 2, "Cy5")  # the middle plane of 3, by rule
    assert not np.array_equal(pixels, preprocess(stack, SIZE, channel=0))  # the other channel differs


def test_plane_is_counted_from_one(stack: Path):
    pixels, used = decode_well(stack, SIZE, ImageOptions(plane=3, bright_field=1))
    np.testing.assert_array_equal(pixels, preprocess(stack, SIZE, plane=2, channel=0))
    assert (used.plane, used.channel, used.channel_name) == (3, 1, "Hoechst")
    assert used.pixel_size_um == 0.65 and used.width_px == W


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (ImageOptions(bright_field=3), "channel 3 was asked for, but the file holds 2: Hoechst, Cy5"),
        (ImageOptions(bright_field="DAPI"), "channel 'DAPI' was asked for, but the file holds 2"),
        (ImageOptions(plane=4, bright_field=1), "plane 4 was asked for, but the file has 3 plane(s)"),
    ],
)
def test_a_plane_or_channel_the_file_lacks_is_named(stack: Path, options: ImageOptions, reason: str):
    with pytest.raises(ValueError) as refused:
        decode_well(stack, SIZE, options)
    assert str(refused.value).startswith(f"{stack.name}: {reason}")


def test_a_file_that_names_its_bright_field_channel_keeps_it(tmp_path: Path):
    data = np.stack([_grey(1, 4095), _grey(2, 4095)])
    path = _ome(tmp_path / "C03.ome.tif", data, "CYX", names=["DAPI", "Brightfield"])
    pixels, used = decode_well(path, SIZE, ImageOptions(bright_field=1))
    np.testing.assert_array_equal(pixels, preprocess(path, SIZE))
    assert (used.channel, used.channel_name) == (2, "Brightfield")


def test_one_channel_files_ignore_bright_field_and_other_formats_refuse_a_second_plane(tmp_path: Path):
    grey = _ome(tmp_path / "D04.ome.tif", _grey(3, 4095), "YX")
    pixels, used = decode_well(grey, SIZE, ImageOptions(bright_field=2))  # --bright-field 2 chose the file
    np.testing.assert_array_equal(pixels, preprocess(grey, SIZE))
    assert (used.plane, used.channel, used.window) == (1, 1, "12-bit: the data's range (0–4095)")
    jpeg = tmp_path / "D05.jpg"
    Image.fromarray(np.full((H, W, 3), 120, np.uint8)).save(jpeg)
    _, used = decode_well(jpeg, SIZE, ImageOptions())
    assert used.window == EIGHT_BIT and used.pixel_size_um is None
    with pytest.raises(ValueError, match=r"^D05\.jpg: plane 2 was asked for, but the file has 1 plane"):
        decode_well(jpeg, SIZE, ImageOptions(plane=2))


def test_plate_and_percentile_windows(tmp_path: Path):
    paths = [
        _ome(tmp_path / "E01.ome.tif", _grey(4, 4000), "YX"),  # 12-bit data
        _ome(tmp_path / "E02.ome.tif", _grey(5, 16000), "YX"),  # 14-bit data
        tmp_path / "E03.jpg",  # 8-bit: no window of its own
    ]
    Image.fromarray(np.full((H, W, 3), 120, np.uint8)).save(paths[2])
    corrupt = tmp_path / "E04.tif"
    corrupt.write_bytes(b"II*\x00 not a tiff")
    own = data_windows([*paths, corrupt], SIZE, ImageOptions(window="plate"))
    assert [(w.low, w.high) for w in own] == [(0, 4095), (0, 16383)]
    plate = plate_window_of(own[:1], own[1:])
    assert plate is not None and (plate.low, plate.high) == (0, 16383)
    assert plate_window_of([], []) is None
    expected = plate_window([data_window(tifffile.imread(p)) for p in paths[:2]])
    for path in paths[:2]:
        pixels, used = decode_well(path, SIZE, ImageOptions(window="plate"), plate)
        np.testing.assert_array_equal(pixels, preprocess(path, SIZE, window=expected))
        assert used.window == "plate: the widest of 2 images' windows (0–16383)"
    pixels, used = decode_well(paths[0], SIZE, ImageOptions(window="percentile"))
    np.testing.assert_array_equal(pixels, preprocess(paths[0], SIZE, window="percentile"))
    assert used.window.startswith("the image's 0.1th–99.9th percentiles (as asked) (")
    assert not np.array_equal(pixels, preprocess(paths[0], SIZE))  # a stretch, not the rule


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"plane": 0}, "plane is counted from 1; got 0"), ({"window": "auto"}, "window must be one of")],
)
def test_bad_options_are_refused_in_plain_words(kwargs: dict, message: str):
    with pytest.raises(ValueError, match=message):
        ImageOptions(**kwargs)


def test_the_command_refuses_plane_0_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from training.cli import main

    argv = ["score", "--model", str(tmp_path / "m"), "--images", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*argv, "--plane", "0"]) == 2
    assert "error: --plane is counted from 1 (the first plane is 1); got 0" in capsys.readouterr().out
    assert not (tmp_path / "o").exists()

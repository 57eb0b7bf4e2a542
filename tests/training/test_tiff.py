"""training/tiff.py reads every TIFF variant microscopes write to the same samples, and states its choices.

Each file is written here with tifffile (the variants: compressions, strips and tiles, BigTIFF, byte
orders, multi-page, ImageJ hyperstacks, OME-TIFF channels) from known samples; lossless variants must give
those samples back exactly. The browser's reader (static/js/tiff.js) is checked against this one on the
same files in tests/e2e/test_tiff_variants.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile

from training.preprocess import decode_image
from training.tiff import ChannelChoiceError, choose_channel, choose_plane, read_tiff


def _grey12(seed: int = 0, shape: tuple[int, int] = (61, 83)) -> np.ndarray:
    """12-bit camera data in a 16-bit container (values up to 4,095)."""
    rng = np.random.default_rng(seed)
    return rng.integers(300, 4096, shape, dtype=np.uint16)


#: Lossless variants: (name, tifffile.imwrite keyword arguments).
LOSSLESS: list[tuple[str, dict[str, Any]]] = [
    ("uncompressed", {}),
    ("lzw", {"compression": "lzw"}),
    ("deflate", {"compression": "zlib"}),
    ("deflate_predictor", {"compression": "zlib", "predictor": True}),
    ("packbits", {"compression": "packbits"}),
    ("strips_of_7_rows", {"rowsperstrip": 7}),
    ("tiles_32", {"tile": (32, 32)}),
    ("tiles_lzw", {"tile": (16, 32), "compression": "lzw"}),
    ("bigtiff", {"bigtiff": True}),
    ("bigtiff_tiles_deflate", {"bigtiff": True, "tile": (32, 32), "compression": "zlib"}),
    ("big_endian", {"byteorder": ">"}),
    ("packed_12bit", {"bitspersample": 12}),  # BitsPerSample 12: declares the bits too
]


@pytest.mark.parametrize(("name", "options"), LOSSLESS, ids=[n for n, _ in LOSSLESS])
def test_lossless_variants_give_back_the_stored_samples(tmp_path: Path, name: str, options: dict[str, Any]):
    samples = _grey12()
    path = tmp_path / f"{name}.tif"
    tifffile.imwrite(path, samples, photometric="minisblack", **options)
    read = read_tiff(path)
    assert read.samples.dtype == np.uint16
    assert np.array_equal(read.samples, samples)
    assert read.selection.planes == 1 and read.selection.channels == 1 and read.warnings == ()
    assert read.declared_bits == (12 if name == "packed_12bit" else None)


def test_rgb_planar_and_interleaved_give_the_same_samples(tmp_path: Path):
    rgb = np.random.default_rng(1).integers(0, 65536, (40, 50, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "contig.tif", rgb, photometric="rgb", planarconfig="contig")
    planar = np.moveaxis(rgb, -1, 0)  # (3, H, W)
    tifffile.imwrite(tmp_path / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    for name in ("contig.tif", "planar.tif"):
        assert np.array_equal(read_tiff(tmp_path / name).samples, rgb), name


def test_jpeg_in_tiff_is_decoded_close_to_its_source(tmp_path: Path):
    rgb = np.repeat(np.linspace(40, 220, 64, dtype=np.uint8)[None, :, None], 48, axis=0).repeat(3, axis=2)
    path = tmp_path / "jpeg.tif"
    jpeg = {"compression": "jpeg", "compressionargs": {"level": 95}}
    tifffile.imwrite(path, rgb, photometric="rgb", tile=(16, 16), **jpeg)
    read = read_tiff(path)
    assert read.samples.shape == rgb.shape and read.samples.dtype == np.uint8
    assert np.abs(read.samples.astype(int) - rgb).mean() < 2  # lossy, but the same image


def test_float_and_signed_samples_are_read_as_stored(tmp_path: Path):
    floats = np.random.default_rng(2).random((20, 30)).astype(np.float32)
    signed = np.random.default_rng(3).integers(-100, 30000, (20, 30)).astype(np.int16)
    tifffile.imwrite(tmp_path / "f.tif", floats)
    tifffile.imwrite(tmp_path / "s.tif", signed)
    assert np.array_equal(read_tiff(tmp_path / "f.tif").samples, floats)
    assert np.array_equal(read_tiff(tmp_path / "s.tif").samples, signed)


def test_pages_of_unknown_meaning_use_the_first_unless_chosen(tmp_path: Path):
    stack = np.stack([_grey12(seed) for seed in range(3)])
    path = tmp_path / "pages.tif"
    for page in stack:
        tifffile.imwrite(path, page, append=True, photometric="minisblack")
    read = read_tiff(path)
    assert np.array_equal(read.samples, stack[0])
    assert (read.selection.plane, read.selection.planes, read.selection.plane_axis) == (0, 3, "page")
    assert read.warnings == ("multi-page TIFF (3 pages): only the first page was used",)
    chosen = read_tiff(path, plane=2)
    assert np.array_equal(chosen.samples, stack[2])
    assert chosen.warnings == ("plane 3 of 3 was used, as chosen",)
    with pytest.raises(ValueError, match="plane 4 was asked for, but the file has 3"):
        read_tiff(path, plane=3)


def test_imagej_z_stack_uses_its_middle_plane_and_reads_the_pixel_size(tmp_path: Path):
    stack = np.stack([_grey12(seed) for seed in range(5)])
    path = tmp_path / "z.tif"
    tifffile.imwrite(
        path, stack, imagej=True, resolution=(1 / 0.325, 1 / 0.325), metadata={"axes": "ZYX", "unit": "um"}
    )
    read = read_tiff(path)
    assert np.array_equal(read.samples, stack[2])
    assert (read.selection.plane, read.selection.planes, read.selection.plane_axis) == (2, 5, "z")
    assert read.warnings == ("z-stack of 5 planes: the middle one (plane 3) was used",)
    assert read.pixel_size is not None
    assert read.pixel_size.x_um == pytest.approx(0.325, rel=1e-6)
    assert read.pixel_size.source == "ImageJ unit and XResolution/YResolution"


def _ome(tmp_path: Path, names: list[str], **metadata: Any) -> tuple[Path, np.ndarray]:
    planes = np.stack([_grey12(seed) for seed in range(len(names))])
    path = tmp_path / "plate_B07.ome.tif"
    tifffile.imwrite(path, planes, metadata={"axes": "CYX", "Channel": {"Name": names}, **metadata})
    return path, planes


def test_ome_picks_the_transmitted_light_channel_by_name_and_says_so(tmp_path: Path):
    path, planes = _ome(
        tmp_path, ["DAPI", "Bright Field", "GFP"], PhysicalSizeX=0.65, PhysicalSizeY=0.65,
        PhysicalSizeXUnit="µm", PhysicalSizeYUnit="µm",
    )  # fmt: skip
    read = read_tiff(path)
    assert np.array_equal(read.samples, planes[1])
    chosen = (read.selection.channel, read.selection.channels, read.selection.channel_name)
    assert chosen == (1, 3, "Bright Field")
    assert read.warnings == ("channel 2 of 3 (Bright Field) was used: the transmitted-light one",)
    assert read.pixel_size is not None and read.pixel_size.source == "OME PhysicalSizeX/Y"
    assert (read.pixel_size.x_um, read.pixel_size.y_um) == pytest.approx((0.65, 0.65))


def test_ome_without_a_bright_field_name_asks_and_a_chosen_channel_is_used(tmp_path: Path):
    path, planes = _ome(tmp_path, ["DAPI", "GFP"])
    with pytest.raises(ChannelChoiceError, match="none is named as bright field") as raised:
        read_tiff(path)
    assert raised.value.channels == ((0, "DAPI"), (1, "GFP"))
    by_name = read_tiff(path, channel="gfp")
    by_index = read_tiff(path, channel=1)
    assert np.array_equal(by_name.samples, planes[1]) and np.array_equal(by_index.samples, planes[1])
    assert by_index.warnings == ("channel 2 of 2 (GFP) was used, as chosen",)
    with pytest.raises(ValueError, match="channel 'TL' was asked for"):
        read_tiff(path, channel="TL")


def test_samples_that_are_channels_are_chosen_like_channels(tmp_path: Path):
    samples = np.random.default_rng(4).integers(0, 4096, (30, 40, 2), dtype=np.uint16)
    path = tmp_path / "two.tif"
    tifffile.imwrite(path, samples, photometric="minisblack", planarconfig="contig")
    with pytest.raises(ChannelChoiceError):
        read_tiff(path)
    read = read_tiff(path, channel=1)
    assert np.array_equal(read.samples, samples[:, :, 1]) and read.selection.channels == 2


@pytest.mark.parametrize(
    ("unit", "resolution", "expected_um"),
    [("CENTIMETER", 1e4 / 0.5, 0.5), ("INCH", 25400 / 1.3, 1.3), ("NONE", 2.0, None)],
)
def test_resolution_tags_give_the_pixel_size_only_with_a_unit(
    tmp_path: Path, unit: str, resolution: float, expected_um: float | None
):
    path = tmp_path / "res.tif"
    tifffile.imwrite(path, _grey12(), resolution=(resolution, resolution), resolutionunit=unit)
    size = read_tiff(path).pixel_size
    if expected_um is None:
        assert size is None
    else:
        assert size is not None and size.x_um == pytest.approx(expected_um, rel=1e-4)


def test_print_resolutions_are_not_pixel_sizes(tmp_path: Path):
    path = tmp_path / "dpi.tif"
    tifffile.imwrite(path, _grey12(), resolution=(72, 72), resolutionunit="INCH")  # 353 µm: office software
    assert read_tiff(path).pixel_size is None


def test_declared_significant_bits_are_read_from_max_sample_value(tmp_path: Path):
    path = tmp_path / "smax.tif"
    tifffile.imwrite(path, _grey12(), extratags=[(281, "H", 1, 4095, True)])  # MaxSampleValue
    read = read_tiff(path)
    assert (read.declared_bits, read.declared_source) == (12, "MaxSampleValue")


def test_a_declaration_equal_to_the_container_says_nothing(tmp_path: Path):
    path = tmp_path / "smax16.tif"
    tifffile.imwrite(path, _grey12(), extratags=[(281, "H", 1, 65535, True)])
    assert read_tiff(path).declared_bits is None


def test_not_a_tiff_names_the_file(tmp_path: Path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"II*\x00" + b"\x00" * 20)
    with pytest.raises(ValueError, match=r"broken\.tif"):
        read_tiff(path)


def test_choice_rules_in_plain_words():
    assert choose_plane(1, "z", None) == (0, None)
    assert choose_plane(4, "z", None) == (1, "z-stack of 4 planes: the middle one (plane 2) was used")
    assert choose_channel(["BF"], [False], None) == (0, None)
    assert choose_channel([None, None], [False, True], None)[0] == 1  # marked transmitted by OME attributes
    with pytest.raises(ChannelChoiceError, match="several transmitted-light channels"):
        choose_channel(["BF", "Phase"], [False, False], None)


def test_an_rgb_ome_tiff_is_one_channel_of_three_samples(tmp_path: Path):
    """OME's SizeC counts samples: an RGB image (SizeC 3, one Channel of SamplesPerPixel 3) is one plane."""
    rgb = np.random.default_rng(5).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    path = tmp_path / "rgb.ome.tif"
    tifffile.imwrite(path, rgb, photometric="rgb", metadata={"axes": "YXS", "PhysicalSizeX": 0.65})
    read = read_tiff(path)
    assert np.array_equal(read.samples, rgb)
    assert read.selection.channels == 1 and read.warnings == ()
    assert read.pixel_size is not None and read.pixel_size.x_um == pytest.approx(0.65)


#: Variants cut short in the tests (here and in tests/e2e/test_tiff_variants.py): (name, imwrite options).
TRUNCATED: list[tuple[str, dict[str, Any]]] = [
    ("uncompressed", {}),
    ("lzw", {"compression": "lzw"}),
    ("deflate", {"compression": "zlib"}),
    ("tiled", {"tile": (32, 32)}),
]


#: Where a truncated file ends: one byte short, or halfway through its image data.
CUTS = ("one_byte_short", "half_the_data")


def write_truncated(path: Path, samples: np.ndarray, options: dict[str, Any], *, cut: str) -> None:
    """``samples`` as a TIFF (tifffile puts the IFD first, the image data last), cut short as ``cut``
    (:data:`CUTS`) says: what a copy interrupted inside the image data leaves."""
    tifffile.imwrite(path, samples, photometric="minisblack", **options)
    data = path.read_bytes()
    with tifffile.TiffFile(path) as tif:
        first = min(tif.pages[0].dataoffsets)
    missing = {"one_byte_short": 1, "half_the_data": (len(data) - first) // 2}[cut]
    path.write_bytes(data[: len(data) - missing])


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize(("name", "options"), TRUNCATED, ids=[n for n, _ in TRUNCATED])
def test_a_truncated_tiff_is_refused_not_read_with_zeros(
    tmp_path: Path, name: str, options: dict[str, Any], cut: str
):
    samples = _grey12(shape=(96, 128))
    path = tmp_path / f"B07_{name}.tif"
    write_truncated(path, samples, options, cut=cut)
    with pytest.raises(
        ValueError, match=rf"^B07_{name}\.tif: the file ends before its image data \(truncated\?\)$"
    ):
        read_tiff(path)
    with pytest.raises(ValueError, match="truncated"):  # training's decoder refuses it as well
        decode_image(path)


def test_tifffile_alone_reads_a_tiled_lzw_file_one_byte_short_without_complaint(tmp_path: Path):
    """Why the check is needed: the decoder gives the last tile with a wrong sample and no error."""
    samples = _grey12(shape=(96, 128))
    path = tmp_path / "short.tif"
    write_truncated(path, samples, {"tile": (32, 32), "compression": "lzw"}, cut="one_byte_short")
    silently = tifffile.imread(path)
    assert silently.shape == samples.shape and not np.array_equal(silently, samples)


def test_compressed_data_that_do_not_decode_are_named(tmp_path: Path):
    """A Deflate strip overwritten in its middle: zlib fails (imagecodecs' DeflateError, not a ValueError,
    which would have stopped a batch) and the file is named with the reason."""
    path = tmp_path / "C03.tif"
    tifffile.imwrite(path, _grey12(shape=(96, 128)), photometric="minisblack", compression="zlib")
    with tifffile.TiffFile(path) as tif:
        start, count = tif.pages[0].dataoffsets[0], tif.pages[0].databytecounts[0]
    data = bytearray(path.read_bytes())
    data[start + count // 3 : start + count // 3 + 64] = bytes(range(64))
    path.write_bytes(bytes(data))
    with pytest.raises(
        ValueError, match=r"^C03\.tif: corrupt or unreadable TIFF file: its image data do not decode"
    ):
        decode_image(path)

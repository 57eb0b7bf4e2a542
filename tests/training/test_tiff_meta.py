"""training/tiffmeta.py reads what microscope TIFFs say about themselves; the page's twin gives the same
dicts on these very descriptions (tests/e2e/test_tiff_variants.py imports them)."""

from __future__ import annotations

import pytest

from training.tiffmeta import (
    length_um,
    ome_is_transmitted,
    ome_plane_ifds,
    parse_metaseries,
    parse_ome,
    plane_index,
    resolution_pixel_size,
)

OME_TWO_CHANNELS = """<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"
     UUID="urn:uuid:00000000-0000-4000-8000-000000000001">
 <Instrument ID="Instrument:0"><Objective ID="Objective:0" NominalMagnification="10"/></Instrument>
 <Image ID="Image:0"><ObjectiveSettings ID="Objective:0"/>
  <Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" SignificantBits="12" SizeX="8" SizeY="6"
    SizeZ="3" SizeC="2" SizeT="1" PhysicalSizeX="650" PhysicalSizeXUnit="nm" PhysicalSizeY="0.65">
   <Channel ID="Channel:0:0" Name="Hoechst" SamplesPerPixel="1" IlluminationType="Epifluorescence"/>
   <Channel ID="Channel:0:1" SamplesPerPixel="1" IlluminationType="Transmitted" ContrastMethod="Brightfield"/>
   <TiffData IFD="0" PlaneCount="6"/>
  </Pixels>
 </Image>
</OME>"""

IMAGEJ_HYPERSTACK = "ImageJ=1.54f\nimages=10\nchannels=2\nslices=5\nhyperstack=true\nunit=\\u00B5m\n"

METASERIES = (
    '<MetaData><prop id="spatial-calibration-state" type="bool" value="on"/>'
    '<prop id="spatial-calibration-x" type="float" value="1.3622"/>'
    '<prop id="spatial-calibration-y" type="float" value="1.3622"/>'
    '<prop id="spatial-calibration-units" type="string" value="um"/>'
    '<custom-prop id="Camera Bit Depth" type="float" value="12"/>'
    '<prop id="_MagSetting_" type="string" value="4X Plan Apo"/></MetaData>'
)

#: (function name, arguments, expected result): both sides are held to these.
CASES = [
    ("parse_imagej", [IMAGEJ_HYPERSTACK],
     {"images": 10, "channels": 2, "slices": 5, "frames": 1, "unit": "µm", "display_bits": None}),
    ("parse_imagej", ["ImageJ=1.54f\nmin=0.0\nmax=4095.0\n"],
     {"images": 1, "channels": 1, "slices": 1, "frames": 1, "unit": None, "display_bits": 12}),
    ("parse_imagej", ["ImageJ=1.54f\nmin=112.0\nmax=3870.0\n"],  # auto-contrast: a viewing choice
     {"images": 1, "channels": 1, "slices": 1, "frames": 1, "unit": None, "display_bits": None}),
    ("parse_imagej", ["not imagej"], None),
    ("parse_metaseries", [METASERIES],
     {"pixel_size_um": [1.3622, 1.3622], "camera_bits": 12, "objective": "4X Plan Apo"}),
    ("parse_metaseries", ["<MetaData></MetaData>"],
     {"pixel_size_um": None, "camera_bits": None, "objective": None}),
    ("resolution_pixel_size", [20000.0, 20000.0, 3, None], [0.5, 0.5]),
    ("resolution_pixel_size", [72.0, 72.0, 2, None], None),
    ("resolution_pixel_size", [3.0769, None, 1, "micron"], [1 / 3.0769, 1 / 3.0769]),
    ("length_um", [650, "nm"], 0.65),
    ("length_um", [1, "parsec"], None),
    ("pixel_size_warning", [0.65, 2560, {"pixel_size_um": 1.3}, "A549-M"], None),  # 2×: not more
    ("pixel_size_warning", [0.6, 2560, {"pixel_size_um": 1.3}, "A549-M"],
     "these images are at 0.6 µm/px; A549-M was trained at 1.3 µm/px"),
    ("pixel_size_warning", [1.3622, 1024, {"pixel_size_um": 0.65, "image_width_px": 2560}, "A549-M"], None),
    ("pixel_size_warning", [0.65, 1024, {"pixel_size_um": 0.65, "image_width_px": 2560}, "A549-M"],
     "these images are at 0.65 µm/px (666 µm wide); A549-M was trained at 0.65 µm/px (1664 µm wide): "
     "cells look 2.5× larger to the model than in its training"),
    ("pixel_size_warning", [0.2, 320, {"pixel_size_um": 0.65, "image_width_px": 320}, "M"],  # 3.25: up
     "these images are at 0.2 µm/px (64 µm wide); M was trained at 0.65 µm/px (208 µm wide): "
     "cells look 3.3× larger to the model than in its training"),
    ("pixel_size_warning", [0.65, 2560, "bright-field, one field per well", "A549-M"], None),
    ("pixel_size_warning", [None, 2560, {"pixel_size_um": 1.3}, "A549-M"], None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "expected"), CASES)
def test_metadata_functions(name: str, args: list, expected):
    import training.tiffmeta as tiffmeta

    got = getattr(tiffmeta, name)(*args)
    assert got == (pytest.approx(expected) if isinstance(expected, float | list) else expected)


def test_ome_first_image_channels_pixel_size_bits_and_objective():
    ome = parse_ome(OME_TWO_CHANNELS)
    assert ome is not None
    assert (ome["size_z"], ome["size_c"], ome["size_t"], ome["dimension_order"]) == (3, 2, 1, "XYCZT")
    assert ome["significant_bits"] == 12 and ome["objective"] == "10×"
    assert ome["pixel_size_um"] == pytest.approx([0.65, 0.65])
    assert [c["name"] for c in ome["channels"]] == ["Hoechst", None]
    assert [ome_is_transmitted(c) for c in ome["channels"]] == [False, True]
    # XYCZT: c fastest, then z
    assert plane_index(ome, 0, 1, 0) == 1 and plane_index(ome, 2, 0, 0) == 4
    assert ome_plane_ifds(ome, 6) == {i: i for i in range(6)}


def test_not_ome():
    assert parse_ome("ImageJ=1.54f") is None and parse_ome("<OME broken") is None


def test_ome_planes_stored_in_another_file_are_left_out():
    xml = OME_TWO_CHANNELS.replace(
        '<TiffData IFD="0" PlaneCount="6"/>',
        '<TiffData IFD="0" PlaneCount="3"/><TiffData FirstZ="1" FirstC="1" IFD="0" PlaneCount="3">'
        '<UUID FileName="other.ome.tif">urn:uuid:00000000-0000-4000-8000-000000000002</UUID></TiffData>',
    )
    ome = parse_ome(xml)
    assert ome is not None
    assert ome_plane_ifds(ome, 3) == {0: 0, 1: 1, 2: 2}
    assert ome_plane_ifds(ome, 3, file_name="other.ome.tif") == {0: 0, 1: 1, 2: 2, 3: 0, 4: 1, 5: 2}


def test_length_units():
    assert length_um("0.5", "mm") == pytest.approx(500) and length_um(-1, "µm") is None
    assert resolution_pixel_size(None, None, 3) is None
    assert parse_metaseries("plain text") is None


def test_ome_reader_agrees_with_ome_types(tmp_path):
    """The small reader (twinned in the page, which has no XML library in a worker) against ome-types."""
    import numpy as np
    import tifffile
    from ome_types import from_xml

    path = tmp_path / "a.ome.tif"
    metadata = {
        "axes": "ZCYX", "Channel": {"Name": ["DAPI", "Phase"]},
        "PhysicalSizeX": 325, "PhysicalSizeXUnit": "nm", "PhysicalSizeY": 0.325, "PhysicalSizeYUnit": "µm",
    }  # fmt: skip
    tifffile.imwrite(path, np.zeros((3, 2, 8, 8), np.uint16), metadata=metadata)
    for xml in (tifffile.TiffFile(path).ome_metadata or "", OME_TWO_CHANNELS):
        ours, theirs = parse_ome(xml), from_xml(xml).images[0].pixels
        assert ours is not None
        assert (ours["size_z"], ours["size_c"], ours["size_t"]) == (
            theirs.size_z,
            theirs.size_c,
            theirs.size_t,
        )
        assert ours["dimension_order"] == theirs.dimension_order.value
        assert [c["name"] for c in ours["channels"]] == [c.name for c in theirs.channels]
        to_um = {"nm": 1e-3, "µm": 1.0}
        x_um = theirs.physical_size_x * to_um[theirs.physical_size_x_unit.value]
        y_um = theirs.physical_size_y * to_um[theirs.physical_size_y_unit.value]
        assert ours["pixel_size_um"] == pytest.approx([x_um, y_um])

"""training.score.names: a file name's concentration, read as the page's parseNameConcentration reads it.

One list of cases (:data:`NAME_CASES`), which tests/e2e/test_page_modules.py runs in the page (Chromium).
"""

from __future__ import annotations

import pytest

from training.score.names import name_concentration

#: File names and the concentration (µM) both readers give them; the page runs the same list in Chromium
#: (tests/e2e/test_page_modules.py).
NAME_CASES: list[tuple[str, float | None]] = [
    ("A549_dox_0.5uM_B07.jpg", 0.5),
    ("x_500nM_rep2.png", 0.5),
    ("img 0.5 µM.jpg", 0.5),  # micro sign U+00B5
    ("img_0.5μM.jpg", 0.5),  # Greek mu U+03BC
    ("dox_1e-3uM_C3.tif", 0.001),
    ("dox0p5uM.jpg", 0.5),
    ("dox_0,25uM.jpg", 0.25),
    ("dox_2mM.jpg", 2000.0),
    ("dox_10pM.jpg", 1e-5),
    ("well_0uM_A01.jpg", 0.0),
    ("plate1_DMSO_A01.jpg", 0.0),
    ("vehicle-3.jpg", 0.0),
    ("Control_B12.jpg", 0.0),
    ("HEK293_10uM_10uM.jpg", 10.0),  # the same value twice is no conflict
    ("A549_B07.jpg", None),
    ("OD450nm_B03.jpg", None),  # "nm" is a wavelength, not nanomolar
    ("controlled_release.jpg", None),
]


@pytest.mark.parametrize(("name", "um"), NAME_CASES)
def test_concentration_is_read_from_the_file_name(name: str, um: float | None):
    got = name_concentration(name)
    assert got.um == um  # exact: 500 nM is 0.5 µM, not 0.5000000001
    assert got.error is None


def test_two_different_concentrations_are_an_error_not_a_guess():
    got = name_concentration("a_1uM_2uM.jpg")
    assert got.um is None
    assert got.error == "the name holds 2 different concentrations (1uM, 2uM)"


def test_the_text_it_was_read_from_is_kept():
    assert name_concentration("A549_dox_0.5uM_B07.jpg").text == "0.5uM"
    assert name_concentration("plate1_DMSO_A01.jpg").text == "DMSO"

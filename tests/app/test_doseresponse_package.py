"""The engine package's public surface: what scripts, training and the API schemas import from it."""

from typing import get_args

import numpy as np
import pytest

import app.doseresponse as dr
from app.schemas import CurveResult


def test_public_names_are_importable_from_the_package() -> None:
    public = ("fit_hill", "fit_hill_many", "HillFit", "guess", "hill", "STATUSES", "CI_METHODS", "as_vector")
    for name in public:
        assert name in dr.__all__ and hasattr(dr, name)


def test_statuses_are_one_literal_type_and_the_api_lists_them() -> None:
    assert dr.STATUSES == get_args(dr.Status)
    assert dr.CI_METHODS == get_args(dr.CiMethod) == ("wald", "profile")
    assert CurveResult.model_json_schema()["properties"]["status"]["enum"] == list(dr.STATUSES)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([1.0, np.nan], r"od450 must be finite; got nan at index 1"),
        ([], "od450 must not be empty"),
        ([[1.0]], r"od450 must be 1-D; got shape \(1, 1\)"),
        (["x" * 1000], r"od450 must be numeric; got \['xxx.*\(1 item\)"),
    ],
)
def test_as_vector_names_the_argument_and_the_value(values: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        dr.as_vector(values, "od450")


def test_as_vector_returns_a_float_vector() -> None:
    assert dr.as_vector(3, "x").tolist() == [3.0]
    assert dr.as_vector([1, 2], "x").dtype == np.float64

"""The OpenAPI document describes every field of the fit, report, GR, time-course and limits endpoints, and
every number says its unit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.main import create_app

#: The operations whose schemas must be described in full (the model routes document cards elsewhere).
OPERATIONS = ("/api/fit", "/api/report.csv", "/api/report.zip", "/api/gr", "/api/timecourse", "/api/limits")
#: Words that name a unit, or say a number has none.
UNIT_WORDS = (
    "µM", "%", "OD450", "response unit", "(h", " h)", "unitless", "count", "probability", "log10", "wells",
    "score", "fraction", "index", "bytes", "characters", "curves", "points", "flags", "notes",
)  # fmt: skip

DOCUMENT = create_app().openapi()


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable() -> set[str]:
    schemas = DOCUMENT["components"]["schemas"]
    todo = [ref for path in OPERATIONS for ref in _refs(DOCUMENT["paths"][path])]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def _is_number(prop: dict[str, Any]) -> bool:
    kinds = {prop.get("type")} | {p.get("type") for p in prop.get("anyOf", [])}
    items = prop.get("items") or next((p.get("items") for p in prop.get("anyOf", []) if "items" in p), None)
    if isinstance(items, dict):
        kinds |= {items.get("type")} | {p.get("type") for p in items.get("anyOf", [])}
    return bool(kinds & {"number", "integer"})


REACHABLE = sorted(_reachable())


def test_the_new_endpoints_and_blocks_are_in_the_document() -> None:
    for name in ("AnalysisMethods", "InhibitoryConcentrationOut", "PlateQCOut", "GROut", "GRRequest",
                 "TimeCourseRequest", "TimeCourseResponse", "WellValuesOut", "OutlierReviewOut"):  # fmt: skip
        assert name in REACHABLE, name
    assert len(REACHABLE) > 30


@pytest.mark.parametrize("name", REACHABLE)
def test_every_field_is_described_and_numbers_give_their_unit(name: str) -> None:
    schema = DOCUMENT["components"]["schemas"][name]
    for field, prop in schema.get("properties", {}).items():
        text = prop.get("description", "")
        assert text, f"{name}.{field} has no description"
        if _is_number(prop):
            assert any(word.lower() in text.lower() for word in UNIT_WORDS), f"{name}.{field}: {text!r}"

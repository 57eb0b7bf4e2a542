"""Property test of the whole API from its own OpenAPI document (schemathesis + Hypothesis).

Schemathesis reads ``/openapi.json`` and generates requests for every operation: ones that fit the schema
and ones that break it. Most schema-valid fit requests are still refused (a random list of concentrations
rarely has as many entries as the list of responses), so valid dose-response curves, reports and model files
are generated too, to reach the success paths: plain fits and fits asking for every analysis option (with
control wells, well IDs and time-zero reads), reports (CSV and zip), GR requests and time courses. Every
response must be no 5xx, carry a status that the document declares for its operation, and a content type
and body that match what the document declares for that status; a request that breaks the schema must be
refused with a 4xx. Derandomized (fixed seed), so CI sees the same cases every run.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import ROOT
from app.main import create_app

#: Generated requests in one run, over every operation (measured: 59–95 s on 2 loaded cores; the count,
#: not a wall-clock budget, bounds the test: timings belong in benchmarks).
N_CASES = 1_600

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

#: POST /api/models takes a zip: bytes, sent as they are (schemathesis has no serializer of its own for it).
schemathesis.serializer.alias("application/zip", "application/octet-stream")

SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", create_app())
FIT = SCHEMA["/api/fit"]["POST"]
REPORT = SCHEMA["/api/report.csv"]["POST"]
REPORT_ZIP = SCHEMA["/api/report.zip"]["POST"]
GR = SCHEMA["/api/gr"]["POST"]
TIMECOURSE = SCHEMA["/api/timecourse"]["POST"]
MODEL_FILE = SCHEMA["/models/{model_id}/{filename}"]["GET"]
BACKBONE_FILE = SCHEMA["/models/backbones/{backbone_id}/{filename}"]["GET"]

#: A serial dilution as the page sends it (µM), vehicle controls at 0.
DOSES_UM = [0.0, 0.0001, 0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0]
RESPONSE = st.floats(-0.5, 4.0, allow_nan=False)
TEXT = st.text(max_size=12) | st.sampled_from(["=HYPERLINK(1)", "+1", "A549 DOX", "µM"])
FIXED = st.none() | st.sampled_from([0.0, 0.1, 1.5])


@st.composite
def curve_points(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    """Concentrations (µM) and responses of one curve: a noisy Hill curve, a flat one, or noise."""
    conc = draw(st.lists(st.sampled_from(DOSES_UM), min_size=1, max_size=24))
    shape = draw(st.sampled_from(["hill", "flat", "noise"]))
    if shape == "noise":
        return conc, draw(st.lists(RESPONSE, min_size=len(conc), max_size=len(conc)))
    ic50 = draw(st.sampled_from([0.003, 0.1, 2.0, 500.0]))
    slope = draw(st.sampled_from([-1.0, 0.7, 1.5, 4.0])) if shape == "hill" else 0.0
    noise = draw(st.lists(st.floats(-0.05, 0.05), min_size=len(conc), max_size=len(conc)))
    hill = [0.1 + 1.4 / (1 + (x / ic50) ** slope) if x > 0 else (1.5 if slope > 0 else 0.1) for x in conc]
    return conc, [y + e for y, e in zip(hill, noise, strict=True)]


#: The analysis options of the reports (their generated wells have no blank wells for % viability).
REPORT_OPTIONS = {
    "ic_percents": st.lists(st.sampled_from([10.0, 20.0, 50.0, 80.0, 90.0]), max_size=3),
    "metrics": st.booleans(),
    "outliers": st.booleans(),
    "qc": st.booleans(),
    "per_well": st.booleans(),
    "score_range_um": st.sampled_from([[0.001, 10.0], [0.1, 100.0]]),
}
#: The analysis options of /api/fit, any subset.
OPTIONS = st.fixed_dictionaries(
    {}, optional={"fit_on": st.sampled_from(["response", "viability"]), **REPORT_OPTIONS}
)


@st.composite
def described(draw: st.DrawFn, conc: list[float], resp: list[float]) -> dict:
    """A curve's wells with well IDs, controls (blank wells added) and time-zero reads, for the analysis."""
    n_blank = draw(st.integers(0, 3))
    conc, resp = conc + [0.0] * n_blank, resp + [draw(st.floats(0.0, 0.1)) for _ in range(n_blank)]
    curve: dict = {"concentrations_um": conc, "responses": resp,
                   "controls": [None] * (len(conc) - n_blank) + ["blank"] * n_blank,
                   "well_ids": [f"{'ABCDEFGH'[i % 8]}{i // 8 + 1}" for i in range(len(conc))]}  # fmt: skip
    if draw(st.booleans()):
        curve["time_zero_level"] = draw(st.sampled_from([0.3, 2.0]))
    return curve


@st.composite
def fit_body(draw: st.DrawFn, *, analysis: bool) -> dict:
    """A ``POST /api/fit`` body whose curves have as many responses as concentrations; with ``analysis``,
    it asks for some of the analysis options and its curves describe their wells."""
    curves = []
    for conc, resp in draw(st.lists(curve_points(), min_size=1, max_size=3)):
        curve = draw(described(conc, resp)) if analysis else {"concentrations_um": conc, "responses": resp}
        curves.append({"label": draw(TEXT), **curve, "fix_top": draw(FIXED), "fix_bottom": draw(FIXED)})
    return {"curves": curves, **(draw(OPTIONS) if analysis else {})}


@st.composite
def gr_body(draw: st.DrawFn) -> dict:
    """A ``POST /api/gr`` body: curves with vehicle wells, some blank wells and a time-zero level."""
    curves = []
    for conc, resp in draw(st.lists(curve_points(), min_size=1, max_size=2)):
        curves.append({"label": draw(TEXT), **draw(described([0.0, *conc], [1.5, *resp]))})
        curves[-1].setdefault("time_zero_level", 0.3)
    return {"curves": curves}


@st.composite
def timecourse_body(draw: st.DrawFn) -> dict:
    """A ``POST /api/timecourse`` body: one plate growing over 2–4 reads, drug slowing it."""
    conc = [0.0, 0.0, *draw(st.lists(st.sampled_from(DOSES_UM[1:]), min_size=1, max_size=12))]
    times = sorted(draw(st.sets(st.sampled_from([0.0, 12.0, 24.0, 48.0, 72.0]), min_size=2, max_size=4)))
    ic50 = draw(st.sampled_from([0.01, 1.0, 50.0]))
    rate = [0.03 / (1 + x / ic50) for x in conc]
    values = [[0.2 * 2 ** (k * t) + draw(st.floats(-0.01, 0.01)) for k in rate] for t in times]
    return {"label": draw(TEXT), "times_h": times, "concentrations_um": conc, "values": values,
            "blank_level": 0.0}  # fmt: skip


@st.composite
def report_body(draw: st.DrawFn) -> dict:
    """A ``POST /api/report.csv`` body: curves of wells (some excluded, flagged) or plain arrays."""
    curves = []
    for conc, resp in draw(st.lists(curve_points(), min_size=1, max_size=3)):
        curve: dict = {"label": draw(TEXT), "cell_line": draw(TEXT), "drug": draw(TEXT),
                       "notes": draw(st.lists(TEXT, max_size=2)), "fix_bottom": draw(FIXED)}  # fmt: skip
        if draw(st.booleans()):
            curve["wells"] = [
                {"image": draw(TEXT), "well": f"B{i % 12 + 1:02d}", "concentration_um": x, "od450": y,
                 "excluded": draw(st.booleans()), "flags": draw(st.lists(TEXT, max_size=2))}
                for i, (x, y) in enumerate(zip(conc, resp, strict=True))
            ]  # fmt: skip
        else:
            curve |= {"concentrations_um": conc, "responses": resp}
        if draw(st.booleans()):
            curve["model"] = {"id": "a549-m", "name": "A549-M", "version": "1.0.0", "synthetic": True}
        curves.append(curve)
    return {"title": draw(TEXT), "curves": curves, **draw(st.fixed_dictionaries({}, optional=REPORT_OPTIONS))}


def _bundled_files() -> list[dict[str, str]]:
    return [
        {"model_id": folder.name, "filename": path.relative_to(folder).as_posix()}
        for folder in sorted((ROOT / "models").iterdir())
        if (folder / "card.json").is_file()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def _bundled_backbone_files() -> list[dict[str, str]]:
    return [
        {"backbone_id": folder.name, "filename": path.name}
        for folder in sorted((ROOT / "models" / "backbones").iterdir())
        for path in sorted(folder.iterdir())
    ]


#: The strategies a case is drawn from, each about as often: the schema's own cases (valid and invalid; twice,
#: so that a third of the cases test the document itself), then valid bodies of every operation (fits and
#: reports twice: their success paths are counted below).
BRANCHES = [
    *(SCHEMA.as_strategy(generation_mode=mode) for mode in GenerationMode for _ in range(2)),
    fit_body(analysis=False).map(lambda body: FIT.Case(body=body)),
    fit_body(analysis=True).map(lambda body: FIT.Case(body=body)),
    report_body().map(lambda body: REPORT.Case(body=body)),
    report_body().map(lambda body: REPORT.Case(body=body)),
    report_body().map(lambda body: REPORT_ZIP.Case(body=body)),
    gr_body().map(lambda body: GR.Case(body=body)),
    timecourse_body().map(lambda body: TIMECOURSE.Case(body=body)),
    st.sampled_from(_bundled_files()).map(lambda path: MODEL_FILE.Case(path_parameters=path)),
    st.sampled_from(_bundled_backbone_files()).map(lambda path: BACKBONE_FILE.Case(path_parameters=path)),
]
CASES = st.sampled_from(BRANCHES).flatmap(lambda branch: branch)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy overflow on responses near 1e308: fits say so
def test_every_response_matches_the_openapi_document() -> None:
    statuses: dict[str, int] = {}

    @settings(
        max_examples=N_CASES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=CASES)
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate(checks=CHECKS)
        key = f"{case.method} {case.path} {response.status_code}"
        statuses[key] = statuses.get(key, 0) + 1

    check()
    assert sum(statuses.values()) >= 1_000, statuses
    # the success paths were exercised, not only the errors
    assert statuses.get("POST /api/fit 200", 0) >= 100, statuses
    assert statuses.get("POST /api/report.csv 200", 0) >= 100, statuses
    for endpoint in ("/api/report.zip", "/api/gr", "/api/timecourse"):
        assert statuses.get(f"POST {endpoint} 200", 0) >= 50, statuses
    assert statuses.get("GET /models/{model_id}/{filename} 200", 0) >= len(_bundled_files()), statuses
    assert statuses.get("GET /models/backbones/{backbone_id}/{filename} 200", 0) >= 3, statuses

"""Every error the app returns has the ErrorBody shape its OpenAPI document declares, and stays small."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.errors import MAX_PROBLEMS
from app.main import create_app
from tests.app.routes.conftest import write_model

LIMIT = 10_000  # bytes of a request body in these tests
ONE_CURVE = {"curves": [{"label": "p", "concentrations_um": [0, 1, 2, 3], "responses": [1.0, 0.9, 0.5, 0.1]}]}


@pytest.fixture
def small_app(tmp_path: Path) -> FastAPI:
    """The app with a 10 kB body limit and one model."""
    write_model(tmp_path / "models", "a549-m")
    return create_app(Settings(models_dir=tmp_path / "models", max_body_bytes=LIMIT))


@pytest.fixture
def small(small_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(small_app) as client:
        yield client


def assert_error_body(response, status: int) -> dict:
    """The response is JSON with exactly ``detail`` (text) and ``problems`` (list of text)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "problems"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["problems"] and all(isinstance(p, str) for p in body["problems"])
    return body


def test_unknown_path_and_wrong_method_have_error_bodies(small: TestClient) -> None:
    body = assert_error_body(small.get("/no/such/page"), 404)
    assert "/no/such/page" in body["detail"]
    r = small.get("/api/fit")
    body = assert_error_body(r, 405)
    assert r.headers["allow"] == "POST" and "accepts POST" in body["detail"]
    assert_error_body(small.get("/static/no-such-file.js"), 404)


def test_unknown_model_and_file_keep_their_messages(small: TestClient) -> None:
    body = assert_error_body(small.get("/models/nope/model.json"), 404)
    assert body["detail"].startswith("No model 'nope'. Known models: ['a549-m']")
    assert body["problems"] == [body["detail"]]


def test_validation_error_lists_every_problem(small: TestClient) -> None:
    curve = {"label": "p", "concentrations_um": [0, -1, 2, -3], "responses": [1, 1, "x", 1]}
    body = assert_error_body(small.post("/api/fit", json={"curves": [curve]}), 422)
    assert len(body["problems"]) == 3
    assert body["detail"] == "; ".join(body["problems"])
    assert "curve 1 ('p'), concentration #2: must be ≥ 0" in body["detail"]


def test_engine_refusal_is_a_422_error_body(small: TestClient) -> None:
    curve = {**ONE_CURVE["curves"][0], "fix_top": 1.0, "fix_bottom": 1.0}
    body = assert_error_body(small.post("/api/fit", json={"curves": [curve]}), 422)
    assert body["detail"] == "curves[0].fix_top and curves[0].fix_bottom must differ; both are 1.0"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("fix_top", False, "fix_top: must be a number (got False)"),
        ("responses", [1, True, 1, 1], "response #2"),
    ],
)
def test_true_and_false_are_not_numbers(client: TestClient, field: str, value: object, expected: str) -> None:
    curve = {**ONE_CURVE["curves"][0], field: value}
    body = assert_error_body(client.post("/api/fit", json={"curves": [curve]}), 422)
    assert expected in body["detail"]


def test_an_excluded_flag_must_be_true_or_false(client: TestClient) -> None:
    well = {"concentration_um": 1, "od450": 1, "excluded": "yes"}
    body = assert_error_body(client.post("/api/report.csv", json={"curves": [{"wells": [well]}]}), 422)
    assert "well 1, excluded" in body["detail"]


def test_a_huge_label_is_quoted_shortened_and_the_error_stays_small(client: TestClient) -> None:
    label = "A" * 5_000_000
    curve = {**ONE_CURVE["curves"][0], "label": label}
    r = client.post("/api/fit", json={"curves": [curve]})
    body = assert_error_body(r, 422)
    assert len(r.content) < 2_000  # was 10 MB: the label was quoted whole, twice
    assert f"curve 1 ('{'A' * 40}…' (5,000,000 characters)), label" in body["detail"]
    assert "at most 200 characters" in body["detail"]


def test_thousands_of_problems_are_capped(client: TestClient) -> None:
    curve = {"concentrations_um": [-1.0] * 1500, "responses": [1.0] * 1500}
    body = assert_error_body(client.post("/api/fit", json={"curves": [curve]}), 422)
    assert len(body["problems"]) == MAX_PROBLEMS + 1
    assert body["problems"][-1] == "… and 1,400 more problems"
    assert body["detail"].count("must be ≥ 0") == 20


def test_a_body_over_the_limit_is_refused_by_its_content_length(small: TestClient) -> None:
    r = small.post("/api/fit", content=b"{" * (LIMIT + 1), headers={"content-type": "application/json"})
    body = assert_error_body(r, 413)  # not 422: the (invalid) JSON was never parsed
    assert "limit of 10,000 bytes" in body["detail"]
    assert_error_body(small.post("/api/fit", content=json.dumps(ONE_CURVE).encode() + b" " * LIMIT), 413)
    assert small.post("/api/fit", json=ONE_CURVE).status_code == 200


def test_a_chunked_body_over_the_limit_is_refused(small: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // 1000 + 2):
            yield b"{" * 1000

    r = small.post("/api/fit", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
    assert "limit of 10,000 bytes" in assert_error_body(r, 413)["detail"]

    def small_chunks() -> Iterator[bytes]:
        yield json.dumps(ONE_CURVE).encode()

    r = small.post("/api/fit", content=small_chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 200


def test_a_streamed_body_is_not_read_past_the_limit(small_app: FastAPI) -> None:
    """Straight through ASGI: the app stops pulling chunks as soon as the limit is passed."""
    pulled = 0

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"[" * 1000, "more_body": pulled < 1000}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/fit", "raw_path": b"/api/fit", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }  # fmt: skip
    asyncio.run(small_app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert pulled == LIMIT // 1000 + 1
    assert set(json.loads(b"".join(m.get("body", b"") for m in sent[1:]))) == {"detail", "problems"}


def test_an_unexpected_error_is_a_generic_500_and_is_logged(
    small_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("secret internal detail")

    small_app.add_api_route("/broken", broken)
    with caplog.at_level(logging.ERROR, logger="app.middleware"):
        r = TestClient(small_app).get("/broken")
    body = assert_error_body(r, 500)
    assert "secret" not in r.text and "unexpected error" in body["detail"]
    (record,) = [r for r in caplog.records if r.name == "app.middleware"]
    assert "GET /broken" in record.getMessage() and record.exc_info is not None
    assert "secret internal detail" in caplog.text


def test_an_unreadable_body_is_a_400_in_plain_words(small: TestClient) -> None:
    r = small.post("/api/fit", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert "UTF-8" in assert_error_body(r, 400)["detail"]


def test_the_openapi_document_declares_error_body_for_every_error(small: TestClient) -> None:
    doc = small.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert set(doc["components"]["schemas"]["ErrorBody"]["required"]) == {"detail", "problems"}
    declared = {}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            codes = {code for code in operation["responses"] if code[0] in "45"}
            declared[f"{method.upper()} {path}"] = codes
            for code in codes:
                content = operation["responses"][code]["content"]
                assert content == {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    assert all({"413", "500"} <= codes for codes in declared.values())
    assert {"400", "422"} <= declared["POST /api/fit"] and {"400", "422"} <= declared["POST /api/report.csv"]
    assert "404" in declared["GET /models/{model_id}/{filename}"]

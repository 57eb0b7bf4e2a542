"""Every error as one JSON body (:class:`~app.schemas.ErrorBody`) with a message a biologist understands.

Bad input → HTTP 4xx naming the curve, the field and the value (never a 500, never a silent wrong number);
an unexpected failure → 500 with a generic message, the error logged. Values the user sent are quoted
shortened (:func:`app.text.quote`), so an error body stays small whatever was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.fitting import FittingError, RequestTooLarge, UnfittableRequest
from app.schemas import ErrorBody
from app.text import quote

__all__ = [
    "ERROR_DESCRIPTIONS",
    "MAX_PROBLEMS",
    "describe_validation_error",
    "document_error_bodies",
    "error_response",
    "error_responses",
    "install_error_handlers",
]

#: Problems listed in one error body; more are counted in a last line.
MAX_PROBLEMS = 100
#: Problems joined into ``detail``.
_PROBLEMS_IN_DETAIL = 20

#: What each error status means, for the OpenAPI document.
ERROR_DESCRIPTIONS = {
    400: "The request body could not be read",
    401: "The request lacks the right token (Authorization: Bearer …)",
    403: "This server does not allow this request",
    404: "No such model, file or page",
    409: "It exists already (e.g. a model with that id)",
    413: "The request is larger than the limits (GET /api/limits)",
    422: "The request is not valid: each problem names the curve, the field and the value",
    500: "Unexpected server error (logged); the message is generic",
}

#: FastAPI's message when a body cannot be read (e.g. bytes that are not UTF-8).
_FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"

_STATUS_OF: dict[type[Exception], int] = {RequestTooLarge: 413, UnfittableRequest: 422}

_FIELD_NAMES = {
    "concentrations_um": "concentration",
    "responses": "response",
    "concentration_um": "concentration",
    "od450": "predicted OD450",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of these error statuses, each with the ErrorBody schema."""
    return {code: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


def document_error_bodies(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declare every 4xx/5xx response of an OpenAPI document as JSON ErrorBody, whatever the route returns.

    FastAPI gives a declared error the media type of the route's success response (``text/html`` for the
    page); the errors are JSON everywhere.
    """
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = error_body
    return openapi


def error_response(
    status_code: int, problems: list[str], *, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The JSON response of an error: ``detail`` joins the first problems, ``problems`` lists them.

    At most :data:`MAX_PROBLEMS` problems are listed; a last line counts the rest.
    """
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"… and {len(problems) - MAX_PROBLEMS:,} more problems"]
    body = ErrorBody(detail="; ".join(problems[:_PROBLEMS_IN_DETAIL]), problems=problems)
    return JSONResponse(status_code=status_code, content=body.model_dump(), headers=headers)


def _where(loc: tuple[Any, ...], body: Any) -> str:
    """``('body', 'curves', 0, 'responses', 3)`` → ``curve 1 ('A549 DOX'), response #4``."""
    parts: list[str] = []
    node = body
    items = [x for x in loc if x != "body"]
    i = 0
    while i < len(items):
        key = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if key in ("curves", "wells") and isinstance(nxt, int):
            node = node.get(key) if isinstance(node, dict) else None
            node = node[nxt] if isinstance(node, list) and nxt < len(node) else None
            label = node.get("label") if isinstance(node, dict) and key == "curves" else None
            name = "curve" if key == "curves" else "well"
            parts.append(f"{name} {nxt + 1}" + (f" ({quote(label)})" if isinstance(label, str) else ""))
            i += 2
            continue
        if isinstance(nxt, int):
            parts.append(f"{_FIELD_NAMES.get(str(key), str(key))} #{nxt + 1}")
            i += 2
            continue
        if isinstance(key, str):
            parts.append(_FIELD_NAMES.get(key, key))
            node = node.get(key) if isinstance(node, dict) else None
        i += 1
    return ", ".join(parts) or "request"


def _what(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx", {})
    if kind == "finite_number":
        return "must be a finite number (NaN and infinity are not allowed)"
    if kind == "greater_than_equal":
        got = quote(err.get("input"))
        return f"must be ≥ {ctx.get('ge', 0)} (got {got}); concentrations are in µM, 0 = control"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        return f"must be a number (got {quote(err.get('input'))})"
    if kind == "too_short":
        return "is empty: at least one value is needed"
    if kind == "too_long":
        return f"has too many entries (limit {ctx.get('max_length')})"
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return "is not a field this endpoint knows"
    if kind == "json_invalid":
        return f"is not valid JSON ({ctx.get('error', '')})"
    return str(err.get("msg", "is invalid")).removeprefix("Value error, ")


def describe_validation_error(exc: RequestValidationError, body: Any = None) -> list[str]:
    """One plain sentence per problem, naming the curve, the field and the value (shortened)."""
    return [f"{_where(tuple(e.get('loc', ())), body)}: {_what(e)}" for e in exc.errors()]


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, describe_validation_error(exc, exc.body))


def _plain_words(request: Request, exc: StarletteHTTPException) -> str:
    """The exception's message; the router's bare "Not Found" and "Method Not Allowed" said in full."""
    detail = str(exc.detail)
    if detail == HTTPStatus.NOT_FOUND.phrase:
        return f"Nothing at {quote(request.url.path)}: no such page or file (the API is listed at /docs)."
    if detail == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
        allowed = (exc.headers or {}).get("Allow") or "no method"
        return f"{quote(request.url.path)} does not accept {request.method}; it accepts {allowed}."
    if detail == _FASTAPI_UNREADABLE_BODY:
        return "The request body could not be read: send JSON text (UTF-8), as the API documentation shows."
    return detail


async def _http_error(request: Request, exc: Exception) -> Response:
    """HTTPException (ours and Starlette's 404, 405 …) as ErrorBody, keeping its headers (e.g. Allow)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (204, 304) or exc.status_code < 200:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error_response(exc.status_code, [_plain_words(request, exc)], headers=exc.headers)


async def _fitting_error(request: Request, exc: Exception) -> Response:
    return error_response(_STATUS_OF.get(type(exc), 422), [str(exc)])


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every 4xx the ErrorBody shape (500s: :mod:`app.middleware`)."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(FittingError, _fitting_error)

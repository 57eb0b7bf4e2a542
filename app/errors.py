"""Bad input → HTTP 4xx with a message a biologist understands (never a 500, never a silent wrong number)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["describe_validation_error", "install_error_handlers"]

_FIELD_NAMES = {
    "concentrations_um": "concentration",
    "responses": "response",
    "concentration_um": "concentration",
    "od450": "predicted OD450",
}


def _where(loc: tuple[Any, ...], body: Any) -> str:
    """``('body', 'curves', 0, 'responses', 3)`` → ``curve 1 ("A549 DOX"), response #4``."""
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
            parts.append(f"{name} {nxt + 1}" + (f" ({label!r})" if isinstance(label, str) else ""))
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
    got = err.get("input")
    if kind == "finite_number":
        return "must be a finite number (NaN and infinity are not allowed)"
    if kind == "greater_than_equal":
        return (
            f"must be ≥ {err.get('ctx', {}).get('ge', 0)} (got {got}); concentrations are in µM, 0 = control"
        )
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        return f"must be a number (got {got!r})"
    if kind in ("too_short",):
        return "is empty: at least one value is needed"
    if kind in ("too_long",):
        return f"has too many entries (limit {err.get('ctx', {}).get('max_length')})"
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return "is not a field this endpoint knows"
    if kind == "json_invalid":
        return f"is not valid JSON ({err.get('ctx', {}).get('error', '')})"
    return str(err.get("msg", "is invalid")).removeprefix("Value error, ")


def describe_validation_error(exc: RequestValidationError, body: Any = None) -> list[str]:
    """One plain sentence per problem, naming the curve, the field and the value."""
    return [f"{_where(tuple(e.get('loc', ())), body)}: {_what(e)}" for e in exc.errors()]


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn validation errors into readable 422 responses."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = describe_validation_error(exc, exc.body)
        return JSONResponse(
            status_code=422,
            content={"detail": "; ".join(problems[:20]), "problems": problems},
        )

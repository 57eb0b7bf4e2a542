"""JSON responses encoded by pydantic-core (Rust; several times faster than ``json.dumps`` on thousands of
results), shared by the routes that return many numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pydantic_core
from fastapi.responses import JSONResponse

__all__ = ["FastJSONResponse"]


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (pydantic-core does not know NumPy types)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


class FastJSONResponse(JSONResponse):
    """A route's dict as JSON, NaN and ±inf as null.

    The route returns this response itself, so FastAPI does not validate the body against the route's
    ``response_model`` a second time; the model still documents it in the OpenAPI schema.
    """

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content, inf_nan_mode="null", fallback=_plain)

"""ASGI middleware: refuse oversized request bodies before they are parsed; turn crashes into a plain 500.

Starlette's own ``RequestBodyLimitMiddleware`` answers some oversized requests in plain text; these answer
with the :class:`~app.schemas.ErrorBody` every other error has.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response

__all__ = ["BodySizeLimit", "BodyTooLarge", "UnexpectedErrors"]

logger = logging.getLogger(__name__)

#: The message of a 500: the details are in the server log, not in the response.
UNEXPECTED_ERROR = (
    "The server hit an unexpected error and could not answer. It has been logged; please report it "
    "together with what you sent."
)


class BodyTooLarge(HTTPException):
    """A request body over the limit (413). FastAPI re-raises HTTPExceptions met while reading a body."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(
            413,
            f"The request body is larger than the limit of {max_body_bytes:,} bytes. "
            "Send fewer curves per request.",
        )


class _TrackedSend:
    """``send`` that remembers whether the response has started (after which no other can be sent)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


class BodySizeLimit:
    """Refuse a request body over ``max_body_bytes`` with 413, before it is parsed.

    A ``Content-Length`` over the limit is answered at once, without reading the body. A body sent without
    one (chunked) is counted as it arrives: the read that passes the limit raises :class:`BodyTooLarge`,
    which the error handlers answer with 413.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = BodyTooLarge(self.max_body_bytes).detail
        await error_response(413, [detail], headers={"Connection": "close"})(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        tracked = _TrackedSend(send)
        try:
            await self.app(scope, counted_receive, tracked)
        except BodyTooLarge:  # read outside FastAPI's body parsing (which answers it through the handlers)
            if tracked.started:
                raise
            await self._refuse(scope, receive, send)


class UnexpectedErrors:
    """Answer an exception that no handler took with 500 and a generic message, and log it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = _TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception:
            logger.exception("Unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if tracked.started:
                raise
            await error_response(500, [UNEXPECTED_ERROR])(scope, receive, send)

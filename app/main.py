"""Assembles the app: middleware, error handlers, static files, routers.

Run with ``uvicorn app.main:app`` (see ``./run serve``).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.config import Settings, get_settings
from app.errors import document_error_bodies, error_responses, install_error_handlers
from app.middleware import BodySizeLimit, UnexpectedErrors
from app.routes import docs, evaluate, fit, growth, health, limits, model_upload, models, pages, report

__all__ = ["app", "create_app"]


def _declare_error_bodies(app: FastAPI) -> None:
    """The OpenAPI document (generated once by FastAPI) with every error response declared as ErrorBody."""

    def openapi() -> dict[str, Any]:
        return document_error_bodies(FastAPI.openapi(app))

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI application.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`~app.config.get_settings` (the environment). Given settings also serve the
        routes' ``SettingsDep``, so the middleware and the routes see the same limits.
    """
    config = settings or get_settings()
    app = FastAPI(
        title="nostain",
        version=__version__,
        description="IC50 from bright-field images without staining: Hill fits, screening metrics beyond "
        "the IC50 (IC_x, Emax/Einf, AAC, DSS, % viability, outliers, plate QC, GR, time courses; "
        "docs/api.md) and the report. "
        "Images are scored in the browser; this server only fits numbers. Every error has the same JSON "
        "body: `detail` (plain words) and `problems` (one sentence each).",
        docs_url=None,  # served by app.routes.docs from static/vendor (no CDN: labs run offline)
        redoc_url=None,
        # any request can be too large or meet a bug; route-specific errors are declared by each route
        responses=error_responses(413, 500),
    )
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: config
    _declare_error_bodies(app)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_body_bytes=config.max_body_bytes)
    app.add_middleware(UnexpectedErrors)  # added last: outermost, so it also catches the others' failures
    app.mount("/static", StaticFiles(directory=config.static_dir), name="static")
    for module in (pages, fit, growth, evaluate, report, models, model_upload, limits, health, docs):
        app.include_router(module.router)
    return app


app = create_app()

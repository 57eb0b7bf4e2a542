"""Assembles the app: static files, routers. Run with ``uvicorn app.main:app`` (see ``./run serve``)."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.config import get_settings
from app.errors import install_error_handlers
from app.routes import docs, fit, health, models, pages, report


def create_app() -> FastAPI:
    """Build the FastAPI application."""
    settings = get_settings()
    app = FastAPI(
        title="nostain",
        version=__version__,
        description="IC50 from bright-field images without staining: Hill fits and the IC50 report. "
        "Images are scored in the browser; this server only fits numbers.",
        docs_url=None,  # served by app.routes.docs from static/vendor (no CDN: labs run offline)
        redoc_url=None,
    )
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    for module in (pages, fit, report, models, health, docs):
        app.include_router(module.router)
    return app


app = create_app()

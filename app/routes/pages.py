"""``GET /``: the single page where a biologist uploads a plate and gets the IC50."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app import __version__
from app.deps import RegistryDep, TemplatesDep

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse)
def index(request: Request, registry: RegistryDep, templates: TemplatesDep) -> HTMLResponse:
    """The analysis page; model cards are embedded so the dropdown works before any fetch."""
    cards = [{**e.card, "model_url": f"/models/{e.id}/{e.card['model_file']}"} for e in registry.models]
    return templates.TemplateResponse(request, "index.html", {"models": cards, "version": __version__})

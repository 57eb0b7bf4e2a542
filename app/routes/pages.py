"""``GET /``: the single page where a biologist uploads a plate and gets the IC50."""

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse

from app import __version__
from app.analysis.warm import warm_fitter
from app.deps import RegistryDep, SettingsDep, TemplatesDep

__all__ = ["router"]

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    registry: RegistryDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> HTMLResponse:
    """The analysis page, with the model cards and the request limits embedded.

    The cards are the registry's summaries (without the bulky ``ood`` block, which the page fetches from
    ``card.json`` when it needs it), so the dropdown works before any fetch. After the response, the fitter's
    lazily imported dependencies are loaded (:func:`app.analysis.warm.warm_fitter`) while the page loads its
    model, so that the first plate's fit does not wait for them.
    """
    background.add_task(warm_fitter, settings)
    context = {
        "models": [entry.summary() for entry in registry.models],
        "config": {"limits": settings.limits().model_dump()},
        "version": __version__,
    }
    return templates.TemplateResponse(request, "index.html", context)

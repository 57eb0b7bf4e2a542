"""``GET /docs``: the OpenAPI (Swagger UI) page, served from ``static/vendor`` so it works offline."""

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["docs"])


@router.get("/docs", include_in_schema=False)
def swagger_ui() -> HTMLResponse:
    """Interactive API documentation, without any CDN."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="nostain API",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url="data:,",
    )

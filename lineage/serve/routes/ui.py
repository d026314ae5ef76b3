"""The web UI: its pages at ``/``, ``/lineage``, ``/search``, ``/datasets/{namespace}/{name}``,
``/incidents/{id}``; its static files; offline ``/docs`` and ``/redoc``; the JSON it reads under ``/api/v1/ui``.

The pages are one static shell (no data in it, so no token needed); every datum comes from the API,
which the shell calls with ``Authorization: Bearer`` when a token is set (kept in sessionStorage,
never a cookie). Everything is served from the package: no request leaves the server.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from lineage.serve.deps import Authorized, StoreDep
from lineage.serve.errors import ApiError
from lineage.serve.routes.incidents import IncidentId
from lineage.serve.routes.lineage import AsOf, Name, Namespace
from lineage.serve.ui import dataset_view, graph_view, home_view, incident_view

STATIC = Path(str(resources.files("lineage.serve.ui") / "static"))
PAGES = ("/", "/lineage", "/search")
# The shell loads only its own files; the browser refuses anything else (no CDN, no inline script).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
MEDIA = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".png": "image/png",
         ".svg": "image/svg+xml"}
UpDepth = Annotated[int | None, Query(ge=0, le=100, description="job hops upstream (0: none; omit: all)")]
DownDepth = Annotated[int | None, Query(ge=0, le=100, description="job hops downstream (0: none; omit: all)")]

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/ui", dependencies=[Authorized], tags=["ui"])


def _docs_assets() -> Path:
    import fastapi_offline  # ships Swagger UI and ReDoc's files: /docs works without a CDN

    return Path(fastapi_offline.__file__).parent / "static"


def _file(folder: Path, name: str) -> FileResponse:
    """A file directly in `folder` (no sub-paths, so nothing outside it can be named)."""
    path = folder / name
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise ApiError(404, "not_found", f"no UI file {name!r}")
    return FileResponse(path, media_type=MEDIA.get(path.suffix), headers={"Cache-Control": "no-cache"})


def _shell() -> HTMLResponse:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache",
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


for page in PAGES:
    pages.add_api_route(page, _shell, methods=["GET"], response_class=HTMLResponse)


@pages.get("/datasets/{rest:path}", response_class=HTMLResponse)
def dataset_shell(rest: str) -> HTMLResponse:
    return _shell()


@pages.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_shell(incident_id: str) -> HTMLResponse:
    return _shell()


@pages.get("/ui/static/{name}")
def static_file(name: str) -> FileResponse:
    return _file(STATIC, name)


@pages.get("/ui/vendor/{name}")
def vendor_file(name: str) -> FileResponse:
    return _file(_docs_assets(), name)


@pages.get("/docs", response_class=HTMLResponse)
def swagger(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - Swagger UI",
                               swagger_js_url=f"{root}/ui/vendor/swagger-ui-bundle.js",
                               swagger_css_url=f"{root}/ui/vendor/swagger-ui.css",
                               swagger_favicon_url=f"{root}/ui/vendor/favicon.png")


@pages.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} - ReDoc",
                          redoc_js_url=f"{root}/ui/vendor/redoc.standalone.js",
                          redoc_favicon_url=f"{root}/ui/vendor/favicon.png", with_google_fonts=False)


@api.get("/home")
def home(store: StoreDep) -> dict[str, Any]:
    return home_view.home(store)


@api.get("/search")
def search(store: StoreDep, q: Annotated[str, Query(max_length=200)] = "",
           limit: Annotated[int, Query(ge=1, le=500)] = home_view.SEARCH_LIMIT) -> dict[str, Any]:
    return home_view.search(store, q, limit)


@api.get("/lineage")
def lineage(store: StoreDep, name: Name, namespace: Namespace = None,
            node_type: Annotated[Literal["dataset", "job"], Query(alias="type")] = "dataset",
            up: UpDepth = 2, down: DownDepth = 2, as_of: AsOf = None) -> dict[str, Any]:
    return graph_view.lineage_view(store, name, namespace=namespace, node_type=node_type, up=up, down=down,
                                   as_of=as_of)


@api.get("/columns")
def columns(store: StoreDep, name: Name, namespace: Namespace = None) -> dict[str, Any]:
    return dataset_view.columns_of(store, name, namespace)


@api.get("/dataset")
def dataset(store: StoreDep, name: Name, namespace: Namespace = None) -> dict[str, Any]:
    return dataset_view.dataset_page(store, name, namespace)


@api.get("/incidents/{incident_id}")
def incident(store: StoreDep, incident_id: IncidentId) -> dict[str, Any]:
    from lineage.analysis.incidents import IncidentNotFound

    try:
        return incident_view.incident_page(store, incident_id)
    except IncidentNotFound as exc:
        raise ApiError(404, "incident_not_found", str(exc)) from None


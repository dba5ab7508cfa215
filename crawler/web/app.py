"""The web app: Starlette routes over one read-only store, Jinja2 pages, error pages.

Handlers are plain functions (Starlette runs them in its thread pool), each one session of
:meth:`Store.reading`. Bad parameters are a 400 and a missing feed or article a 404, each
with one short line; a database that cannot be read is a 503; anything else a 500 that
is logged — the traceback never reaches the browser.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crawler.config import Settings
from crawler.errors import NewsmonError, first_line
from crawler.store.store import Store
from crawler.web.api import API_ROUTES
from crawler.web.auth import TokenGate
from crawler.web.context import WebContext, templates
from crawler.web.pages import PAGE_ROUTES
from crawler.web.params import BadRequest
from crawler.web.views import NotFound

log = logging.getLogger("newsmon.web")

# No script runs on these pages, nothing loads from elsewhere, no other site may frame them.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self' data:;"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def create_app(
    settings: Settings,
    store: Store,
    token: str | None = None,
    allowed_hosts: list[str] | None = None,
) -> Starlette:
    """The app on ``store`` (opened read-only by the caller). With ``token`` every request
    must show it; with ``allowed_hosts`` other Host headers are refused (on 127.0.0.1 this
    keeps a web page that rebinds its own name to 127.0.0.1 from reading the app)."""
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    middleware.append(Middleware(TokenGate, token=token))
    routes = [
        *PAGE_ROUTES,
        *API_ROUTES,
        Mount("/static", StaticFiles(packages=[("crawler.web", "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            BadRequest: _bad_request,
            NotFound: _not_found,
            HTTPException: _http_error,
            NewsmonError: _unavailable,
            Exception: _internal_error,
        },
    )
    app.state.web = WebContext(settings, store, token, templates())
    return app


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


def error_response(request: Request, status: int, message: str) -> Response:
    """A short error, as JSON under /api/ and on the Atom feed's path, else a small page."""
    path = request.url.path
    if path.startswith("/api/") or path.endswith(".atom"):
        return JSONResponse({"error": message}, status_code=status)
    web: WebContext | None = getattr(request.app.state, "web", None)
    if web is None:
        return HTMLResponse(message, status_code=status)
    return web.page(request, "error.html", {"status": status, "message": message}, status)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return error_response(request, 400, str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(request, 404, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "no such page" if exc.status_code == 404 else str(exc.detail)
    return error_response(request, exc.status_code, message)


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("web: %s: %s", request.url.path, first_line(exc))
    return error_response(request, 503, f"the database cannot be read: {first_line(exc)}")


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("web: %s failed", request.url.path, exc_info=exc)
    return error_response(request, 500, "internal error (logged by the server)")

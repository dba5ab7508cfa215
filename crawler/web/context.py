"""What every handler shares: the settings (for the feeds), the read-only store, the token
and the Jinja2 templates, kept on the app's state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from crawler.config import Settings
from crawler.store.store import Store
from crawler.web.charts import bar_chart, sparkline


@dataclass(frozen=True)
class WebContext:
    """What every handler shares: the settings (feeds), the store and the templates."""

    settings: Settings
    store: Store
    token: str | None
    templates: Jinja2Templates

    def page(
        self, request: Request, name: str, data: dict[str, Any], status: int = 200
    ) -> Response:
        context = {"data": data, "path": request.url.path, "login": self.token is not None}
        return self.templates.TemplateResponse(request, name, context, status_code=status)


def context(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


def templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("crawler.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(sparkline=sparkline, bar_chart=bar_chart)
    env.filters["when"] = short_time
    return Jinja2Templates(env=env)


def short_time(value: str | None, empty: str = "-") -> str:
    """An ISO time from the views as ``YYYY-MM-DD HH:MM`` (UTC)."""
    if not value:
        return empty
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")

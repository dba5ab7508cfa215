"""Query parameters, checked before anything reads the database.

Every page and API call names the parameters it takes; an unknown one, a repeated one, a
value too long, with control characters, or of the wrong shape is a :class:`BadRequest`
(HTTP 400 with one short line), never an error further down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from crawler.cli.options import parse_when
from crawler.errors import UsageError
from crawler.store.queries import ArticleFilter

MAX_VALUE = 200  # characters in one filter value; a search may be longer
MAX_SEARCH = 500
MAX_ID = 2_147_483_647  # the largest id the articles table holds
PER_PAGE = 25
MAX_PAGE = 400  # pages of PER_PAGE: the first 10,000 results of a listing
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TRUE, _FALSE = {"1", "on", "true", "yes"}, {"", "0", "off", "false", "no"}

# The parameters of an article listing (the /articles page, its API and its Atom feed).
LISTING = ("q", "tag", "site", "feed", "author", "language", "since", "until", "edited",
           "collapse", "page")  # fmt: skip


class BadRequest(Exception):
    """A request the app refuses: HTTP 400 with this message."""


class Params:
    """The validated parameters of one request."""

    def __init__(self, query: QueryParams | Mapping[str, str], allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        items = query.multi_items() if isinstance(query, QueryParams) else list(query.items())
        values: dict[str, str] = {}
        for key, value in items:
            if key not in allowed:
                names = ", ".join(sorted(allowed)) or "none"
                raise BadRequest(f"unknown parameter {_shown(key)} (this page takes: {names})")
            if key in values:
                raise BadRequest(f"parameter {key!r} given more than once")
            limit = MAX_SEARCH if key == "q" else MAX_VALUE
            if len(value) > limit:
                raise BadRequest(f"parameter {key!r} is longer than {limit} characters")
            if _CONTROL.search(value):
                raise BadRequest(f"parameter {key!r} holds control characters")
            values[key] = value
        self.values = values

    def text(self, key: str) -> str | None:
        """The value, stripped; None when absent or blank."""
        value = self.values.get(key, "").strip()
        return value or None

    def flag(self, key: str) -> bool:
        value = self.values.get(key, "").strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise BadRequest(f"parameter {key!r} must be 1 or 0 (got {_shown(value)})")

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.values.get(key, "").strip()
        if not value:
            return default
        if not value.isascii() or not value.isdigit() or len(value) > 10:
            raise BadRequest(f"parameter {key!r} must be a whole number (got {_shown(value)})")
        number = int(value)
        if not low <= number <= high:
            raise BadRequest(f"parameter {key!r} must be from {low} to {high} (got {number})")
        return number

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.values.get(key, "").strip() or default
        if value not in choices:
            raise BadRequest(f"parameter {key!r} must be one of {', '.join(choices)}")
        return value

    def when(self, key: str) -> datetime | None:
        try:
            return parse_when(self.text(key), key)
        except UsageError as exc:
            raise BadRequest(str(exc)) from None

    def article_filter(self, limit: int = PER_PAGE) -> ArticleFilter:
        """The listing these parameters ask for: the page's ``limit`` rows."""
        since, until = self.when("since"), self.when("until")
        if since and until and since >= until:
            raise BadRequest("parameter 'since' must be before 'until'")
        page = self.integer("page", 1, 1, MAX_PAGE)
        return ArticleFilter(
            tag=self.text("tag"),
            site=self.text("site"),
            feed=self.text("feed"),
            author=self.text("author"),
            language=self.text("language"),
            since=since,
            until=until,
            search=self.text("q"),
            edited=self.flag("edited"),
            collapse=self.flag("collapse"),
            limit=limit,
            offset=(page - 1) * limit,
        )

    def linked(self, **changes: Any) -> str:
        """This request's query string with some values changed (None drops one); a change
        of anything but the page starts again at page 1."""
        values = {k: v for k, v in self.values.items() if v.strip()}
        if "page" not in changes:
            values.pop("page", None)
        for key, value in changes.items():
            if value is None or value is False or value == "":
                values.pop(key, None)
            else:
                values[key] = "1" if value is True else str(value)
        return "?" + urlencode(values) if values else "?"


def article_id(value: str) -> int:
    """A path's article id, 1 to the largest the table holds."""
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        raise BadRequest(f"article id must be a whole number (got {_shown(value)})")
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise BadRequest(f"article id must be from 1 to {MAX_ID} (got {number})")
    return number


def _shown(value: str) -> str:
    """A value quoted for a message, cut short: messages stay one short line."""
    return repr(value if len(value) <= 40 else value[:40] + "…")

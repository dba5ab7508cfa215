"""When a page was published (and modified), in the order of README.md's field table.

Published: a site rule's selector → JSON-LD ``datePublished`` → meta tags
(``article:published_time``, ``pubdate``, ``dc.date``, ``parsely-pub-date``…) and microdata
→ ``<time datetime>`` marked as publication (or the first one inside the article) → the
feed or sitemap date from the hints (a date-only entry gives way to a time of that day
written on the page) → a date written near the headline or in the byline → htmldate.
Each candidate goes through :mod:`crawler.extract.dates` (machine values) or
:mod:`crawler.extract.visible_dates` (text), so junk (``0001-01-01``, month 29, far future)
falls through to the next source instead of failing.

The visible-text search looks at date/byline-classed elements after the headline first,
then at short blocks right below it; figures and captions are skipped, because a caption
often quotes a date of its own ("a sign reads 11/11/2022").
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

from htmldate import find_date
from lxml import etree

from crawler.article import ParseHints, SiteRules
from crawler.extract.dates import parse_date
from crawler.extract.elements import hint_of, in_chrome, select, text_of
from crawler.extract.meta import ARTICLE_TYPES, PageMeta, as_text, types_of
from crawler.extract.parsed_dates import ParsedDate, is_plausible, precision_of
from crawler.extract.time_zones import zone
from crawler.extract.visible_dates import find_visible_date

__all__ = ["PUBLISHED_META", "modified_date", "published_date"]

PUBLISHED_META = (
    "article:published_time", "og:published_time", "article:published", "datepublished",
    "pubdate", "publishdate", "publish-date", "publish_date", "date", "dc.date",
    "dc.date.issued", "dcterms.issued", "dcterms.created", "parsely-pub-date", "sailthru.date",
)  # fmt: skip
_MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified", "dcterms.modified")
_DATE_HINT = re.compile(r"date|time|byline|dateline|publish|posted|stamp|meta|fecha|datum")
_CAPTION_HINT = re.compile(r"caption|credit")
_HTMLDATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def _first_date(values: list[str | None], tz: str, now: datetime) -> ParsedDate | None:
    for value in values:
        if value and (parsed := parse_date(value, tz, now)):
            return parsed
    return None


def modified_date(tree: Any, page: PageMeta, tz: str, now: datetime) -> ParsedDate | None:
    """JSON-LD dateModified → article:modified_time / og:updated_time → <time> marked so."""
    return _first_date(
        [as_text(page.article.get("dateModified")), *page.all(*_MODIFIED_META),
         *(t.get("datetime") for t in tree.xpath("//time[@itemprop='dateModified']"))],
        tz, now,
    )  # fmt: skip


def published_date(
    tree: Any, page: PageMeta, url: str, hints: ParseHints, rules: SiteRules | None, now: datetime
) -> tuple[ParsedDate | None, str]:
    """The publication date and where it came from (json-ld, meta, time, feed, text...)."""
    tz = hints.timezone
    if rules is not None and rules.published:
        for element in select(tree, rules.published):
            machine = element.get("datetime") or element.get("content")
            found = (parse_date(machine, tz, now) if machine else None) or find_visible_date(
                text_of(element), tz, now
            )
            if found:
                return found, "time" if element.get("datetime") else "meta" if machine else "text"
    ld_values = [as_text(page.article.get("datePublished"))]
    # Other objects only when they describe this page: a list of related articles elsewhere
    # in the JSON-LD carries their dates, not ours.
    ld_values += [
        as_text(o.get("datePublished"))
        for o in page.jsonld
        if o is not page.article and types_of(o) & (ARTICLE_TYPES | {"webpage"})
    ]
    if found := _first_date(ld_values, tz, now):
        return found, "json-ld"
    if found := _first_date([*page.all(*PUBLISHED_META), *page.micro("datePublished")], tz, now):
        return found, "meta"
    if found := _first_date(_time_values(tree, page), tz, now):
        return found, "time"
    if hints.published_at is not None:
        at = hints.published_at
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        if is_plausible(at, now):
            # The entry's own precision: a date-only value in a zone east or west of UTC is
            # not midnight in UTC, so guessing from the clock would call it "minute".
            precision = hints.published_precision or precision_of(at)
            # The page's byline may tell the time of that day: finer, and as reliable.
            written = _visible_date(tree, page, tz, now) if precision == "day" else None
            if written and written.precision != "day" and _same_day(written.at, at, tz):
                return written, "text"
            return ParsedDate(at, precision), hints.published_source or "feed"
    if found := _visible_date(tree, page, tz, now):
        return found, "text"
    return _htmldate(tree, url, tz, now), "htmldate"


def _same_day(written: datetime, entry: datetime, tz: str) -> bool:
    # A date-only entry is midnight in the site's zone (sitemaps) or in UTC (feedparser).
    day = written.astimezone(zone(tz)).date()
    return day in (entry.astimezone(zone(tz)).date(), entry.astimezone(UTC).date())


def _time_values(tree: Any, page: PageMeta) -> list[str | None]:
    """<time datetime> marked as publication first, then unmarked ones in the article."""
    marked, unmarked = [], []
    for element in tree.xpath("//time[@datetime]"):
        hint = f"{hint_of(element)} {element.get('itemprop') or ''}".lower()
        if "modif" in hint or "updat" in hint or in_chrome(element):
            continue
        if element.get("pubdate") is not None or re.search(r"publish|posted|created|pub", hint):
            marked.append(element.get("datetime"))
        elif element.xpath("ancestor::article | ancestor::header | ancestor::main"):
            unmarked.append(element.get("datetime"))
    return marked + unmarked[:1]


def _excluded(element: Any) -> bool:
    if element.tag in ("figure", "figcaption", "script", "style") or in_chrome(element):
        return True
    return any(
        a.tag in ("figure", "figcaption") or _CAPTION_HINT.search(hint_of(a))
        for a in element.iterancestors()
    ) or bool(_CAPTION_HINT.search(hint_of(element)))


def _visible_date(tree: Any, page: PageMeta, tz: str, now: datetime) -> ParsedDate | None:
    """A date written near the headline: date/byline-classed elements, then short blocks."""
    elements = list(tree.iter(etree.Element))
    start = elements.index(page.h1) if page.h1 is not None else 0
    nearby = elements[start : start + 400] + elements[max(0, start - 100) : start][::-1]
    for element in nearby:
        if not _DATE_HINT.search(hint_of(element)) or _excluded(element):
            continue
        if element.xpath(".//figure | .//figcaption | .//*[contains(@class,'aption')]"):
            continue
        text = text_of(element)
        if text and len(text) <= 200 and (found := find_visible_date(text, tz, now)):
            return found
    if page.h1 is None:
        return None
    for element in elements[start + 1 : start + 80]:
        if _excluded(element) or element.tag in ("a", "script", "style"):
            continue
        text = text_of(element)
        if element.tag == "p" and len(text) > 250:
            break  # the article text has started
        if len(text) <= 200 and (found := find_visible_date(text, tz, now, allow_relative=False)):
            return found
    return None


def _htmldate(tree: Any, url: str, tz: str, now: datetime) -> ParsedDate | None:
    value = None
    try:
        with warnings.catch_warnings():
            # htmldate and dateparser emit DeprecationWarnings on some inputs; under
            # filterwarnings=error they would turn a fallback into a crash.
            warnings.simplefilter("ignore")
            for extensive in (False, True):
                value = find_date(
                    tree, extensive_search=extensive, original_date=True,
                    outputformat=_HTMLDATE_FORMAT, url=url, min_date="1995-01-01",
                    max_date=(now + timedelta(days=1)).strftime("%Y-%m-%d"),
                )  # fmt: skip
                if value:
                    break
    except (ValueError, TypeError, OverflowError, etree.LxmlError, RecursionError):
        return None
    if not value:
        return None
    parsed = parse_date(value, tz, now)
    if parsed is None:
        return None
    midnight = value[11:19] in ("", "00:00:00")
    return ParsedDate(parsed.at, "day" if midnight else precision_of(parsed.at))

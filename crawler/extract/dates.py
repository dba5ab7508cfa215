"""Machine-written dates (JSON-LD, meta tags, ``<time datetime>``, feeds, sitemaps).

:func:`parse_date` reads ISO 8601 with or without offset, date-only values, Unix timestamps,
and RFC 822 or other human spellings that sites put in machine slots (through the grammar of
:mod:`crawler.extract.visible_dates`, without relative dates). The result is an aware UTC
:class:`~crawler.extract.parsed_dates.ParsedDate` that is plausible, or None; nothing here
raises on bad input.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo

from crawler.extract.parsed_dates import ParsedDate, calendar_date, is_plausible, parsed_date
from crawler.extract.time_zones import abbreviation_zone, offset_zone
from crawler.extract.visible_dates import find_visible_date

__all__ = ["parse_date"]

_ISO = re.compile(
    r"""(?P<y>\d{4})(?P<sep>[-/]?)(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})
        (?:(?:T|\s+|T\s*)(?P<H>\d{1,2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:[.,]\d+)?)?)?
        \s*(?P<tz>Z|[+-]\d{1,2}(?::?\d{2})?|\(?[A-Za-z]{1,5}\)?)?""",
    re.X,
)
_EPOCH = re.compile(r"(\d{10})(\d{3})?")


def parse_date(
    value: str, default_tz: str = "UTC", now: datetime | None = None
) -> ParsedDate | None:
    """Parse a machine-written date; None when it is junk, impossible or implausible."""
    try:
        return _parse_date(value, default_tz, now)
    except (ValueError, OverflowError, TypeError, AttributeError):
        return None


def _parse_date(value: str, default_tz: str, now: datetime | None) -> ParsedDate | None:
    text = value.strip()[:200]
    if not text:
        return None
    match = _ISO.fullmatch(text)
    if match and (match.group("sep") or len(match.group("m")) == len(match.group("d")) == 2):
        return _from_iso(match, default_tz, now)
    epoch = _EPOCH.fullmatch(text)
    if epoch:
        at = datetime.fromtimestamp(int(epoch.group(1)), UTC)
        return ParsedDate(at=at, precision="second") if is_plausible(at, now) else None
    # RFC 822 ("Fri, 11 Nov 2022 19:29:00 +0000") and other human spellings in machine slots.
    return find_visible_date(text, default_tz, now, allow_relative=False)


def _from_iso(match: re.Match[str], default_tz: str, now: datetime | None) -> ParsedDate | None:
    day = calendar_date(int(match.group("y")), int(match.group("m")), int(match.group("d")))
    if day is None:
        return None
    clock: time | None = None
    precision = "day"
    if match.group("H") is not None:
        hour, minute = int(match.group("H")), int(match.group("M"))
        second = int(match.group("S") or 0)
        if hour == 24 and minute == 0 and second == 0:
            day, hour = day + timedelta(days=1), 0
        if hour > 23 or minute > 59 or second > 59:
            return None
        clock = time(hour, minute, second)
        precision = "second" if match.group("S") is not None else "minute"
    tz: tzinfo | None = None
    raw_tz = (match.group("tz") or "").strip("()")
    if raw_tz:
        tz = offset_zone(raw_tz) if raw_tz[0] in "+-" else abbreviation_zone(raw_tz, default_tz)
        if tz is None:
            return None
    return parsed_date(day, clock, tz, default_tz, precision, now)

"""What every date the parser finds becomes: an aware UTC :class:`ParsedDate`, if plausible.

Plausible means 1995-01-01 ≤ value ≤ now + 1 day, so junk such as ``0001-01-01`` or a
far-future value falls through to the next source of a date. A value without a zone is read
in the site's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from crawler.extract.time_zones import zone

__all__ = [
    "EARLIEST",
    "ParsedDate",
    "calendar_date",
    "is_plausible",
    "parsed_date",
    "precision_of",
]

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ParsedDate:
    """A date found in a page: ``at`` is aware UTC; ``precision`` is day, minute or second."""

    at: datetime
    precision: str


def is_plausible(dt: datetime, now: datetime | None = None) -> bool:
    """1995-01-01 ≤ dt ≤ now + 1 day; a naive ``dt`` or ``now`` is read as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return EARLIEST <= dt <= now + timedelta(days=1)


def precision_of(dt: datetime) -> str:
    """A guess for values that arrive as datetimes (feeds, sitemaps, htmldate)."""
    if (dt.hour, dt.minute, dt.second, dt.microsecond) == (0, 0, 0, 0):
        return "day"
    return "minute" if dt.second == 0 and dt.microsecond == 0 else "second"


def parsed_date(
    day: date,
    clock: time | None,
    tz: tzinfo | None,
    default_tz: str,
    precision: str,
    now: datetime | None,
) -> ParsedDate | None:
    """The date ``day`` at ``clock`` in ``tz`` (else ``default_tz``), if plausible."""
    try:
        local = datetime.combine(day, clock or time(0), tzinfo=tz or zone(default_tz))
        at = local.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if not is_plausible(at, now):
        return None
    return ParsedDate(at=at, precision=precision)


def calendar_date(year: int, month: int, day: int) -> date | None:
    """The day, or None when it does not exist."""
    try:
        return date(year, month, day)
    except ValueError:  # month 29, February 30, ...
        return None

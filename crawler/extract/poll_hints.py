"""What a server says about how often to come back: pure parsing of headers and feeds.

* RSS ``<ttl>`` (minutes) and the syndication module's ``sy:updatePeriod`` /
  ``sy:updateFrequency`` in the feed itself;
* ``Cache-Control: max-age`` and ``Expires`` (against the response's ``Date``) on the
  feed's response;
* ``Retry-After`` on a 429 or 503: seconds, or an HTTP date.

Each gives a :class:`~datetime.timedelta` and words for ``newsmon status``, or None.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# The channel's elements come before its items; a feed of megabytes needs no full scan.
HEAD_BYTES = 65_536
_TTL = re.compile(rb"<ttl>\s*(\d{1,9})\s*</ttl>", re.IGNORECASE)
_PERIOD = re.compile(rb"<(?:[\w.-]+:)?updatePeriod>\s*(\w+)\s*</", re.IGNORECASE)
_FREQUENCY = re.compile(rb"<(?:[\w.-]+:)?updateFrequency>\s*(\d{1,6})\s*</", re.IGNORECASE)
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})", re.IGNORECASE)
_PERIODS = {
    b"hourly": timedelta(hours=1),
    b"daily": timedelta(days=1),
    b"weekly": timedelta(weeks=1),
    b"monthly": timedelta(days=30),
    b"yearly": timedelta(days=365),
}

Hint = tuple[timedelta, str]


def feed_hints(body: bytes) -> list[Hint]:
    """``<ttl>`` and ``sy:updatePeriod``/``sy:updateFrequency`` of a feed document."""
    head = body[:HEAD_BYTES]
    hints: list[Hint] = []
    ttl = _TTL.search(head)
    if ttl and int(ttl.group(1)) > 0:
        hints.append((timedelta(minutes=int(ttl.group(1))), f"<ttl> {int(ttl.group(1))} min"))
    period = _PERIOD.search(head)
    if period and period.group(1).lower() in _PERIODS:
        name = period.group(1).lower()
        frequency = _FREQUENCY.search(head)
        times = max(int(frequency.group(1)), 1) if frequency else 1
        hints.append((_PERIODS[name] / times, f"sy:updatePeriod {name.decode()} ×{times}"))
    return hints


def header_hints(
    cache_control: str | None, expires: str | None, date: str | None, now: datetime
) -> list[Hint]:
    """``Cache-Control: max-age`` (unless ``no-cache``/``no-store``) and ``Expires``."""
    hints: list[Hint] = []
    if cache_control:
        lowered = cache_control.lower()
        found = _MAX_AGE.search(cache_control)
        if found and "no-store" not in lowered and "no-cache" not in lowered:
            seconds = int(found.group(1))
            if seconds > 0:
                hints.append((timedelta(seconds=seconds), f"Cache-Control max-age={seconds}"))
        if found:
            return hints  # max-age overrides Expires (RFC 9111 5.3)
    at = http_date(expires) if expires else None
    if at is not None:
        base = (http_date(date) if date else None) or now
        if at > base:
            hints.append((at - base, f"Expires {expires}"))
    return hints


def strongest(hints: list[Hint]) -> Hint | None:
    """The longest wait asked for: obeying it obeys the others too."""
    return max(hints, key=lambda h: h[0]) if hints else None


def http_date(value: str) -> datetime | None:
    try:
        at = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """When a ``Retry-After`` (delay in seconds, or an HTTP date) says to come back."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return now + timedelta(seconds=min(int(text), 10**8))
    return http_date(text)

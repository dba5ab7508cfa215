"""The values settings.toml holds, checked one at a time: durations and their ranges,
numeric ranges, cron strings, time zones, CSS selectors, regular expressions, names,
URLs and host names.

Each check returns the value (or its parsed form) or raises ValueError with a message
that reads well after ``settings.toml: feeds[0] (name='a').schedule.every: ``; pydantic
turns that into one problem line (see :mod:`crawler.config_problems`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from cssselect import SelectorError
from parsel.csstranslator import css2xpath
from pydantic import AfterValidator

_DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_SLUG = re.compile(r"[a-z0-9_-]{1,64}")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


class DurationTooLong(ValueError):
    """A well-formed duration beyond what a timedelta holds (999,999,999 days)."""


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"48h"``, ``"2d"``, ``"1h30m"`` → timedelta; ValueError otherwise."""
    compact = text.strip().lower().replace(" ", "")
    match = _DURATION.fullmatch(compact)
    if not compact or match is None:
        raise ValueError(
            f"invalid duration {text!r} (write e.g. '90s', '15m', '48h', '2d', '1h30m')"
        )
    try:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except (OverflowError, ValueError):  # ValueError: more digits than int() reads
        raise DurationTooLong(f"duration {text!r} is too long") from None


def format_duration(duration: timedelta) -> str:
    """The inverse of :func:`parse_duration` for whole seconds: ``5400s`` → ``"1h30m"``."""
    left = int(duration.total_seconds())
    parts: list[str] = []
    for unit, seconds in _UNITS:
        count, left = divmod(left, seconds)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def show_value(value: object) -> str:
    """A value as the problem line quotes it: short, and spelt as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


class DurationBetween:
    """Before-validator of a duration key: a duration string within ``low``..``high``.

    A bare number is ambiguous (seconds? minutes?), so it is refused rather than guessed.
    """

    def __init__(self, low: str, high: str) -> None:
        self.low, self.high = parse_duration(low), parse_duration(high)
        self.allowed = f"from {low} to {high}"

    def __call__(self, value: object) -> timedelta:
        if isinstance(value, timedelta):
            duration: timedelta | None = value
        elif isinstance(value, str):
            try:
                duration = parse_duration(value)
            except DurationTooLong:
                duration = None
        else:
            raise ValueError(f"expected a duration string such as '15m' (got {show_value(value)})")
        if duration is None or not self.low <= duration <= self.high:
            shown = format_duration(value) if isinstance(value, timedelta) else value
            raise ValueError(f"must be {self.allowed} (got {show_value(shown)})")
        return duration


class NumberBetween:
    """After-validator of a numeric key: ``low`` <= value <= ``high`` (so never inf or nan)."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high
        self.allowed = f"from {_number(low)} to {_number(high)}"

    def __call__(self, value: float) -> float:
        if not self.low <= value <= self.high:
            raise ValueError(f"must be {self.allowed} (got {_number(value)})")
        return value


def _number(value: float) -> str:
    # A float key reads `timeout = 0` as 0.0: shown as written, and large bounds with
    # TOML's digit separators.
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int) and abs(value) >= 10_000:
        shown = f"{value:_}"
        return shown if len(shown) <= 60 else shown[:57] + "..."
    return show_value(value)


def check_cron(cron: str) -> str:
    try:
        CronTrigger.from_crontab(cron, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron {cron!r}: {exc}") from None
    # APScheduler 3 counts weekday 0 as Monday, crontab as Sunday: numbers would
    # silently run on the wrong day, so only names are accepted in that field.
    if re.search(r"(?<![/\d])\d", cron.split()[4]):
        raise ValueError(
            f"invalid cron {cron!r}: write the day of week as names (mon-fri, sun), "
            "because APScheduler counts 0 as Monday while crontab counts it as Sunday"
        )
    return cron


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as 'Europe/Kyiv')"
        ) from None
    return name


def check_css(selector: str) -> str:
    try:
        css2xpath(selector)  # parsel's translator, so ::text and ::attr(name) are accepted
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from None
    return selector


def check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


def check_slug(name: str) -> str:
    if not _SLUG.fullmatch(name):
        raise ValueError(f"must be 1-64 lowercase letters, digits, '-' or '_' (got {name!r})")
    return name


def check_http_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise ValueError(f"must be an absolute http:// or https:// URL (got {url!r})")
    return url


def check_host(domain: str) -> str:
    host = domain.strip().lower().rstrip(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise ValueError(f"must be a host name such as 'example.com' (got {domain!r})")
    return host


def clean_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = (tag.strip().casefold() for tag in tags)
    return tuple(dict.fromkeys(tag for tag in cleaned if tag))


def bare_host(domain_or_host: str) -> str:
    """``www.Example.com.`` or ``example.com:8080`` → ``example.com``, for matching sites."""
    host = domain_or_host.strip().lower()
    if host.count(":") == 1:  # crawler.urls.site_of keeps a non-default port
        host = host.split(":")[0]
    return host.rstrip(".").removeprefix("www.")


TimeZone = Annotated[str, AfterValidator(check_timezone)]
CssSelector = Annotated[str, AfterValidator(check_css)]
Regex = Annotated[str, AfterValidator(check_regex)]
Slug = Annotated[str, AfterValidator(check_slug)]
HttpUrl = Annotated[str, AfterValidator(check_http_url)]
HostName = Annotated[str, AfterValidator(check_host)]
Tags = Annotated[tuple[str, ...], AfterValidator(clean_tags)]

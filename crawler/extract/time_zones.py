"""What the zone abbreviations and offsets written next to news dates mean.

Abbreviations come from one table: the fixed ones ("EST", "CET") mean their offset
literally; the generic ones ("ET", "PT") take their offset from the IANA zone on that date,
so DST is right; the ambiguous ones (IST, CST, BST, AST) are resolved with the site's time
zone. The site's zone also says whether numeric dates are written month first (US sites).
Nothing here raises on bad input.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "NORTH_AMERICAN_ABBREVIATIONS",
    "abbreviation_zone",
    "is_american",
    "offset_zone",
    "zone",
]

# Abbreviations with one fixed offset (minutes east of UTC). As written on the page: a site
# that prints "EST" in July means -05:00 literally, which is what we keep.
_FIXED: dict[str, int] = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "AST": -240, "ADT": -180, "NST": -210, "NDT": -150,
    "BST": 60, "IST": 330, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120,
    "WEST": 60, "EET": 120, "EEST": 180, "MSK": 180, "CAT": 120, "EAT": 180, "WAT": 60,
    "SAST": 120, "PKT": 300, "WIB": 420, "PHT": 480, "JST": 540, "KST": 540, "HKT": 480,
    "SGT": 480, "AWST": 480, "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660,
    "NZST": 720, "NZDT": 780,
}  # fmt: skip

# Generic names that follow the local DST rules.
_GENERIC: dict[str, str] = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
    "AKT": "America/Anchorage",
    "AET": "Australia/Sydney",
}

# Abbreviations that mean something else in some markets: (site zones, offset there).
_AMBIGUOUS: dict[str, tuple[frozenset[str], int]] = {
    # Irish Standard Time is Ireland's summer time, UTC+1; everywhere else IST is India.
    "IST": (frozenset({"Europe/Dublin", "Eire"}), 60),
    # China Standard Time on Chinese and Taiwanese sites, US Central elsewhere.
    "CST": (
        frozenset(
            {
                "Asia/Shanghai",
                "Asia/Chongqing",
                "Asia/Harbin",
                "Asia/Taipei",
                "Asia/Macau",
                "PRC",
                "ROC",
            }
        ),
        480,
    ),
    "BST": (frozenset({"Asia/Dhaka"}), 360),  # Bangladesh, not British Summer Time
    "AST": (
        frozenset(
            {
                "Asia/Riyadh",
                "Asia/Baghdad",
                "Asia/Kuwait",
                "Asia/Qatar",
                "Asia/Bahrain",
                "Asia/Aden",
            }
        ),
        180,
    ),  # Arabia Standard Time, not Atlantic
}

NORTH_AMERICAN_ABBREVIATIONS = frozenset(
    {"EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "AKST", "AKDT", "HST",
     "ET", "CT", "MT", "PT", "AKT"}
)  # fmt: skip

# Sites in these zones write numeric dates month first (11/30/2022).
_US_ZONE_PREFIXES = ("US/", "America/Indiana/", "America/Kentucky/", "America/North_Dakota/")
_US_ZONES = frozenset(
    {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
     "America/Phoenix", "America/Anchorage", "America/Detroit", "America/Boise",
     "America/Juneau", "America/Sitka", "America/Nome", "America/Adak", "America/Menominee",
     "America/Metlakatla", "America/Yakutat", "Pacific/Honolulu", "America/Puerto_Rico",
     "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT"}
)  # fmt: skip


def zone(name: str | None) -> tzinfo:
    """The IANA zone called ``name``; UTC when it is empty or unknown (never raises)."""
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # unknown name, bad path characters, ...
        return UTC


def is_american(default_tz: str) -> bool:
    """Whether a site in this zone writes numeric dates month first (11/30/2022)."""
    return default_tz in _US_ZONES or default_tz.startswith(_US_ZONE_PREFIXES)


def abbreviation_zone(abbr: str, default_tz: str) -> tzinfo | None:
    """The zone an abbreviation means on a site in ``default_tz``; None when unknown."""
    abbr = abbr.upper()
    if abbr in _AMBIGUOUS:
        zones, minutes = _AMBIGUOUS[abbr]
        if default_tz in zones:
            return timezone(timedelta(minutes=minutes))
    if abbr in _FIXED:
        return timezone(timedelta(minutes=_FIXED[abbr])) if _FIXED[abbr] else UTC
    if abbr in _GENERIC:
        return ZoneInfo(_GENERIC[abbr])
    return None


def offset_zone(text: str) -> tzinfo | None:
    """'+02:00', '-0500', '+5', '+05:30' → a fixed offset; None when out of range."""
    match = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", text.strip())
    if not match:
        return None
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match.group(1) == "-" else delta) if delta else UTC

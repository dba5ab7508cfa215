"""Dates as news pages write them: table tests per form, and properties for any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extract.dates import parse_date
from crawler.extract.parsed_dates import ParsedDate, is_plausible
from crawler.extract.visible_dates import find_visible_date
from crawler.urls import normalize_url

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Visible text

VISIBLE = [
    # (text, site zone, expected UTC, precision)
    ("Friday, 11 November 2022 07:29 PM EST", "UTC", utc(2022, 11, 12, 0, 29), "minute"),
    ("By    |   Friday, 11 November 2022 07:29 PM EST", "UTC", utc(2022, 11, 12, 0, 29), "minute"),
    ("Nov. 11, 2022 7:29 p.m. ET", "UTC", utc(2022, 11, 12, 0, 29), "minute"),
    ("November 11, 2022, 19:29 GMT", "UTC", utc(2022, 11, 11, 19, 29), "minute"),
    ("11/11/2022 19:29 CET", "UTC", utc(2022, 11, 11, 18, 29), "minute"),
    ("2022-11-11 19:29", "Europe/Paris", utc(2022, 11, 11, 18, 29), "minute"),
    ("2022-11-11T19:29:05", "UTC", utc(2022, 11, 11, 19, 29, 5), "second"),
    ("Updated 3:05 AM EDT, Sat November 12, 2022", "UTC", utc(2022, 11, 12, 7, 5), "minute"),
    ("Published Sept. 8, 2023 7:29 p.m. ET | Updated Sept. 9", "UTC",
     utc(2023, 9, 8, 23, 29), "minute"),
    ("12th of March 2021, 9am", "Europe/London", utc(2021, 3, 12, 9, 0), "minute"),
    ("March 3, 2021", "America/New_York", utc(2021, 3, 3, 5, 0), "day"),
    ("3 March 2021 at 14:00 (CEST)", "UTC", utc(2021, 3, 3, 12, 0), "minute"),
    ("4 May 2023 10:00 GMT+2", "UTC", utc(2023, 5, 4, 8, 0), "minute"),
    ("4 May 2023 10:00 +05:30", "UTC", utc(2023, 5, 4, 4, 30), "minute"),
    ("12 noon is not a time; 4 May 2023", "UTC", utc(2023, 5, 4), "day"),
    # a malformed date is skipped, the next one is used
    ("2022-29-11 | Friday, 11 November 2022 07:29 PM", "America/New_York",
     utc(2022, 11, 12, 0, 29), "minute"),
    ("31/02/2022 then 1 March 2022", "UTC", utc(2022, 3, 1), "day"),
    # other languages: day, month name, year
    ("Santa Clara, 11 de noviembre de 2022 19:29 CET", "Europe/Madrid",
     utc(2022, 11, 11, 18, 29), "minute"),
    ("11 de diciembre de 2022 a las 19:29", "Europe/Madrid", utc(2022, 12, 11, 18, 29), "minute"),
    ("11. November 2022, 19:29 Uhr", "Europe/Berlin", utc(2022, 11, 11, 18, 29), "minute"),
    ("3. März 2023 um 07:15 Uhr", "Europe/Berlin", utc(2023, 3, 3, 6, 15), "minute"),
    ("le 1er décembre 2022 à 19h29", "Europe/Paris", utc(2022, 12, 1, 18, 29), "minute"),
    ("5 maggio 2023, 10:00", "Europe/Rome", utc(2023, 5, 5, 8, 0), "minute"),
    ("7 de março de 2023 às 14:05", "America/Sao_Paulo", utc(2023, 3, 7, 17, 5), "minute"),
]  # fmt: skip

DST = [
    # generic zones follow the calendar: EDT in July, EST in November
    ("Jul. 4, 2022 7:29 p.m. ET", utc(2022, 7, 4, 23, 29)),
    ("Nov. 11, 2022 7:29 p.m. ET", utc(2022, 11, 12, 0, 29)),
    ("March 12, 2022 11:00 PM ET", utc(2022, 3, 13, 4, 0)),  # the day before the switch
    ("March 14, 2022 11:00 PM ET", utc(2022, 3, 15, 3, 0)),  # the day after
    ("Jan 5, 2023 8:00 AM PT", utc(2023, 1, 5, 16, 0)),
    ("Aug 5, 2023 8:00 AM PT", utc(2023, 8, 5, 15, 0)),
    ("Aug 5, 2023 8:00 AM CT", utc(2023, 8, 5, 13, 0)),
    ("Jan 5, 2023 8:00 AM MT", utc(2023, 1, 5, 15, 0)),
    # explicit abbreviations are taken as written
    ("Aug 5, 2023 8:00 AM EST", utc(2023, 8, 5, 13, 0)),
    ("Jan 5, 2023 8:00 AM EDT", utc(2023, 1, 5, 12, 0)),
]

ZONES = [
    # abbreviation → hours east of UTC (site zone UTC)
    ("EST", -5), ("EDT", -4), ("CST", -6), ("CDT", -5), ("MST", -7), ("MDT", -6),
    ("PST", -8), ("PDT", -7), ("GMT", 0), ("UTC", 0), ("BST", 1), ("IST", 5.5),
    ("CET", 1), ("CEST", 2), ("EET", 2), ("EEST", 3), ("WET", 0), ("WEST", 1), ("MSK", 3),
    ("JST", 9), ("KST", 9), ("HKT", 8), ("SGT", 8), ("AEST", 10), ("AEDT", 11),
    ("ACST", 9.5), ("AWST", 8), ("NZST", 12), ("NZDT", 13),
]  # fmt: skip


@pytest.mark.parametrize(("text", "tz", "expected", "precision"), VISIBLE)
def test_visible_forms(text: str, tz: str, expected: datetime, precision: str) -> None:
    assert find_visible_date(text, tz, NOW) == ParsedDate(expected, precision)


@pytest.mark.parametrize(("text", "expected"), DST)
def test_generic_zones_follow_dst(text: str, expected: datetime) -> None:
    found = find_visible_date(text, "UTC", NOW)
    assert found is not None and found.at == expected


@pytest.mark.parametrize(("abbr", "hours"), ZONES)
def test_zone_abbreviations(abbr: str, hours: float) -> None:
    found = find_visible_date(f"1 February 2023 12:00 {abbr}", "UTC", NOW)
    assert found is not None
    assert found.at == utc(2023, 2, 1, 12) - timedelta(hours=hours)


@pytest.mark.parametrize(
    ("abbr", "site", "hours"),
    [
        ("IST", "Asia/Kolkata", 5.5),
        ("IST", "Europe/Dublin", 1),  # Irish Standard Time only for Irish sites
        ("CST", "America/Chicago", -6),
        ("CST", "Asia/Shanghai", 8),
        ("BST", "Europe/London", 1),
        ("AST", "America/Halifax", -4),
        ("AST", "Asia/Riyadh", 3),
    ],
)
def test_ambiguous_zones_use_the_site_zone(abbr: str, site: str, hours: float) -> None:
    found = find_visible_date(f"1 June 2023 12:00 {abbr}", site, NOW)
    assert found is not None
    assert found.at == utc(2023, 6, 1, 12) - timedelta(hours=hours)


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("03/04/2022 10:00", "America/New_York", utc(2022, 3, 4, 15)),  # US: month first
        ("03/04/2022 10:00", "Europe/London", utc(2022, 4, 3, 9)),  # elsewhere: day first
        ("03/04/2022 10:00 EST", "UTC", utc(2022, 3, 4, 15)),  # an American zone decides too
        ("25/04/2022 10:00", "America/New_York", utc(2022, 4, 25, 14)),  # 25 cannot be a month
        ("04/25/2022 10:00", "Europe/London", utc(2022, 4, 25, 9)),
        ("11.11.2022 19:29", "Europe/Berlin", utc(2022, 11, 11, 18, 29)),
    ],
)
def test_numeric_date_order(text: str, tz: str, expected: datetime) -> None:
    found = find_visible_date(text, tz, NOW)
    assert found is not None and found.at == expected


@pytest.mark.parametrize(
    ("text", "expected", "precision"),
    [
        ("2 hours ago", utc(2024, 6, 1, 10, 0), "minute"),
        ("Posted 35 mins ago", utc(2024, 6, 1, 11, 25), "minute"),
        ("an hour ago", utc(2024, 6, 1, 11, 0), "minute"),
        ("yesterday", utc(2024, 5, 30, 22, 0), "day"),  # midnight in Europe/Berlin
        ("3 days ago", utc(2024, 5, 28, 22, 0), "day"),
    ],
)
def test_relative_dates(text: str, expected: datetime, precision: str) -> None:
    assert find_visible_date(text, "Europe/Berlin", NOW) == ParsedDate(expected, precision)


@pytest.mark.parametrize(
    "text",
    ["", "no date here", "376", "2022-29-11", "Feb 29", "31/31/2022", "June 5", "12:30 PM",
     "1 January 1990 10:00", "1 January 2031 10:00", "99/99/9999 99:99"],
)  # fmt: skip
def test_visible_nothing(text: str) -> None:
    assert find_visible_date(text, "UTC", NOW) is None


# --------------------------------------------------------------------------------------------
# Machine values

MACHINE = [
    ("2022-11-11T19:29:00+02:00", "UTC", utc(2022, 11, 11, 17, 29), "second"),
    ("2022-11-11T19:29:00Z", "UTC", utc(2022, 11, 11, 19, 29), "second"),
    ("2022-11-11T19:29:00.123456Z", "UTC", utc(2022, 11, 11, 19, 29), "second"),
    ("2022-11-11T19:29:00-0500", "UTC", utc(2022, 11, 12, 0, 29), "second"),
    ("2022-11-11T19:29", "America/New_York", utc(2022, 11, 12, 0, 29), "minute"),
    ("2022-07-11 19:29:00", "America/New_York", utc(2022, 7, 11, 23, 29), "second"),
    ("2022-11-11", "UTC", utc(2022, 11, 11), "day"),
    ("2022-11-11", "Asia/Tokyo", utc(2022, 11, 10, 15), "day"),
    ("20221111", "UTC", utc(2022, 11, 11), "day"),
    ("2022/11/11", "UTC", utc(2022, 11, 11), "day"),
    ("Fri, 11 Nov 2022 19:29:00 +0000", "UTC", utc(2022, 11, 11, 19, 29), "second"),
    ("Fri, 11 Nov 2022 19:29:00 GMT", "Asia/Tokyo", utc(2022, 11, 11, 19, 29), "second"),
    ("Fri, 11 Nov 2022 14:29:00 EST", "UTC", utc(2022, 11, 11, 19, 29), "second"),
    ("1668194940", "UTC", utc(2022, 11, 11, 19, 29), "second"),
    ("1668194940000", "UTC", utc(2022, 11, 11, 19, 29), "second"),
    ("  2022-11-11T24:00:00Z ", "UTC", utc(2022, 11, 12), "second"),
]


@pytest.mark.parametrize(("value", "tz", "expected", "precision"), MACHINE)
def test_machine_values(value: str, tz: str, expected: datetime, precision: str) -> None:
    assert parse_date(value, tz, NOW) == ParsedDate(expected, precision)


@pytest.mark.parametrize(
    "value",
    ["", "   ", "0001-01-01", "0001-01-01T00:00:00Z", "2022-29-11", "2022-29-11T10:00:00Z",
     "2022-02-30", "1994-12-31T23:59:59Z", "2024-06-03T00:00:00Z", "2022-11-11T25:00:00Z",
     "2022-11-11T10:00:00+25:00", "2022-11-11T10:00:00 XYZ", "null", "undefined", "NaN",
     "9999999999999999999999"],
)  # fmt: skip
def test_machine_junk_is_rejected(value: str) -> None:
    assert parse_date(value, "UTC", NOW) is None


def test_unknown_site_zone_falls_back_to_utc() -> None:
    assert parse_date("2022-11-11T10:00", "Not/AZone", NOW) == ParsedDate(
        utc(2022, 11, 11, 10), "minute"
    )
    assert parse_date("2022-11-11T10:00", "../../etc/passwd", NOW) is not None


def test_plausibility_bounds() -> None:
    assert is_plausible(utc(1995, 1, 1), NOW)
    assert not is_plausible(utc(1994, 12, 31, 23, 59), NOW)
    assert is_plausible(NOW + timedelta(days=1), NOW)
    assert not is_plausible(NOW + timedelta(days=1, seconds=1), NOW)
    assert is_plausible(datetime(2020, 1, 1), NOW)  # naive is read as UTC
    assert is_plausible(utc(2020, 1, 1))  # default now


# --------------------------------------------------------------------------------------------
# Properties

SITE_ZONES = st.sampled_from(
    ["UTC", "America/New_York", "Europe/Dublin", "Asia/Shanghai", "Australia/Sydney", "Bad/Zone"]
)
NOWS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
DATEISH = st.text(
    alphabet=st.sampled_from(list("0123456789 -/.:,TZ+apmAPMESTGUCBDJnovNOVrchi|()")),
    max_size=60,
)


def check(result: ParsedDate | None, now: datetime) -> None:
    if result is None:
        return
    assert result.at.tzinfo is UTC
    assert result.precision in ("day", "minute", "second")
    assert is_plausible(result.at, now)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=80), DATEISH), tz=SITE_ZONES, now=NOWS)
def test_parse_date_never_raises(value: str, tz: str, now: datetime) -> None:
    check(parse_date(value, tz, now), now)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=200), DATEISH), tz=SITE_ZONES, now=NOWS)
def test_find_visible_date_never_raises(value: str, tz: str, now: datetime) -> None:
    check(find_visible_date(value, tz, now), now)


FORMATS = [
    "%d %B %Y %H:%M", "%A, %d %B %Y %I:%M %p", "%B %d, %Y, %H:%M", "%b. %d, %Y %I:%M %p",
    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1996, 1, 1), max_value=datetime(2023, 12, 31)),
    fmt=st.sampled_from(FORMATS),
    zone=st.sampled_from([("GMT", 0), ("CET", 1), ("EDT", -4), ("JST", 9), ("+05:30", 5.5)]),
)
def test_written_dates_round_trip(moment: datetime, fmt: str, zone: tuple[str, float]) -> None:
    moment = moment.replace(second=moment.second if "%S" in fmt else 0, microsecond=0)
    text = f"Posted {moment.strftime(fmt)} {zone[0]} | 214 comments"
    found = find_visible_date(text, "UTC", NOW)
    assert found is not None, text
    assert found.at == moment.replace(tzinfo=UTC) - timedelta(hours=zone[1]), text


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1995, 1, 2), max_value=datetime(2024, 5, 1)),
    offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_iso_round_trip(moment: datetime, offset_minutes: int) -> None:
    moment = moment.replace(microsecond=0)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    value = f"{moment.isoformat()}{sign}{hours:02d}:{minutes:02d}"
    found = parse_date(value, "UTC", NOW)
    assert found is not None
    assert found.at == moment.replace(tzinfo=UTC) - timedelta(minutes=offset_minutes)


URLISH = st.one_of(
    st.text(max_size=100),
    st.builds(
        lambda scheme, host, path, query, frag: f"{scheme}://{host}{path}{query}{frag}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]),
        st.from_regex(r"[A-Za-z0-9.\-]{0,20}(:[0-9]{1,6})?", fullmatch=True),
        st.from_regex(r"(/[A-Za-z0-9%._~\- ]{0,10}){0,4}", fullmatch=True),
        st.from_regex(r"(\?([a-z_]{1,8}=[A-Za-z0-9%]{0,6}&?){0,4})?", fullmatch=True),
        st.from_regex(r"(#[a-z]{0,5})?", fullmatch=True),
    ),
)


@settings(max_examples=500, deadline=None)
@given(url=URLISH)
def test_normalize_url_never_raises(url: str) -> None:
    result = normalize_url(url)
    if result is None:
        return
    parts = urlsplit(result)
    assert parts.scheme in ("http", "https")
    assert parts.hostname
    assert not parts.fragment
    assert "utm_" not in parts.query

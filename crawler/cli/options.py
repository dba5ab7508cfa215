"""Values given on the command line: times and ages, row limits, article IDs.

Each is checked before it reaches the database, so a value no database column or Python
date can hold (``--since 9999999d``, ``show 100000000000000000000``) is a one-line usage
error instead of an overflow deep inside SQLAlchemy.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from crawler.config_values import DurationTooLong, parse_duration
from crawler.errors import UsageError

# articles.id is an SQL INTEGER: PostgreSQL holds at most this there, so no id and no
# count of articles can be larger.
MAX_ID = 2**31 - 1


# What --since, --until and --seen-since compare: the help of query, export and stats says it.
SINCE_HELP = (
    "published at or after D (an undated article: first collected); D is a date (2022-11-01),"
    " an ISO 8601 time or an age (24h, 7d)"
)
UNTIL_HELP = "published before D (an undated article: first collected)"
SEEN_SINCE_HELP = "first collected by newsmon at or after D, whenever it was published"


def parse_when(value: str | None, option: str) -> datetime | None:
    """'2022-11-01', an ISO 8601 time (UTC unless it says otherwise) or an age like '24h'."""
    if not value:
        return None
    try:
        age = parse_duration(value)
    except DurationTooLong:
        raise _too_far(value, option) from None
    except ValueError:
        pass
    else:
        try:
            return datetime.now(UTC) - age
        except OverflowError:
            raise _too_far(value, option) from None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r}: expected a date (2022-11-01), an ISO 8601 time"
            " or an age (24h, 7d)"
        ) from None
    try:
        # In UTC now, so a time at the edge of the calendar fails here, not in the database.
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except OverflowError:
        raise UsageError(f"{option} {value!r}: outside the years 1 to 9999 in UTC") from None


def _too_far(value: str, option: str) -> UsageError:
    return UsageError(f"{option} {value!r}: too far back (an age reaches back to the year 1)")


def row_limit(text: str) -> int:
    """argparse type of ``--limit``: 0 (no limit) up to :data:`MAX_ID`."""
    number = _whole_number(text)
    if number is None or not 0 <= number <= MAX_ID:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 (no limit) to {MAX_ID} (got {text!r})"
        )
    return number


def article_ref(text: str) -> str:
    """argparse type of an ``ID|URL`` argument: an ID must be one the database can hold."""
    if not text.isdigit():
        return text  # a URL, looked up by its normalised form
    number = _whole_number(text)
    if number is None or not 1 <= number <= MAX_ID:
        raise argparse.ArgumentTypeError(
            f"an article ID is a whole number from 1 to {MAX_ID} (got {text!r})"
        )
    return text


def _whole_number(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:  # not a number, or more digits than int() reads
        return None

"""The text log: every line, also of a multi-line record, starts with time, level and logger."""

from __future__ import annotations

import logging
import re
import sys

from crawler.logs import TextFormatter

PREFIX = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d ERROR   crawler\.service: ")


def record(message: str, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("crawler.service", logging.ERROR, __file__, 1, message, None, exc_info)  # type: ignore[arg-type]


def test_a_one_line_record_is_one_prefixed_line() -> None:
    text = TextFormatter().format(record("reload rejected, keeping the running settings: x"))
    assert "\n" not in text and PREFIX.match(text)
    assert text.endswith(": reload rejected, keeping the running settings: x")


def test_every_line_of_a_multi_line_record_and_its_traceback_has_the_prefix() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    lines = TextFormatter().format(record("first\nsecond", exc_info)).splitlines()
    assert len(lines) > 3 and all(PREFIX.match(line) for line in lines), lines
    assert lines[0].endswith(": first") and lines[1].endswith(": second")
    assert lines[-1].endswith(": ValueError: boom")

"""How the commands print: fixed-width tables, CSV rows and JSON documents."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    print()


def short_time(value: str | datetime | None, missing: str = "") -> str:
    """An ISO 8601 time to the minute, as tables show it: ``2022-11-11 19:29``."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    return (value or missing)[:16].replace("T", " ")


def print_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[int], empty: str
) -> None:
    """Columns cut to ``widths`` (an ellipsis marks a cut); ``empty`` is said when no rows."""

    def cell(value: Any, width: int) -> str:
        text = " ".join(str(value).split())
        return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)

    def line(values: Sequence[Any]) -> str:
        return "  ".join(cell(v, w) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"

    buffer = io.StringIO()
    buffer.write(line(headers))
    count = 0
    for row in rows:
        buffer.write(line(row))
        count += 1
    sys.stdout.write(buffer.getvalue())
    if not count:
        print(empty)


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO, fieldnames: Sequence[str]) -> int:
    """A header, then one row per record; returns the number of rows written."""
    writer = csv.DictWriter(out, fieldnames=list(fieldnames))
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(csv_row(row))
        count += 1
    return count


def write_jsonl(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One JSON object per line; returns the number of lines written."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def csv_row(record: dict[str, Any]) -> dict[str, Any]:
    # Lists travel as JSON arrays, so a tag containing a comma survives the round trip.
    return {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
        for k, v in record.items()
    }

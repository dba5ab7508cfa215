"""Regenerate the expected results of the golden pages from the current parser.

    python scripts/regen_golden.py            # every tests/pages/*.json
    python scripts/regen_golden.py NAME ...   # only these pages

Each ``tests/pages/NAME.json`` holds the ``url`` and optional ``hints`` used to call
``parse_article`` on ``NAME.html`` (read as bytes), and ``article``: the expected fields,
timestamps as ISO 8601 UTC, or null when the page is not an article. This script rewrites
only ``article``; review the change with ``git diff tests/pages`` before committing it —
the golden files are the specification, not a snapshot to accept blindly.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.article import Article, ParseHints, SiteRules  # noqa: E402
from crawler.extract.parser import parse_article  # noqa: E402

PAGES = ROOT / "tests" / "pages"


def hints_from_json(raw: dict[str, Any] | None) -> ParseHints | None:
    """The inverse of how the golden files spell hints: lists → tuples, ISO → datetime."""
    if raw is None:
        return None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("published_at", "fetched_at") and value is not None:
            values[key] = datetime.fromisoformat(value)
        elif key == "site_rules" and value is not None:
            rules: dict[str, Any] = {k: tuple(v) if k == "remove" else v for k, v in value.items()}
            values[key] = SiteRules(**rules)
        elif key == "boilerplate":
            values[key] = frozenset(value)
        elif isinstance(value, list):
            values[key] = tuple(value)
        else:
            values[key] = value
    return ParseHints(**values)


def article_to_json(article: Article | None) -> dict[str, Any] | None:
    if article is None:
        return None
    out: dict[str, Any] = {}
    for field in dataclasses.fields(article):
        if field.name == "paragraph_keys":
            continue  # hashes of the body's paragraphs: tests/test_parser.py checks them
        value = getattr(article, field.name)
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, tuple):
            value = list(value)
        out[field.name] = value
    return out


def regenerate(name: str) -> bool:
    spec_path = PAGES / f"{name}.json"
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    html = (PAGES / f"{name}.html").read_bytes()
    article = parse_article(html, spec["url"], hints_from_json(spec.get("hints")))
    new = article_to_json(article)
    changed: bool = spec.get("article", "missing") != new
    spec["article"] = new
    spec_path.write_text(json.dumps(spec, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in PAGES.glob("*.json"))
    for name in names:
        print(f"{'changed ' if regenerate(name) else 'same    '} {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

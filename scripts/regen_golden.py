"""Regenerate the expected results of the golden pages from the current parser.

    .venv/bin/python scripts/regen_golden.py            # every tests/pages/*.json
    .venv/bin/python scripts/regen_golden.py NAME ...   # only these pages

Each ``tests/pages/NAME.json`` holds the ``url`` and optional ``hints`` used to call
``parse_article`` on ``NAME.html`` (read as bytes), and ``article``: the expected fields,
timestamps as ISO 8601 UTC, or null when the page is not an article. This script rewrites
only ``article``; review the change with ``git diff tests/pages`` before committing it —
the golden files are the specification, not a snapshot to accept blindly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from crawler.article_json import article_to_json, hints_from_json
from crawler.extract.parser import parse_article

PAGES = Path(__file__).resolve().parent.parent / "tests" / "pages"


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

"""A regression check of parse_article on the golden pages, with plain trafilatura.extract
as the baseline. Not an accuracy measure: the goldens are parse_article's own reviewed
output, so its 1.000 only says "unchanged since review"; trafilatura's figures are the
informative ones.

    .venv/bin/python bench/accuracy.py

For every golden page (tests/pages/NAME.html with its NAME.json: URL, hints, expected
article), both extractors run on the same bytes and are scored against the expected values:

* body F1 over word 4-gram shingles, the usual measure of extraction benchmarks: the
  multiset of 4-grams of the extracted body against that of the expected body (words are
  NFKC-casefolded ``\\w+`` runs, so punctuation and layout do not count), precision and
  recall of the overlap, then their harmonic mean. A text shorter than four words is one
  shingle of what it has;
* published time correct when it is within 60 s of the expected one (trafilatura's
  ``date`` asked for with a clock, read in the page's time zone like ours).

Pages whose expected article is null (index, video, author, live-blog and error pages) have
no body to score: they count for rejection, which trafilatura does not attempt. Goldens
are written from parse_article and reviewed by hand, so our parser scoring 1.0 on them
means "as reviewed"; the baseline column is what plain trafilatura makes of the same pages.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import trafilatura

from crawler.article_json import hints_from_json
from crawler.extract.dates import parse_date
from crawler.extract.parser import parse_article
from crawler.textnorm import normalize_text

PAGES = Path(__file__).resolve().parent.parent / "tests" / "pages"
REGRESSION_NOTE = (
    "regression check, not accuracy: the golden pages are parse_article's own reviewed output,"
    " so 'ours' at 1.000 means unchanged since review; trafilatura is the baseline"
)
SHINGLE = 4
DATE_TOLERANCE_SECONDS = 60
_WORDS = re.compile(r"\w+")


def shingles(text: str) -> Counter[tuple[str, ...]]:
    words = _WORDS.findall(normalize_text(text))
    if len(words) < SHINGLE:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


def body_f1(extracted: str, expected: str) -> float:
    got, want = shingles(extracted), shingles(expected)
    if not got and not want:
        return 1.0
    overlap = sum((got & want).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(got.values())
    recall = overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def same_time(found: datetime | None, expected: datetime | None) -> bool:
    if found is None or expected is None:
        return found is expected
    return abs((found - expected).total_seconds()) <= DATE_TOLERANCE_SECONDS


@dataclass
class Score:
    f1: float | None  # None on a page that is not an article
    date_ok: bool | None  # None when the page expects no article
    rejected: bool | None = None  # not-an-article pages: did the extractor say so?


def score_ours(html: bytes, url: str, hints: Any, expected: dict[str, Any] | None) -> Score:
    article = parse_article(html, url, hints)
    if expected is None:
        return Score(None, None, rejected=article is None)
    want_at = _iso(expected["published_at"])
    if article is None:
        return Score(0.0, want_at is None)
    return Score(body_f1(article.body, expected["body"]), same_time(article.published_at, want_at))


def score_trafilatura(html: bytes, url: str, hints: Any, expected: dict[str, Any] | None) -> Score:
    raw = trafilatura.extract(
        html,
        url=url,
        output_format="json",
        with_metadata=True,
        deduplicate=False,
        date_extraction_params={"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True},
    )
    result = json.loads(raw) if raw else {}
    if expected is None:
        return Score(None, None, rejected=not result)
    timezone = getattr(hints, "timezone", "UTC") if hints else "UTC"
    parsed = parse_date(result["date"], timezone) if result.get("date") else None
    found_at = parsed.at if parsed else None
    return Score(
        body_f1(result.get("text") or "", expected["body"]),
        same_time(found_at, _iso(expected["published_at"])),
    )


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def main() -> int:
    rows: list[tuple[str, Score, Score]] = []
    without_rules: list[tuple[str, Score]] = []
    for spec_path in sorted(PAGES.glob("*.json")):
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        html = spec_path.with_suffix(".html").read_bytes()
        hints = hints_from_json(spec.get("hints"))
        expected = spec.get("article")
        rows.append(
            (
                spec_path.stem,
                score_ours(html, spec["url"], hints, expected),
                score_trafilatura(html, spec["url"], hints, expected),
            )
        )
        if hints is not None and hints.site_rules is not None:
            bare = dataclasses.replace(hints, site_rules=None)
            without_rules.append((spec_path.stem, score_ours(html, spec["url"], bare, expected)))

    print(REGRESSION_NOTE)
    print()
    print(f"{'page':44s} {'F1 ours':>8s} {'F1 traf':>8s}  {'date ours':>9s} {'date traf':>9s}")
    for name, ours, traf in rows:
        if ours.f1 is None:
            verdict = "rejects it" if ours.rejected else "KEEPS it"
            print(f"{name:44s} not an article: parse_article {verdict}")
            continue
        print(
            f"{name:44s} {ours.f1:8.3f} {_f1(traf):>8s}  {_ok(ours.date_ok):>9s} "
            f"{_ok(traf.date_ok):>9s}"
        )
    for name, ours in without_rules:
        print(f"{name + ' (no site rule)':44s} {_f1(ours):>8s}  (not in the means)")
    articles = [(o, t) for _, o, t in rows if o.f1 is not None]
    others = [o for _, o, _ in rows if o.f1 is None]
    print()
    for label, scores in (("parse_article (regression)", [o for o, _ in articles]),
                          ("trafilatura (baseline)", [t for _, t in articles])):  # fmt: skip
        mean_f1 = sum(s.f1 or 0.0 for s in scores) / len(scores)
        dates = sum(1 for s in scores if s.date_ok) / len(scores)
        print(
            f"{label:26s} mean body F1 {mean_f1:.3f}   published within 60 s "
            f"{dates:.0%} ({sum(1 for s in scores if s.date_ok)}/{len(scores)})"
        )
    print(
        f"{len(articles)} article pages; {sum(1 for o in others if o.rejected)}/{len(others)} "
        "non-article pages rejected by parse_article"
    )
    return 0


def _f1(score: Score) -> str:
    return "-" if score.f1 is None else f"{score.f1:.3f}"


def _ok(value: bool | None) -> str:
    return "-" if value is None else ("ok" if value else "wrong")


if __name__ == "__main__":
    raise SystemExit(main())

"""Field accuracy of parse_article on a directory of saved pages, next to trafilatura.

    python bench/fields.py DIR [--misses N] [--no-baseline]

DIR holds ``pages/NAME.html.gz`` (the page bytes, gzipped; decoded as UTF-8) and
``truth.jsonl``, one JSON object a line with at least ``file`` (NAME.html), ``url`` and the
expected fields ``title``, ``authors`` (list, or null: not scored), ``published_at``
(ISO 8601; scored only when it carries an offset), ``topics`` (list; scored when not empty)
and ``body`` (paragraphs joined by blank lines). Save your own pages in that shape to score
the parser on the sites you monitor.

Measures, means over pages (a page parse_article returns None for scores zero everywhere):

* title: exact after NFKC, format characters dropped, quotes folded, case folded;
* date60: ``published_at`` within 60 seconds;
* authors: the same set (normalised like titles);
* topics: set F1;
* body: F1 over word 4-gram shingles, from the mean precision and mean recall over pages;
* none: pages for which no article came back; pages/s: parse speed of the whole run.

The baseline is ``trafilatura.bare_extraction`` (metadata on, ``favor_precision``) on the
same pages in the same run, so the two rows are comparable on a busy machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.extract import parse_article  # noqa: E402

Fields = dict[str, Any]
Extractor = Callable[[str, str], Fields | None]
FIELDS = ("title", "date", "authors", "topics", "body")
_TOKEN = re.compile(r"\w+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"',
                         "„": '"', "«": '"', "»": '"'})  # fmt: skip
_EMPTY: Fields = {"title": "", "authors": [], "date": None, "topics": [], "body": ""}


def normalise(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(c for c in text if unicodedata.category(c) != "Cf").translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip().casefold()


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    words = _TOKEN.findall(text or "")
    return Counter(tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1)))


def body_counts(truth: str, got: str) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of the 4-gram multisets."""
    want, have = shingles(truth), shingles(got)
    return sum((want & have).values()), sum((have - want).values()), sum((want - have).values())


def body_f1(counts: list[tuple[int, int, int]]) -> float:
    # precision over the pages where something was extracted, recall over those with a body
    precisions = [tp / (tp + fp) for tp, fp, _ in counts if tp + fp]
    recalls = [tp / (tp + fn) for tp, _, fn in counts if tp + fn]
    if not precisions or not recalls:
        return 0.0
    p, r = statistics.mean(precisions), statistics.mean(recalls)
    return 2 * p * r / (p + r) if p + r else 0.0


def as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def date_ok(got: Any, truth: Any) -> bool | None:
    """Within 60 s; None when the truth has no offset (not scored)."""
    want = as_datetime(truth)
    if want is None or want.tzinfo is None:
        return None
    have = as_datetime(got)
    if have is None:
        return False
    have = have if have.tzinfo else have.replace(tzinfo=UTC)
    return abs((have - want).total_seconds()) <= 60


def set_f1(got: list[str], want: list[str]) -> float:
    a, b = {normalise(x) for x in got} - {""}, {normalise(x) for x in want} - {""}
    if not a and not b:
        return 1.0
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def newsmon(html: str, url: str) -> Fields | None:
    article = parse_article(html, url)
    if article is None:
        return None
    return {"title": article.title, "authors": list(article.authors), "body": article.body,
            "date": article.published_at, "topics": list(article.tags)}  # fmt: skip


def trafilatura_baseline(html: str, url: str) -> Fields | None:
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, favor_precision=True)
    if doc is None:
        return None
    d = doc if isinstance(doc, dict) else doc.as_dict()
    authors = [a.strip() for a in (d.get("author") or "").split(";") if a.strip()]
    topics = list(d.get("tags") or []) + list(d.get("categories") or [])
    return {"title": d.get("title"), "authors": authors, "date": d.get("date"),
            "topics": topics, "body": d.get("text") or ""}  # fmt: skip


def load(directory: Path) -> list[tuple[Fields, str]]:
    rows = [json.loads(line) for line in (directory / "truth.jsonl").read_text().splitlines()
            if line.strip()]  # fmt: skip
    pages = []
    for row in rows:
        raw = gzip.decompress((directory / "pages" / f"{row['file']}.gz").read_bytes())
        pages.append((row, raw.decode("utf-8", "replace")))
    return pages


def score(extract: Extractor, pages: list[tuple[Fields, str]]) -> tuple[Fields, list[str]]:
    marks: dict[str, list[float]] = {f: [] for f in FIELDS if f != "body"}
    bodies: list[tuple[int, int, int]] = []
    misses: list[str] = []
    none = 0
    started = time.perf_counter()
    for truth, html in pages:
        try:
            got = extract(html, truth["url"])
        except Exception as exc:  # a crash scores as nothing extracted
            got = None
            misses.append(f"crash    {truth['file']}  {exc!r:.120}")
        if got is None:
            none += 1
            misses.append(f"none     {truth['file']}")
            got = _EMPTY
        title_ok = normalise(got["title"]) == normalise(truth.get("title"))
        marks["title"].append(title_ok)
        if not title_ok:
            misses.append(f"title    {truth['file']}  got {got['title']!r}")
        if (dated := date_ok(got["date"], truth.get("published_at"))) is not None:
            marks["date"].append(dated)
        if truth.get("authors") is not None:
            same = {normalise(a) for a in got["authors"]} == {
                normalise(a) for a in truth["authors"]
            }
            marks["authors"].append(same)
            if not same:
                misses.append(f"authors  {truth['file']}  got {got['authors']}")
        if truth.get("topics"):
            marks["topics"].append(set_f1(got["topics"], truth["topics"]))
        bodies.append(body_counts(truth.get("body") or "", got["body"] or ""))
    seconds = time.perf_counter() - started
    result: Fields = {f: statistics.mean(v) if v else float("nan") for f, v in marks.items()}
    result.update(body=body_f1(bodies), none=none, pages_per_s=len(pages) / seconds)
    return result, misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="pages/*.html.gz + truth.jsonl")
    parser.add_argument("--misses", type=int, default=0, help="list this many misses")
    parser.add_argument("--no-baseline", action="store_true", help="skip trafilatura")
    args = parser.parse_args(argv)
    try:
        pages = load(args.directory)
    except (OSError, ValueError, KeyError) as exc:
        print(f"bench/fields.py: cannot read {args.directory}: {exc}", file=sys.stderr)
        return 2
    runs: list[tuple[str, Extractor]] = [("newsmon", newsmon)]
    if not args.no_baseline:
        runs.append(("trafilatura", trafilatura_baseline))
    print(f"{len(pages)} pages in {args.directory}")
    print(f"{'':<12} {'title':>6} {'date60':>6} {'authors':>7} {'topics':>6} {'body':>6} "
          f"{'none':>4} {'pages/s':>8}")  # fmt: skip
    for name, extract in runs:
        result, misses = score(extract, pages)
        print(f"{name:<12} {result['title']:>6.3f} {result['date']:>6.3f} "
              f"{result['authors']:>7.3f} {result['topics']:>6.3f} {result['body']:>6.3f} "
              f"{result['none']:>4} {result['pages_per_s']:>8.1f}")  # fmt: skip
        if name == "newsmon":
            for line in misses[: args.misses]:
                print(f"   {line[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

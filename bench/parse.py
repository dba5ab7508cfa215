"""Throughput of parse_article against plain trafilatura.extract on the golden pages.

    .venv/bin/python bench/parse.py [ROUNDS]

Both run over the same pages (tests/pages/*.html, as bytes, with their golden hints) in
the same process, ROUNDS times each (default 20), after one warm-up round; the figures are
pages per second and the ratio parse_article / trafilatura.extract (target ≥ 0.7).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import trafilatura

from crawler.article_json import hints_from_json
from crawler.extract.parser import parse_article

PAGES = Path(__file__).resolve().parent.parent / "tests" / "pages"


def main(rounds: int) -> int:
    pages = []
    for spec_path in sorted(PAGES.glob("*.json")):
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        html = spec_path.with_suffix(".html").read_bytes()
        pages.append((html, spec["url"], hints_from_json(spec.get("hints"))))

    def run_parser() -> None:
        for html, url, hints in pages:
            parse_article(html, url, hints)

    def run_trafilatura() -> None:
        for html, url, _ in pages:
            trafilatura.extract(html, url=url, deduplicate=False)

    jobs = {"parse_article": run_parser, "trafilatura.extract": run_trafilatura}
    for job in jobs.values():
        job()  # warm-up: imports, regex compilation, lazily built tables
    # Rounds alternate between the two, so a busy machine slows both alike.
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - start)
    mean_rate = {name: len(pages) * rounds / sum(t) for name, t in times.items()}
    best_rate = {name: len(pages) / min(t) for name, t in times.items()}
    for name in jobs:
        print(
            f"{name:20s} {mean_rate[name]:8.1f} pages/s mean  "
            f"{best_rate[name]:8.1f} pages/s best round"
        )
    ratio = mean_rate["parse_article"] / mean_rate["trafilatura.extract"]
    best_ratio = best_rate["parse_article"] / best_rate["trafilatura.extract"]
    print(
        f"{len(pages)} pages x {rounds} rounds; ratio {ratio:.2f} (best rounds {best_ratio:.2f}),"
        " target >= 0.7"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))

"""The service benchmarks still run: each script with tiny sizes, in a subprocess.

Only that they finish and print their figure lines is checked, not the figures: those
depend on the machine (see bench/pipeline.py and bench/soak.py for what they measure).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from bench.gensite import GeneratedSite

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


def run_bench(script: str, *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]
    return result.stdout


def test_generated_site_serves_pages_feeds_and_conditional_gets() -> None:
    with GeneratedSite(30, sections=2, per_page=10) as site:
        assert site.listing_pages("politics") == 2
        story = site.stories[0]
        with urllib.request.urlopen(site.url(story.path)) as response:
            page = response.read().decode()
        assert story.title in page and '"NewsArticle"' in page
        assert len(" ".join(story.paragraphs).split()) >= 600
        with urllib.request.urlopen(site.url("/feeds/politics.xml")) as response:
            etag = response.headers["ETag"]
        request = urllib.request.Request(
            site.url("/feeds/politics.xml"), headers={"If-None-Match": etag}
        )
        try:
            urllib.request.urlopen(request)
            raise AssertionError("expected 304")
        except urllib.error.HTTPError as exc:
            assert exc.code == 304
        counters = site.counters()
        assert (counters.requests, counters.not_modified) == (3, 1)
        assert counters.by_kind["article"] == 1 and counters.bytes_sent > 0
        site.publish(1)
        with urllib.request.urlopen(site.url("/section/politics/")) as response:
            assert site.stories[-1].path in response.read().decode()


def test_pipeline_benchmark_prints_its_figures() -> None:
    out = run_bench(
        "pipeline.py", "--articles", "30", "--sections", "2", "--growth", "60,120", "--known",
        "20", "--new", "3",
    )  # fmt: skip
    for line in (
        "cold crawl: 30 articles stored",
        "fetch-only baseline:",
        "ratio cold/fetch-only:",
        "steady requests:",
        "steady 304 responses:",
        "steady bytes downloaded:",
        "steady CPU seconds:",
        "growth 60 stored:",
        "growth 120 stored:",
    ):
        assert line in out, out


def test_soak_benchmark_prints_memory_at_first_and_last_run() -> None:
    out = run_bench("soak.py", "--runs", "20", "--sections", "2", "--articles", "8")
    for line in (
        "soak RSS at run 10:",
        "soak RSS at run 20:",
        "soak RSS growth:",
        "soak re-checks:",
    ):
        assert line in out, out


def test_accuracy_script_calls_itself_a_regression_check() -> None:
    out = run_bench("accuracy.py")
    assert out.startswith("regression check, not accuracy: ")
    assert "parse_article (regression)" in out and "trafilatura (baseline)" in out


def test_field_benchmark_scores_a_directory_in_the_corpus_format(tmp_path: Path) -> None:
    """Two of our golden articles saved as a corpus: every field matches, nothing is None;
    a third page whose truth names another title scores as a miss."""
    pages_dir = tmp_path / "pages"
    pages_dir.mkdir()
    rows = []
    for name in ("opengraph_meta_only", "jsonld_multi_author_offset"):
        spec = json.loads((ROOT / "tests" / "pages" / f"{name}.json").read_text())
        html = (ROOT / "tests" / "pages" / f"{name}.html").read_bytes()
        (pages_dir / f"{name}.html.gz").write_bytes(gzip.compress(html))
        article = spec["article"]
        rows.append({"file": f"{name}.html", "url": spec["url"], "title": article["title"],
                     "authors": article["authors"], "published_at": article["published_at"],
                     "topics": article["tags"], "body": article["body"]})  # fmt: skip
    wrong = dict(rows[0], file="wrong_title.html", title="Another headline entirely")
    (pages_dir / "wrong_title.html.gz").write_bytes(
        (pages_dir / "opengraph_meta_only.html.gz").read_bytes()
    )
    rows.append(wrong)
    (tmp_path / "truth.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    out = run_bench("fields.py", str(tmp_path), "--misses", "5")
    assert "3 pages in" in out
    ours = next(line for line in out.splitlines() if line.startswith("newsmon"))
    title, date60, authors, topics, body, none = ours.split()[1:7]
    assert (title, date60, authors, topics, body, none) == (
        "0.667",
        "1.000",
        "1.000",
        "1.000",
        "1.000",
        "0",
    )
    assert "title    wrong_title.html" in out
    assert any(line.startswith("trafilatura") for line in out.splitlines())


def test_web_bench_times_every_page() -> None:
    out = run_bench("web.py", "--articles", "400", "--repeats", "2", "--batch", "200")
    assert "sqlite, 400 articles" in out
    for page in ("search + facets, medium word", "/articles/ID (edited, diff)", "/feeds",
                 "/trends (30 days by tag)", "/feeds.atom?q=word"):  # fmt: skip
        line = next(line for line in out.splitlines() if line.strip().startswith(page))
        assert len(line.split()) >= 3, line

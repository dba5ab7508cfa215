"""The web app in a real headless Chromium, on a database filled by crawling the fixture
news network twice (the second crawl after ``advance()``, which edits one article).

``newsmon web --port 0`` runs as a process; Playwright drives Debian's Chromium
(/usr/bin/chromium, never a downloaded browser). Screenshots of the main pages go to
``$NEWSMON_ARTIFACTS`` when set, else to the test's temporary directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from crawler.store.models import Article
from crawler.store.queries import ArticleFilter, query_articles
from crawler.store.store import Store
from tests.conftest import _unavailable
from tests.newssites import FixtureNetwork
from tests.test_end_to_end import crawl, write_settings
from tests.web_fixtures import web_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crawled_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """settings.toml of a database crawled twice; the edited article's title."""
    tmp = tmp_path_factory.mktemp("webcrawl")
    with FixtureNetwork() as network:
        settings = write_settings(tmp, network)
        first = crawl(settings)
        assert first.returncode == 0, first.stderr[-3000:]
        network.advance()
        second = crawl(settings)
        assert second.returncode == 0, second.stderr[-3000:]
        edited = [e for e in network.expected_articles() if e.edited_in_state2]
        yield settings, edited[0].title


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable("Chromium", f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable("Playwright", str(exc))
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def served(crawled_site: tuple[Path, str]) -> Iterator[str]:
    with web_process(crawled_site[0]) as (_process, base):
        yield base


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("NEWSMON_ARTIFACTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def database(settings: Path) -> str:
    return f"sqlite:///{settings.parent}/news.db"


def test_overview_and_feeds(
    page: Any, served: str, crawled_site: tuple[Path, str], artifacts: Path
) -> None:
    settings, _ = crawled_site
    with Store.open(database(settings)) as store, store.reading() as session:
        total = len(session.scalars(select(Article.id)).all())
    page.goto(served)
    assert page.inner_text("h1") == "Overview"
    assert page.inner_text("#total") == str(total)
    assert page.inner_text("#collected-today") == str(total)  # all crawled just now
    assert page.locator("table.articles tbody tr").count() == 10
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)

    page.click("nav >> text=Feeds")
    assert page.url.endswith("/feeds")
    # The feeds, as the settings name them.
    names = [line.split('"')[1] for line in settings.read_text().splitlines()
             if line.startswith("name = ")]  # fmt: skip
    assert names and page.locator("tr.feed").count() == len(names)
    for name in names:
        row = page.locator(f"#feed-{name}")
        assert row.locator("td").nth(3).inner_text() in ("ok", "partial"), name
        assert row.locator("svg.spark rect").count() == 14
    page.screenshot(path=str(artifacts / "feeds.png"), full_page=True)

    page.click(f"#feed-{names[0]} a")
    assert page.inner_text("h1").startswith(names[0])
    assert page.locator("tr.run").count() == 2  # two crawls


def test_search_facet_article_and_diff(
    page: Any, served: str, crawled_site: tuple[Path, str], artifacts: Path
) -> None:
    settings, edited_title = crawled_site
    word = max(edited_title.replace(",", " ").split(), key=len)  # a distinctive word
    with Store.open(database(settings)) as store, store.reading() as session:
        matches = query_articles(session, ArticleFilter(search=word, limit=None))
    assert matches

    page.goto(served + "articles")
    page.fill("#q", word)
    page.click("#search-button")
    summary = page.inner_text("#result-count")
    assert summary.startswith(f"{len(matches)} article"), summary
    titles = page.locator("table.articles a.title").all_inner_texts()
    assert titles == [m["title"] for m in matches][:25]
    page.screenshot(path=str(artifacts / "articles.png"), full_page=True)

    # A facet: the first site listed, with its count; clicking it filters to that site.
    facet = page.locator("#facet-site li").first
    site = facet.locator("a").inner_text()
    count = int(facet.locator(".count").inner_text())
    facet.locator("a").click()
    assert parse_qs(urlparse(page.url).query)["site"] == [site]
    assert page.inner_text("#result-count").startswith(f"{count} article")
    sites = page.locator("table.articles tbody tr td:nth-child(2)").all_inner_texts()
    assert sites and set(sites) == {site}
    assert page.locator(".filters .chip").inner_text().startswith(f"site: {site}")

    # The edited article: every field, two versions, the diff between them.
    page.goto(served + "articles?edited=1")
    page.click(f"table.articles a.title >> text={edited_title}")
    assert page.inner_text("#headline") == edited_title
    assert page.locator("table.versions tbody tr").count() == 2
    head = page.inner_text(".diff-head")
    assert head.startswith("v1 (") and "→ v2" in head and "headline changed" in head
    added = page.locator(".diff-title ins").all_inner_texts()
    removed = page.locator(".diff-title del").all_inner_texts()
    assert added and all(part in edited_title for part in added)
    assert removed and not all(part in edited_title for part in removed)
    assert page.locator("#also-published h2").inner_text() == "Also published at"
    assert "content hash" in page.inner_text("dl.fields")
    page.screenshot(path=str(artifacts / "article.png"), full_page=True)

    # The other way round: from v2 to v1 the headline's words swap sides.
    page.select_option("#diff-from", "2")
    page.select_option("#diff-to", "1")
    page.click("#compare-button")
    asked = parse_qs(urlparse(page.url).query)
    assert (asked["from"], asked["to"]) == (["2"], ["1"])
    assert page.inner_text(".diff-head").startswith("v2 (")
    assert page.locator(".diff-title del").all_inner_texts() == added
    assert page.locator(".diff-title ins").all_inner_texts() == removed


def test_trends_and_a_bad_parameter(page: Any, served: str, artifacts: Path) -> None:
    page.goto(served + "trends?by=tag&since=2022-09-01&until=2022-12-01")
    charts = page.locator("section.trend svg.chart")
    assert charts.count() >= 1
    heading = page.locator("section.trend h2").first.inner_text()
    assert heading.startswith("tag ") and "articles" in heading
    page.fill("#trend-q", "Ukraine")
    page.click("form.search button")
    assert page.locator("#trend-search svg.chart").count() == 1
    page.screenshot(path=str(artifacts / "trends.png"), full_page=True)

    response = page.goto(served + "articles?page=zero")
    assert response.status == 400
    assert "page" in page.inner_text("#error-message")


def test_screenshots_were_saved(artifacts: Path) -> None:
    # Runs after the page tests in this module; the README's copies come from here.
    saved = sorted(p.name for p in artifacts.glob("*.png"))
    if not saved and shutil.which("true"):
        pytest.skip("no page test ran in this session")
    assert {"feeds.png", "articles.png", "article.png"} <= set(saved)

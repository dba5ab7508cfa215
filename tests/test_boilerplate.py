"""Boilerplate learned per site: counted in the database, left out of later bodies.

Pages go through the same path as in the crawl: the store's learned keys as hints, the
parser, then ``Store.save_article``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from crawler.article import ParseHints
from crawler.crawl.feedrun import ArticlePage
from crawler.crawl.pipeline import hints_for
from crawler.extract.discovery import Candidate
from crawler.extract.parser import parse_article
from crawler.store.boilerplate import SiteBoilerplate, is_boilerplate
from crawler.store.models import Article, SiteParagraph
from crawler.store.saves import SaveResult
from crawler.store.store import Store
from crawler.textnorm import paragraph_key
from crawler.urls import site_of

GAZETTE = "https://harbourgazette.example"
LEDGER = "https://valleyledger.example"
T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)

NEWSLETTER = "Sign up for our morning briefing and get the news before breakfast."
COPYRIGHT = "© Harbour Gazette"
# Site furniture that no generic rule recognises: only learning can remove it.
MEMBERSHIP = (
    "The Harbour Gazette is independent and funded by readers like you: become a member "
    "from £5 a month."
)
FOLLOW = "Follow the Gazette on Mastodon and Bluesky."
CHROME = (NEWSLETTER, MEMBERSHIP, FOLLOW, COPYRIGHT)
QUOTE = "“We will rebuild the pier stone by stone, whatever it costs,” the mayor told reporters."
SUBJECTS = ("harbour wall", "ferry pier", "school roof", "tram depot", "fish market", "lighthouse",
            "town bridge", "old library", "bus station")  # fmt: skip


def page(n: int, chrome: tuple[str, ...] = CHROME, extra: tuple[str, ...] = ()) -> str:
    """Article ``n``: four paragraphs of its own, ``extra`` ones, and the site's chrome."""
    thing = SUBJECTS[n % len(SUBJECTS)]
    middle, end = (
        [c for c in chrome if c in (NEWSLETTER, MEMBERSHIP)],
        [c for c in chrome if c not in (NEWSLETTER, MEMBERSHIP)],
    )
    paragraphs = [
        f"Workers began repairs on the {thing} on Monday, {n + 2} weeks after the storm "
        "damaged it, the council said in a statement.",
        f"The work on the {thing} is expected to cost £{n + 1}.{n} million and should be "
        "finished before the end of next spring, officials added.",
        *middle,
        f"Residents near the {thing} said they had waited long enough; {n + 3} of them wrote "
        "to the council in the past month alone.",
        *extra,
        f"The council will publish its next update on the {thing} at the public meeting on "
        f"the {n + 10}th, a spokesperson said.",
        *end,
    ]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html lang="en"><head><title>Repairs start on the {thing}</title>'
        '<meta property="og:type" content="article">'
        f'<meta property="article:published_time" content="2024-02-{n + 1:02d}T10:00:00Z">'
        f"</head><body><header><nav><a href='/'>Home</a></nav></header><article>"
        f"<h1>Repairs start on the {thing}</h1><div class='story'>{body}</div></article>"
        "<footer>Contact us</footer></body></html>"
    )


def crawl_page(store: Store, html: str, url: str, at: datetime = T0) -> tuple[SaveResult, str]:
    """What the pipeline does with one fetched page; the result and the stored body."""
    hints = ParseHints(boilerplate=store.boilerplate_keys(site_of(url)), fetched_at=at)
    article = parse_article(html, url, hints)
    assert article is not None
    result = store.save_article(article, feed="test", fetched_at=at)
    with store.reading() as session:
        stored = session.get(Article, result.article_id)
        assert stored is not None
        return result, stored.body


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


def learn_gazette(store: Store) -> list[str]:
    """Five gazette articles with the chrome; articles 2 and 4 quote the same sentence."""
    bodies = []
    for n in range(1, 6):
        extra = (QUOTE,) if n in (2, 4) else ()
        result, body = crawl_page(store, page(n, extra=extra), f"{GAZETTE}/news/story-{n}")
        assert result.outcome == "new"
        bodies.append(body)
    return bodies


def test_a_sixth_article_loses_what_five_shared(store: Store) -> None:
    bodies = learn_gazette(store)
    # Before the site was learned, its own furniture went through: no generic rule knows it.
    assert MEMBERSHIP in bodies[0] and FOLLOW in bodies[0]
    assert NEWSLETTER not in bodies[0] and COPYRIGHT not in bodies[0]  # generic rules

    learned = store.boilerplate_keys(site_of(GAZETTE))
    assert {paragraph_key(MEMBERSHIP), paragraph_key(FOLLOW)} <= learned
    _, body = crawl_page(store, page(6), f"{GAZETTE}/news/story-6")
    for line in CHROME:
        assert line not in body
    assert body.startswith("Workers began repairs on the town bridge")
    assert body.count("\n\n") == 3  # its own four paragraphs, nothing else


def test_another_site_keeps_the_same_paragraph(store: Store) -> None:
    learn_gazette(store)
    _, body = crawl_page(store, page(7), f"{LEDGER}/2024/03/pier-repairs")
    assert MEMBERSHIP in body and FOLLOW in body
    assert store.boilerplate_keys(site_of(LEDGER)) == frozenset()


def test_a_sentence_two_articles_share_is_kept(store: Store) -> None:
    bodies = learn_gazette(store)
    assert QUOTE in bodies[1] and QUOTE in bodies[3]
    assert paragraph_key(QUOTE) not in store.boilerplate_keys(site_of(GAZETTE))
    _, body = crawl_page(store, page(8, extra=(QUOTE,)), f"{GAZETTE}/news/story-8")
    assert QUOTE in body  # the third article still had it: it was no boilerplate yet


def test_a_learned_line_appearing_makes_no_version(store: Store) -> None:
    learn_gazette(store)
    url = f"{GAZETTE}/news/story-9"
    first, body = crawl_page(store, page(9, chrome=()), url)
    assert first.outcome == "new"
    later = T0 + timedelta(hours=1)
    again, again_body = crawl_page(store, page(9, chrome=(MEMBERSHIP, FOLLOW)), url, later)
    assert (again.outcome, again.version) == ("unchanged", 1)
    assert again_body == body
    # An article stored before the lines were learned still has them; refetched, it loses
    # them from the new parse, which is no new version either.
    refetched, _ = crawl_page(store, page(1), f"{GAZETTE}/news/story-1", later)
    assert (refetched.outcome, refetched.version) == ("unchanged", 1)


def test_a_real_edit_still_makes_a_version(store: Store) -> None:
    learn_gazette(store)
    url = f"{GAZETTE}/news/story-1"
    edited = page(1, extra=("The council added on Friday that the road will stay closed.",))
    result, body = crawl_page(store, edited, url, T0 + timedelta(hours=1))
    assert (result.outcome, result.version) == ("version", 2)
    assert "stay closed" in body and MEMBERSHIP not in body


def test_versions_of_one_article_count_once(store: Store) -> None:
    url = f"{GAZETTE}/news/story-1"
    for edit in range(4):
        extra = (f"Update {edit}: the council corrected the cost of the repairs once more.",)
        result, _ = crawl_page(store, page(1, extra=extra), url, T0 + timedelta(hours=edit))
        assert result.version == edit + 1
    with store.reading() as session:
        counts = session.scalars(
            select(SiteParagraph.article_count).where(SiteParagraph.site == site_of(GAZETTE))
        ).all()
    assert counts and set(counts) == {1}  # four versions, one article
    assert store.boilerplate_keys(site_of(GAZETTE)) == frozenset()


def test_the_learned_set_is_kept_in_the_database(db_url: str) -> None:
    first = Store.open(db_url)
    try:
        learn_gazette(first)
        learned = first.boilerplate_keys(site_of(GAZETTE))
    finally:
        first.close()
    assert learned
    second = Store.open(db_url)
    try:
        assert second.boilerplate_keys(site_of(GAZETTE)) == learned
        _, body = crawl_page(second, page(6), f"{GAZETTE}/news/story-6")
        assert MEMBERSHIP not in body and FOLLOW not in body
    finally:
        second.close()


def test_the_pipeline_passes_the_learned_keys(store: Store) -> None:
    learn_gazette(store)
    url = f"{GAZETTE}/news/story-6"
    run: Any = SimpleNamespace(
        feed=SimpleNamespace(timezone="UTC", tags=()),
        settings=SimpleNamespace(site_rules=lambda _site: None),
        store=store,
    )
    page = ArticlePage(b"", url, url, None, Candidate(url=url), T0)
    hints = hints_for(run, page)
    assert hints.boilerplate == store.boilerplate_keys(site_of(GAZETTE)) != frozenset()


# --------------------------------------------------------------------------------------------
# The rule and the cache


def test_the_rule() -> None:
    assert not is_boilerplate(2, 1, 2)  # two articles: a shared quote
    assert is_boilerplate(3, 1, 3)
    assert is_boilerplate(5, 1, 5)
    # A small site: the base is all its articles (fewer than 50).
    assert is_boilerplate(3, 1, 10)  # 30 %
    assert not is_boilerplate(3, 1, 20)  # 15 %
    assert not is_boilerplate(3, 18, 20)  # three in a row, but 3 of the base of 20


def test_the_rule_on_a_busy_site() -> None:
    # Three stories in a row of a running story share a background paragraph: 3 of the
    # site's last 50 is 6 %, kept.
    assert not is_boilerplate(3, 998, 1000)
    # A newsletter box added to the template: on every page since; learned at ten of fifty.
    assert not is_boilerplate(9, 991, 1000)
    assert is_boilerplate(10, 991, 1000)
    # A line on every page for a long time, then dropped from the template: it fades out.
    assert is_boilerplate(800, 1, 1000)
    assert not is_boilerplate(800, 1, 5000)


def test_the_cache_serves_until_a_count_changes_a_key() -> None:
    loads: list[str] = []
    now = [0.0]

    class FakeSession:
        def scalar(self, _query: Any) -> int:
            loads.append("stats")
            return 0

    class Reading:
        def __enter__(self) -> FakeSession:
            return FakeSession()

        def __exit__(self, *_exc: object) -> None:
            return None

    cache = SiteBoilerplate(Reading, ttl=60, clock=lambda: now[0])  # type: ignore[arg-type]
    assert cache.keys("a.example") == frozenset()
    assert cache.keys("a.example") == frozenset()
    assert len(loads) == 1
    cache.counted("a.example", {"k1": False})  # nothing changed side: kept
    cache.keys("a.example")
    assert len(loads) == 1
    cache.counted("a.example", {"k1": True})  # k1 became boilerplate: reload
    cache.keys("a.example")
    assert len(loads) == 2
    now[0] = 61.0
    cache.keys("a.example")
    assert len(loads) == 3

"""Feed and sitemap dates as hints: their precision travels with them to the parser."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.article import ParseHints
from crawler.extract.discovery import Candidate
from crawler.extract.feeds import discover_feed
from crawler.extract.parser import parse_article
from crawler.extract.sitemaps import discover_sitemap

SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://tagesbote.example/a</loc><news:news>
    <news:publication><news:name>Tagesbote</news:name><news:language>de</news:language>
    </news:publication>
    <news:publication_date>2022-11-11</news:publication_date><news:title>A</news:title>
  </news:news></url>
  <url><loc>https://tagesbote.example/b</loc><news:news>
    <news:publication><news:name>Tagesbote</news:name><news:language>de</news:language>
    </news:publication>
    <news:publication_date>2022-11-11T19:29:00+01:00</news:publication_date>
    <news:title>B</news:title>
  </news:news></url>
</urlset>"""

FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:t</id>
  <updated>2022-11-11T19:29:00Z</updated>
  <entry><title>A</title><id>urn:a</id><link href="https://tagesbote.example/a"/>
    <updated>2022-11-11</updated></entry>
  <entry><title>B</title><id>urn:b</id><link href="https://tagesbote.example/b"/>
    <updated>2022-11-11T19:29Z</updated></entry>
  <entry><title>C</title><id>urn:c</id><link href="https://tagesbote.example/c"/>
    <updated>2022-11-11T19:29:30Z</updated></entry>
</feed>"""


def by_url(candidates: tuple[Candidate, ...]) -> dict[str, Candidate]:
    return {c.url.rsplit("/", 1)[-1]: c for c in candidates}


def test_sitemap_dates_keep_their_precision() -> None:
    found = by_url(
        discover_sitemap(
            SITEMAP.encode(), "https://tagesbote.example/sitemap.xml",
            max_bytes=10**6, default_tz="Europe/Berlin",
        ).candidates
    )  # fmt: skip
    # Midnight in Berlin is 23:00 UTC the day before: no clock to guess the precision from.
    assert found["a"].published_at == datetime(2022, 11, 10, 23, tzinfo=UTC)
    assert found["a"].published_precision == "day"
    assert found["b"].published_precision == "second"


def test_feed_dates_keep_their_precision() -> None:
    found = by_url(discover_feed(FEED.encode(), "https://tagesbote.example/feed").candidates)
    assert [found[k].published_precision for k in "abc"] == ["day", "minute", "second"]


PAGE = """<html lang="de"><head><title>Brücke wieder offen</title></head><body><article>
<h1>Brücke wieder offen</h1>{byline}
<p>Die Brücke über den Hafen ist seit heute wieder für den Verkehr freigegeben, teilte die
Stadtverwaltung am Freitagabend mit. Die Reparatur hatte fast ein Jahr gedauert.</p>
<p>Anwohner hatten lange auf die Öffnung gewartet; viele Pendler mussten in dieser Zeit einen
Umweg von mehr als zwanzig Minuten in Kauf nehmen, wie der Bürgerverein berichtete.</p>
</article></body></html>"""
DAY = datetime(2022, 11, 10, 23, tzinfo=UTC)  # 11 November in Berlin, date only


def hints(precision: str | None) -> ParseHints:
    return ParseHints(
        timezone="Europe/Berlin", published_at=DAY, published_source="sitemap",
        published_precision=precision, fetched_at=datetime(2022, 11, 12, tzinfo=UTC),
    )  # fmt: skip


def test_a_date_only_entry_is_day_precision() -> None:
    article = parse_article(PAGE.format(byline=""), "https://tagesbote.example/a", hints("day"))
    assert article is not None
    assert (article.published_at, article.published_source) == (DAY, "sitemap")
    assert article.published_precision == "day"
    # Without the hint's precision the clock (23:00 UTC) would have said "minute".
    guessed = parse_article(PAGE.format(byline=""), "https://tagesbote.example/a", hints(None))
    assert guessed is not None and guessed.published_precision == "minute"


def test_a_date_only_entry_gives_way_to_the_time_on_the_page() -> None:
    byline = '<p class="date">11.11.2022, 19:29 Uhr</p>'
    article = parse_article(PAGE.format(byline=byline), "https://tagesbote.example/a", hints("day"))
    assert article is not None
    assert article.published_at == datetime(2022, 11, 11, 18, 29, tzinfo=UTC)
    assert (article.published_source, article.published_precision) == ("text", "minute")
    # A time written for another day is not this entry's: the entry stands.
    other = '<p class="date">09.11.2022, 19:29 Uhr</p>'
    article = parse_article(PAGE.format(byline=other), "https://tagesbote.example/a", hints("day"))
    assert article is not None
    assert (article.published_at, article.published_source) == (DAY, "sitemap")

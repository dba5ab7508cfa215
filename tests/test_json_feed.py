"""JSON Feed (jsonfeed.org) works as a feed of kind "rss", next to RSS and Atom."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawler.errors import DiscoveryError
from crawler.extract.feeds import discover_feed
from crawler.extract.json_feed import is_json_feed

FEED_URL = "https://herald.example/feed.json"


def feed(items: list[dict[str, object]], version: str = "1.1") -> bytes:
    document = {
        "version": f"https://jsonfeed.org/version/{version}",
        "title": "Herald – World",
        "home_page_url": "https://herald.example/",
        "items": items,
    }
    return json.dumps(document).encode()


def test_items_become_candidates_with_what_they_say() -> None:
    body = feed(
        [
            {
                "id": "1",
                "url": "https://herald.example/2024/05/03/harbour-reopens.html?utm_source=json",
                "title": " Harbour reopens ",
                "date_published": "2024-05-03T08:15:00+02:00",
                "tags": ["ports", "Black Sea"],
                "authors": [{"name": "Rui Costa"}, {"url": "https://herald.example/staff"}],
                "image": "/img/harbour.jpg",
            },
            {"id": "https://herald.example/2024/05/02/grain.html", "title": "Grain"},
            {"id": "no-url-at-all", "title": "skipped: nothing to fetch"},
            "not an item",
        ]
    )
    assert is_json_feed(body)
    found = discover_feed(body, FEED_URL)
    assert found.title == "Herald – World" and found.format == "json11"
    first, second = found.candidates
    assert first.url == "https://herald.example/2024/05/03/harbour-reopens.html"
    assert first.title == "Harbour reopens"
    assert first.published_at == datetime(2024, 5, 3, 6, 15, tzinfo=UTC)
    assert (first.published_source, first.published_precision) == ("feed", "second")
    assert first.keywords == ("ports", "Black Sea")
    assert first.authors == ("Rui Costa",)
    assert first.image_url == "https://herald.example/img/harbour.jpg"
    assert second.url == "https://herald.example/2024/05/02/grain.html"
    assert second.published_at is None and second.authors == ()


def test_version_1_0_author_and_external_url() -> None:
    body = feed(
        [
            {
                "id": "a",
                "external_url": "https://courier.example/economy/rates.html",
                "author": {"name": "Ana Lopes"},
                "date_modified": "2024-05-01",
            }
        ],
        version="1",
    )
    [entry] = discover_feed(body, FEED_URL).candidates
    assert entry.url == "https://courier.example/economy/rates.html"
    assert entry.authors == ("Ana Lopes",)
    assert entry.published_precision == "day"


def test_only_the_newest_entries_of_a_huge_feed() -> None:
    items = [
        {"id": str(n), "url": f"https://herald.example/n/{n}.html",
         "date_published": f"2024-05-{n:02d}T00:00:00Z"}
        for n in range(1, 29)
    ]  # fmt: skip
    found = discover_feed(feed(items), FEED_URL, max_entries=3)
    assert found.total_entries == 28
    assert [c.url for c in found.candidates] == [
        "https://herald.example/n/28.html",
        "https://herald.example/n/27.html",
        "https://herald.example/n/26.html",
    ]


@pytest.mark.parametrize(
    "body",
    [
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [' + b"[" * 100_000,
        b'{"title": "mentions https://jsonfeed.org/version/1.1 but has none", "items": []}',
    ],
)
def test_broken_json_feeds_are_one_line_errors(body: bytes) -> None:
    with pytest.raises(DiscoveryError) as raised:
        discover_feed(body, FEED_URL)
    assert str(raised.value).startswith("not a JSON Feed")
    assert "\n" not in str(raised.value)


def test_rss_and_atom_are_not_taken_for_json() -> None:
    assert not is_json_feed(b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>')
    assert not is_json_feed(b'{"some": "other json"}')

"""Aggregator links in feeds become the publisher's own URL, read from the link itself."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from crawler.extract.feeds import discover_feed
from crawler.extract.publisher_links import publisher_link

ARTICLE = "https://herald.example/2024/05/03/harbour-reopens.html"


def google_news_id(url: str, *, prefix: bytes = b"\x08\x13") -> str:
    """An article ID in the older Google News format: a protobuf message with the URL as
    its length-delimited field 4, more fields after it, base64url without padding."""
    raw = url.encode("ascii")
    length = (
        bytes([len(raw)]) if len(raw) < 0x80 else bytes([len(raw) & 0x7F | 0x80, len(raw) >> 7])
    )
    message = prefix + b"\x22" + length + raw + b"\xd2\x01\x00"
    return base64.urlsafe_b64encode(message).decode().rstrip("=")


@pytest.mark.parametrize(
    "link",
    [
        f"https://news.google.com/rss/articles/{google_news_id(ARTICLE)}?oc=5",
        f"https://news.google.com/articles/{google_news_id(ARTICLE)}",
        f"https://www.google.com/url?rct=j&sa=t&url={quote(ARTICLE, safe='')}&ct=ga",
        f"https://www.google.com/url?q={quote(ARTICLE, safe='')}&sa=U",
        f"https://news.google.com/news/url?sa=t&fd=R&url={quote(ARTICLE, safe='')}",
        f"http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=1&url={quote(ARTICLE)}&c=9",
        "https://r.search.yahoo.com/_ylt=AwrX/RV=2/RE=1/RO=10/RU="
        f"{quote(ARTICLE, safe='')}/RK=2/RS=x-",
    ],
)
def test_aggregator_links_give_the_publisher_url(link: str) -> None:
    assert publisher_link(link) == ARTICLE


def test_a_long_url_in_a_google_news_id() -> None:
    long_url = ARTICLE.replace(".html", "-" + "x" * 150 + ".html")  # a two-byte length
    assert publisher_link(f"https://news.google.com/rss/articles/{google_news_id(long_url)}") == (
        long_url
    )


@pytest.mark.parametrize(
    "link",
    [
        ARTICLE,  # a publisher's own link
        "https://news.google.com/rss/articles/AU_yqLNotAnUrlJustAnOpaqueKey0123456789?oc=5",
        "https://news.google.com/rss/articles/!!!not-base64!!!",
        "https://www.google.com/url?q=not%20a%20url",
        "https://www.google.com/search?q=https://herald.example/",  # not a redirector path
        "https://elsewhere.example/url?q=" + quote(ARTICLE, safe=""),  # not an aggregator
    ],
)
def test_other_links_stay_as_they_are(link: str) -> None:
    assert publisher_link(link) == link


def test_feedburner_original_link_wins() -> None:
    entry = {"feedburner_origlink": ARTICLE}
    assert publisher_link("http://feedproxy.google.com/~r/Herald/~3/abc/", entry) == ARTICLE


def test_a_feed_of_aggregator_links_lists_the_publishers_articles() -> None:
    other = "https://courier.example/economy/rates-held.html"
    body = f"""<?xml version="1.0"?>
<rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel>
<title>harbour - Google News</title>
<item><title>Harbour reopens</title>
  <link>https://news.google.com/rss/articles/{google_news_id(ARTICLE)}?oc=5</link></item>
<item><title>Rates held</title>
  <link>http://feedproxy.google.com/~r/courier/~3/xyz/</link>
  <feedburner:origLink>{other}</feedburner:origLink></item>
<item><title>Same story again, through Bing</title>
  <link>http://www.bing.com/news/apiclick.aspx?url={quote(ARTICLE)}&amp;c=1</link></item>
</channel></rss>""".encode()
    found = discover_feed(body, "https://news.google.com/rss/search?q=harbour")
    assert [c.url for c in found.candidates] == [ARTICLE, other]  # one row per real article

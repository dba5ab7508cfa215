"""A generated news site on 127.0.0.1, for the benchmarks: nothing reaches the internet.

``GeneratedSite(articles=2000)`` renders every page up front and serves it from memory with
a standard-library HTTP/1.1 server (keep-alive, one thread per connection), so the server
stays cheap next to the crawl it feeds:

* articles — ``/{section}/{yyyy}/{mm}/{dd}/{slug}-{id}``: 600-1,200 words of generated
  prose, JSON-LD ``NewsArticle`` (``datePublished`` with a +02:00 offset, author, keywords),
  OpenGraph and ``article:*`` meta, and site chrome (navigation, most-read box, newsletter,
  comments, footer);
* section listings — ``/section/{name}/`` then ``/section/{name}/page/{n}/``, newest first,
  ``per_page`` links each (``h2.headline a``) and an ``a.next`` pager;
* RSS 2.0 — ``/feeds/{name}.xml``, the latest ``feed_items`` stories of a section;
* a news sitemap — ``/sitemap-news.xml``, the stories of the last 48 hours (at most 1,000).

Listings, feeds and the sitemap answer conditional GETs (``ETag`` / ``If-None-Match`` and
``Last-Modified`` / ``If-Modified-Since``); article pages carry an ``ETag`` too. Every
request is counted (:meth:`GeneratedSite.counters`). :meth:`GeneratedSite.publish` adds new
stories while the site runs, re-rendering only the pages that list them.

Run it by hand with ``.venv/bin/python bench/gensite.py --articles 200``: it prints the feeds as
settings.toml entries and serves until interrupted.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import html
import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape as xml_escape

__all__ = ["WORDS", "GeneratedSite", "SiteCounters", "StoryInfo"]

SECTIONS = (
    "politics",
    "economy",
    "world",
    "science",
    "technology",
    "health",
    "culture",
    "sport",
)
PUBLISHER_TZ = timezone(timedelta(hours=2))
NEWS_SITEMAP_WINDOW = timedelta(hours=48)
NEWS_SITEMAP_MAX = 1000

HTML_TYPE = "text/html; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

_WORD_TEXT = """
government minister council parliament committee report budget economy market prices
inflation workers union strike energy pipeline border region city residents officials
police court judge ruling appeal election campaign voters candidate party coalition
opposition agreement talks negotiators ceasefire troops convoy shelling bridge railway
harbour airport hospital doctors patients vaccine study researchers university scientists
climate drought flood harvest farmers exports imports tariffs shipping container company
shares investors quarter profit losses revenue bank interest rates lending mortgage housing
rent tenants landlords school teachers pupils exam results festival museum exhibition
theatre director film audience match season league coach players stadium fans transfer
record weather storm warning emergency services volunteers charity donations community
mayor district village province capital neighbours statement spokesperson interview
documents investigation evidence witnesses hearing testimony contract tender supplier
network outage software update security breach data privacy regulator fine licence
water electricity heating winter summer morning evening yesterday today week month year
announced said told warned expected reported confirmed denied proposed approved rejected
delayed increased reduced opened closed launched started finished returned promised
planned considered discussed criticised welcomed questioned described estimated recorded
new old local national regional international public private major minor early late
long short high low several many few most some other first second third final latest
more less higher lower better worse significant modest sharp gradual unexpected familiar
"""
WORDS = tuple(_WORD_TEXT.split())  # the vocabulary of the generated prose
_NAME_TEXT = "Anna Oleh Maria Daniel Iryna Peter Sofia Marek Lena Tomas Ines Ravi"
_SURNAME_TEXT = "Kovalenko Novak Brennan Okafor Lindqvist Moreau Sato Petrov Ferreira"
_FIRST_NAMES = tuple(_NAME_TEXT.split())
_LAST_NAMES = tuple(_SURNAME_TEXT.split())


@dataclass(frozen=True)
class StoryInfo:
    """One generated article, as the site publishes it."""

    index: int  # 0 = the oldest
    section: str
    path: str
    title: str
    published: datetime  # aware
    author: str
    keywords: tuple[str, ...]
    paragraphs: tuple[str, ...]

    @property
    def summary(self) -> str:
        first = self.paragraphs[0]
        return first if len(first) <= 220 else first[:217].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class _Page:
    status: int
    content_type: str
    body: bytes
    kind: str  # article | listing | feed | sitemap | robots | other
    etag: str | None = None
    last_modified: datetime | None = None


@dataclass
class SiteCounters:
    """What the site served since the last reset."""

    requests: int = 0
    not_modified: int = 0
    bytes_sent: int = 0  # body bytes
    by_kind: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "not_modified": self.not_modified,
            "bytes_sent": self.bytes_sent,
            "by_kind": dict(self.by_kind),
            "by_status": {str(k): v for k, v in self.by_status.items()},
        }


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _e(text: str) -> str:
    return html.escape(text, quote=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: the crawler reuses its connections
    server_version = "GenNews/1.0"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is closed after this

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self.server.site._serve(self, head_only=False)

    def do_HEAD(self) -> None:
        self.server.site._serve(self, head_only=True)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not block close()
    block_on_close = False
    request_queue_size = 128

    def __init__(self, site: GeneratedSite) -> None:
        self.site = site
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a client hanging up mid-response is normal for a crawler."""


class GeneratedSite:
    """A generated news site served on 127.0.0.1 (a free port), rendered up front."""

    def __init__(
        self,
        articles: int = 2000,
        *,
        sections: int = 8,
        per_page: int = 50,
        feed_items: int = 50,
        spacing: timedelta = timedelta(minutes=7),
        words: tuple[int, int] = (600, 1200),
        seed: int = 1,
        now: datetime | None = None,
    ) -> None:
        if not 1 <= sections <= len(SECTIONS):
            raise ValueError(f"sections must be 1..{len(SECTIONS)}")
        self.sections = SECTIONS[:sections]
        self.per_page = per_page
        self.feed_items = feed_items
        self.spacing = spacing
        self.words = words
        self.seed = seed
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.stories: list[StoryInfo] = []
        self._pages: dict[str, _Page] = {}
        self._lock = threading.Lock()
        self._counters = SiteCounters()
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self._pages["/robots.txt"] = _Page(
            200,
            TEXT_TYPE,
            (
                f"User-agent: *\nDisallow: /search\nSitemap: {self.base_url}/sitemap-news.xml\n"
            ).encode(),
            "robots",
        )
        self._pages["/"] = _Page(200, HTML_TYPE, self._home().encode(), "other")
        self._add_stories(articles, first_published=None)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="gensite",
            daemon=True,
        )
        self._thread.start()

    # -- public API -----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def listing_path(self, section: str, page: int = 1) -> str:
        return f"/section/{section}/" if page == 1 else f"/section/{section}/page/{page}/"

    def listing_pages(self, section: str) -> int:
        count = sum(1 for s in self.stories if s.section == section)
        return max(1, -(-count // self.per_page))

    def publish(self, count: int = 1) -> list[StoryInfo]:
        """Add ``count`` new stories (published now) and re-render the pages listing them."""
        return self._add_stories(count, first_published=datetime.now(UTC).replace(microsecond=0))

    def counters(self) -> SiteCounters:
        with self._lock:
            c = self._counters
            return SiteCounters(
                c.requests, c.not_modified, c.bytes_sent, Counter(c.by_kind), Counter(c.by_status)
            )

    def reset_counters(self) -> None:
        with self._lock:
            self._counters = SiteCounters()

    def feeds_toml(
        self,
        *,
        listings: bool = True,
        rss: bool = False,
        sitemap: bool = False,
        max_pages: int | None = None,
        prefix: str = "gen",
    ) -> str:
        """``[[feeds]]`` entries for settings.toml: one listing and/or RSS feed per section,
        and the news sitemap. A listing follows its pager up to ``max_pages`` (default: all
        of its pages, at most 50, the settings' limit)."""
        blocks: list[str] = []
        for section in self.sections:
            if listings:
                pages = max_pages or min(50, self.listing_pages(section))
                blocks.append(
                    f'[[feeds]]\nname = "{prefix}-{section}"\nkind = "listing"\n'
                    f'url = "{self.url(self.listing_path(section))}"\n'
                    f'tags = ["{section}"]\narticle_links = "h2.headline a"\n'
                    f'next_page = "a.next"\nmax_pages = {pages}\n'
                )
            if rss:
                blocks.append(
                    f'[[feeds]]\nname = "{prefix}-{section}-rss"\nkind = "rss"\n'
                    f'url = "{self.url(f"/feeds/{section}.xml")}"\ntags = ["{section}"]\n'
                )
        if sitemap:
            blocks.append(
                f'[[feeds]]\nname = "{prefix}-news-sitemap"\nkind = "sitemap"\n'
                f'url = "{self.url("/sitemap-news.xml")}"\n'
            )
        return "\n".join(blocks)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> GeneratedSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- content ----------------------------------------------------------------------------

    def _add_stories(self, count: int, first_published: datetime | None) -> list[StoryInfo]:
        with self._lock:
            start = len(self.stories)
            new: list[StoryInfo] = []
            for offset in range(count):
                index = start + offset
                if first_published is None:
                    # The initial archive: the newest story is ``spacing`` old, the oldest
                    # ``count * spacing``.
                    published = self.now - self.spacing * (count - offset)
                else:
                    published = first_published
                new.append(self._make_story(index, published))
            self.stories.extend(new)
            for story in new:
                body = self._article_page(story).encode()
                self._pages[story.path] = _Page(200, HTML_TYPE, body, "article", _etag(body))
            touched = {s.section for s in new}
            self._render_indexes(touched)
            return new

    def _make_story(self, index: int, published: datetime) -> StoryInfo:
        rng = random.Random(self.seed * 1_000_003 + index)
        section = self.sections[index % len(self.sections)]
        title_words = rng.sample(WORDS, rng.randint(6, 10))
        title = " ".join(title_words).capitalize()
        slug = "-".join(title_words[:6])
        local = published.astimezone(PUBLISHER_TZ)
        path = f"/{section}/{local:%Y/%m/%d}/{slug}-{100000 + index}"
        target = rng.randint(*self.words)
        paragraphs: list[str] = []
        written = 0
        while written < target:
            sentences = []
            for _ in range(rng.randint(2, 5)):
                n = rng.randint(8, 24)
                words = rng.choices(WORDS, k=n)
                if n > 12:
                    words[rng.randint(3, n - 4)] += ","
                sentences.append(" ".join(words).capitalize() + ".")
                written += n
            paragraphs.append(" ".join(sentences))
        author = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
        keywords = (section, *rng.sample(WORDS[:120], 2))
        return StoryInfo(
            index=index,
            section=section,
            path=path,
            title=title,
            published=published,
            author=author,
            keywords=keywords,
            paragraphs=tuple(paragraphs),
        )

    def _render_indexes(self, sections: set[str]) -> None:
        """Listings and feeds of ``sections``, and the news sitemap (lock held)."""
        last_modified = max((s.published for s in self.stories), default=self.now)
        for section in sections:
            mine = [s for s in reversed(self.stories) if s.section == section]
            pages = max(1, -(-len(mine) // self.per_page))
            for page in range(1, pages + 1):
                chunk = mine[(page - 1) * self.per_page : page * self.per_page]
                next_path = self.listing_path(section, page + 1) if page < pages else None
                body = self._listing_page(section, page, chunk, next_path).encode()
                self._pages[self.listing_path(section, page)] = _Page(
                    200, HTML_TYPE, body, "listing", _etag(body), last_modified
                )
            body = self._rss(section, mine[: self.feed_items]).encode()
            self._pages[f"/feeds/{section}.xml"] = _Page(
                200, RSS_TYPE, body, "feed", _etag(body), last_modified
            )
        cutoff = max(self.now, last_modified) - NEWS_SITEMAP_WINDOW
        recent = [s for s in reversed(self.stories) if s.published >= cutoff][:NEWS_SITEMAP_MAX]
        body = self._news_sitemap(recent).encode()
        self._pages["/sitemap-news.xml"] = _Page(
            200, XML_TYPE, body, "sitemap", _etag(body), last_modified
        )

    def _head(self, title: str, extra: str = "") -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)} | The Daily Generator</title>\n"
            '<meta property="og:site_name" content="The Daily Generator">\n'
            f"{extra}"
            '<link rel="stylesheet" href="/static/site.css">\n</head>\n'
        )

    def _masthead(self) -> str:
        nav = " ".join(
            f'<a href="{self.listing_path(s)}">{s.capitalize()}</a>' for s in self.sections
        )
        return (
            '<div class="promo-bar">Subscribe for 1 € a week — <a href="/subscribe">'
            "Start your trial</a></div>\n"
            '<header class="masthead"><a class="logo" href="/">The Daily Generator</a>\n'
            f'<nav class="sections">{nav} <a href="/search">Search</a></nav></header>\n'
        )

    def _footer(self) -> str:
        return (
            '<footer class="site-footer"><p>© The Daily Generator. All rights reserved.</p>'
            '<p><a href="/about">About us</a> <a href="/contact">Contact</a> '
            '<a href="/privacy">Privacy</a> <a href="/terms">Terms</a></p></footer>\n'
            "</body>\n</html>\n"
        )

    def _home(self) -> str:
        return (
            self._head("Home")
            + "<body>\n"
            + self._masthead()
            + "<main><h1>The Daily Generator</h1></main>\n"
            + self._footer()
        )

    def _most_read(self, story: StoryInfo) -> str:
        others = [self.stories[i] for i in range(max(0, story.index - 5), story.index)]
        items = "".join(f'<li><a href="{_e(s.path)}">{_e(s.title)}</a></li>' for s in others)
        return f'<aside class="most-read"><h3>Most read</h3><ol>{items}</ol></aside>\n'

    def _article_page(self, story: StoryInfo) -> str:
        url = self.url(story.path)
        published = story.published.astimezone(PUBLISHER_TZ).isoformat()
        image = self.url(f"/images/{story.index}.jpg")
        jsonld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": story.title,
            "datePublished": published,
            "dateModified": published,
            "author": [{"@type": "Person", "name": story.author}],
            "publisher": {"@type": "Organization", "name": "The Daily Generator"},
            "image": [image],
            "keywords": ", ".join(story.keywords),
            "articleSection": story.section,
            "mainEntityOfPage": url,
            "url": url,
        }
        head_extra = (
            f'<link rel="canonical" href="{_e(url)}">\n'
            '<meta property="og:type" content="article">\n'
            f'<meta property="og:title" content="{_e(story.title)}">\n'
            f'<meta property="og:url" content="{_e(url)}">\n'
            f'<meta property="og:image" content="{_e(image)}">\n'
            f'<meta property="og:description" content="{_e(story.summary)}">\n'
            f'<meta property="article:published_time" content="{published}">\n'
            f'<meta property="article:section" content="{story.section}">\n'
            + "".join(f'<meta property="article:tag" content="{_e(k)}">\n' for k in story.keywords)
            + '<script type="application/ld+json">'
            + json.dumps(jsonld, ensure_ascii=False).replace("</", "<\\/")
            + "</script>\n"
        )
        body = "\n".join(f"<p>{_e(p)}</p>" for p in story.paragraphs)
        date_text = story.published.astimezone(PUBLISHER_TZ).strftime("%d %B %Y, %H:%M")
        return (
            self._head(story.title, head_extra)
            + '<body class="article">\n'
            + self._masthead()
            + '<main id="main">\n<article>\n'
            + f'<p class="kicker"><a href="{self.listing_path(story.section)}">'
            + f"{story.section.capitalize()}</a></p>\n"
            + f"<h1>{_e(story.title)}</h1>\n"
            + f'<p class="byline">By {_e(story.author)} · <time datetime="{published}">'
            + f"{date_text}</time></p>\n"
            + f'<figure><img src="{_e(image)}" alt=""><figcaption>{_e(story.title)}'
            + " (Photo: Agency)</figcaption></figure>\n"
            + f'<div class="article-body">\n{body}\n</div>\n'
            + '<div class="share"><a href="/share?f">Share on Facebook</a> '
            + '<a href="/share?x">Share on X</a></div>\n'
            + "</article>\n"
            + self._most_read(story)
            + '<section class="newsletter"><h3>Get the morning briefing</h3><p>The day\'s top'
            + " stories in your inbox, every weekday.</p>"
            + '<form action="/newsletter"><input type="email" name="email">'
            + "<button>Sign up</button></form></section>\n"
            + '<section class="comments"><h3>Comments</h3><p>Comments are closed for this'
            + " article.</p></section>\n"
            + "</main>\n"
            + self._footer()
        )

    def _listing_page(
        self, section: str, page: int, stories: list[StoryInfo], next_path: str | None
    ) -> str:
        rows = "\n".join(
            f'<li class="teaser"><h2 class="headline"><a href="{_e(s.path)}">{_e(s.title)}'
            f'</a></h2><p class="summary">{_e(s.summary)}</p>'
            f'<p class="meta">{s.published.astimezone(PUBLISHER_TZ):%d %b %Y %H:%M}</p></li>'
            for s in stories
        )
        pager = f'<nav class="pager"><a class="next" href="{next_path}">Older</a></nav>\n'
        heading = section.capitalize() + (f" — page {page}" if page > 1 else "")
        return (
            self._head(heading)
            + "<body>\n"
            + self._masthead()
            + f'<main id="main">\n<h1>{_e(heading)}</h1>\n<ul class="stories">\n{rows}\n</ul>\n'
            + (pager if next_path else "")
            + "</main>\n"
            + self._footer()
        )

    def _rss(self, section: str, stories: list[StoryInfo]) -> str:
        items = "\n".join(
            "<item>"
            f"<title>{xml_escape(s.title)}</title>"
            f"<link>{xml_escape(self.url(s.path))}</link>"
            f'<guid isPermaLink="true">{xml_escape(self.url(s.path))}</guid>'
            f"<pubDate>{email.utils.format_datetime(s.published.astimezone(UTC), True)}"
            "</pubDate>"
            f"<category>{xml_escape(s.section)}</category>"
            f"<description>{xml_escape(s.summary)}</description>"
            "</item>"
            for s in stories
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>The Daily Generator — {section}</title>"
            f"<link>{xml_escape(self.url(self.listing_path(section)))}</link>"
            f"<description>Latest {section} stories</description>\n{items}\n</channel></rss>\n"
        )

    def _news_sitemap(self, stories: list[StoryInfo]) -> str:
        entries = "\n".join(
            f"<url><loc>{xml_escape(self.url(s.path))}</loc><news:news>"
            "<news:publication><news:name>The Daily Generator</news:name>"
            "<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{s.published.astimezone(PUBLISHER_TZ).isoformat()}"
            f"</news:publication_date><news:title>{xml_escape(s.title)}</news:title>"
            f"<news:keywords>{xml_escape(', '.join(s.keywords))}</news:keywords>"
            "</news:news></url>"
            for s in stories
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            f"{entries}\n</urlset>\n"
        )

    # -- serving ------------------------------------------------------------------------------

    def _serve(self, handler: _Handler, head_only: bool) -> None:
        path = handler.path.split("?", 1)[0].split("#", 1)[0]
        page = self._pages.get(path)
        if page is None:
            page = _Page(404, HTML_TYPE, b"<!DOCTYPE html><title>Not found</title>", "other")
        status, body = page.status, page.body
        if page.etag and status == 200 and self._not_modified(handler, page):
            status, body = 304, b""
        headers = [
            f"HTTP/1.1 {status} {handler.responses.get(status, ('',))[0]}",
            f"Server: {handler.server_version}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
        ]
        if status != 304:
            headers += [f"Content-Type: {page.content_type}", f"Content-Length: {len(body)}"]
        if page.etag:
            headers.append(f"ETag: {page.etag}")
        if page.last_modified is not None:
            stamp = email.utils.format_datetime(page.last_modified, usegmt=True)
            headers.append(f"Last-Modified: {stamp}")
        sent = b"" if head_only else body
        with self._lock:
            c = self._counters
            c.requests += 1
            c.not_modified += status == 304
            c.bytes_sent += len(sent)
            c.by_kind[page.kind] += 1
            c.by_status[status] += 1
        try:
            handler.wfile.write(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + sent)
        except OSError:
            handler.close_connection = True

    @staticmethod
    def _not_modified(handler: _Handler, page: _Page) -> bool:
        if_none_match = handler.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return "*" in tags or page.etag in tags
        since = handler.headers.get("If-Modified-Since")
        if since and page.last_modified is not None:
            try:
                when = email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return page.last_modified.replace(microsecond=0) <= when
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--sections", type=int, default=4)
    args = parser.parse_args()
    started = time.perf_counter()
    site = GeneratedSite(args.articles, sections=args.sections)
    print(f"# {args.articles} articles rendered in {time.perf_counter() - started:.1f}s")
    print(site.feeds_toml(listings=True, rss=True, sitemap=True))
    print(f"# serving {site.base_url} — Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.close()


if __name__ == "__main__":
    main()

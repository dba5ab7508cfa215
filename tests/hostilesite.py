"""A hostile or broken web site on 127.0.0.1, for the robustness tests.

One server (standard library only, one thread per request) serves a listing page and an
RSS feed that link to one good article and to pages that are broken in the ways real sites
break: too large, the wrong or no Content-Type, binary data, an empty body, malformed HTML,
a redirect loop and a gzip bomb. Further feed URLs are broken themselves: malformed XML, an
HTML page instead of a feed, an empty body, a feed of 50,000 items, a gzipped sitemap that
inflates far beyond any size limit, sitemap indexes that point back at themselves and one
that fans out to hundreds of child sitemaps. For the bounds on memory and time:
``/feeds/big-N.xml`` (``big-N-M.xml``: from the M-th on) lists N article pages just under
``big_page_bytes`` (the padding is HTML comments, so parsing them stays cheap and the test
measures what the crawl holds, not what the parser builds), and ``/feeds/slow-N.xml`` lists
N pages that a slowloris server trickles a byte every ``SLOW_BYTE_SECONDS`` forever (until
the client hangs up).

``HOSTILE_PAGES`` tells the tests what the crawler should make of each linked page;
``HostileSite.requests`` records what was asked of the server.
"""

from __future__ import annotations

import email.utils
import html
import json
import random
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from urllib.parse import urlsplit

from tests.loopback import LoopbackServer

__all__ = [
    "HOSTILE_FEEDS",
    "HOSTILE_PAGES",
    "HUGE_FEED_ITEMS",
    "MAX_PAGE_BYTES",
    "SITEMAP_MANY_URLS",
    "SLOW_BYTE_SECONDS",
    "HostileFeed",
    "HostilePage",
    "HostileSite",
    "Served",
    "huge_feed_body",
    "huge_feed_date",
    "malformed_html",
    "sitemap_many_order",
]

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"

# The tests configure max_page_bytes to this; oversized pages and bombs are sized against it.
MAX_PAGE_BYTES = 200_000
OVERSIZE_BYTES = 1_000_000
BOMB_INFLATED_BYTES = 50_000_000  # a gzip bomb of ~50 KB on the wire
HUGE_FEED_ITEMS = 50_000
SITEMAP_MANY_URLS = 1_000  # /sitemaps/many.xml: a news sitemap of dated /more/N articles
WIDE_SITEMAP_CHILDREN = 60
REDIRECT_LOOP = ("/loop/a", "/loop/b")
SLOW_BYTE_SECONDS = 0.05  # /slow/N: one byte this often, forever
SLOW_ANNOUNCED_BYTES = 1_000_000  # the Content-Length a slow page announces, never reached


@dataclass(frozen=True)
class HostilePage:
    """A page the listing and the RSS feed link to, and what the crawler should do with it."""

    path: str
    stored: bool  # an article is stored from it
    reason: str | None  # a fragment of the one-line problem logged for it; None: no error
    not_article: bool = False  # skipped as "not an article" (not an error)


HOSTILE_PAGES: tuple[HostilePage, ...] = (
    HostilePage("/a/good-article", stored=True, reason=None),
    HostilePage("/a/no-content-type", stored=True, reason=None),  # HTML is recognised
    HostilePage("/a/malformed-html", stored=True, reason=None),  # broken markup, real text
    # moved: a <meta http-equiv="refresh"> to /a/moved-here, where the article is
    HostilePage("/a/moved", stored=True, reason=None),
    HostilePage("/a/not-an-article", stored=False, reason=None, not_article=True),
    HostilePage(
        "/a/oversize", stored=False, reason=f"larger than max_page_bytes ({MAX_PAGE_BYTES} bytes)"
    ),
    HostilePage(
        "/a/oversize-unknown-length",
        stored=False,
        reason=f"larger than max_page_bytes ({MAX_PAGE_BYTES} bytes)",
    ),
    HostilePage(
        "/a/octet-stream",
        stored=False,
        reason="not an HTML page (Content-Type application/octet-stream)",
    ),
    HostilePage("/a/binary-no-type", stored=False, reason="not an HTML page (binary content"),
    HostilePage("/a/binary-as-html", stored=False, reason="not an HTML page (binary content"),
    HostilePage("/a/empty", stored=False, reason="empty page"),
    HostilePage(REDIRECT_LOOP[0], stored=False, reason="too many redirects"),
    HostilePage(
        "/a/gzip-bomb",
        stored=False,
        reason=f"larger than max_page_bytes ({MAX_PAGE_BYTES} bytes) once decompressed",
    ),
)


@dataclass(frozen=True)
class HostileFeed:
    """A ``[[feeds]]`` entry the site offers and how its run should end."""

    name: str
    kind: str  # rss | listing | sitemap
    path: str
    outcome: str  # ok | partial | failed (with max_page_bytes = MAX_PAGE_BYTES)
    reason: str | None = None  # fragment of the failure reason
    article_links: str | None = None


HOSTILE_FEEDS: tuple[HostileFeed, ...] = (
    HostileFeed("hostile-listing", "listing", "/listing", "partial", article_links="a.story"),
    HostileFeed("hostile-rss", "rss", "/rss.xml", "partial"),
    HostileFeed("good-rss", "rss", "/good.xml", "ok"),
    HostileFeed("no-items", "rss", "/feeds/no-items.xml", "ok"),
    HostileFeed(
        "malformed-xml", "rss", "/feeds/malformed.xml", "failed", "not an RSS/Atom feed: line 2"
    ),
    HostileFeed(
        "html-instead",
        "rss",
        "/feeds/html.xml",
        "failed",
        'looks like an HTML page, not an RSS/Atom feed: set kind = "listing"',
    ),
    HostileFeed("empty-feed", "rss", "/feeds/empty.xml", "failed", "empty page"),
    HostileFeed(
        "huge-feed",
        "rss",
        "/feeds/huge.xml",
        "failed",
        f"larger than max_page_bytes ({MAX_PAGE_BYTES} bytes)",
    ),
    HostileFeed(
        "sitemap-bomb",
        "sitemap",
        "/sitemaps/bomb.xml.gz",
        "failed",
        f"larger than max_page_bytes ({MAX_PAGE_BYTES} bytes) once unzipped",
    ),
    HostileFeed("sitemap-loop", "sitemap", "/sitemaps/loop.xml", "ok"),
    HostileFeed("sitemap-wide", "sitemap", "/sitemaps/wide.xml", "ok"),
    HostileFeed("sitemap-many", "sitemap", "/sitemaps/many.xml", "ok"),
)

_FEEDS_BY_NAME = {feed.name: feed for feed in HOSTILE_FEEDS}


@dataclass(frozen=True)
class Served:
    """One request the server answered."""

    path: str
    status: int
    bytes_sent: int  # body bytes written (or attempted)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str | None = HTML
    # False: no Content-Length, the body ends when the connection closes (HTTP/1.0).
    content_length: bool = True
    trickle: bool = False  # after the headers, a byte every SLOW_BYTE_SECONDS, forever


# -- content --------------------------------------------------------------------------------

_PUBLISHED = datetime(2024, 3, 14, 9, 30, tzinfo=UTC)
_PARAGRAPHS = (
    "The harbour authority confirmed on Thursday that the northern breakwater will be "
    "rebuilt over the next two summers, after winter storms opened a breach of forty metres.",
    "Engineers said the new wall would be built from interlocking concrete units rather than "
    "the granite blocks used in 1911, which have shifted by as much as a metre since.",
    "Fishing crews, who moved their boats to the inner basin in January, welcomed the plan "
    "but asked for the work to pause during the autumn herring season.",
    "The council expects to publish the tender documents in May and to choose a contractor "
    "before the end of the year.",
)


def _article(
    title: str, paragraphs: tuple[str, ...] = _PARAGRAPHS, when: datetime = _PUBLISHED
) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f'<meta property="og:title" content="{html.escape(title)}">'
        '<meta property="og:type" content="article">'
        f'<meta property="article:published_time" content="{when.isoformat()}">'
        "</head>\n<body><main><article>"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</article></main></body></html>\n"
    )


GOOD_TITLE = "Harbour wall to be rebuilt after winter storms"
NO_TYPE_TITLE = "Ferry timetable changes for the spring season"
MALFORMED_TITLE = "Council approves new cycle lanes on the seafront"
MOVED_TITLE = "Lifeboat station reopens after two years of repairs"
# A page that moved, in the shape old CMSs leave behind: a script that mentions "refresh"
# before the tag, then the tag, with the attribute unquoted and in capitals.
MOVED_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Moved</title>'
    b"<script>window.adRefresh = 30;</script>"
    b"<META HTTP-EQUIV=Refresh CONTENT='0; url=/a/moved-here'>"
    b'</head><body><p>This story has moved: <a href="/a/moved-here">read it here</a>.</p>'
    b"</body></html>\n"
)


def malformed_html() -> bytes:
    """Unclosed tags, NUL bytes, a stray byte that is not UTF-8, mis-nested markup."""
    paragraphs = (
        "The council voted seven to two on Tuesday to build protected cycle lanes along the "
        "full length of the seafront road, the first stage of which opens in September.",
        "Residents had asked for the lanes after three collisions last summer; shop owners "
        "worried about deliveries and were promised loading bays every two hundred metres.",
        "The work will cost 2.4 million and is paid for by the regional transport fund, "
        "the council said in a statement after the meeting.",
    )
    parts = [
        b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>{MALFORMED_TITLE}</title>".encode(),
        b'<meta property="article:published_time" content="2024-03-12T18:00:00+00:00">',
        b"</head><body><div><div><article><h1>",
        MALFORMED_TITLE.encode(),
        b"</h2>\x00\n",  # wrong closing tag and a NUL byte
        b"<p>" + paragraphs[0].encode() + b"<b><i>\x00</b></i>\n",  # mis-nested, unclosed <p>
        b"<p>" + paragraphs[1].encode().replace(b"shop", b"sh\xe9p") + b"\n",  # Latin-1 byte
        b"<p>" + paragraphs[2].encode() + b"\x00\x00<table><tr><td>\n",
        b"</article></span></html></html><p>after the end",
    ]
    return b"".join(parts)


def _listing(links: list[tuple[str, str]]) -> bytes:
    items = "\n".join(
        f'<li><a class="story" href="{html.escape(href)}">{html.escape(text)}</a></li>'
        for href, text in links
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Latest</title>'
        f"</head>\n<body><h1>Latest</h1>\n<ul>\n{items}\n</ul></body></html>\n"
    ).encode()


def _rss(items: list[tuple[str, str, datetime | None]], title: str = "Hostile news") -> bytes:
    rendered = []
    for link, item_title, when in items:
        date = f"<pubDate>{email.utils.format_datetime(when)}</pubDate>" if when else ""
        rendered.append(
            f"<item><title>{html.escape(item_title)}</title><link>{html.escape(link)}</link>"
            f"<guid>{html.escape(link)}</guid>{date}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>/</link><description>Test feed</description>\n"
        + "\n".join(rendered)
        + "\n</channel></rss>\n"
    ).encode()


def huge_feed_date(index: int) -> datetime:
    """Item ``index`` of the 50,000-item feed is ``index`` minutes newer than item 0."""
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=index)


def huge_feed_order() -> list[int]:
    """The order of the items in the 50,000-item feed: shuffled, so the newest are not first."""
    order = list(range(HUGE_FEED_ITEMS))
    random.Random(50_000).shuffle(order)
    return order


def huge_feed_body() -> bytes:
    return _rss(
        [(f"/many/{i}", f"Story number {i}", huge_feed_date(i)) for i in huge_feed_order()],
        title="Everything ever",
    )


def _gzip_bomb(size: int) -> bytes:
    # Compress in chunks: never hold the inflated size in memory.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip container
    chunk = b"\0" * 1_000_000
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(compressor.flush())
    return b"".join(parts)


def _sitemap_index(children: list[str]) -> bytes:
    entries = "\n".join(f"<sitemap><loc>{html.escape(c)}</loc></sitemap>" for c in children)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{entries}\n</sitemapindex>\n"
    ).encode()


def _urlset(urls: list[str], dates: list[datetime] | None = None) -> bytes:
    entries = []
    for index, url in enumerate(urls):
        news = ""
        if dates is not None:
            news = (
                "<news:news><news:publication><news:name>Hostile</news:name>"
                "<news:language>en</news:language></news:publication>"
                f"<news:publication_date>{dates[index].isoformat()}</news:publication_date>"
                f"<news:title>Story {index}</news:title></news:news>"
            )
        entries.append(f"<url><loc>{html.escape(url)}</loc>{news}</url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        + "\n".join(entries)
        + "\n</urlset>\n"
    ).encode()


def sitemap_many_order() -> list[int]:
    """The order of the /more/N entries in /sitemaps/many.xml: shuffled, dated like the feed."""
    order = list(range(SITEMAP_MANY_URLS))
    random.Random(1_000).shuffle(order)
    return order


# -- the server -----------------------------------------------------------------------------


class HostileSite:
    """The hostile site on its own 127.0.0.1 port; a context manager."""

    def __init__(self, big_page_bytes: int = MAX_PAGE_BYTES - 1_000) -> None:
        self.big_page_bytes = big_page_bytes
        self.requests: list[Served] = []
        self._lock = threading.Lock()
        self._closed = False
        self._cache: dict[str, bytes] = {}
        self._server = LoopbackServer(self, "hostile", "HostileFixture/1.0")
        self.base_url = self._server.base_url

    # -- public API ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def paths_requested(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def count(self, prefix: str) -> int:
        """How many requests asked for a path starting with ``prefix``."""
        return sum(1 for path in self.paths_requested() if path.startswith(prefix))

    def feeds_toml(self, *names: str) -> str:
        """``[[feeds]]`` tables for the named feeds (default: all of them)."""
        blocks = []
        for feed in (_FEEDS_BY_NAME[n] for n in names) if names else HOSTILE_FEEDS:
            lines = [
                "[[feeds]]",
                f"name = {json.dumps(feed.name)}",
                f"kind = {json.dumps(feed.kind)}",
                f"url = {json.dumps(self.url(feed.path))}",
            ]
            if feed.article_links:
                lines.append(f"article_links = {json.dumps(feed.article_links)}")
            blocks.append("\n".join(lines) + "\n")
        return "\n".join(blocks)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.close()

    def __enter__(self) -> HostileSite:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- routes --------------------------------------------------------------------------

    def _cached(self, key: str, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    def _route(self, path: str) -> _Reply:
        if path == "/robots.txt":
            return _Reply(200, b"User-agent: *\nDisallow:\n", content_type="text/plain")
        if path == "/listing":
            links = [(p.path, p.path.rsplit("/", 1)[-1]) for p in HOSTILE_PAGES]
            return _Reply(200, _listing(links))
        if path == "/rss.xml":
            items = [(p.path, p.path.rsplit("/", 1)[-1], _PUBLISHED) for p in HOSTILE_PAGES]
            return _Reply(200, _rss(items), content_type=RSS)
        if path == "/good.xml":
            return _Reply(
                200, _rss([("/a/good-article", GOOD_TITLE, _PUBLISHED)]), content_type=RSS
            )
        return self._route_page(path) or self._route_feed(path) or _Reply(404, b"not found")

    def _route_page(self, path: str) -> _Reply | None:
        if path == "/a/good-article":
            return _Reply(200, _article(GOOD_TITLE).encode())
        if path == "/a/no-content-type":
            return _Reply(200, _article(NO_TYPE_TITLE).encode(), content_type=None)
        if path == "/a/malformed-html":
            return _Reply(200, malformed_html())
        if path == "/a/moved":
            return _Reply(200, MOVED_PAGE)
        if path == "/a/moved-here":
            return _Reply(200, _article(MOVED_TITLE).encode())
        if path == "/a/not-an-article":
            body = _listing([("/a/good-article", "Harbour"), ("/", "Home")])
            return _Reply(200, body)
        if path == "/a/oversize":
            return _Reply(200, self._cached("oversize", _oversize_page))
        if path == "/a/oversize-unknown-length":
            body = self._cached("oversize", _oversize_page)
            return _Reply(200, body, content_length=False)
        if path == "/a/octet-stream":
            return _Reply(200, _article("Octet").encode(), content_type="application/octet-stream")
        if path == "/a/binary-no-type":
            return _Reply(200, _binary(), content_type=None)
        if path == "/a/binary-as-html":
            return _Reply(200, _binary())
        if path == "/a/empty":
            return _Reply(200, b"")
        if path in REDIRECT_LOOP:
            target = REDIRECT_LOOP[1 - REDIRECT_LOOP.index(path)]
            return _Reply(302, b"", headers=(("Location", target),))
        if path == "/a/gzip-bomb":
            bomb = self._cached("bomb", lambda: _gzip_bomb(BOMB_INFLATED_BYTES))
            return _Reply(200, bomb, headers=(("Content-Encoding", "gzip"),))
        if path.startswith("/big/"):
            index = int(path.removeprefix("/big/"))
            return _Reply(200, self._big_page(index))
        if path.startswith("/slow/"):
            return _Reply(200, b"<", headers=(("Content-Length", str(SLOW_ANNOUNCED_BYTES)),),
                          content_length=False, trickle=True)  # fmt: skip
        if path.startswith(("/many/", "/more/")):
            index = int(path[len("/many/") :])
            title = f"Story number {index}"
            paragraphs = tuple(f"{p} (Story {index}.)" for p in _PARAGRAPHS)
            return _Reply(200, _article(title, paragraphs, huge_feed_date(index)).encode())
        return None

    def _route_feed(self, path: str) -> _Reply | None:
        if path.startswith(("/feeds/big-", "/feeds/slow-")) and path.endswith(".xml"):
            # /feeds/big-N.xml: pages 0..N-1; /feeds/big-N-M.xml: N pages from M on
            kind, count, *first = path.removeprefix("/feeds/").removesuffix(".xml").split("-")
            start = int(first[0]) if first else 0
            items = [(f"/{kind}/{i}", f"{kind.title()} story {i}", huge_feed_date(i))
                     for i in range(start, start + int(count))]  # fmt: skip
            return _Reply(200, _rss(items, title=f"{kind.title()} news"), content_type=RSS)
        if path == "/feeds/no-items.xml":
            return _Reply(200, _rss([], title="Quiet"), content_type=RSS)
        if path == "/feeds/malformed.xml":
            body = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><<<>>>&&&\x00\x01</rss'
            return _Reply(200, body, content_type=RSS)
        if path == "/feeds/html.xml":
            return _Reply(200, _listing([("/a/good-article", "Harbour")]), content_type=RSS)
        if path == "/feeds/empty.xml":
            return _Reply(200, b"", content_type=RSS)
        if path == "/feeds/huge.xml":
            return _Reply(200, self._cached("huge", huge_feed_body), content_type=RSS)
        if path == "/sitemaps/bomb.xml.gz":
            bomb = self._cached("bomb", lambda: _gzip_bomb(BOMB_INFLATED_BYTES))
            return _Reply(200, bomb, content_type="application/x-gzip")
        if path == "/sitemaps/loop.xml":
            # Points at itself and at a second index that points back here.
            body = _sitemap_index(
                [self.url("/sitemaps/loop.xml"), self.url("/sitemaps/loop-2.xml")]
            )
            return _Reply(200, body, content_type=XML)
        if path == "/sitemaps/loop-2.xml":
            children = [self.url("/sitemaps/loop.xml"), self.url("/sitemaps/news.xml")]
            return _Reply(200, _sitemap_index(children), content_type=XML)
        if path == "/sitemaps/many.xml":
            order = sitemap_many_order()
            urls = [self.url(f"/more/{i}") for i in order]
            return _Reply(200, _urlset(urls, [huge_feed_date(i) for i in order]), content_type=XML)
        if path == "/sitemaps/news.xml":
            return _Reply(200, _urlset([self.url("/a/good-article")]), content_type=XML)
        if path == "/sitemaps/wide.xml":
            children = [self.url(f"/sitemaps/wide-{i}.xml") for i in range(WIDE_SITEMAP_CHILDREN)]
            return _Reply(200, _sitemap_index(children), content_type=XML)
        if path.startswith("/sitemaps/wide-"):
            # Each child is an index again, fanning out further: unbounded without a budget.
            stem = path.removeprefix("/sitemaps/").removesuffix(".xml")
            children = [self.url(f"/sitemaps/{stem}-{i}.xml") for i in range(WIDE_SITEMAP_CHILDREN)]
            return _Reply(200, _sitemap_index(children), content_type=XML)
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        try:
            reply = self._route(path)
        except Exception as error:  # a bug in the fixture: show it, do not hang up
            reply = _Reply(500, repr(error).encode(), content_type="text/plain")
        with self._lock:
            self.requests.append(Served(path, reply.status, len(reply.body)))
        try:
            handler.send_response(reply.status)
            if reply.content_type is not None:
                handler.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers:
                handler.send_header(name, value)
            if reply.content_length:
                handler.send_header("Content-Length", str(len(reply.body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            view = memoryview(reply.body)
            for start in range(0, len(view), 65_536):
                handler.wfile.write(view[start : start + 65_536])
            if reply.trickle:
                self._trickle(handler)
        except OSError:  # the client hung up: expected once it has seen enough
            pass

    def _trickle(self, handler: BaseHTTPRequestHandler) -> None:
        """A byte at a time until the client hangs up (OSError) or the site closes."""
        while not self._closed:
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(SLOW_BYTE_SECONDS)

    def _big_page(self, index: int) -> bytes:
        """Article ``index``, padded to ``big_page_bytes`` with comments (of 100 KB: a
        parser refuses a single text node of 10 MB)."""
        paragraphs = tuple(f"{p} (Big story {index}.)" for p in _PARAGRAPHS)
        head = _article(f"Big story number {index}", paragraphs, huge_feed_date(index)).encode()
        padding = self._cached(
            f"padding-{self.big_page_bytes - len(head)}",
            lambda: _padding(self.big_page_bytes - len(head)),
        )
        return head.replace(b"</body>", padding + b"</body>", 1)


def _padding(size: int) -> bytes:
    """``size`` bytes (or a little less) of HTML comments."""
    chunk = b"<!-- " + b"x" * 99_990 + b" -->\n"
    whole, rest = divmod(max(size, 0), len(chunk))
    tail = b"<!-- " + b"x" * (rest - 10) + b" -->\n" if rest > 10 else b""
    return chunk * whole + tail


def _oversize_page() -> bytes:
    filler = "<p>" + "All work and no play makes a very long page. " * 40 + "</p>\n"
    page = _article("A page far too large").replace("</article>", filler * 600 + "</article>")
    data = page.encode()
    assert len(data) >= OVERSIZE_BYTES
    return data


def _binary() -> bytes:
    return random.Random(7).randbytes(50_000)

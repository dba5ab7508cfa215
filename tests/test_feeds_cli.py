"""``newsmon feeds``: settings.toml changed in place, every comment and line kept."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.config import load_settings
from crawler.crawl.finder import find_sources  # noqa: F401  (imports trafilatura at collection)
from tests.newssites import FixtureNetwork


def site_port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


REPO = Path(__file__).resolve().parents[1]

COMMENTED = """\
# newsmon settings for the desk (keep this line)
[database]
url = "sqlite:///news.db"  # next to this file

[crawl]
user_agent = "newsmon-tests/0.1 (+https://example.invalid/contact)"
download_delay = 0.0   # loopback only
timeout = 10.0

# --- feeds ----------------------------------------------------------------
[[feeds]]
# the main wire
name = "wire"
kind = "rss"
url = "https://wire.example/rss.xml"  # moved in 2022
tags = ["world"]

[[feeds]]
name = "desk-sitemap"
kind = "sitemap"
url = "https://desk.example/news-sitemap.xml"
# entries older than this are skipped
max_age = "2d"

# --- sites (none yet) -----------------------------------------------------
# [[sites]]
# domain = "desk.example"
"""


def run(settings: Path, *args: str) -> int:
    return main(["feeds", *args, "--settings", str(settings)])


def diff(before: str, after: str) -> tuple[list[list[str]], list[list[str]]]:
    """(hunks of added lines, hunks of removed lines), blank lines at a hunk's edges
    dropped: where a blank line lands between two blocks is a matter of alignment."""
    a, b = before.splitlines(), after.splitlines()
    added: list[list[str]] = []
    removed: list[list[str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("insert", "replace"):
            added.append(_trim(b[j1:j2]))
        if op in ("delete", "replace"):
            removed.append(_trim(a[i1:i2]))
    return [h for h in added if h], [h for h in removed if h]


def _trim(lines: list[str]) -> list[str]:
    text = "\n".join(lines).strip("\n")
    return text.split("\n") if text else []


@pytest.fixture
def commented(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    return path


def test_add_with_a_kind_adds_exactly_one_block_after_the_last_feed(
    commented: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(commented, "add", "https://desk.example/tags/energy", "--kind", "listing",
               "--tags", "energy,Power", "--every", "10m")  # fmt: skip
    assert code == 0, capsys.readouterr().err
    after = commented.read_text(encoding="utf-8")
    block = [
        "[[feeds]]",
        'name = "desk-energy"',
        'kind = "listing"',
        'url = "https://desk.example/tags/energy"',
        'tags = ["energy", "Power"]',
        'schedule = {every = "10m"}',
    ]
    added, removed = diff(COMMENTED, after)
    assert removed == []
    assert added == [block]
    assert '\n\n[[feeds]]\nname = "desk-energy"' in after  # a blank line before it
    # right under the last feed (its comment included), above the sites section
    assert after.index('name = "desk-energy"') < after.index("# --- sites")
    assert after.index('max_age = "2d"') < after.index('name = "desk-energy"')
    feed = load_settings(commented).feed("desk-energy")
    assert (feed.kind, feed.tags) == ("listing", ("energy", "power"))
    assert feed.schedule.every is not None and feed.schedule.every.total_seconds() == 600


def test_add_to_the_shipped_settings_keeps_every_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "settings.toml"
    shutil.copy(REPO / "settings.toml", path)
    before = path.read_text(encoding="utf-8")
    assert run(path, "add", "https://desk.example/feed.xml", "--kind", "rss", "--name", "desk") == 0
    added, removed = diff(before, path.read_text(encoding="utf-8"))
    assert removed == []
    assert added == [["[[feeds]]", 'name = "desk"', 'kind = "rss"',
                      'url = "https://desk.example/feed.xml"']]  # fmt: skip
    after = path.read_text(encoding="utf-8")
    assert after.index('name = "desk"') < after.index("# --- Sites")
    assert load_settings(path).feeds[-1].name == "desk"


def test_add_discovers_the_source_about_the_tag(
    commented: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.herald
    assert run(commented, "add", site.url("/"), "--tags", "ukraine") == 0
    out = capsys.readouterr().out
    assert f"listing {site.url('/tags/ukraine')}" in out
    feed = load_settings(commented).feeds[-1]
    assert (feed.kind, feed.url, feed.tags) == ("listing", site.url("/tags/ukraine"), ("ukraine",))
    assert feed.article_links == "h2 a"
    added, removed = diff(COMMENTED, commented.read_text(encoding="utf-8"))
    assert removed == [] and len(added) == 1
    port = site_port(site.url("/"))
    assert added[0][:2] == ["[[feeds]]", f'name = "127-0-0-1-{port}-ukraine"']


def test_a_given_feed_url_is_the_one_added(
    commented: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.courier
    assert run(commented, "add", site.url("/sitemap-news.xml"), "--name", "courier") == 0
    feed = load_settings(commented).feed("courier")
    assert (feed.kind, feed.url) == ("sitemap", site.url("/sitemap-news.xml"))


def test_a_given_tag_page_is_the_one_added(
    commented: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.gazette
    assert run(commented, "add", site.url("/tag/climate/"), "--name", "climate") == 0
    feed = load_settings(commented).feed("climate")
    assert (feed.kind, feed.url) == ("listing", site.url("/tag/climate/"))
    assert feed.article_links == "h2 a"


def test_disable_enable_and_remove(commented: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(commented, "disable", "wire") == 0
    assert load_settings(commented).feed("wire").enabled is False
    added, removed = diff(COMMENTED, commented.read_text(encoding="utf-8"))
    assert (added, removed) == ([["enabled = false"]], [])
    assert run(commented, "enable", "wire") == 0
    assert commented.read_text(encoding="utf-8") == COMMENTED
    assert run(commented, "disable", "desk-sitemap") == 0  # the last feed, before comments
    text = commented.read_text(encoding="utf-8")
    assert 'max_age = "2d"\nenabled = false\n\n# --- sites' in text
    assert run(commented, "enable", "desk-sitemap") == 0
    assert commented.read_text(encoding="utf-8") == COMMENTED
    assert run(commented, "remove", "desk-sitemap") == 0
    added, removed = diff(COMMENTED, commented.read_text(encoding="utf-8"))
    assert added == []
    assert removed == [["[[feeds]]", 'name = "desk-sitemap"', 'kind = "sitemap"',
                        'url = "https://desk.example/news-sitemap.xml"',
                        "# entries older than this are skipped", 'max_age = "2d"']]  # fmt: skip
    assert [f.name for f in load_settings(commented).feeds] == ["wire"]
    capsys.readouterr()
    assert run(commented, "list", "--format", "json") == 0
    assert '"name": "wire"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("disable", "nope"), "unknown feed 'nope'"),
        (("remove", "nope"), "unknown feed 'nope'"),
        (("add", "https://x.example/rss", "--kind", "rss", "--name", "wire"), "exists already"),
        (("add", "https://x.example/rss", "--kind", "rss", "--name", "Bad Name"), "name"),
        (("add", "https://x.example/rss", "--kind", "rss", "--every", "soon"), "--every"),
        (("add", "x.example/rss", "--kind", "rss"), "URL must be an absolute"),
    ],
)
def test_mistakes_change_nothing_and_exit_2(
    commented: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    assert run(commented, *args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert commented.read_text(encoding="utf-8") == COMMENTED


# -- OPML -------------------------------------------------------------------------------------

EMPTY = """\
# a desk that has no feeds yet
[crawl]
download_delay = 0.0
"""


def feeds_of(path: Path) -> list[dict[str, object]]:
    return [feed.model_dump() for feed in load_settings(path).feeds]


def test_export_then_import_gives_the_same_feeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "source.toml"
    shutil.copy(REPO / "settings.toml", source)
    assert run(source, "disable", "npr-news") == 0  # a non-default key to carry over too
    opml = tmp_path / "feeds.opml"
    assert run(source, "export", "--output", str(opml)) == 0
    text = opml.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml')
    assert 'version="2.0"' in text and 'type="rss"' in text and 'type="link"' in text
    target = tmp_path / "target.toml"
    target.write_text(EMPTY, encoding="utf-8")
    capsys.readouterr()
    assert run(target, "import", str(opml)) == 0
    wanted = feeds_of(source)
    assert capsys.readouterr().out.startswith(f"imported {len(wanted)} feeds from")
    assert feeds_of(target) == wanted
    assert target.read_text(encoding="utf-8").startswith(EMPTY)  # the comment is kept
    # importing the same list again adds nothing and leaves the file as it is
    before = target.read_text(encoding="utf-8")
    assert run(target, "import", str(opml)) == 0
    assert f"({len(wanted)} already configured)" in capsys.readouterr().out
    assert target.read_text(encoding="utf-8") == before


def test_export_to_standard_output(commented: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(commented, "export") == 0
    out = capsys.readouterr().out
    assert out.count("<outline ") == 2
    assert 'xmlUrl="https://wire.example/rss.xml"' in out and 'category="world"' in out


READER_OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>My reader</title></head><body>
<outline text="World">
  <outline text="The Wire" type="rss" xmlUrl="https://wire2.example/feed" category="/News/World"/>
  <outline text="Desk Blog" type="rss" xmlUrl="https://blog.example/atom.xml"/>
</outline>
<outline text="A bookmark" type="link" url="https://bookmark.example/"/>
</body></opml>
"""


def test_a_feed_readers_list_imports_with_names_from_its_titles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "settings.toml"
    target.write_text(EMPTY, encoding="utf-8")
    opml = tmp_path / "reader.opml"
    opml.write_bytes(READER_OPML)
    assert run(target, "import", str(opml)) == 0
    feeds = load_settings(target).feeds
    assert [(f.name, f.kind, f.url, f.tags) for f in feeds] == [
        ("the-wire", "rss", "https://wire2.example/feed", ("world",)),
        ("desk-blog", "rss", "https://blog.example/atom.xml", ()),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body>hello</body></html>", "not an OPML file"),
        (b"<opml version='2.0'><body><outline", "not an OPML file"),
        (b"<opml version='2.0'><body><outline text='folder'/></body></opml>", "no feeds"),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">]>'
            b'<opml version="2.0"><body><outline text="&a;" xmlUrl="https://a.example/&a;"/>'
            b"</body></opml>",
            "DTD or entities",
        ),
    ],
)
def test_a_file_that_is_no_opml_list_changes_nothing_and_exits_1(
    commented: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes,
    message: str,
) -> None:  # fmt: skip
    opml = tmp_path / "bad.opml"
    opml.write_bytes(content)
    assert run(commented, "import", str(opml)) == 1
    err = capsys.readouterr().err
    assert message in err and str(opml) in err and len(err.strip().splitlines()) == 1, err
    assert commented.read_text(encoding="utf-8") == COMMENTED

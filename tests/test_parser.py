"""The parser against golden pages, plus focused tests of what goldens cannot show.

Golden pages live in ``tests/pages``: ``NAME.html`` is a page written for these tests in the
shape of a real kind of news page, ``NAME.json`` holds the ``url`` and ``hints`` to call
``parse_article`` with and the expected ``article`` (null: not an article). Regenerate with
``python scripts/regen_golden.py`` and review the diff: the JSON files are the spec.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.article import Article, ParseHints, SiteRules
from crawler.extract.body import clean_paragraphs
from crawler.extract.parser import parse_article
from crawler.textnorm import normalize_text, paragraph_key

PAGES = Path(__file__).parent / "pages"
NAMES = sorted(p.stem for p in PAGES.glob("*.json"))
# paragraph_keys are hashes of the body's paragraphs, for the store: checked by their own test.
FIELDS = [f.name for f in dataclasses.fields(Article) if f.name != "paragraph_keys"]


def load(name: str) -> tuple[bytes, str, ParseHints | None, dict[str, Any] | None]:
    spec = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    return (PAGES / f"{name}.html").read_bytes(), spec["url"], hints_of(spec), spec["article"]


def hints_of(spec: dict[str, Any]) -> ParseHints | None:
    raw = spec.get("hints")
    if raw is None:
        return None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("published_at", "fetched_at"):
            values[key] = datetime.fromisoformat(value)
        elif key == "site_rules":
            rules: dict[str, Any] = {k: tuple(v) if k == "remove" else v for k, v in value.items()}
            values[key] = SiteRules(**rules)
        elif key == "boilerplate":
            values[key] = frozenset(value)
        else:
            values[key] = tuple(value) if isinstance(value, list) else value
    return ParseHints(**values)


def expected_value(field: str, value: Any) -> Any:
    if value is not None and field in ("published_at", "modified_at"):
        return datetime.fromisoformat(value)
    return tuple(value) if isinstance(value, list) else value


def test_there_are_enough_golden_pages() -> None:
    assert len(NAMES) >= 15
    for name in NAMES:
        assert (PAGES / f"{name}.html").exists(), name


@pytest.mark.parametrize("name", NAMES)
def test_golden_page(name: str) -> None:
    html, url, hints, expected = load(name)
    article = parse_article(html, url, hints)
    if expected is None:
        assert article is None
        return
    assert article is not None
    for field in FIELDS:
        assert getattr(article, field) == expected_value(field, expected[field]), field
    for field in ("published_at", "modified_at"):
        value = getattr(article, field)
        assert value is None or value.utcoffset() is not None
    if not (hints and hints.boilerplate):
        assert article.paragraph_keys == tuple(map(paragraph_key, article.body.split("\n\n")))


# --------------------------------------------------------------------------------------------
# The example page's shape, spelled out


def test_example_shape_gets_everything_right() -> None:
    html, url, _, _ = load("tagged_byline_text_date")
    article = parse_article(html, url, ParseHints(fetched_at=datetime(2022, 11, 12, 3, tzinfo=UTC)))
    assert article is not None
    assert article.published_at == datetime(2022, 11, 12, 0, 29, tzinfo=UTC)
    assert (article.published_source, article.published_precision) == ("text", "minute")
    assert article.tags == ("bridges", "portmere", "storms")
    assert article.authors == ()
    assert article.title == "Portmere Reopens Harbour Bridge Months After Storm Collapse"
    assert article.lead_image_credit == "Tomas Reyes/AFP via Getty Images"
    for chrome in ("©", "rights reserved", "comment", "Share", "Getty", "Open again", "214",
                   "2022-29-11", "Sign up", "Tags:", "Google Play", "Media, Inc"):  # fmt: skip
        assert chrome not in article.body, chrome
    assert article.body.count("\n\n") == 10  # eleven paragraphs, breaks kept


def test_chrome_lines_are_dropped_from_a_body() -> None:
    prose = "The council met on Tuesday and agreed to repair the harbour wall before winter."
    lines = [
        "FREE – Download on the App Store", "Tags: storms | bridges", prose,
        "Reporting from the wires was used in this story.",
        "© 2022 Example News. All rights reserved.", "Tap here to comment on this story",
        "Share", prose, "storms, bridges", "376", "2022-29-11", "Friday, 11 November 2022 07:29 PM",
        "Example News Media, Inc.", "Sign up for our weekly newsletter",
    ]  # fmt: skip
    kept = clean_paragraphs(lines, tags={"storms", "bridges"}, site_names=["Example News"])
    assert kept == [prose, "Reporting from the wires was used in this story."]


def test_chrome_rules_do_not_eat_prose() -> None:
    lines = [
        "By the end of the day, more than 300 people had signed the petition to keep it open.",
        "Share prices of the operator fell 4% after the announcement on Monday morning.",
        "Read more slowly than usual, the statement gave no date for the reopening.",
    ]
    assert clean_paragraphs(lines) == lines


def test_desk_appeals_related_links_and_source_labels_leave_a_body() -> None:
    prose = "The harbour board met on Monday and agreed to dredge the channel before winter."
    lines = [
        prose, "MORE : Ferry fares to rise from April", "Got a story? Get in touch with our team.",
        "For more stories like this, check our news page.",
        "Follow Harbour Daily on Google News to get our reporting in your feed.",
        "Les også: Stormen rev taket av skolen", "Läs också: Färjan ställs in", "Quellen:",
        "Sources", prose.replace("Monday", "Tuesday"),
    ]  # fmt: skip
    assert clean_paragraphs(lines) == [prose, prose.replace("Monday", "Tuesday")]
    kept = [
        "More than 40 boats use the channel every day, the board said.",
        "Sources close to the board said the dredging would cost about 2 million.",
        "Follow-up work on the quay is planned for the spring.",
    ]
    assert clean_paragraphs(kept) == kept


# --------------------------------------------------------------------------------------------
# Determinism, boilerplate, site rules


def test_same_result_whatever_ran_before() -> None:
    html, url, hints, _ = load("jsonld_multi_author_offset")
    first = parse_article(html, url, hints)
    for name in NAMES:
        other_html, other_url, other_hints, _ = load(name)
        parse_article(other_html, other_url, other_hints)
        parse_article(other_html, other_url, other_hints)  # a duplicate would trip a dedup cache
    assert parse_article(html, url, hints) == first
    assert parse_article(html.decode("utf-8"), url, hints) == first


def test_boilerplate_paragraphs_are_dropped() -> None:
    html, url, hints, _ = load("opengraph_meta_only")
    article = parse_article(html, url, hints)
    assert article is not None
    paragraphs = article.body.split("\n\n")
    known = frozenset({paragraph_key(paragraphs[-1].upper() + "  ")})  # spelling must not matter
    trimmed = parse_article(
        html, url, dataclasses.replace(hints or ParseHints(), boilerplate=known)
    )
    assert trimmed is not None
    assert trimmed.body.split("\n\n") == paragraphs[:-1]
    # The keys before the removal: the store goes on counting the paragraph it learned.
    assert trimmed.paragraph_keys == article.paragraph_keys


def test_site_rules_remove_first_then_override_fields() -> None:
    html, url, hints, _ = load("us_dateline_et")
    rules = SiteRules(
        domain="prairieledger.example",
        remove=(".article-body p:nth-of-type(3)",),
        title=".navbar a",
        authors=".navbar a:nth-of-type(3)",
        tags=".navbar a:nth-of-type(2)",
        published=".article-timestamp",
    )
    article = parse_article(html, url, dataclasses.replace(hints or ParseHints(), site_rules=rules))
    assert article is not None
    assert article.title == "Prairie Ledger"
    assert article.authors == ("Food",)
    assert article.tags == ("news",)
    assert "People came hungry" not in article.body
    assert article.published_at == datetime(2023, 9, 8, 23, 29, tzinfo=UTC)
    assert article.published_source == "text"


def test_site_rule_body_selector_wins() -> None:
    html, url, hints, _ = load("us_dateline_et")
    rules = SiteRules(domain="prairieledger.example", body=".article-body p:first-child")
    article = parse_article(html, url, dataclasses.replace(hints or ParseHints(), site_rules=rules))
    assert article is not None
    assert article.body.startswith("The state fair closed its gates")
    assert "\n\n" not in article.body


def test_a_split_story_body_needs_its_site_rule() -> None:
    # The story sits in two div.story-body blocks around an ad slot; the generic extractor
    # keeps the first one only. The [[sites]] body selector takes both.
    html, url, hints, expected = load("split_story_body_site_rule")
    assert hints is not None and hints.site_rules is not None and expected is not None
    generic = parse_article(html, url, dataclasses.replace(hints, site_rules=None))
    assert generic is None or "Ruth Eggers" not in generic.body
    article = parse_article(html, url, hints)
    assert article is not None
    assert article.body == expected["body"]
    assert "Ruth Eggers" in article.body
    assert "Advertisement" not in article.body and "Trucks line up" not in article.body


def test_pull_quotes_repeating_the_text_are_dropped() -> None:
    said = "“We were repairing a network we could not see,” said one engineer on Tuesday."
    lines = [
        said,
        "‘We were repairing a network we could not see’",  # the pull quote: other marks
        "We could not see.",  # too short to tell from a chance repeat: kept
        "The board said it had begun a new survey of the network in September.",
    ]
    assert clean_paragraphs(lines) == [said, *lines[2:]]


def test_bad_site_rule_selector_is_ignored() -> None:
    html, url, hints, expected = load("us_dateline_et")
    rules = SiteRules(domain="prairieledger.example", title="[[[", remove=("!!",))
    article = parse_article(html, url, dataclasses.replace(hints or ParseHints(), site_rules=rules))
    assert article is not None and expected is not None
    assert article.title == expected["title"]


def test_hints_fill_what_the_page_lacks() -> None:
    html = (
        "<html><body><div><p>" + "A quiet paragraph about the harbour and its boats. " * 8
        + "</p><p>" + "Another paragraph follows with more detail on the plan. " * 6
        + "</p></div></body></html>"
    )  # fmt: skip
    hints = ParseHints(
        title="Harbour plan", authors=("By Ann Lee and Bo Park",),
        published_at=datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC), published_source="sitemap",
        image_url="/img/a.jpg", language="nl-BE", tags=("Harbour",),
        fetched_at=datetime(2023, 1, 3, tzinfo=UTC),
    )  # fmt: skip
    article = parse_article(html, "https://example.org/a?utm_source=x", hints)
    assert article is not None
    assert article.title == "Harbour plan"
    assert article.authors == ("Ann Lee", "Bo Park")
    assert article.published_at == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (article.published_source, article.published_precision) == ("sitemap", "second")
    assert article.lead_image_url == "https://example.org/img/a.jpg"
    assert article.language == "nl"
    assert article.tags == ("harbour",)
    assert article.url == "https://example.org/a"


# --------------------------------------------------------------------------------------------
# Junk never raises

JUNK: list[str | bytes] = [
    "",
    b"",
    "   \n\t ",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40,
    bytes(range(256)) * 100,
    "<html><body><p>unclosed <div><span><b>tags <p>everywhere</i></table></html>",
    "<p>" + "x" * 5 + "</p>",
    '<html><body><div data-x="' + "a" * 11_000_000 + '">hi</div></body></html>',
    "<div>" * 5000 + "deep text " * 50 + "</div>" * 5000,
    "<html>\x00\x01\x02<body>\x00 nul bytes <p>" + "text " * 100 + "</p></body></html>",
    '{"json": "not html"}',
    "<html><head><title>404</title></head><body><h1>Page not found</h1></body></html>",
    '<html><head><script type="application/ld+json">{"@type": "NewsArticle", "headline": '
    '["x", {"@value": 3}], "datePublished": {"bad": []}, "author": [null, 5, {"name": ["A"]}], '
    '"keywords": [[1], {"a": 1}], "image": [{}], "inLanguage": 7}</script></head><body>'
    + "<p>"
    + "Some words in a paragraph of reasonable length. " * 10
    + "</p></body></html>",
]


@pytest.mark.parametrize("junk", JUNK, ids=range(len(JUNK)))
def test_junk_never_raises(junk: str | bytes) -> None:
    result = parse_article(junk, "https://example.org/x")
    assert result is None or isinstance(result, Article)


def test_control_characters_never_reach_the_fields() -> None:
    story = "The harbour wall will be rebuilt after the winter storms, the council said. " * 6
    html = (
        "<html><head><title>Harbour\x01 wall</title></head><body><article><h1>Harbour\x1f wall"
        f"</h1><p>{story}</p><p>Second\x0b paragraph\x00 of {story}</p></article></body></html>"
    )
    article = parse_article(html, "https://example.org/a")
    assert article is not None
    assert article.title == "Harbour wall"
    assert "Second paragraph" in article.body
    assert not any(ch in article.body for ch in "\x00\x01\x0b\x1f")


def test_junk_url_never_raises() -> None:
    html, _, _, _ = load("us_dateline_et")
    for url in ("", "not a url", "javascript:alert(1)", "http://[::1", "ftp://example.org/a"):
        article = parse_article(html, url)
        assert article is None or isinstance(article, Article)


def test_textnorm_keys() -> None:
    assert normalize_text("  Ｆｕｌｌ\u00a0WIDTH\n\ttext ") == "full width text"
    assert paragraph_key("A  b") == paragraph_key("a b")
    assert len(paragraph_key("x")) == 40


def test_jsonld_article_body_when_the_page_body_is_empty() -> None:
    body = "First paragraph of the story, rendered by script on the real page.\n\n" + (
        "Second paragraph with enough words to count as article text for the parser. " * 3
    )
    html = (
        '<html lang="en"><head><script type="application/ld+json">'
        + json.dumps(
            {"@type": "NewsArticle", "headline": "Scripted story", "articleBody": body,
             "datePublished": "2023-05-06T07:08:09+00:00"}
        )
        + '</script></head><body><div id="app"></div></body></html>'
    )  # fmt: skip
    article = parse_article(html, "https://example.org/s", ParseHints(fetched_at=NOW))
    assert article is not None
    assert article.body.split("\n\n") == [p.strip() for p in body.split("\n\n")]
    assert article.published_source == "json-ld"


NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_author_listing_url_is_not_an_article() -> None:
    html, _, hints, _ = load("htmldate_url_date")
    assert parse_article(html, "https://fenlandecho.example/author/grace-pemberton/", hints) is None


def test_junk_jsonld_dates_fall_through_to_meta() -> None:
    html, url, hints, _ = load("junk_jsonld_dates")
    article = parse_article(html, url, hints)
    assert article is not None
    assert article.published_source == "meta"
    assert article.published_at == datetime(2022, 4, 19, 20, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "site_names", "url", "expected"),
    [
        ("Dam repairs begin | RV | 03.05.2024", ["rv.example"], "https://rv.example/a",
         "Dam repairs begin"),
        ("Dam repairs begin - The River Valley Times", [], "https://rivervalleytimes.example/a",
         "Dam repairs begin"),
        ("Dam repairs begin - Local｜Valley Daily", ["Valley Daily"], "https://vd.example/a",
         "Dam repairs begin"),
        ("Covid-19 rules end in schools", ["Valley Daily"], "https://vd.example/a",
         "Covid-19 rules end in schools"),
        ("Valley Daily | Dam repairs begin", ["Valley Daily"], "https://vd.example/a",
         "Dam repairs begin"),
        ("Flood report: dam repairs begin", ["Flood Report"], "https://vd.example/a",
         "Flood report: dam repairs begin"),
        ("강변 둑 보수 시작됐다-사회ㅣ강변일보", ["강변일보"], "https://gb.example/a",
         "강변 둑 보수 시작됐다"),
        ("강변 둑 보수 시작됐다-사회", ["강변일보"], "https://gb.example/a",
         "강변 둑 보수 시작됐다-사회"),
    ],
)  # fmt: skip
def test_site_name_date_and_section_segments_leave_the_title(
    title: str, site_names: list[str], url: str, expected: str
) -> None:
    from crawler.extract.titles import strip_site_name

    assert strip_site_name(title, site_names, url) == expected


_METADATA = ["Heat wave: old trams and cracked bridges are the biggest risks"]


@pytest.mark.parametrize(
    ("h1_markup", "expected"),
    [
        # the article header's headline in other words than the metadata: the page shows it
        ("<article><header><h1>How the tram operator and road agency prepare for summer</h1>"
         "</header></article>", "How the tram operator and road agency prepare for summer"),
        # a kicker-less or kicker-prefixed copy of the metadata headline is not another wording
        ("<article><header><h1><span class='kicker'>Heat wave</span>"
         "<span>Old trams and cracked bridges are the biggest risks</span></h1></header>"
         "</article>", None),
        # a headline in a breadcrumb, a linked rail title, or outside the article's header
        ("<article><header><nav class='breadcrumb'><h1>How the tram operator and road agency"
         " prepare for summer</h1></nav></header></article>", None),
        ("<article><header><h1><a href='/region'>More stories from the whole region</a></h1>"
         "</header></article>", None),
        ("<main><h1>How the tram operator and road agency prepare for summer</h1></main>", None),
        ("<article><header><h1>Forum: 5 postings</h1></header></article>", None),
    ],
)  # fmt: skip
def test_an_article_header_headline_in_other_words_than_the_metadata(
    h1_markup: str, expected: str | None
) -> None:
    from lxml import html as lxml_html

    from crawler.extract.titles import unshared_headline

    h1 = lxml_html.fromstring(f"<html><body>{h1_markup}</body></html>").find(".//h1")
    assert unshared_headline(h1, _METADATA) == expected

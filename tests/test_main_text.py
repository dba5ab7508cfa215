"""Our run of trafilatura's cascade gives what ``bare_extraction`` gives, fallback or not.

:mod:`crawler.extract.main_text` runs trafilatura's stages itself so that it can leave out
the readability/justext comparison where the first extraction is clearly good. These check
that the cascade is trafilatura's (with the comparison always run, the body is the one
``bare_extraction`` returns, on every golden page and on pages whose first extraction
is poor) and that leaving the comparison out changes no body on those pages.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import trafilatura
from lxml import etree

from crawler.extract import main_text as mt
from crawler.extract.decoding import decode_html

PAGES = Path(__file__).parent / "pages"
URL = "https://news.example/2026/12/04/harbour-budget"
SENTENCE = (
    "The council approved the new harbour budget after a long debate about dredging costs "
    "and the future of the ferry terminal. "
)


def _made_pages() -> dict[str, str]:
    paragraphs = "".join(f"<p>{SENTENCE * 2}</p>" for _ in range(8))
    return {
        "a short story": f"<html><body><article><h1>Budget</h1><p>{SENTENCE}</p></article>"
        "<aside><a href='/a'>Other story</a></aside></body></html>",
        "a table layout": f"<html><body><table><tr><td><h1>Budget</h1>{paragraphs}</td></tr>"
        "</table></body></html>",
        "text in breaks": "<html><body><div class='story'><h1>Budget</h1><div>"
        + "<br><br>".join(SENTENCE * 2 for _ in range(8))
        + "</div></div><footer>(c) The Paper</footer></body></html>",
        "a long story": f"<html><body><nav><a href='/'>Home</a></nav><article><h1>Budget</h1>"
        f"{paragraphs}</article><footer>(c) The Paper</footer></body></html>",
        "paragraphs and an iframe": f"<html><body><article><h1>Budget</h1>{paragraphs}"
        "<iframe src='https://video.example/1'></iframe></article></body></html>",
    }


def _trees() -> list[tuple[str, Any]]:
    trees = [
        (page.stem, lxml.html.document_fromstring(decode_html(page.read_bytes(), None)))
        for page in sorted(PAGES.glob("*.html"))
    ]
    trees += [(name, lxml.html.document_fromstring(html)) for name, html in _made_pages().items()]
    return trees


TREES = _trees()


def _text(body: Any | None) -> str | None:
    return None if body is None else etree.tostring(body, method="text", encoding="unicode")


def _bare(tree: Any) -> str | None:
    return _text(mt._bare_extraction(copy.deepcopy(tree), URL))


@pytest.mark.skipif(not mt.CASCADE, reason="this trafilatura lacks the cascade's functions")
@pytest.mark.parametrize(("name", "tree"), TREES, ids=[name for name, _ in TREES])
def test_the_cascade_is_trafilaturas_and_the_gate_changes_no_body(name: str, tree: Any) -> None:
    expected = _bare(tree)
    assert _text(mt._cascade(copy.deepcopy(tree), URL, always_compare=True)) == expected
    assert _text(mt.main_text(copy.deepcopy(tree), URL)) == expected


@pytest.mark.skipif(not mt.CASCADE, reason="this trafilatura lacks the cascade's functions")
def test_without_copies_the_trees_are_made_again_only_for_the_comparison() -> None:
    made_again: list[str] = []
    for name, tree in TREES:

        def again(name: str = name, tree: Any = tree) -> Any:
            made_again.append(name)
            return copy.deepcopy(tree)

        assert _text(mt.main_text(copy.deepcopy(tree), URL, again=again)) == _bare(tree), name
    # The comparison ran where the first extraction was poor, and only there.
    assert {"a short story", "a table layout", "text in breaks"} <= set(made_again)
    assert len(made_again) == len(set(made_again))
    assert len(made_again) < len(TREES)  # a clearly good extraction needs none


def test_only_a_long_clean_extraction_in_paragraphs_skips_the_comparison() -> None:
    def body(inner: str) -> Any:
        return lxml.html.fragment_fromstring(inner, create_parent="body")

    long_text = SENTENCE * 10
    three = "".join(f"<p>{SENTENCE * 3}</p>" for _ in range(3))
    assert mt.clearly_good(body(three), long_text)
    assert not mt.clearly_good(body(three), SENTENCE)  # short
    assert not mt.clearly_good(body(f"<p>{long_text}</p>"), long_text)  # one block
    assert not mt.clearly_good(body(three + "<nav>Menu</nav>"), long_text)  # unclean
    tables = "<table><tr><td>a</td></tr></table>" * 4
    assert not mt.clearly_good(body(three + tables), long_text)  # a table layout


def test_trafilatura_is_the_version_whose_cascade_we_run() -> None:
    # main_text mirrors trafilatura_sequence of this minor version (see pyproject's pin).
    assert trafilatura.__version__.startswith("2.3.")


# Every branch of trafilatura's raw-tree and comment prunes, kept and pruned.
PRUNABLE = """<html><body><article><h1>Budget</h1><p>Text of the story.</p></article>
<div id="mvp-post-add-box">An advert</div>
<section class="feed infinite-scroll"><h1>Kept: an infinite scroll with a headline</h1></section>
<aside class="mvp-post-add-wrap"><h1>Pruned: an advert box, headline or not</h1></aside>
<div class="elementor-share-buttons--view">Share</div>
<div id="comments">Comments</div><div id="commentary">Kept: commentary</div>
<ul class="post-comments"><li>A comment</li></ul>
<ol id="disqus_thread"><li>Kept in the list prune: a list with only this id</li></ol>
<details class="Comment-box">A comment</details><list class="comment-list">Converted</list>
<div class="comments"><div class="comment">A nested comment</div></div>
</body></html>"""


@pytest.mark.skipif(not mt.MIRRORED_PRUNES, reason="this trafilatura's prunes are not mirrored")
def test_the_mirrored_prunes_select_what_trafilaturas_expressions_select() -> None:
    from trafilatura.xpaths import (
        RAW_TREE_PRUNE_XPATH,
        REMOVE_COMMENTS_AND_LISTS_XPATH,
        REMOVE_COMMENTS_XPATH,
    )

    pairs = [
        (mt._ad_boxes, RAW_TREE_PRUNE_XPATH[0]),
        (mt._share_buttons, RAW_TREE_PRUNE_XPATH[1]),
        (mt._comments_and_lists, REMOVE_COMMENTS_AND_LISTS_XPATH[0]),
        (mt._comments, REMOVE_COMMENTS_XPATH[0]),
    ]
    prunable = lxml.html.document_fromstring(PRUNABLE)
    for name, tree in [("prunable", prunable), *TREES]:
        paths = tree.getroottree().getpath
        for ours, theirs in pairs:
            assert [paths(e) for e in ours(tree)] == [paths(e) for e in theirs(tree)], (name, ours)
    # The made page reaches every branch: each prune finds something there, and not all.
    found = {ours.__name__: [e.text_content()[:12] for e in ours(prunable)] for ours, _ in pairs}
    assert found == {
        "_ad_boxes": ["An advert", "Pruned: an a"],
        "_share_buttons": ["Share"],
        "_comments_and_lists": [
            "Comments",
            "A comment",
            "A comment",
            "Converted",
            "A nested com",
            "A nested com",
        ],
        "_comments": ["Comments", "A comment", "Converted", "A nested com", "A nested com"],
    }, found


def test_the_cascade_with_comments_and_adverts_is_trafilaturas() -> None:
    tree = lxml.html.document_fromstring(PRUNABLE.replace("Text of the story.", SENTENCE * 12))
    expected = _bare(tree)
    assert expected is not None and "council" in expected
    assert "A comment" not in expected and "An advert" not in expected
    assert _text(mt.main_text(copy.deepcopy(tree), URL)) == expected

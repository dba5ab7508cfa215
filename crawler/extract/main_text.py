"""trafilatura's main-text cascade for our settings, with its fallback run only where it can pay.

``trafilatura.bare_extraction(favor_precision=True, include_comments=False)`` runs, on every
page, its own extractor and then a comparison with readability and justext
(``compare_extraction``): on a real news page of 300 KB that comparison is a quarter of the
whole parse (it prunes the raw tree once more, then readability scores every block), and
it changes the result only where trafilatura's own extraction came back empty, short or
malformed. Measured on 137 real pages of 93 publishers: the comparison replaced the text on
3 pages, each time an empty extraction; never one of 1,000 characters or more.

So :func:`main_text` runs the same cascade as ``bare_extraction`` does for these settings
(the raw-tree prunes, cleaning and tag conversion, the comment prune, the main extractor)
and asks for the comparison only when the extraction is not :func:`clearly_good`:
at least ``CLEARLY_GOOD_CHARS`` of text in at least ``CLEARLY_GOOD_PARAGRAPHS`` paragraphs,
none of the markup the comparison treats as unclean, no table-made layout. Those are the
conditions under which ``compare_extraction`` prefers another result (an empty or short
text, missing ``<p>`` text, a table-dominated or unclean body) — only "readability found
twice as much" is left, which a long, well-formed extraction does not meet in practice.

The cascade uses trafilatura's own functions (pinned to the minor version whose cascade
this mirrors, see pyproject); if they are not there, ``bare_extraction`` runs as before.
It also skips ``bare_extraction``'s copy of the tree: the caller's tree is a copy already.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from copy import copy
from typing import Any

import trafilatura

try:
    from trafilatura.core import _forum_thread_page, _prepare_tree
    from trafilatura.external import SANITIZED_XPATH, compare_extraction
    from trafilatura.htmlprocessing import convert_tags, prune_unwanted_nodes, tree_cleaning
    from trafilatura.main_extractor import extract_content
    from trafilatura.settings import Extractor
    from trafilatura.xml import delete_element
    from trafilatura.xpaths import (
        RAW_TREE_PRUNE_XPATH,
        REMOVE_COMMENTS_AND_LISTS_XPATH,
        REMOVE_COMMENTS_XPATH,
    )

    CASCADE = True
except ImportError:  # another trafilatura: its own bare_extraction, fallback every time
    CASCADE = False

CLEARLY_GOOD_CHARS = 1000
CLEARLY_GOOD_PARAGRAPHS = 3


def main_text(tree: Any, url: str, again: Callable[[], Any] | None = None) -> Any | None:
    """trafilatura's body element for ``tree`` (which it may change), or None.

    ``again()``, if given, makes ``tree`` anew as it was: the cascade then cleans ``tree``
    itself instead of keeping a copy of it and of the cleaned tree for the comparison with
    readability and justext (1 ms a real page), and makes them again on the rare page that
    needs the comparison (8 of 137 real pages)."""
    with warnings.catch_warnings():
        # trafilatura warns through logging, not warnings, today; this keeps a future
        # DeprecationWarning inside it from failing a run under filterwarnings=error.
        warnings.simplefilter("ignore", DeprecationWarning)
        if not CASCADE:
            return _bare_extraction(tree, url)
        return _cascade(tree, url, always_compare=False, again=again)


def _options(url: str) -> Any:
    return Extractor(
        precision=True, comments=False, tables=False, images=False, dedup=False, url=url
    )


def _cascade(
    tree: Any, url: str, always_compare: bool, again: Callable[[], Any] | None = None
) -> Any | None:
    """``trafilatura_sequence`` for precision, no comments: its stages 1 and 2 (stage 3 and
    4 are for the other focus modes), then ``bare_extraction``'s size check."""
    options = _options(url)
    is_forum = _forum_thread_page(tree)
    tree = _raw_prunes(tree)
    if again is None or always_compare:
        cleaned, backup = _prepare_tree(tree, options, url)
    else:  # _prepare_tree without its copies, kept for the comparison (made again below)
        cleaned, backup = convert_tags(tree_cleaning(tree, options), options, url), None
    if not is_forum:
        if MIRRORED_PRUNES:
            _delete_all(_comments(cleaned))
        else:
            cleaned = prune_unwanted_nodes(cleaned, REMOVE_COMMENTS_XPATH)
    body, text = extract_content(cleaned, options)
    if always_compare or not clearly_good(body, text):
        if backup is None:
            assert again is not None
            # The raw tree and the cleaned copy, as the copying path above keeps them.
            tree = _raw_prunes(again())
            _, backup = _prepare_tree(tree, options, url)
        body, text = compare_extraction(backup, copy(tree), body, text, options)
    if len(text) < options.min_output_size:
        return None
    return body


# trafilatura's raw-tree and comment prunes, as its XPath expressions say them, in Python.
# The expressions call EXSLT's re:test, which lxml answers in Python, once per attribute of
# every div and section: about 3.4 ms of a real page, where these loops take about 1 ms.
# They select the same elements in the same (document) order; they stand in only while
# trafilatura's expressions are these (MIRRORED_XPATHS), else its own run.
_AD_BOX = re.compile(r"mvp-post-add-(?:box|wrap)|infinite-?scroll")
_AD_BOX_NAME = re.compile(r"mvp-post-add-(?:box|wrap)")
_COMMENTS_ID = re.compile(r"^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)")
_COMMENTS_CLASS = re.compile(r"^[Cc]omment(?!ary)|(?:article|post)-comments")
_COMMENT_LIST_ID = re.compile(r"^(?:[Cc]omment(?!ary)|comol)")


def _matches(element: Any, pattern: re.Pattern[str], attribute: str) -> bool:
    """``re:test(@attribute, pattern)``: a search in the value, '' when it is missing."""
    return pattern.search(element.get(attribute) or "") is not None


def _ad_boxes(tree: Any) -> list[Any]:
    return [
        e
        for e in tree.iterdescendants("div", "section", "aside")
        if (_matches(e, _AD_BOX, "id") or _matches(e, _AD_BOX, "class"))
        and (
            e.find(".//h1") is None
            or _matches(e, _AD_BOX_NAME, "id")
            or _matches(e, _AD_BOX_NAME, "class")
        )
    ]


def _share_buttons(tree: Any) -> list[Any]:
    return [
        e
        for e in tree.iterdescendants("div", "section", "aside")
        if "elementor-share-buttons" in (e.get("class") or "")
    ]


def _is_comments(element: Any) -> bool:
    return _matches(element, _COMMENTS_ID, "id") or _matches(element, _COMMENTS_CLASS, "class")


def _comments_and_lists(tree: Any) -> list[Any]:
    return [
        e
        for e in tree.iterdescendants("div", "list", "section", "details", "ol", "ul")
        if _is_comments(e)
        and (
            e.tag not in ("ol", "ul")
            or _matches(e, _COMMENT_LIST_ID, "id")
            or _matches(e, _COMMENTS_CLASS, "class")
        )
    ]


def _comments(tree: Any) -> list[Any]:
    return [e for e in tree.iterdescendants("div", "list", "section", "details") if _is_comments(e)]


def _raw_prunes(tree: Any) -> Any:
    """trafilatura's prunes of the raw tree, in place (the tree returned)."""
    if not MIRRORED_PRUNES:
        tree = prune_unwanted_nodes(tree, RAW_TREE_PRUNE_XPATH)
        return prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)
    for prune in (_ad_boxes, _share_buttons, _comments_and_lists):
        _delete_all(prune(tree))
    return tree


def _delete_all(elements: list[Any]) -> None:
    for element in elements:  # as prune_unwanted_nodes: all found first, tails kept
        delete_element(element)


def _normalised(path: str) -> str:
    return " ".join(path.split())


# The expressions the loops above mirror (trafilatura 2.3), whitespace normalised.
MIRRORED_XPATHS = (
    ".//*[self::div or self::section or self::aside][ re:test(@id, 'mvp-post-add-(?:box|wrap)|"
    "infinite-?scroll') or re:test(@class, 'mvp-post-add-(?:box|wrap)|infinite-?scroll')][ "
    "not(.//h1) or re:test(@id, 'mvp-post-add-(?:box|wrap)') or re:test(@class, "
    "'mvp-post-add-(?:box|wrap)')]",
    ".//*[self::div or self::section or self::aside][contains(@class, 'elementor-share-buttons')]",
    ".//*[self::div or self::list or self::section or self::details or self::ol or self::ul][ "
    "re:test(@id, '^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)') or re:test(@class, "
    "'^[Cc]omment(?!ary)|(?:article|post)-comments')][ not(self::ol or self::ul) or re:test(@id, "
    "'^(?:[Cc]omment(?!ary)|comol)') or re:test(@class, '^[Cc]omment(?!ary)|(?:article|post)-"
    "comments')]",
    ".//*[self::div or self::list or self::section or self::details][ re:test(@id, "
    "'^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)') or re:test(@class, "
    "'^[Cc]omment(?!ary)|(?:article|post)-comments')]",
)
MIRRORED_PRUNES = CASCADE and tuple(
    _normalised(x.path)
    for x in (*RAW_TREE_PRUNE_XPATH, *REMOVE_COMMENTS_AND_LISTS_XPATH, *REMOVE_COMMENTS_XPATH)
) == tuple(_normalised(x) for x in MIRRORED_XPATHS)


def clearly_good(body: Any, text: str) -> bool:
    """An extraction the readability/justext comparison would keep: long, in paragraphs,
    clean, not a table layout."""
    if len(text) < CLEARLY_GOOD_CHARS:
        return False
    paragraphs = [p for p in body.iter("p") if (p.text or len(p))]
    if len(paragraphs) < CLEARLY_GOOD_PARAGRAPHS:
        return False
    if len(body.findall(".//table")) > len(paragraphs):
        return False
    return not body.xpath(SANITIZED_XPATH)


def _bare_extraction(tree: Any, url: str) -> Any | None:
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        deduplicate=False,
        with_metadata=False,
    )
    return getattr(document, "body", None)

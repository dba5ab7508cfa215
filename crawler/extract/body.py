"""The article body: trafilatura's main-text extraction, then our own chrome filter.

trafilatura (``favor_precision=True``, no comments, no tables, ``deduplicate=False`` so
its output never depends on what the process parsed before; its cascade run by
:mod:`crawler.extract.main_text`) finds the main text on a copy of the shared lxml tree, so
the caller's tree stays intact. That copy first loses what is never shown (scripts but
JSON-LD, styles, SVG: every XPath pass after walks a smaller tree), then what
trafilatura tends to keep on news sites (``prune_chrome``: captions and photo boxes,
credits, share bars, pull quotes, embedded social posts, e-mail sign-up boxes, tag lines,
the kicker above the headline; in Python, because the same test as a ``prune_xpath``
expression cost several milliseconds per page). We walk trafilatura's result element by
element, so paragraph breaks survive; when its readability/justext fallback wins, the
result is plain HTML, which the walk handles too.

What still gets through is filtered per paragraph: copyright lines, comment prompts, share
labels, "read more" lines (also in Spanish, German, French, Italian and Portuguese), app and
newsletter promos, tag lines, bylines, lone dates and numbers, the image caption, the
headline, paragraphs repeated later in a metadata block, and short paragraphs whose words
run inside a longer one (pull quotes without markup). A copyright line or a comment prompt
near the end closes the article: whatever follows it is page furniture. The paragraphs the
site repeats on many pages are the parser's to drop (``ParseHints.boilerplate``, learned by
:mod:`crawler.store.boilerplate`).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable
from typing import Any

from lxml import etree

from crawler.extract.elements import clean, text_of
from crawler.extract.lead_image import photo_box
from crawler.extract.main_text import main_text
from crawler.extract.visible_dates import find_visible_date
from crawler.textnorm import normalize_text, paragraph_key

# Words in class/id names of blocks that are never article text. Names are split into words
# ("artPgImgCaption" → art pg img caption) so "commentary" or "subscriber-content" survive.
# An element is only pruned when it holds fewer than three long paragraphs, so a wrapper
# named "article-share" around the whole story survives too.
_PRUNE_WORDS = frozenset(
    {"caption", "captions", "credit", "credits", "share", "sharing", "sharebar", "social",
     "newsletter", "signup", "subscribe", "related", "recommended", "recommendations", "promo",
     "smartbanner", "appbanner", "byline", "dateline", "tags", "taglist", "breadcrumb",
     "breadcrumbs", "comment", "comments", "paywall", "pullquote", "modal",
     # embedded posts: a platform's card, not the article's text
     "embed", "embeds", "oembed", "tweet", "twitter", "instagram", "tiktok", "facebook", "fb"}
)  # fmt: skip
_PRUNE_TAGS = frozenset(
    {"div", "span", "p", "section", "aside", "ul", "form", "figcaption", "blockquote"}
)
# Pairs of words that name chrome together but not alone ("pull-right" is a float).
_PRUNE_PAIRS = ({"pull", "quote"}, {"pull", "quotes"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _names_of(element: Any) -> str:
    return f"{element.get('class') or ''} {element.get('id') or ''}"


# A page repeats a few dozen class names over thousands of elements, and sites repeat them
# over their pages: each name's verdict is worked out once.
@functools.lru_cache(maxsize=4096)
def _chrome_verdict(names: str) -> tuple[bool, bool]:
    """(names chrome, names only a paywall): class and id split at camelCase, - and _."""
    words = frozenset(_NON_WORD.split(_CAMEL.sub(" ", names).lower()))
    found = words & _PRUNE_WORDS
    chrome = bool(found) or any(pair <= words for pair in _PRUNE_PAIRS)
    return chrome, found == {"paywall"}


def _is_chrome_block(element: Any) -> bool:
    chrome, paywall_only = _chrome_verdict(_names_of(element))
    if paywall_only and element.tag == "p":
        return False  # the story's own paragraphs, marked as paid-for but served in full
    return chrome


def prune_chrome(tree: Any) -> None:
    """Remove captions, share bars, newsletter boxes, tag lines... from ``tree`` in place."""
    doomed = []
    for element in tree.iter(*_PRUNE_TAGS):
        if element.tag == "figcaption":
            doomed.append(element)
        elif (element.get("class") or element.get("id")) and _is_chrome_block(element):
            long_paragraphs = sum(
                1 for p in element.iter("p") if len(p.text_content().strip()) > 150
            )
            if long_paragraphs < 3:
                doomed.append(element)
    doomed.extend(_signup_boxes(tree))
    doomed.extend(box for image in tree.iter("img") if (box := photo_box(image)) is not None)
    doomed.extend(_kickers(tree))
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()  # keeps the tail text


def _flatten_ruby(tree: Any) -> None:
    """Ruby annotations as the text they show: "尹錫悦（ユンソンニョル）". trafilatura drops
    ``<rt>``/``<rp>``, and with them the readings Japanese papers give for names."""
    for ruby in list(tree.iter("ruby")):
        parent = ruby.getparent()
        if parent is None:
            continue
        text = "".join(ruby.itertext()) + (ruby.tail or "")
        previous = ruby.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + text
        else:
            parent.text = (parent.text or "") + text
        parent.remove(ruby)


_KICKER_CHARS = 60


def _kickers(tree: Any) -> list[Any]:
    """Short labels just above the headline (a section name, "Analysis", "Exclusive"): the
    page's first ``<h1>`` is the top of the article, what sits beside it before is not."""
    headline = next(tree.iter("h1"), None)
    if headline is None:
        return []
    return [
        sibling
        for sibling in headline.itersiblings(preceding=True)
        if isinstance(sibling.tag, str) and len(text_of(sibling)) < _KICKER_CHARS
    ]


_EMAIL_INPUT = etree.XPath(".//input[@type='email' or contains(@name, 'mail')]")
_SIGNUP_BOX_CHARS = 500


def _signup_boxes(tree: Any) -> list[Any]:
    """Forms asking for an e-mail address, with the promo around them ("The Morning Brief:
    the stories that matter, in your inbox"): the largest block that is nothing else."""
    boxes = []
    for form in tree.iter("form"):
        if not _EMAIL_INPUT(form):
            continue
        box = form
        for ancestor in form.iterancestors():
            if ancestor.tag in ("body", "html", "article", "main"):
                break
            if len(text_of(ancestor)) > _SIGNUP_BOX_CHARS:
                break
            box = ancestor
        boxes.append(box)
    return boxes


_CHROME_LINES = [
    re.compile(p, re.I)
    for p in (
        r"^(©|\(c\)|copyright\b)",
        r"\ball rights reserved\b",
        r"\b(click|tap) here to (comment|read|subscribe|sign up)",
        r"\bcomment on this (article|story)\b|^(read|view|show|post|leave|add) (and post )?"
        r"(a |all |the )?comments?\b|^\d+\s+comments?$|^comments?$|^join the conversation",
        r"^(share|share this( article| story| page)?|share on \w+|tweet|email|print|save|copy link)"
        r"[\s!.:]*$",
        r"^(read more|related|related (stories|articles|coverage|content)|more from|recommended"
        r"( for you)?|you (may|might) also like|most (read|popular)|trending( now)?|see also|"
        r"also read|watch|listen)\b(\s*[:»›>|–—-]|[^.!?]{0,50}$)",
        # the same in Spanish, German, French, Italian and Portuguese
        r"^(lee|lea) también|^te puede interesar|^(más|mas) información|^lesen sie (auch|mehr)|"
        r"^mehr zum thema|^auch interessant|^(à )?lire aussi|^voir aussi|^leggi anche|"
        r"^(leia|veja) também|^saiba mais",
        # ... Norwegian, Danish, Swedish, Finnish and Dutch
        r"^(les|læs|läs) (også|ogs[åa]|också|mer)\s*:|^lue myös\s*:|^lees ook\s*:",
        # a related link given as "MORE : ...", and the news desk's standing appeals
        r"^more\s+:\s|^got a story\? get in touch\b|^for more stories like this\b",
        r"^follow [^.!?]{1,40} on (google news|twitter|x|facebook|instagram|whatsapp)\b",
        # the bare label of a list of sources under the story ("Quellen:", "Kilde:")
        r"^(quellen?|sources?|kilde[r]?|källor|fuentes?|fontes?)\s*:?$",
        r"^(todos los derechos reservados|alle rechte vorbehalten|tous droits réservés|"
        r"tutti i diritti riservati|todos os direitos reservados)\b",
        r"\b(sign up|subscribe|register) (for|to) (our|the|a)\b.*\b(newsletter|briefing|alerts|"
        r"digest|updates)|\bnewsletter\b|(delivered|sent) (right )?to your inbox",
        r"\b(app store|google play|download the .{0,40}app|get the app)\b",
        r"^(tags?|topics?|related topics|keywords|filed under)\s*:",
        r"^(advertisement|sponsored( content)?|skip to (main )?content|story continues below"
        r"( advertisement)?|continue reading|top|view|back to top|watch (tv )?live)$",
        r"\b(subscribe|log ?in|sign ?in) to (continue|read|keep reading)|already a subscriber|"
        r"subscribers only|this (article|content) is (only )?(for|available to) subscribers",
        r"^(photo|image|picture|video|graphic)s?(\s+credit)?\s*:|via getty images\)?$",
        r"^privacy\s*:",
    )
]
_END_MARKERS = re.compile(
    r"^(©|\(c\)|copyright\b).{0,150}$|\ball rights reserved\b|comment on this (article|story)"
    r"|\b(todos los derechos reservados|alle rechte vorbehalten|tous droits réservés)\b",
    re.I,
)
_NUMERIC = re.compile(r"^[\d\s.,:/-]+$")
_ORG_LINE = re.compile(r"\b(inc|ltd|llc|gmbh|plc|corp|s\.a)\.?$", re.I)
_BYLINE_LINE = re.compile(r"^by\s+[^.!?]{0,80}$", re.I)
_DATE_SHAPES = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{1,2}:\d{2}\s*([ap]\.?m\.?)?|\b(mon|tue|wed|thu|fri|sat|sun)"
    r"[a-z]*\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?|\b\d{1,4}\b|\b[A-Z]{2,4}\b",
    re.I,
)


# Never shown as text, and trafilatura's cleaning drops them anyway: gone from the copy first,
# every XPath pass of the cascade (and prune_chrome) walks a smaller tree. An SVG icon is
# dozens of elements; JSON-LD stays (trafilatura looks there for forum threads).
_UNSEEN = ("style", "svg", "noscript", "iframe", "link")


def _drop_unseen(tree: Any) -> None:
    etree.strip_elements(tree, *_UNSEEN, with_tail=False)
    scripts = [s for s in tree.iter("script") if s.get("type") != "application/ld+json"]
    for script in scripts:
        script.drop_tree()


def run_trafilatura(tree: Any, url: str) -> list[str]:
    """Paragraphs of trafilatura's main text, in order; [] when it finds nothing. Works on
    copies, made again if the cascade needs one more: the caller's tree stays as it was."""

    def prepared() -> Any:
        copied = copy.deepcopy(tree)
        _drop_unseen(copied)
        prune_chrome(copied)
        _flatten_ruby(copied)
        return copied

    body = main_text(prepared(), url, again=prepared)
    return [] if body is None else _paragraphs(body)


# trafilatura's own output uses p/head/list/item/quote; when its fallback (readability,
# justext) wins, the body is plain HTML instead, so both vocabularies are handled.
_LEAF_TAGS = frozenset(
    {"p", "head", "quote", "item", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote",
     "pre", "code", "dd", "dt", "td", "th"}
)  # fmt: skip
_SKIP_TAGS = frozenset(
    {"table", "graphic", "ref", "img", "figure", "figcaption", "script", "style", "form",
     "button", "input", "select", "textarea", "video", "audio", "iframe", "noscript"}
)  # fmt: skip
_CONTAINER_TAGS = frozenset(
    {"div", "section", "article", "main", "body", "list", "ul", "ol", "dl", "header", "footer",
     "aside", "nav", "center", "details", "span"}
)  # fmt: skip


def _paragraphs(body: Any) -> list[str]:
    out: list[str] = []
    _walk(body, out)
    return [p for p in out if p]


def _walk(node: Any, out: list[str]) -> None:
    children = [c for c in node if isinstance(c.tag, str)]
    if not any(c.tag in _LEAF_TAGS or c.tag in _CONTAINER_TAGS for c in children):
        if node.tag not in _SKIP_TAGS:
            out.append(_flat(node))  # a container of inline text is one paragraph
        return
    out.append(clean(node.text))
    for child in node:
        if not isinstance(child.tag, str) or child.tag in _SKIP_TAGS:
            pass
        elif child.tag in _LEAF_TAGS:
            out.append(_flat(child))
        elif child.tag in _CONTAINER_TAGS:
            _walk(child, out)
        else:
            out.append(_flat(child))  # a stray inline element between blocks
        out.append(clean(child.tail))


def _flat(element: Any) -> str:
    """Text of one paragraph element; <lb/> and <br> line breaks become spaces."""
    return clean(_join(element))


def _join(element: Any) -> str:
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and child.tag not in _SKIP_TAGS:
            parts.append(" " if child.tag in ("lb", "br") else _join(child))
        parts.append(child.tail or "")
    return "".join(parts)


def paragraphs_of(elements: Iterable[Any]) -> list[str]:
    """Paragraphs under site-rule body elements: their <p>/heading/<li> blocks, else their text.

    Each element is read from a copy without its chrome (:func:`prune_chrome`): a selector
    names where the story is, not every caption and sign-up box inside it.
    """
    out: list[str] = []
    for original in elements:
        element = copy.deepcopy(original)
        element.tail = None
        prune_chrome(element)
        blocks = element.xpath(".//p | .//h2 | .//h3 | .//h4 | .//li | .//blockquote[not(.//p)]")
        texts = [text_of(b) for b in blocks] if blocks else [text_of(element)]
        out.extend(t for t in texts if t)
    return out


def split_article_body(text: str) -> list[str]:
    """JSON-LD articleBody: paragraphs on blank lines, else on line breaks."""
    chunks = re.split(r"\n\s*\n", text) if "\n\n" in text else text.splitlines()
    return [c for c in (clean(chunk) for chunk in chunks) if c]


def clean_paragraphs(
    paragraphs: list[str],
    *,
    title: str = "",
    skip: Iterable[str | None] = (),
    tags: Iterable[str] = (),
    site_names: Iterable[str | None] = (),
    boilerplate: frozenset[str] = frozenset(),
) -> list[str]:
    """Drop the chrome; keep article paragraphs in order."""
    skipped = {normalize_text(t) for t in (title, *skip) if t}
    tag_set = {t.casefold() for t in tags}
    names = [n.casefold() for n in site_names if n]
    kept: list[str] = []
    seen: set[str] = set()
    total = sum(len(p) for p in paragraphs) or 1
    consumed = 0
    for paragraph in paragraphs:
        consumed += len(paragraph)
        norm = normalize_text(paragraph)
        # (the cheap tests first: the marker search is the costliest step of this loop)
        if kept and consumed >= 0.6 * total and _END_MARKERS.search(paragraph):
            break  # a copyright line or comment prompt closes the article
        if not norm or norm in seen or norm in skipped:
            continue
        if boilerplate and paragraph_key(paragraph) in boilerplate:
            continue
        if _is_chrome(paragraph, tag_set, names):
            continue
        seen.add(norm)
        kept.append(paragraph)
    return _without_pull_quotes(kept)


_WORDS = re.compile(r"\w+")
_PULL_QUOTE_MAX_CHARS = 300
_PULL_QUOTE_MIN_WORDS = 6  # shorter runs ("he said on Monday") recur by chance


def _without_pull_quotes(paragraphs: list[str]) -> list[str]:
    """Drop a short paragraph whose words run, in order, inside a longer one: a pull quote
    (or a teaser) repeating the text, whatever its quotation marks and punctuation."""
    runs = [" " + " ".join(_WORDS.findall(normalize_text(p))) + " " for p in paragraphs]
    kept = []
    for paragraph, run in zip(paragraphs, runs, strict=True):
        if (
            len(paragraph) <= _PULL_QUOTE_MAX_CHARS
            and run.count(" ") > _PULL_QUOTE_MIN_WORDS
            and any(len(other) > len(run) and run in other for other in runs)
        ):
            continue
        kept.append(paragraph)
    return kept


def _is_chrome(paragraph: str, tags: set[str], site_names: list[str]) -> bool:
    short = len(paragraph) < 250
    if short and any(p.search(paragraph) for p in _CHROME_LINES):
        return True
    if _NUMERIC.match(paragraph) or (short and _BYLINE_LINE.match(paragraph)):
        return True
    lowered = paragraph.casefold()
    if len(paragraph) < 80:
        if _ORG_LINE.search(paragraph) or lowered.strip(" .") in site_names:
            return True
        parts = [p.strip() for p in lowered.split(",")]
        if tags and all(p in tags for p in parts if p):
            return True  # the tags again, as "a, b, c"
        if _mostly_date(paragraph):
            return True
    return False


def _mostly_date(paragraph: str) -> bool:
    """A lone date line ("2022-29-11", "Friday, 11 November 2022 07:29 PM")."""
    covered = sum(len(m.group(0)) for m in _DATE_SHAPES.finditer(paragraph))
    letters = sum(ch.isalnum() for ch in paragraph) or 1
    if covered < 0.7 * letters:
        return False
    return bool(re.search(r"\d", paragraph)) and (
        find_visible_date(paragraph, allow_relative=False) is not None
        or bool(re.fullmatch(r"\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\s*", paragraph))
    )

"""The article HTML that script-rendered pages carry as data instead of markup.

Sites built on JavaScript frameworks may serve an empty shell plus the story as a string in
the page's state: Next.js ``__NEXT_DATA__`` JSON, React Server Components' flight chunks
(``self.__next_f.push([1, "..."])``), or another ``application/json`` script. A browser
renders it; we read it. Only asked when the visible page has no body, so it costs nothing on
ordinary pages.
"""

from __future__ import annotations

import json
import re
from typing import Any

import lxml.html
from lxml import etree

from crawler.extract.body import paragraphs_of

__all__ = ["embedded_article_paragraphs"]

_FLIGHT_CHUNK = re.compile(r"self\.__next_f\.push\((\[.*\])\)\s*;?\s*$", re.S)
# JSON string members whose value may be the story as HTML.
_HTML_MEMBER = re.compile(
    r'"(?:contentHtml|content_html|bodyHtml|body_html|articleBody|articleHtml|body|content|html)"'
    r'\s*:\s*"((?:[^"\\]|\\.){200,})"'
)
# A flight text chunk: "<id>:T<length in UTF-8 bytes, hex>,<text>", referenced as "$<id>".
_FLIGHT_TEXT = re.compile(r"(?:^|\n)[0-9a-f]+:T([0-9a-f]{1,8}),")
_MIN_PARAGRAPHS = 2


def embedded_article_paragraphs(tree: Any) -> list[str]:
    """Paragraphs of the longest HTML story found in the page's script data; [] if none."""
    best = ""
    for value in _html_candidates(tree):
        if len(value) > len(best) and "<p" in value:
            best = value
    if not best:
        return []
    try:
        fragment = lxml.html.fragment_fromstring(best, create_parent="div")
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return []
    paragraphs = paragraphs_of([fragment])
    return paragraphs if len(paragraphs) >= _MIN_PARAGRAPHS else []


def _html_candidates(tree: Any) -> list[str]:
    data, flight = _script_payloads(tree)
    found = []
    for text in data:
        for match in _HTML_MEMBER.finditer(text):
            try:
                value = json.loads(f'"{match.group(1)}"')
            except ValueError:
                continue
            if isinstance(value, str):
                found.append(value)
    # flight chunks are one stream cut into pushes: a text chunk may span several
    stream = "".join(flight)
    for match in _FLIGHT_TEXT.finditer(stream):
        size = int(match.group(1), 16)
        if size >= 200:
            rest = stream[match.end() : match.end() + size].encode("utf-8")[:size]
            found.append(rest.decode("utf-8", "ignore"))
    return found


def _script_payloads(tree: Any) -> tuple[list[str], list[str]]:
    """Inline JSON data scripts, and flight chunks decoded from their JS string form."""
    payloads: list[str] = []
    flight: list[str] = []
    for script in tree.iter("script"):
        text = script.text or ""
        if script.get("src"):
            continue
        kind = (script.get("type") or "").lower()
        if len(text) >= 200 and (script.get("id") == "__NEXT_DATA__" or kind == "application/json"):
            payloads.append(text)
        elif "__next_f" in text and (chunk := _FLIGHT_CHUNK.search(text)):
            try:
                decoded = json.loads(chunk.group(1))
            except ValueError:
                continue
            flight.extend(item for item in decoded if isinstance(item, str))
            payloads.extend(flight[-1:])  # a chunk may also hold JSON members
    return payloads, flight

"""The lead image of an article, and the caption and credit printed next to it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from crawler.extract.elements import clean, hint_of, in_chrome, text_of
from crawler.extract.meta import JsonObj, absolute_http, as_text

__all__ = [
    "caption_and_credit",
    "figure_image",
    "find_image_element",
    "image_src",
    "jsonld_image",
    "photo_box",
]

_CREDIT = re.compile(
    r"\s*\(([^()]*(?:via|getty|reuters|afp|ap photo|photo|image|credit|courtesy|supplied|"
    r"file|pool|/|:)[^()]*)\)\s*$",
    re.I,
)
# "… this Friday. PHOTO: ANDRÉS QUIÑONES", "Foto: dpa": a labelled credit closing a caption.
_CREDIT_LABEL = re.compile(
    r"(?<=[.!?\s])(?:photo(?:graph)?|foto(?:grafía)?|bild|image|imagen|crédito|credit)s?"
    r"\s*:\s*[^.:]{2,80}$",
    re.I,
)


def jsonld_image(article: JsonObj) -> tuple[str | None, str | None]:
    """(url, caption) of the JSON-LD image: a string, a list, or an ImageObject."""
    raw = article.get("image") or article.get("thumbnailUrl")
    first = raw[0] if isinstance(raw, list) and raw else raw
    if isinstance(first, dict):
        return as_text(first.get("url") or first.get("contentUrl")), as_text(first.get("caption"))
    return as_text(first), None


def figure_image(tree: Any) -> Any:
    """The first image inside a figure (or an AMP figure), not in site chrome."""
    for image in tree.xpath("//figure//img | //figure//amp-img | //amp-img"):
        if not in_chrome(image) and (image.get("src") or image.get("data-src")):
            return image
    return None


def image_src(image: Any) -> str | None:
    src: str | None = image.get("src") or image.get("data-src") or image.get("data-original")
    return src


def find_image_element(tree: Any, image_url: str, base: str) -> Any:
    """The <img> showing ``image_url`` (same file name), else the first figure image."""
    name = urlsplit(image_url).path.rsplit("/", 1)[-1]
    if name:
        for image in tree.iter("img", "amp-img"):
            src = absolute_http(image_src(image), base)
            if src and urlsplit(src).path.rsplit("/", 1)[-1] == name:
                return image
    return figure_image(tree)


def caption_and_credit(image: Any) -> tuple[str | None, str | None]:
    """Caption and credit next to an image: figcaption, a caption-classed sibling, or the
    short text of a photo box (:func:`photo_box`)."""
    container = None
    for ancestor in image.iterancestors():
        if ancestor.tag == "figure" or ancestor.xpath(
            "./figcaption | ./*[contains(@class,'caption') or contains(@class,'Caption')]"
        ):
            container = ancestor
            break
        if ancestor.tag in ("body", "article", "main"):
            break
    box = photo_box(image) if container is None else None
    container = box if container is None else container
    if container is None:
        return None, None
    credit_nodes = container.xpath(".//*[contains(@class,'credit') or contains(@class,'Credit')]")
    credit = text_of(credit_nodes[0]) if credit_nodes else None
    captions = container.xpath(
        ".//figcaption | .//*[contains(@class,'caption') or contains(@class,'Caption')]"
    ) or ([box] if box is not None else [])
    caption = text_of(captions[0]) if captions else None
    if caption and credit and caption.endswith(credit):
        caption = caption[: -len(credit)].strip()
    if caption and not credit and (match := _CREDIT.search(caption)):
        credit = clean(match.group(1))
        caption = caption[: match.start()].strip()
    elif caption and not credit and (match := _CREDIT_LABEL.search(caption)):
        credit = clean(match.group(0))
        caption = caption[: match.start()].strip()
    return caption or None, credit or None


_PHOTO_BOX_CHARS = 300
_ICON = re.compile(r"emoji|smiley|icon")
_ICON_PIXELS = 100
_INLINE_WRAPPERS = frozenset({"a", "picture", "span", "noscript"})


def photo_box(image: Any) -> Any:
    """A figure written without ``<figure>``: the block around one image that holds nothing
    else but a short text (its caption), or None."""
    if _ICON.search(hint_of(image)) or any(
        (size := image.get(dimension, "")).isdigit() and int(size) < _ICON_PIXELS
        for dimension in ("width", "height")
    ):
        return None  # an emoji or icon inside a line of text, not a photo
    box = image.getparent()
    while box is not None and box.tag in _INLINE_WRAPPERS:
        box = box.getparent()
    if box is None or box.tag not in ("div", "section"):
        return None
    if len(box.xpath(".//img")) != 1:
        return None
    text = text_of(box)
    return box if text and len(text) <= _PHOTO_BOX_CHARS else None

"""A fetched page's bytes as text.

In order: a byte order mark; UTF-8, when the bytes are UTF-8; the charset of the HTTP
``Content-Type`` header; ``<meta charset>`` (or an XML declaration); then
charset-normalizer's guess. w3lib, which Scrapy itself uses, reads the BOM and the
``<meta>``/XML declaration and maps labels as WHATWG does (latin-1 and ascii mean
windows-1252, gb2312 means gb18030, ...).

UTF-8 goes before the labels because its bytes say so themselves: when a page has non-ASCII
characters and at least as many of them are valid UTF-8 as not, the page is UTF-8, whatever
a stale ``<meta>``, a server default or Scrapy's guess for an undeclared page says, and the
few bytes that are not UTF-8 become U+FFFD instead of turning the whole page into
windows-1252 ("ZÃ¼rich cafÃ©"). Text in a single-byte or East Asian legacy encoding seldom
forms valid UTF-8 characters, and pure ASCII carries no such evidence: then the labels
decide. A label is checked against the bytes: when they do not decode in it, the label lies
and the next source decides.
"""

from __future__ import annotations

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding, to_unicode

__all__ = ["decode_html"]

_HIGH_BYTES = bytes(range(0x80, 0x100))
_REPLACEMENT = "\ufffd"
_DETECTION_SAMPLE = 200_000


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Bytes to text; ``declared`` is the charset of the HTTP ``Content-Type`` header."""
    bom_codec, bom = read_bom(data)
    if bom_codec is not None and bom is not None:
        return to_unicode(data[len(bom) :], bom_codec)
    as_utf8, is_utf8 = _read_utf8(data)
    if is_utf8:
        return as_utf8
    for label in (declared, html_body_declared_encoding(data)):
        if codec := _codec(label):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue  # the label lies; try the next source
    if data.isascii():
        return as_utf8
    return to_unicode(data, _detect(data[:_DETECTION_SAMPLE]) or "cp1252")


def _read_utf8(data: bytes) -> tuple[str, bool]:
    """``data`` read as UTF-8 with bad bytes replaced, and whether the page is UTF-8: it has
    non-ASCII characters, and at least as many of them are valid UTF-8 as not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return text, not data.isascii()
    text = data.decode("utf-8", errors="replace")
    # The decoder never folds an ASCII byte into an invalid sequence, so every character
    # beyond the ASCII bytes is either a valid multi-byte character or a U+FFFD of its own.
    ascii_bytes = len(data.translate(None, _HIGH_BYTES))
    replaced = text.count(_REPLACEMENT)
    invalid = replaced - data.count(_REPLACEMENT.encode("utf-8"))
    valid = len(text) - ascii_bytes - replaced
    return text, valid >= invalid > 0


def _detect(sample: bytes) -> str | None:
    """charset-normalizer's guess; windows-1252 when it fits as well as the best guess.

    Western text in single-byte encodings often decodes equally well as cp1250, cp1252 and
    cp1257 (ã vs ă); windows-1252 is by far the most common on the web and WHATWG's default,
    so ties go to it.
    """
    results = list(from_bytes(sample))
    if not results:
        return None
    best = results[0]
    for match in results:
        if (
            "cp1252" in match.could_be_from_charset
            and match.chaos <= best.chaos + 0.01
            and match.coherence >= best.coherence - 0.02
        ):
            return "cp1252"
    return _codec(best.encoding)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = resolve_encoding(label.strip().strip("\"'"))
    except (LookupError, ValueError, TypeError):
        return None
    if name is None or name.startswith(("utf-16", "utf-32")):
        return None  # a label read from an ASCII-readable page cannot be UTF-16 (WHATWG)
    return name

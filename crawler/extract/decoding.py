"""A fetched page's bytes as text.

The sources of the encoding, in order: a byte order mark, the charset of the HTTP
``Content-Type`` header, ``<meta charset>``, valid UTF-8, then charset-normalizer's guess. A
declared label is checked against the bytes: when they do not decode in it, the label lies
and the next source decides. Labels follow WHATWG (latin-1 and ascii mean windows-1252).
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

__all__ = ["decode_html"]

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{2,40})""", re.I
)
# WHATWG: pages labelled latin-1 or ascii are decoded as windows-1252 by every browser.
_WHATWG_ALIASES = {"latin_1": "cp1252", "ascii": "cp1252", "iso8859_1": "cp1252"}


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Bytes to text: BOM, HTTP charset, ``<meta charset>``, valid UTF-8, then detection."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    match = _META_CHARSET.search(data[:4096])
    for label in (declared, match.group(1).decode("ascii") if match else None):
        if declared_codec := _codec(label):
            try:
                return data.decode(declared_codec)
            except UnicodeDecodeError:
                continue  # the label lies; try the next source
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode(_detect(data[:200_000]) or "cp1252", errors="replace")


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
        name = codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    if name.startswith("utf-16") or name.startswith("utf-32"):
        return None  # a <meta> in an ASCII-readable page cannot be UTF-16 (WHATWG)
    return _WHATWG_ALIASES.get(name.replace("-", "_"), name)

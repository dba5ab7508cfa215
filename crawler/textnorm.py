"""Text normalisation shared by the parser and the store.

Two pages that differ only in Unicode spelling (NFKC forms, full-width characters), case or
white space carry the same text. ``normalize_text`` maps them to one spelling, and
``paragraph_key`` hashes one paragraph of it, so that the store can learn which paragraphs
recur on many pages of a site (boilerplate) and hand their keys back to the parser in
``ParseHints.boilerplate``. Both sides must use exactly these functions.
"""

from __future__ import annotations

import hashlib
import unicodedata


def normalize_text(text: str) -> str:
    """NFKC, casefolded, every run of white space collapsed to one space, stripped."""
    # str.split() and the regex \s agree on what white space is (both use str.isspace);
    # the split is several times faster on a long body.
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def paragraph_key(paragraph: str) -> str:
    """The sha1 hex digest of the normalised paragraph: the unit of boilerplate detection."""
    return hashlib.sha1(normalize_text(paragraph).encode("utf-8")).hexdigest()

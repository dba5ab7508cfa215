"""Content identity: the hash that decides whether two fetches are the same article.

The hash is taken over the *extracted* title and body, normalised (NFKC, casefold,
whitespace collapsed) — never over raw bytes, because real pages change on every request
(comment counts, tokens, ads) while the article does not.
"""

from __future__ import annotations

import hashlib

from crawler.textnorm import normalize_text


def content_hash(title: str, body: str) -> str:
    """sha256 hex of the normalised title and body; equal for trivially different spellings."""
    text = normalize_text(title) + "\n" + normalize_text(body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body_hash(raw: bytes) -> str:
    """sha256 hex of a raw response body: for listing pages and feeds, whose bytes are stable."""
    return hashlib.sha256(raw).hexdigest()

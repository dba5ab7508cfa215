"""Content identity: the hash that decides whether two fetches are the same article.

The hash is taken over the *extracted* title and body, normalised — never over raw bytes,
because real pages change on every request (comment counts, tokens, ads) while the article
does not. Normalising means: NFKC, casefold, white space collapsed (``normalize_text``), then
volatile phrases dropped ("376 comments", "updated 3 minutes ago", "2 hours ago", "4 min
read") and punctuation turned into spaces. What stays is every word and every other number,
so a real edit — a figure changing from 5 to 7, a word added — always changes the hash.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from crawler.textnorm import normalize_text

# A count as pages print it: 376, 1,204, 1.2k (the text is casefolded already).
_COUNT = r"\d+(?:[.,]\d+)*\s?[km]?"
_UNIT = (
    r"(?:seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w|months?|"
    r"years?|yrs?|y)"
)
_AGO = rf"\s*{_UNIT}\s+ago\b"
_VOLATILE_WORDS = r"comments?|replies|reactions|shares|likes|views|reads|responses"
# Each alternative needs a number *and* a telltale word, so an ordinary sentence number
# ("5 people were hurt") is never dropped. The alternatives that start with a count share
# it: tried at every position of a long body, a pattern that starts with an optional group
# or repeats its prefix per alternative costs several times more.
_VOLATILE = re.compile(
    rf"\b(?:updated|posted|published|edited)\s*:?\s*\b(?:{_COUNT}|an?|one){_AGO}"
    rf"|\b(?:{_COUNT}(?:{_AGO}|\s*(?:{_VOLATILE_WORDS})\b|\s*min(?:ute)?s?\s+read\b)"
    rf"|(?:an?|one){_AGO})"
    rf"|\b(?:comments?|replies|responses)\s*(?::|\()\s*{_COUNT}\s*\)?"
)
# Candidates for punctuation; symbols (currency, maths) stay, they carry meaning.
_NOT_WORD = re.compile(r"[^\w\s]|_")


def content_text(text: str) -> str:
    """The text as the content hash sees it: normalised, volatile phrases and punctuation gone."""
    text = _VOLATILE.sub(" ", normalize_text(text))
    text = _NOT_WORD.sub(_space_if_punctuation, text)
    return " ".join(text.split())


def _space_if_punctuation(match: re.Match[str]) -> str:
    char = match.group()
    return " " if unicodedata.category(char).startswith("P") else char


def content_hash(title: str, body: str) -> str:
    """sha256 hex of the normalised title and body; equal for trivially different spellings."""
    text = content_text(title) + "\n" + content_text(body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body_hash(raw: bytes) -> str:
    """sha256 hex of a raw response body: for listing pages and feeds, whose bytes are stable."""
    return hashlib.sha256(raw).hexdigest()

"""MinHash signatures of article bodies: what tells two texts are copies of one story.

Each article body becomes the set of its word 3-shingles, summarised by a MinHash of 128
permutations (datasketch, fixed seed and scheme, so signatures from every process and
every run are comparable). The signature is cut into 25 bands of 5 values; each band is
hashed to a bucket (stored by :mod:`crawler.store.clusters`). Articles sharing any
(band, bucket) are *candidates* — with b=25, r=5 a pair with Jaccard J becomes one with
probability 1 - (1 - J^5)^25: 0.06 at J=0.3, 0.55 at 0.5, 0.99 at 0.7. Candidates are then
*confirmed* on their signatures (see ``MIN_JACCARD`` and ``MIN_CONTAINMENT``).

Pure: no database, so the parser worker computes signatures next to the parse.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import re
import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from crawler.textnorm import normalize_text

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"  # explicit: a future datasketch default must not change stored signatures
BANDS, ROWS = 25, 5
SHINGLE_WORDS = 3
MIN_WORDS = 50  # shorter bodies (briefs, captions, teasers) share too little to tell copies

# Confirmation thresholds. The MinHash estimate of J has a standard error of
# sqrt(J(1-J)/128) <= 0.044, so the thresholds below sit many errors away from what
# unrelated texts score.
# - MIN_JACCARD: copies with other chrome or a few edited sentences keep most of their
#   3-word runs (J 0.7-1.0); two reports of one event written separately share names,
#   places and perhaps a quote, but few 3-word runs (J below 0.15, typically below 0.05).
#   0.5 is also the banding's own threshold ((1/25)^(1/5) ~ 0.53): what LSH finds above it is
#   kept.
# - MIN_CONTAINMENT: a copy trimmed by a third or a half has J 0.5-0.67 (estimates lower
#   still) but nearly all of its shingles (>= 0.9) inside the full story. A shared stock
#   paragraph ("about us", an author bio) reaches 0.8 only when it is four times the
#   article's own text, so containment alone is not trusted: the shared text must also span
#   at least two paragraphs of the smaller article, or all of them (see ``shares_story``).
#   A trimmed copy shares every paragraph it kept; a brief with a bio shares one block.
# Known limit: two very short articles that are mostly the *same* stock block (a 10-word
# brief plus a 60-word bio each) are near-duplicates by any text measure and do cluster;
# keeping such blocks out of stored bodies is the job of the boilerplate a site's crawl
# teaches the parser (crawler.store.boilerplate).
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
PARAGRAPH_CONTAINED = 0.8  # share of a paragraph's shingles found in the other text
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Signature:
    """A MinHash (NUM_PERM uint32 values) and the number of distinct shingles it summarises."""

    values: np.ndarray[Any, np.dtype[np.uint32]]
    shingle_count: int

    def to_bytes(self) -> bytes:
        return self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, shingle_count: int) -> Signature:
        return cls(np.frombuffer(data, dtype="<u4").astype(np.uint32), shingle_count)

    def bands(self) -> list[tuple[int, int]]:
        """(band, bucket) pairs: a signed 64-bit hash of each band's ROWS values."""
        raw = self.values.astype("<u4")
        buckets = []
        for band in range(BANDS):
            digest = hashlib.blake2b(raw[band * ROWS : (band + 1) * ROWS].tobytes(), digest_size=8)
            buckets.append((band, int.from_bytes(digest.digest(), "big", signed=True)))
        return buckets

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        return float(np.count_nonzero(self.values == other.values)) / len(self.values)

    def containment(self, other: Signature) -> float:
        """Estimated share of the smaller set's shingles that the larger one contains.

        From |A∩B| = J·|A∪B| and |A∪B| = |A| + |B| - |A∩B|: |A∩B| = J(|A|+|B|)/(1+J).
        """
        j = self.jaccard(other)
        smaller = min(self.shingle_count, other.shingle_count)
        if smaller == 0:
            return 0.0
        shared = j * (self.shingle_count + other.shingle_count) / (1 + j)
        return min(1.0, shared / smaller)


def words_of(text: str) -> list[str]:
    """The words of a text: normalised, punctuation dropped (so chrome punctuation is moot)."""
    return _WORD.findall(normalize_text(text))


def shingles_of(text: str) -> set[str]:
    return _shingles(words_of(text))


def _shingles(words: list[str]) -> set[str]:
    # runs of SHINGLE_WORDS consecutive words, without slicing the list for each one
    runs = zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)  # the tails differ
    return {" ".join(run) for run in runs}


@functools.cache
def _minhash_class() -> Any:
    """datasketch's ``MinHash``, imported on first use, without ``scipy.integrate``.

    The package imports all its sketches, and its ``MinHashLSH`` imports
    ``scipy.integrate.quad`` (for its parameter search, which we never run: our bands are
    fixed, see crawler.store.clusters): some 40 MB in every process that computes a
    signature, a parser process among them. While datasketch is imported, ``scipy.integrate``
    is a stand-in whose ``quad`` imports the real one when called; afterwards the stand-in
    is gone, so any later ``import scipy.integrate`` gets the real module."""
    if "datasketch" not in sys.modules and "scipy.integrate" not in sys.modules:
        stand_in = types.ModuleType("scipy.integrate")
        stand_in.quad = _real_quad  # type: ignore[attr-defined]
        sys.modules["scipy.integrate"] = stand_in
        try:
            importlib.import_module("datasketch")
        finally:
            if sys.modules.get("scipy.integrate") is stand_in:
                del sys.modules["scipy.integrate"]
    from datasketch import MinHash

    return MinHash


def _real_quad(*args: Any, **kwargs: Any) -> Any:
    from scipy.integrate import quad  # type: ignore[import-untyped]

    return quad(*args, **kwargs)


@functools.cache
def _permutations() -> Any:
    """The permutation parameters of (NUM_PERM, SEED, SCHEME): drawn once, not per article
    (they are a pure function of the seed, so signatures are the same)."""
    return _minhash_class()(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def _sha1_hash32(texts: list[str]) -> list[int]:
    """datasketch's default ``sha1_hash32`` of each text (the first 4 bytes of its SHA-1,
    little-endian), for a whole batch at once: one buffer read by numpy instead of one
    ``struct.unpack`` per shingle. The values must stay exactly these: stored signatures
    are compared with new ones."""
    sha1 = hashlib.sha1
    prefixes = b"".join([sha1(text.encode("utf-8")).digest()[:4] for text in texts])
    return np.frombuffer(prefixes, dtype="<u4").tolist()  # type: ignore[no-any-return]


def signature_of(body: str) -> Signature | None:
    """The body's signature, or None when it is too short to be clustered."""
    words = words_of(body)
    if len(words) < MIN_WORDS:
        return None
    shingles = _shingles(words)
    minhash = _minhash_class()(
        num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations(), hashfunc=int
    )
    minhash.update_batch(_sha1_hash32(list(shingles)))  # a minimum: any order will do
    return Signature(np.asarray(minhash.hashvalues, dtype=np.uint32), len(shingles))


def confirm(
    signature: Signature, body: str, other: Signature, other_body: str
) -> tuple[bool, float, float]:
    """Whether two texts are copies of one story, with the estimated Jaccard and containment."""
    jaccard, containment = signature.jaccard(other), signature.containment(other)
    if jaccard >= MIN_JACCARD:
        return True, jaccard, containment
    if containment < MIN_CONTAINMENT:
        return False, jaccard, containment
    if signature.shingle_count <= other.shingle_count:
        return shares_story(body, other_body), jaccard, containment
    return shares_story(other_body, body), jaccard, containment


def shares_story(smaller: str, larger: str) -> bool:
    """Whether the text shared by the two spans two paragraphs of ``smaller``, or all of it."""
    larger_shingles = shingles_of(larger)
    paragraphs = [shingles_of(p) for p in smaller.split("\n\n")]
    paragraphs = [p for p in paragraphs if p]
    shared = [p for p in paragraphs if len(p & larger_shingles) >= PARAGRAPH_CONTAINED * len(p)]
    return len(shared) >= 2 or (bool(shared) and len(shared) == len(paragraphs))

"""What the store needs to know about a parsed article that depends on the article alone.

The content hash (identity and versions, :mod:`crawler.dedup`) and the MinHash signature
(near-copies, :mod:`crawler.store.clusters`) are pure functions of the parsed title and body,
and together cost more CPU than the SQL that stores them. The pipeline computes them in the
parser worker process, next to the parse, so the process that runs the crawl and the single
database writer only look them up and store them.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.article import Article
from crawler.dedup import content_hash
from crawler.minhash import Signature, signature_of


@dataclass(frozen=True)
class Fingerprint:
    content_hash: str
    signature: Signature | None  # None: too short to be clustered


def fingerprint_of(article: Article) -> Fingerprint:
    return Fingerprint(content_hash(article.title, article.body), signature_of(article.body))

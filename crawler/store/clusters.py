"""Near-copies across sites: MinHash signatures, LSH bands in SQL, clusters of one story.

The same wire story runs on many sites, trimmed, re-headlined, with other chrome. Each
article body becomes the set of its word 3-shingles, summarised by a MinHash of 128
permutations (datasketch, fixed seed and scheme, so signatures from every process and
every run are comparable). The signature is cut into 25 bands of 5 values; each band is
hashed to a bucket and stored in ``lsh_bands``. Articles sharing any (band, bucket) are
*candidates* — with b=25, r=5 a pair with Jaccard J becomes one with probability
1 - (1 - J^5)^25: 0.06 at J=0.3, 0.55 at 0.5, 0.99 at 0.7. Candidates are then *confirmed*
on their signatures (see ``MIN_JACCARD`` and ``MIN_CONTAINMENT``) before they share a
cluster. Everything lives in the database, so it works across restarts and across workers.

Clusters: ``articles.cluster_id`` is the smallest article id of the cluster (a lone article
is its own cluster). A new article, or a new version, joins the clusters it confirms
against; when it confirms against several, they merge. No cluster may span more than
``WINDOW`` of publication time, so a stock paragraph can never chain stories of different
weeks together, and a merge that would break that is skipped. Clusters never split: an
edit that makes an article stop resembling its copies keeps it where it was.

Exact copies — another article with the same content hash, the same title and body on
another site (the store keeps one article per site and content) — join without the
signature check, and without a signature at all, so a wire brief under ``MIN_WORDS`` joins
its twins too; the window holds for them as for every member.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from crawler.minhash import BANDS, Signature, confirm
from crawler.store.models import Article, ArticleSignature, Base, LshBand, plain_insert

WINDOW = timedelta(days=3)  # wire copies run within hours; a cluster never spans more
MAX_CANDIDATES = 50  # strongest band matches first; a stock paragraph cannot flood the check


@dataclass(frozen=True)
class Match:
    """A confirmed near-copy of the article being clustered."""

    article_id: int
    cluster_id: int
    jaccard: float
    containment: float


def lock_clusters(session: Session, content_hash: str, signature: Signature | None) -> None:
    """Serialise the saves that could join one cluster, until this transaction ends.

    PostgreSQL runs READ COMMITTED: two workers saving copies of one story at once would
    not see each other's bands. Each save takes an advisory lock per LSH bucket of its
    signature and one for its content hash (exact copies, also those too short for a
    signature): two saves that could match share a bucket or the hash, so the later one
    waits for the earlier one's commit and sees it, while saves of unrelated stories go on
    side by side (one lock for every save made each worker wait for every other's commit:
    bench/cluster.py). The keys are taken in one order, and before any row is written, so
    two saves cannot deadlock on them. SQLite needs nothing: its write transactions (BEGIN
    IMMEDIATE) are serial already.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    names = [f"hash:{content_hash}"]
    if signature is not None:
        names += [f"band:{band}:{bucket}" for band, bucket in signature.bands()]
    keys = sorted({_lock_key(name) for name in names})
    # unnest scans the sorted array in order, so the locks are taken in that order.
    session.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
        {"keys": keys},
    )


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key, the same in every newsmon process."""
    digest = hashlib.blake2b(f"newsmon-cluster:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def published_when() -> ColumnElement[datetime]:
    """An article's date for windows and charts: published, else first seen."""
    return func.coalesce(Article.published_at, Article.first_seen_at)


def cluster_key() -> ColumnElement[int]:
    """The article's cluster, also for rows stored before clusters existed."""
    return func.coalesce(Article.cluster_id, Article.id)


def cluster_article(session: Session, article: Article, signature: Signature | None) -> list[Match]:
    """Store the article's signature (``signature_of(article.body)``) and bands and put it
    in its cluster; the matches found.

    Called by the store in the transaction that saved a new article or a new version, after
    :func:`lock_clusters`. The article must be flushed (it needs its id).
    """
    if article.version_count > 1:  # a new version replaces what the last one stored
        session.execute(_delete_own(LshBand), {"article_id": article.id})
        session.execute(_delete_own(ArticleSignature), {"article_id": article.id})
    if article.cluster_id is None:
        article.cluster_id = article.id
    when = article.published_at or article.first_seen_at
    matches = _exact_copies(session, article, when)
    if signature is not None:
        session.execute(
            plain_insert(ArticleSignature),
            [{"article_id": article.id, "signature": signature.to_bytes(),
              "shingle_count": signature.shingle_count}],
        )  # fmt: skip
        bands = signature.bands()
        session.execute(
            plain_insert(LshBand),
            [{"band": band, "bucket": bucket, "article_id": article.id} for band, bucket in bands],
        )
        exact = {m.article_id for m in matches}
        matches += _confirmed_matches(session, article, signature, bands, when, exact)
    if matches:
        _join_clusters(session, article, matches, when)
    return matches


def _exact_copies(session: Session, article: Article, when: datetime) -> list[Match]:
    """Other articles with the article's content hash within the window: copies as they
    are, no signature needed."""
    params = {
        "content_hash": article.content_hash,
        "article_id": article.id,
        "earliest": when - WINDOW,
        "latest": when + WINDOW,
    }
    rows = session.execute(_exact_copies_query(), params)
    return [Match(article_id, cluster, 1.0, 1.0) for article_id, cluster in rows]


# Each save's statements are built once, with bound parameters (building one and computing
# its cache key cost more than running it).


@functools.cache
def _exact_copies_query() -> Any:
    return (
        select(Article.id, cluster_key())
        .where(
            Article.content_hash == bindparam("content_hash"),
            Article.id != bindparam("article_id"),
            published_when().between(bindparam("earliest"), bindparam("latest")),
        )
        .order_by(Article.id)
        .limit(MAX_CANDIDATES)
    )


@functools.cache
def _signatures_query() -> Any:
    return (
        select(ArticleSignature.article_id, ArticleSignature.signature,
               ArticleSignature.shingle_count, cluster_key(), Article.body)
        .join(Article, Article.id == ArticleSignature.article_id)
        .where(ArticleSignature.article_id.in_(bindparam("ids", expanding=True)))
    )  # fmt: skip


def _in_clusters(name: str) -> ColumnElement[bool]:
    """Articles of the clusters in the expanding parameter ``name`` (also rows stored
    before clusters existed, whose cluster is their id)."""
    wanted: BindParameter[list[int]] = bindparam(name, expanding=True)
    return or_(
        Article.cluster_id.in_(wanted), and_(Article.cluster_id.is_(None), Article.id.in_(wanted))
    )


@functools.cache
def _spans_query() -> Any:
    return (
        select(cluster_key(), func.min(published_when()), func.max(published_when()))
        .where(_in_clusters("clusters"))
        .group_by(cluster_key())
    )


@functools.cache
def _merge_statement() -> Any:
    return (
        update(Article)
        .where(_in_clusters("clusters"))
        .values(cluster_id=bindparam("target"))
        .execution_options(synchronize_session=False)
    )


@functools.cache
def _delete_own(model: type[Base]) -> Any:
    table = cast(Table, model.__table__)
    return delete(table).where(table.c.article_id == bindparam("article_id"))


@functools.cache
def _candidates_query() -> Any:
    """The articles sharing most bands with one signature, within the window of its date.
    Built once, with bound parameters, so SQLAlchemy compiles it once."""
    shared = func.count().label("shared")
    return (
        select(LshBand.article_id, shared)
        .join(Article, Article.id == LshBand.article_id)
        .where(
            or_(*(and_(LshBand.band == bindparam(f"b{band}"),
                       LshBand.bucket == bindparam(f"h{band}")) for band in range(BANDS))),
            LshBand.article_id != bindparam("article_id"),
            published_when().between(bindparam("earliest"), bindparam("latest")),
        )
        .group_by(LshBand.article_id)
        .order_by(shared.desc(), LshBand.article_id)
        .limit(MAX_CANDIDATES)
    )  # fmt: skip


def _confirmed_matches(
    session: Session,
    article: Article,
    signature: Signature,
    bands: list[tuple[int, int]],
    when: datetime,
    exact: set[int],
) -> list[Match]:
    """Candidates confirmed on their signatures, less the exact copies (matched already:
    their signatures and bodies are not read)."""
    params: dict[str, Any] = {
        "article_id": article.id,
        "earliest": when - WINDOW,
        "latest": when + WINDOW,
    }
    for band, bucket in bands:
        params[f"b{band}"], params[f"h{band}"] = band, bucket
    candidates = _candidates_query()
    ids = [row.article_id for row in session.execute(candidates, params)]
    ids = [article_id for article_id in ids if article_id not in exact]
    if not ids:
        return []
    rows = session.execute(_signatures_query(), {"ids": ids})
    matches = []
    for article_id, data, count, cluster, body in rows:
        other = Signature.from_bytes(data, count)
        confirmed, jaccard, containment = confirm(signature, article.body, other, body)
        if confirmed:
            matches.append(Match(article_id, cluster, jaccard, containment))
    return sorted(matches, key=lambda m: (-m.jaccard, -m.containment, m.article_id))


def _join_clusters(
    session: Session, article: Article, matches: list[Match], when: datetime
) -> None:
    own = article.cluster_id if article.cluster_id is not None else article.id
    wanted = {own} | {m.cluster_id for m in matches}
    spans = {
        cluster: (first, last)
        for cluster, first, last in session.execute(_spans_query(), {"clusters": sorted(wanted)})
    }
    # Start from the article's own cluster (itself, or its cluster before this version), then
    # take matched clusters best match first while the union stays within the window.
    first, last = spans.get(own, (when, when))
    first, last = min(first, when), max(last, when)
    merged = {own}
    for match in matches:
        if match.cluster_id in merged:
            continue
        other_first, other_last = spans.get(match.cluster_id, (when, when))
        new_first, new_last = min(first, other_first), max(last, other_last)
        if new_last - new_first > WINDOW:
            continue
        merged.add(match.cluster_id)
        first, last = new_first, new_last
    if merged == {own}:
        return
    target = min(merged)
    session.execute(_merge_statement(), {"clusters": sorted(merged), "target": target})
    article.cluster_id = target


@dataclass(frozen=True)
class Copy:
    """Another article of the same cluster, for "also published at"."""

    article_id: int
    site: str
    url: str
    title: str
    published_at: datetime | None
    first_seen_at: datetime


def copies_of(session: Session, article: Article) -> list[Copy]:
    """The other articles in the article's cluster, earliest first."""
    cluster = article.cluster_id if article.cluster_id is not None else article.id
    rows = session.execute(
        select(Article.id, Article.site, Article.url, Article.title, Article.published_at,
               Article.first_seen_at)
        .where(Article.cluster_id == cluster, Article.id != article.id)
        .order_by(published_when(), Article.id)
    )  # fmt: skip
    return [Copy(*row) for row in rows]

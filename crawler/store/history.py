"""What changed in an article since it was published: its versions and word-level diffs.

A version is a distinct content (title + body) in the order it was fetched; the store only
records one when :func:`crawler.dedup.content_hash` changes, so white space, punctuation
and volatile numbers ("376 comments", "updated 3 minutes ago") never make one. A revert to
earlier text *is* a new version — the history shows it as "reverts to vN".

Diffs are word-level, headline first, printed like ``git diff --word-diff=plain``:
``[-removed words-]{+added words+}`` with a few words of context around each change.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.dedup import content_hash
from crawler.store.models import Article, ArticleVersion

CONTEXT_WORDS = 8
_PARAGRAPH = "\n\n"  # the token that stands for a paragraph break

Op = Literal["=", "-", "+"]


@dataclass(frozen=True)
class VersionInfo:
    """One version of an article, with how it differs from the one before."""

    version: int
    fetched_at: datetime
    modified_at: datetime | None
    title: str
    words: int
    title_changed: bool  # against the previous version
    words_added: int
    words_removed: int
    reverts_to: int | None  # an earlier, non-adjacent version with the same content

    def summary(self) -> str:
        if self.version == 1:
            return "first seen"
        if self.reverts_to is not None:
            return f"reverts to v{self.reverts_to}"
        parts = ["headline"] if self.title_changed else []
        if self.words_added or self.words_removed:
            parts.append(f"+{self.words_added} -{self.words_removed} words")
        return "; ".join(parts) or "punctuation or spelling"


@dataclass(frozen=True)
class Segment:
    op: Op  # "=" unchanged context, "-" removed, "+" added
    text: str


@dataclass(frozen=True)
class Hunk:
    """One changed stretch of the body, with unchanged words around it."""

    segments: tuple[Segment, ...]
    at_start: bool  # begins at the first word of the body
    at_end: bool  # ends at the last word of the body


@dataclass(frozen=True)
class VersionDiff:
    """The changes from one version to another: the title's, then the body's in hunks."""

    old_version: int
    new_version: int
    old_fetched_at: datetime
    new_fetched_at: datetime
    title: tuple[Segment, ...]  # the whole title, changed or not
    hunks: tuple[Hunk, ...]
    words_added: int
    words_removed: int

    @property
    def title_changed(self) -> bool:
        return any(s.op != "=" for s in self.title)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.old_version,
            "to": self.new_version,
            "title_changed": self.title_changed,
            "title": [[s.op, s.text] for s in self.title],
            "body": [[[s.op, s.text] for s in hunk.segments] for hunk in self.hunks],
            "words_added": self.words_added,
            "words_removed": self.words_removed,
        }


def load_versions(session: Session, article: Article) -> list[ArticleVersion]:
    return list(
        session.scalars(
            select(ArticleVersion)
            .where(ArticleVersion.article_id == article.id)
            .order_by(ArticleVersion.version)
        )
    )


def version_infos(versions: list[ArticleVersion]) -> list[VersionInfo]:
    """Each version with its change against the previous one."""
    infos: list[VersionInfo] = []
    # Recomputed, not read from the rows: hashes stored by an older normalisation would
    # hide a revert.
    hashes = [content_hash(v.title, v.body) for v in versions]
    for index, version in enumerate(versions):
        added = removed = 0
        title_changed = False
        reverts_to = None
        if index:
            previous = versions[index - 1]
            added, removed = _count_changes(_tokens(previous.body), _tokens(version.body))
            title_changed = previous.title.split() != version.title.split()
            reverts_to = next(
                (versions[j].version for j in range(index - 1) if hashes[j] == hashes[index]),
                None,
            )
        infos.append(
            VersionInfo(
                version=version.version,
                fetched_at=version.fetched_at,
                modified_at=version.modified_at,
                title=version.title,
                words=len(version.body.split()),
                title_changed=title_changed,
                words_added=added,
                words_removed=removed,
                reverts_to=reverts_to,
            )
        )
    return infos


def diff_versions(old: ArticleVersion, new: ArticleVersion) -> VersionDiff:
    """Word-level changes from ``old`` to ``new``."""
    old_title, new_title = old.title.split(), new.title.split()
    title = _segments(
        old_title,
        new_title,
        difflib.SequenceMatcher(None, old_title, new_title, autojunk=False).get_opcodes(),
    )
    old_body, new_body = _tokens(old.body), _tokens(new.body)
    matcher = difflib.SequenceMatcher(None, old_body, new_body, autojunk=False)
    hunks = tuple(
        Hunk(
            segments=_segments(old_body, new_body, group),
            at_start=group[0][1] == 0 and group[0][3] == 0,
            at_end=group[-1][2] == len(old_body) and group[-1][4] == len(new_body),
        )
        for group in matcher.get_grouped_opcodes(CONTEXT_WORDS)
        if any(tag != "equal" for tag, *_ in group)
    )
    added, removed = _count_changes(old_body, new_body)
    return VersionDiff(
        old_version=old.version,
        new_version=new.version,
        old_fetched_at=old.fetched_at,
        new_fetched_at=new.fetched_at,
        title=title,
        hunks=hunks,
        words_added=added,
        words_removed=removed,
    )


def render_diff(diff: VersionDiff) -> str:
    """The diff for a terminal: a header line, the headline, then each changed stretch."""
    lines = [
        f"v{diff.old_version} ({_short(diff.old_fetched_at)}) -> v{diff.new_version} "
        f"({_short(diff.new_fetched_at)}): "
        + ("headline changed, " if diff.title_changed else "")
        + f"+{diff.words_added} -{diff.words_removed} words"
    ]
    lines.append("headline: " + _render(diff.title))
    if not diff.hunks:
        lines.append("body: unchanged")
    for hunk in diff.hunks:
        text = ("" if hunk.at_start else "… ") + _render(hunk.segments).strip()
        text += "" if hunk.at_end else " …"
        lines.append("")
        lines.append("  " + text.replace("\n", "\n  "))
    return "\n".join(lines).rstrip() + "\n"


def _tokens(body: str) -> list[str]:
    """Words (with their punctuation) and paragraph breaks."""
    tokens: list[str] = []
    for paragraph in body.split("\n\n"):
        words = paragraph.split()
        if not words:
            continue
        if tokens:
            tokens.append(_PARAGRAPH)
        tokens.extend(words)
    return tokens


def _count_changes(old: list[str], new: list[str]) -> tuple[int, int]:
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            removed += sum(1 for t in old[i1:i2] if t != _PARAGRAPH)
        if tag in ("insert", "replace"):
            added += sum(1 for t in new[j1:j2] if t != _PARAGRAPH)
    return added, removed


def _segments(
    old: list[str], new: list[str], opcodes: Sequence[tuple[str, int, int, int, int]]
) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            segments.append(Segment("=", _join(old[i1:i2], changed=False)))
            continue
        if i2 > i1:
            segments.append(Segment("-", _join(old[i1:i2], changed=True)))
        if j2 > j1:
            segments.append(Segment("+", _join(new[j1:j2], changed=True)))
    return tuple(s for s in segments if s.text)


def _join(tokens: list[str], *, changed: bool) -> str:
    # Context keeps its paragraph breaks; inside a change a break shows as a pilcrow.
    text = " ".join("¶" if changed and t == _PARAGRAPH else t for t in tokens)
    return (
        " ".join(line.strip() for line in text.split(_PARAGRAPH)).strip()
        if changed
        else ("\n".join(line.strip() for line in text.split(_PARAGRAPH)))
    )


def _render(segments: tuple[Segment, ...]) -> str:
    text = ""
    previous: Op | None = None
    for segment in segments:
        if segment.op == "-":
            part = f"[-{segment.text}-]"
        elif segment.op == "+":
            part = f"{{+{segment.text}+}}"
        else:
            part = segment.text
        # A replacement reads as one unit: [-old-]{+new+}, no space between.
        glue = "" if not text or (previous == "-" and segment.op == "+") else " "
        if text.endswith("\n") or part.startswith("\n"):
            glue = ""
        text += glue + part
        previous = segment.op
    return text


def _short(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")

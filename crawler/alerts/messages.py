"""What an alert's messages say: one match, a digest of several, the test sample.

Plain text, short enough for a chat message: the headline first (in the title), then the
site, the publication time, the URL and the summary; an edit says what the headline was.
"""

from __future__ import annotations

from collections.abc import Sequence

from crawler.store.alert_deliveries import Match

SUMMARY_CHARS = 300


def _when(match: Match) -> str:
    if match.published_at is None:
        return ""
    return f", published {match.published_at.strftime('%Y-%m-%d %H:%M')} UTC"


def _lines(match: Match) -> list[str]:
    lines = [f"{match.site}{_when(match)}", match.url]
    if match.event == "edited":
        change = f"edited (version {match.version})"
        if match.previous_title is not None:
            change += f"; the headline was: {match.previous_title}"
        lines.append(change)
    return lines


def single(alert: str, match: Match) -> tuple[str, str]:
    """(title, body) of one match."""
    kind = "edited" if match.event == "edited" else "new"
    lines = _lines(match)
    if match.summary:
        summary = match.summary.strip()
        if len(summary) > SUMMARY_CHARS:
            summary = summary[: SUMMARY_CHARS - 1].rstrip() + "…"
        lines += ["", summary]
    lines += ["", f"newsmon alert {alert}: {kind} article {match.article_id}"]
    return f"[{alert}] {kind}: {match.title}", "\n".join(lines)


def digest(alert: str, matches: Sequence[Match]) -> tuple[str, str]:
    """(title, body) of several matches in one message, oldest first."""
    new = sum(1 for m in matches if m.event == "new")
    edited = len(matches) - new
    counts = ", ".join(
        part for part in (f"{new} new" if new else "", f"{edited} edited" if edited else "") if part
    )
    lines: list[str] = []
    for match in matches:
        lines.append(f"- {'[edited] ' if match.event == 'edited' else ''}{match.title}")
        lines += [f"  {line}" for line in _lines(match)]
    lines += ["", f"newsmon alert {alert}: {len(matches)} articles"]
    return f"[{alert}] {counts}", "\n".join(lines)


def sample(alert: str) -> tuple[str, str]:
    """(title, body) of ``newsmon alerts test``."""
    return (
        f"[{alert}] test message",
        f"This is a test message of newsmon alert {alert}: its matches will arrive here.",
    )

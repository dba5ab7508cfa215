"""Changing the ``[[feeds]]`` of settings.toml in place, keeping its comments and layout.

``newsmon feeds add|enable|disable|remove|import`` change the file as text, line by line,
at the place the change belongs, so every other byte stays as it was — a comment section
after the last feed stays after it, a removed feed takes only its own lines and comments.
tomlkit writes the new tables and reads the result back: a change is written only when the
new file holds exactly the feeds it should and passes :func:`crawler.config.parse_settings`
(all of it, as ``check-config`` would). The file is replaced in one rename, so a running
service that reloads on a change of the file never reads half of it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from crawler.config import Settings, parse_settings
from crawler.errors import OutputError, SettingsError, UnknownFeedError

_HEADER = re.compile(r"^\s*\[")
_FEEDS_HEADER = re.compile(r"^\s*\[\[\s*feeds\s*\]\]\s*(#.*)?$")
_ENABLED = re.compile(r"^\s*enabled\s*=")


def add_feeds(path: Path, entries: Sequence[Mapping[str, Any]]) -> Settings:
    """Append ``[[feeds]]`` tables right after the last feed's lines (and the comments
    directly under them); SettingsError, with the file untouched, if the result is invalid
    (a duplicate name, a bad URL...)."""
    text = _read(path)
    names = _names(text, path)
    lines = text.splitlines(keepends=True)
    spans = _feed_spans(lines)
    at = spans[-1][1] if spans else len(lines)
    head, rest = "".join(lines[:at]), "".join(lines[at:])
    if head and not head.endswith("\n"):
        head += "\n"
    new_text = head + ("\n" if head.strip() else "") + render_feeds(entries)
    if rest.strip():
        new_text += ("" if rest.startswith("\n") else "\n") + rest
    return _write(path, new_text, names + [str(entry["name"]) for entry in entries])


def set_enabled(path: Path, name: str, enabled: bool) -> Settings:
    """``enabled = false`` under the feed's last key, or that line taken out again (true
    is the default)."""
    text = _read(path)
    names = _names(text, path)
    lines = text.splitlines(keepends=True)
    start, end = _span_of(lines, names, name, path)
    own = [i for i in range(start, end) if _ENABLED.match(lines[i])]
    for i in reversed(own):
        del lines[i]
    if not enabled:
        last = max(i for i in range(start, end - len(own)) if _is_setting(lines[i]))
        newline = "\n" if lines[last].endswith("\n") else ""
        lines[last : last + 1] = [lines[last].rstrip("\n") + "\n", "enabled = false" + newline]
    return _write(path, "".join(lines), names)


def remove_feed(path: Path, name: str) -> Settings:
    """The feed's lines, from its ``[[feeds]]`` header to its last key and the comments
    directly under it, and one blank line before it."""
    text = _read(path)
    names = _names(text, path)
    lines = text.splitlines(keepends=True)
    start, end = _span_of(lines, names, name, path)
    if start > 0 and not lines[start - 1].strip():
        start -= 1
    del lines[start:end]
    return _write(path, "".join(lines), [n for n in names if n != name])


def render_feeds(entries: Iterable[Mapping[str, Any]]) -> str:
    """``[[feeds]]`` tables as TOML text, one blank line between them."""
    blocks = []
    for entry in entries:
        table = tomlkit.table()
        for key, value in entry.items():
            table[key] = _inline(value)
        document = tomlkit.document()
        feeds = tomlkit.aot()
        feeds.append(table)
        document.append("feeds", feeds)
        blocks.append(tomlkit.dumps(document).strip() + "\n")
    return "\n".join(blocks)


def _feed_spans(lines: list[str]) -> list[tuple[int, int]]:
    """(first, past last) line of each ``[[feeds]]`` table, in order: its header, its keys
    and the comments directly under its last key; not the blank lines and comments that
    introduce whatever follows."""
    headers = [i for i, line in enumerate(lines) if _HEADER.match(line)]
    spans = []
    for index, start in enumerate(headers):
        if not _FEEDS_HEADER.match(lines[start]):
            continue
        stop = headers[index + 1] if index + 1 < len(headers) else len(lines)
        last = max(i for i in range(start, stop) if _is_setting(lines[i]))
        end = last + 1
        while end < stop and lines[end].lstrip().startswith("#"):
            end += 1
        spans.append((start, end))
    return spans


def _span_of(lines: list[str], names: list[str], name: str, path: Path) -> tuple[int, int]:
    if name not in names:
        raise _unknown(name, path)
    spans = _feed_spans(lines)
    if len(spans) != len(names):  # feeds written as an inline array: not ours to edit
        raise SettingsError(str(path), [f"{path}: feeds: only [[feeds]] tables can be edited"])
    return spans[names.index(name)]


def _is_setting(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _write(path: Path, new_text: str, expected_names: list[str]) -> Settings:
    if _names(new_text, path) != expected_names:
        raise SettingsError(str(path), [f"{path}: feeds: cannot change this file's feeds here"])
    settings = parse_settings(new_text, path=str(path), base_dir=path.resolve().parent)
    _replace(path, new_text)
    return settings


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(str(path), [f"{path}: cannot read: {exc}"]) from None


def _names(text: str, path: Path) -> list[str]:
    try:
        feeds = tomlkit.parse(text).get("feeds") or []
    except TOMLKitError as exc:
        raise SettingsError(str(path), [f"{path}: {exc}"]) from None
    if not isinstance(feeds, list):
        raise SettingsError(str(path), [f"{path}: feeds: must be [[feeds]] tables"])
    return [str(feed.get("name")) if isinstance(feed, dict) else "" for feed in feeds]


def _unknown(name: str, path: Path) -> UnknownFeedError:
    return UnknownFeedError(f"unknown feed {name!r} ({path.name} has no [[feeds]] of that name)")


def _inline(value: Any) -> Any:
    """Nested tables inline (``schedule = { every = "10m" }``), as the shipped file writes."""
    if isinstance(value, Mapping):
        table = tomlkit.inline_table()
        table.update({k: _inline(v) for k, v in value.items()})
        return table
    if isinstance(value, list | tuple):
        return list(value)
    return value


def _replace(path: Path, text: str) -> None:
    target = path.resolve()  # a symlinked settings file stays a symlink
    try:
        mode = target.stat().st_mode & 0o7777
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
            os.chmod(temp, mode)
            os.replace(temp, target)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None

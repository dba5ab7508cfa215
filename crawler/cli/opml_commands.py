"""``newsmon feeds import FILE.opml`` and ``newsmon feeds export [--output FILE.opml]``."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path
from typing import Any

from crawler.cli.output_file import output_to
from crawler.config import Settings
from crawler.errors import DiscoveryError
from crawler.urls import normalize_url

_NOT_SLUG = re.compile(r"[^a-z0-9_]+")


def add_opml_options(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imports = actions.add_parser("import", help="add the feeds of an OPML list")
    imports.add_argument("file", metavar="FILE.opml")
    exports = actions.add_parser("export", help="the configured feeds as an OPML 2.0 list")
    exports.add_argument("--output", metavar="FILE.opml", help="default: standard output")


def run_opml(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    if args.action == "export":
        return export_opml(path, args.output)
    return import_opml(settings, path, Path(args.file))


def export_opml(path: Path, output: str | None) -> int:
    from crawler.opml import write_opml

    # The tables as written (not the models with their defaults), so an import gives them back.
    feeds: list[dict[str, Any]] = tomllib.loads(path.read_text(encoding="utf-8-sig")).get(
        "feeds", []
    )
    with output_to(output) as out:
        out.write(write_opml(feeds, title=f"newsmon feeds of {path.name}"))
    return 0


def import_opml(settings: Settings, path: Path, file: Path) -> int:
    from crawler.cli.feed_entries import feed_name
    from crawler.crawl.finder import Source
    from crawler.opml import read_opml
    from crawler.settings_file import add_feeds

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DiscoveryError(f"{file}: cannot read: {exc.strerror or exc}") from None
    subscriptions = read_opml(data, str(file))
    if not subscriptions:
        raise DiscoveryError(f"{file}: no feeds in this OPML list")
    configured: set[tuple[str, str]] = {
        (f.kind, normalize_url(f.url) or f.url) for f in settings.feeds
    }
    taken = {f.name for f in settings.feeds}
    entries: list[dict[str, Any]] = []
    for sub in subscriptions:
        key = (sub.kind, normalize_url(sub.url) or sub.url)
        if key in configured:
            continue
        configured.add(key)
        name = _NOT_SLUG.sub("-", (sub.title or "").casefold()).strip("-")[:64]
        if not name or name in taken:
            name = feed_name(Source(sub.kind, sub.url, sub.kind, "opml"), taken)
        taken.add(name)
        entry: dict[str, Any] = {"name": name, "kind": sub.kind, "url": sub.url}
        if sub.tags:
            entry["tags"] = list(sub.tags)
        entries.append({**entry, **sub.options})
    if entries:
        add_feeds(path, entries)
    skipped = len(subscriptions) - len(entries)
    print(f"imported {len(entries)} feeds from {file} into {path}"
          + (f" ({skipped} already configured)" if skipped else ""))  # fmt: skip
    return 0

"""``newsmon web``: the read-only web app on the configured database."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.cli.command import Command
from crawler.config import Settings


def port_number(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535 (got {value!r})")
    return int(value)


def add_web_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs [web] token"
        " or NEWSMON_WEB_TOKEN)",
    )
    parser.add_argument(
        "--port", type=port_number, default=8080, help="port (default 8080; 0: any free port)"
    )


def web(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.web.server import serve  # imported when used: --help stays fast

    return serve(settings, args.host, args.port)


WEB_COMMAND = Command(
    "web",
    "the read-only web app: feeds' health, article search with facets, versions and diffs,"
    " trends, JSON under /api/ and Atom feeds of any search",
    "newsmon web --port 8080   |   NEWSMON_WEB_TOKEN=... newsmon web --host 0.0.0.0",
    web,
    add_web_options,
)

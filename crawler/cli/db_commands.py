"""``newsmon db``: the database schema's revision — show it, or upgrade an older database."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.cli.command import Command
from crawler.config import Settings

ACTIONS = {
    "upgrade": "apply the migrations this newsmon has and the database lacks",
    "current": "print the database's schema revision; exit 1 unless it is the head",
}


def add_db_options(parser: argparse.ArgumentParser) -> None:
    # A positional action rather than nested subparsers: argparse lets a nested parser's
    # defaults overwrite options given before it (`newsmon db --settings X upgrade`).
    parser.add_argument(
        "action",
        choices=sorted(ACTIONS),
        help="; ".join(f"{name}: {text}" for name, text in ACTIONS.items()),
    )


def db(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.errors import StoreError
    from crawler.store.database import create_db_engine, is_missing_sqlite_file
    from crawler.store.schema import NOT_CREATED, current_report, database_errors, upgrade_report

    url = settings.database.url
    if args.action == "current" and is_missing_sqlite_file(url):  # reading makes no file
        raise StoreError(f"database {url} does not exist: {NOT_CREATED}")
    with database_errors(settings.database.url):
        engine = create_db_engine(settings.database.url)
    try:
        if args.action == "upgrade":
            print(upgrade_report(engine))
            if settings.cluster.distributed:
                from crawler.cluster.queue import ensure_schema

                made = ensure_schema(url)
                print("job queue: tables made" if made else "job queue: tables present")
            return 0
        report, at_head = current_report(engine)
        print(report)
        return 0 if at_head else 1
    finally:
        engine.dispose()


DB_COMMAND = Command(
    "db",
    "the database schema's revision: show it (current), or upgrade an older database",
    "newsmon db current   |   newsmon db upgrade --settings /etc/newsmon/settings.toml",
    db,
    add_db_options,
)

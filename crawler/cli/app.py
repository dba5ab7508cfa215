"""The ``newsmon`` command line: the parser built from :data:`COMMANDS`, and ``main``.

Errors we expect (bad settings, a bad option value, an unknown feed or article, an
unreachable database) become one line on stderr and an exit code — 2 for usage and
settings problems, 1 for the rest — never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from crawler.cli.alert_commands import ALERTS_COMMAND
from crawler.cli.article_commands import ARTICLE_COMMANDS
from crawler.cli.cluster_commands import CLUSTER_COMMANDS
from crawler.cli.command import Command
from crawler.cli.db_commands import DB_COMMAND
from crawler.cli.discover_commands import DISCOVER_COMMANDS
from crawler.cli.export_command import EXPORT_COMMAND
from crawler.cli.feeds_commands import FEEDS_COMMANDS
from crawler.cli.report_commands import REPORT_COMMANDS
from crawler.cli.service_commands import SERVICE_COMMANDS
from crawler.cli.web_command import WEB_COMMAND
from crawler.config import load_settings, resolve_settings_path
from crawler.errors import NewsmonError, SettingsError, UsageError
from crawler.logs import configure_logging

COMMANDS: tuple[Command, ...] = (
    *SERVICE_COMMANDS,
    *CLUSTER_COMMANDS,
    *ARTICLE_COMMANDS,
    EXPORT_COMMAND,
    *REPORT_COMMANDS,
    DB_COMMAND,
    *DISCOVER_COMMANDS,
    *FEEDS_COMMANDS,
    ALERTS_COMMAND,
    WEB_COMMAND,
)


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose mistakes are a UsageError: one line, like every error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def add_global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """--settings, --log-level and --log-format, accepted before and after the command.

    Only the main parser holds the defaults: a subcommand's copy of an option that is not
    given must not overwrite the value given before the command.
    """

    def default(value: str | None) -> str | None:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--settings",
        metavar="PATH",
        default=default(None),
        help="settings file (default: $NEWSMON_SETTINGS, else ./settings.toml)",
    )
    parser.add_argument(
        "--log-level", default=default("INFO"), choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument(
        "--log-format",
        default=default("text"),
        choices=["text", "json"],
        help="json: one JSON object per line, for log shippers",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="newsmon",
        description="Scheduled news monitoring: tag pages, feeds and sitemaps into a database.",
    )
    parser.add_argument("--version", action="version", version=_version())
    add_global_options(parser, defaults=True)
    common = OneLineParser(add_help=False)
    add_global_options(common, defaults=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command_parser = sub.add_parser(
            command.name,
            parents=[common],
            help=command.help,
            description=command.help,
            epilog=f"example: {command.example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_options(command_parser)
        command_parser.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        configure_logging(args.log_level, args.log_format)
        path = resolve_settings_path(args.settings)
        settings = load_settings(path)
        code: int = args.handler(settings, args, path)
        return code
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"newsmon: {problem}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"newsmon: {exc}", file=sys.stderr)
        return 2
    except NewsmonError as exc:
        print(f"newsmon: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `newsmon export | head` is fine
        return 0
    except KeyboardInterrupt:  # Ctrl-C during a query or an export: nothing half-written
        return 130


def _version() -> str:
    from crawler import __version__

    return f"newsmon {__version__}"

"""What a ``newsmon`` subcommand is: a name, one line of help, an example, its options and
the function that runs it. Adding a command is writing one :class:`Command` and listing it
in :data:`crawler.cli.app.COMMANDS`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.config import Settings
from crawler.errors import NotFoundError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crawler.store.models import Article

# settings (already loaded and valid), the parsed command line, the settings file's path
Handler = Callable[[Settings, argparse.Namespace, Path], int]


def _no_options(parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True)
class Command:
    """One subcommand. ``run`` returns the exit code; errors it raises from the NewsmonError
    tree become one line on stderr (see :func:`crawler.cli.app.main`)."""

    name: str
    help: str
    example: str  # shown as "example: ..." under --help; README checks there is one
    run: Handler
    add_options: Callable[[argparse.ArgumentParser], None] = _no_options


@contextmanager
def reading(settings: Settings) -> Iterator[Session]:
    """A read-only session on the configured database, closed with the store."""
    from crawler.store.store import Store  # imported when used: --help stays fast

    with Store.open(settings.database, create=False) as store, store.reading() as session:
        yield session


def stored_article(session: Session, wanted: str) -> Article:
    """The article with this ID, or found at this URL; NotFoundError otherwise."""
    from crawler.store.queries import find_article

    article = find_article(session, wanted)
    if article is None:
        raise NotFoundError(f"no stored article matches {wanted!r}")
    return article

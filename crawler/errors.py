"""The exception tree of newsmon.

    NewsmonError                  base of everything we raise on purpose
    ├── SettingsError             settings.toml is missing, unreadable or invalid;
    │                             ``problems`` lists every finding, one line each
    ├── UsageError                a command-line value is invalid (exit 2)
    │   └── UnknownFeedError      a command named a feed that settings.toml does not define
    ├── StoreError                the database cannot be opened or written
    │   ├── ServiceLockedError    another service already runs against this database
    │   ├── SchemaOutdatedError   the database's schema is older than this newsmon
    │   └── DatabaseUnavailable   locked, full or unreachable for now: worth waiting for
    ├── ServiceError              the service cannot offer what its settings ask (metrics)
    ├── NotFoundError             the article a command named is not stored
    ├── OutputError               a command cannot write the file it was asked to write
    ├── DiscoveryError            a page is not a usable listing, feed or sitemap
    │   └── WrongKindError        ... it is one, of another kind than its feed says
    └── WorkerCrashed             a worker process died; the page is worth another try
        ├── ParserCrashed         ... a parser process
        └── WriterCrashed         ... the writer process

The CLI turns each of these into a one-line message and an exit code (2 for settings
and usage errors, 1 for the rest); nothing else is expected to escape to the user. Inside a
crawl, DiscoveryError and WorkerCrashed are recorded as the run's problems, never raised to
the scheduler. :func:`first_line` is how any error, ours or a library's, becomes that line.
"""

from __future__ import annotations


class NewsmonError(Exception):
    """Base class of every error newsmon raises on purpose."""


class SettingsError(NewsmonError):
    """settings.toml is invalid. ``problems`` holds one human-readable line per finding."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems) if problems else f"{path}: invalid settings")


class UsageError(NewsmonError):
    """A value given on the command line cannot be used; the message says how to fix it."""


class UnknownFeedError(UsageError):
    """A feed name given on the command line is not in settings.toml."""


class StoreError(NewsmonError):
    """The database cannot be opened or written."""


class ServiceLockedError(StoreError):
    """Another ``newsmon run`` already holds this database."""


class SchemaOutdatedError(StoreError):
    """The database was made by an older newsmon: ``newsmon db upgrade`` brings it up."""


class DatabaseUnavailable(StoreError):
    """The database refused a write for a reason that passes (locked, disk full, connection
    lost, server restarting): nothing of the write was stored, and it is worth trying again.
    Its message is one line with no SQL, parameters or password in it."""


class ServiceError(NewsmonError):
    """The service cannot start something its settings ask for (the metrics address taken)."""


class NotFoundError(NewsmonError):
    """The ID or URL given on the command line matches no stored article."""


class OutputError(NewsmonError):
    """An output file (``newsmon export --output``) cannot be written where it was asked."""


class DiscoveryError(NewsmonError):
    """The page is not a usable listing, feed or sitemap (the message says why)."""


class WrongKindError(DiscoveryError):
    """The page is a feed, sitemap or HTML page of another kind than the feed's ``kind``:
    ``looks_like`` is the kind it seems to be, the message says what to set."""

    def __init__(self, message: str, looks_like: str) -> None:
        super().__init__(message)
        self.looks_like = looks_like


class WorkerCrashed(NewsmonError):
    """A worker process died while it held a page: the page was not stored, and a later
    run should fetch it again."""


class ParserCrashed(WorkerCrashed):
    """A parser worker process died."""


class WriterCrashed(WorkerCrashed):
    """The writer process died."""


def first_line(error: object) -> str:
    """The first line of an error's message, for one-line reports: the database driver's
    own when the error wraps one (SQLAlchemy's adds the statement below it), else the
    error's type name when it has no message."""
    origin = getattr(error, "orig", None) or error
    text = str(origin).strip()
    return text.splitlines()[0] if text else type(origin).__name__

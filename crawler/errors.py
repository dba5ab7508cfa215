"""The exception tree of newsmon.

    NewsmonError                 base of everything we raise on purpose
    ├── SettingsError            settings.toml is missing, unreadable or invalid;
    │                            ``problems`` lists every finding, one line each
    ├── StoreError               the database cannot be opened or written
    │   └── ServiceLockedError   another service already runs against this database
    └── UnknownFeedError         a command named a feed that settings.toml does not define

The CLI turns each of these into a one-line message and an exit code (2 for settings,
1 for the rest); nothing else is expected to escape to the user.
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


class StoreError(NewsmonError):
    """The database cannot be opened or written."""


class ServiceLockedError(StoreError):
    """Another ``newsmon run`` already holds this database."""


class UnknownFeedError(NewsmonError):
    """A feed name given on the command line is not in settings.toml."""

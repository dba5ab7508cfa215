"""Riding out a database that is unavailable for a while: wait, retry, say so once.

A locked SQLite file, a full disk, a PostgreSQL server that restarts or drops the crawl's
connections: each passes, and what the crawl was about to write is still in memory. So
the writer (and the spider, for its few database calls) waits and tries again with
exponential back-off instead of dropping what it holds — for at most ``OUTAGE_PATIENCE``
seconds per outage. After that the articles count as not stored, the run says so, and the
feed's validators are not saved, so the next run fetches them again.

An outage is logged when it starts, when its error changes, and when it ends (with how
many attempts failed and how long it lasted): a full disk makes every attempt fail the
same way, and one line per attempt or per article would fill the disk that is full.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from crawler.errors import DatabaseUnavailable, NewsmonError, first_line
from crawler.store.database import is_unavailable

log = logging.getLogger("crawler.crawl.outage")

T = TypeVar("T")

# Seconds one outage is waited out before what waits on it counts as not stored. Long
# enough for a PostgreSQL restart or an operator freeing disk space; bounded so that a
# run ends (and says what it could not store) while the database stays away.
OUTAGE_PATIENCE = 600.0
RETRY_FIRST_DELAY = 0.25
RETRY_MAX_DELAY = 15.0


def unavailable_reason(exc: BaseException) -> str | None:
    """One line for an error that an unavailable database caused, else None."""
    if isinstance(exc, DatabaseUnavailable):
        return str(exc).removeprefix("database unavailable: ")
    if is_unavailable(exc):
        return first_line(exc)
    return None


def reason_of(exc: BaseException) -> str:
    """One line: no SQL, no parameters (the engine hides them anyway), no traceback."""
    if isinstance(exc, SQLAlchemyError):
        reason = unavailable_reason(exc)
        return f"database unavailable: {reason}" if reason else f"database error: {first_line(exc)}"
    message = str(exc).strip()
    first = message.splitlines()[0] if message else ""
    if isinstance(exc, NewsmonError):  # ours: the message says it all
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """``what`` failed: one line with the reason for the operator; the traceback only at
    DEBUG level, for whoever debugs newsmon itself (a log is read by users)."""
    logger.error("%s: %s", what, reason_of(exc))
    logger.debug("%s: traceback", what, exc_info=exc)


class Outage:
    """One stretch of time during which the database refused ``what`` (a description
    for the log: "saving articles", "reading feed state"), from its first failure on."""

    def __init__(self, what: str, patience: float = OUTAGE_PATIENCE) -> None:
        self.what = what
        self.patience = patience
        self.started_at = time.monotonic()
        self.failures: Counter[str] = Counter()
        self.gave_up = False

    @property
    def attempts(self) -> int:
        return sum(self.failures.values())

    @property
    def waited(self) -> float:
        return time.monotonic() - self.started_at

    def failed(self, reason: str, waiting: int) -> float | None:
        """Another failed attempt; the seconds to wait before the next one, or None once
        the outage has lasted ``patience`` (it is then given up, said once)."""
        is_new_reason = reason not in self.failures
        self.failures[reason] += 1
        if self.gave_up:
            return None
        remaining = self.patience - self.waited
        if remaining <= 0:
            self.gave_up = True
            log.error(
                "database still unavailable after %.0f s (%s; %d attempts: %s): not waiting"
                " any longer; what is not stored is fetched again next run",
                self.waited,
                self.what,
                self.attempts,
                self._tally(),
            )
            return None
        delay = min(RETRY_MAX_DELAY, RETRY_FIRST_DELAY * 2.0 ** (self.attempts - 1))
        if is_new_reason:
            log.warning(
                "database unavailable (%s): %s; %d waiting, retrying for up to %.0f s",
                self.what,
                reason,
                waiting,
                remaining,
            )
        return min(delay, remaining)

    def ended(self) -> None:
        """A write went through again: one line for the whole outage."""
        log.warning(
            "database available again after %.1f s (%s; %d failed attempts: %s)%s",
            self.waited,
            self.what,
            self.attempts,
            self._tally(),
            "" if self.gave_up else "; nothing was dropped",
        )

    def _tally(self) -> str:
        return ", ".join(f"{reason} ×{count}" for reason, count in self.failures.most_common())


def _never() -> bool:
    return False


async def call_waiting_out_outages(
    what: str,
    function: Callable[..., T],
    *args: object,
    patience: float = OUTAGE_PATIENCE,
    stopping: Callable[[], bool] = _never,
) -> T:
    """``function(*args)`` in a worker thread, tried again while the database is
    unavailable (for at most ``patience`` seconds, and not once ``stopping()`` is true: a
    stop must not wait for the database); raises the last error after that, or at once
    for any other error."""
    outage: Outage | None = None
    while True:
        try:
            result = await asyncio.to_thread(function, *args)
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            outage = outage or Outage(what, patience)
            delay = outage.failed(reason, 1)
            if delay is None or stopping():
                raise DatabaseUnavailable(f"database unavailable: {reason}") from exc
            await asyncio.sleep(delay)
            continue
        if outage is not None:
            outage.ended()
        return result

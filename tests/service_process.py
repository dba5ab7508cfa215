"""Test support: the real service in a subprocess, and waiting on database state."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import func, select

from crawler.store.models import CrawlRun
from crawler.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


class ServiceProcess:
    """``python scheduler.py --settings PATH`` with stderr collected to a file."""

    def __init__(
        self,
        settings: Path,
        log_name: str = "service.log",
        command: Sequence[str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """``command``: the arguments after ``python`` (default: the service itself)."""
        self.settings = settings
        self.log_path = settings.parent / log_name
        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115
        argv = command or [str(ROOT / "scheduler.py"), "--settings", str(settings)]
        self.process = subprocess.Popen(
            [sys.executable, *argv],
            cwd=cwd or settings.parent,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            text=True,
        )

    @property
    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8")

    def alive(self) -> bool:
        return self.process.poll() is None

    def terminate(self, timeout: float = 60) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> int:
        self.process.kill()
        return self.wait(30)

    def hangup(self) -> None:
        self.process.send_signal(signal.SIGHUP)

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            self._log.close()
        return code

    def close(self) -> None:
        if self.alive():
            self.process.kill()
            self.process.wait(30)
        self._log.close()


class Watched(Protocol):
    """A process of ours that a wait gives up on when it exits (a ServiceProcess or any
    other with a log)."""

    @property
    def log(self) -> str: ...

    def alive(self) -> bool: ...


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout: float = 60,
    service: Watched | None = None,
) -> T:
    """Poll ``probe`` until it returns a truthy value; fail with ``what`` after ``timeout``.

    This waits for a state, never for a tuned duration: the deadline only bounds a hang.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if service is not None and not service.alive():
            raise AssertionError(f"service exited while waiting for {what}:\n{service.log[-3000:]}")
        time.sleep(0.1)
    log = service.log[-3000:] if service else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def runs_by_feed(store: Store, finished_only: bool = True) -> dict[str, int]:
    with store.reading() as session:
        query = select(CrawlRun.feed, func.count()).group_by(CrawlRun.feed)
        if finished_only:
            query = query.where(CrawlRun.outcome.not_in(["running", "interrupted"]))
        return {feed: int(n) for feed, n in session.execute(query)}


def only_feeds_enabled(settings: Path, feeds: tuple[str, ...]) -> None:
    """Disable every [[feeds]] entry of a settings file except the named ones."""
    blocks = settings.read_text(encoding="utf-8").split("[[feeds]]")
    kept = [blocks[0]]
    for block in blocks[1:]:
        block = block.replace("\nenabled = false\n", "\n")
        if not any(f'name = "{f}"' in block for f in feeds):
            block = block.rstrip() + "\nenabled = false\n\n"
        kept.append(block)
    settings.write_text("[[feeds]]".join(kept), encoding="utf-8")

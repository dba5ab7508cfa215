"""Test support: the peak memory of a real process and of every process it starts.

Linux only (``/proc``). The process's own peak comes from the kernel when it is reaped
(``wait4``'s ``ru_maxrss``, exact); its children (the fork server, parser and writer
processes) are sampled while they live: ``VmHWM`` in ``/proc/PID/status`` is each one's
high-water mark, so a sample taken any time before it exits sees its peak up to then.
Summing the peaks overstates the tree's peak (they need not peak together, and pages shared
copy-on-write are counted in each), which is the safe side for a bound.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def vm_hwm_bytes(pid: int) -> int | None:
    """The process's peak resident set size, or None once it is gone."""
    try:
        text = (PROC / str(pid) / "status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (from the parent ids in /proc/*/stat)."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after it.
        fields = stat.rsplit(")", 1)[-1].split()
        parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@dataclass
class TreePeak:
    """Runs a command, samples its children until it exits, reaps it with wait4."""

    command: list[str]
    cwd: Path
    interval: float = 0.05
    children: dict[int, int] = field(default_factory=dict)  # pid -> peak bytes
    own: int = 0  # the process's own peak, bytes
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def total(self) -> int:
        return self.own + sum(self.children.values())

    def run(self, timeout: float) -> TreePeak:
        out, err = self.cwd / "tree.stdout", self.cwd / "tree.stderr"
        with open(out, "w") as stdout, open(err, "w") as stderr:
            process = subprocess.Popen(self.command, cwd=self.cwd, stdout=stdout, stderr=stderr)
        done = threading.Event()
        sampler = threading.Thread(target=self._sample, args=(process.pid, done), daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
            done.set()
            sampler.join()
        process.returncode = self.returncode = os.waitstatus_to_exitcode(status)
        self.own = usage.ru_maxrss * 1024  # kilobytes on Linux
        self.stdout = out.read_text(encoding="utf-8")
        self.stderr = err.read_text(encoding="utf-8")
        return self

    def _sample(self, pid: int, done: threading.Event) -> None:
        while not done.is_set():
            for child in descendants(pid):
                peak = vm_hwm_bytes(child)
                if peak is not None:
                    self.children[child] = max(self.children.get(child, 0), peak)
            done.wait(self.interval)

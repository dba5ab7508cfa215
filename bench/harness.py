"""Shared helpers of the service benchmarks: settings files, child processes, CPU and memory.

A Twisted reactor starts once per process, so every measurement that crawls runs in a
child process of its own (``python bench/<script>.py --child ...``); the parent serves the
generated site, reads its request counters and prints the figures. The child reports on
its last stdout line, ``RESULT {json}``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "RESULT "

CRAWL_DEFAULTS: dict[str, object] = {
    "user_agent": "newsmon-bench/0.1 (+https://example.invalid/bench)",
    "download_delay": 0,
    "concurrent_requests_per_host": 8,
    "timeout": 30,
    "retries": 1,
}


def write_settings(path: Path, database: Path, feeds_toml: str, **crawl: object) -> Path:
    """settings.toml for a benchmark: keyword arguments override ``[crawl]`` keys."""
    values = {**CRAWL_DEFAULTS, **crawl}
    crawl_table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items())
    path.write_text(
        f'[database]\nurl = "sqlite:///{database}"\n\n[crawl]\n{crawl_table}\n\n'
        '[defaults]\nschedule = { every = "1h", jitter = "0s" }\ntimezone = "UTC"\n\n'
        f"{feeds_toml}",
        encoding="utf-8",
    )
    return path


def run_child(script: Path, args: list[str], timeout: float = 1800) -> dict[str, Any]:
    """Run ``script --child ...`` and return the JSON it reported; raise with its stderr.

    The child writes to files, not pipes: a process it leaves behind (a parse worker, say)
    would hold a pipe open and keep a reader waiting for its end."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.run(
            [sys.executable, str(script), "--child", *args],
            stdout=out,
            stderr=err,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX) and process.returncode == 0:
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    raise RuntimeError(
        f"child {' '.join(args[:2])} failed (exit {process.returncode}):\n"
        f"{stderr[-4000:]}\n{stdout[-2000:]}"
    )


def report(result: dict[str, Any]) -> None:
    """The child's side of :func:`run_child`."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _proc_stat(pid: str) -> tuple[int, int, int] | None:
    """(ppid, own CPU ticks, reaped children's CPU ticks) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("latin-1")
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return ppid, utime + stime, cutime + cstime


def tree_cpu_seconds(root: int | None = None) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants,
    live or reaped — so parse worker processes count too."""
    root = root or os.getpid()
    if not os.path.isdir("/proc"):
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    stats: dict[int, tuple[int, int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(entry)
            if stat is not None:
                stats[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    ticks = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            ticks += stats[pid][1] + stats[pid][2]
        todo.extend(children.get(pid, ()))
    return ticks / os.sysconf("SC_CLK_TCK")


def descendants(root: int | None = None) -> list[int]:
    """Live descendant processes of ``root`` (default: this process)."""
    root = root or os.getpid()
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            stat = _proc_stat(entry)
            if stat is not None:
                parents[int(entry)] = stat[0]
    found: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, parent in parents.items() if parent == pid]
        found.extend(kids)
        todo.extend(kids)
    return found


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process in MiB (VmRSS), or this process's peak where /proc
    is missing."""
    try:
        with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    """CPUs and load: other work on the machine moves every figure."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, load average {load:.1f}"


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of one live process, its own (0 once it is gone)."""
    stat = _proc_stat(str(pid))
    return stat[1] / os.sysconf("SC_CLK_TCK") if stat else 0.0

"""A long feed run says how far it is: a log line now and then, a live line on a terminal.

herald-russia lists a page the fixture site answers only after a few seconds, so its run
lasts that long; with ``progress_every = "1s"`` it must log progress lines while it waits,
and a short run must log none.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.newssites import FixtureNetwork
from tests.test_crawl_output import on_a_terminal
from tests.test_end_to_end import write_settings

SLOW_PAGE_SECONDS = 4.0
PROGRESS = re.compile(r"feed herald-russia: (\d+)/(\d+) articles, [\d.]+/s")


def crawl(settings: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings), "herald-russia"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_long_run_logs_its_progress(tmp_path: Path, news_network: FixtureNetwork) -> None:
    news_network.herald.slow_delay = SLOW_PAGE_SECONDS  # herald-russia links /news/slow
    settings = write_settings(tmp_path, news_network, progress_every="1s")
    result = crawl(settings)
    assert result.returncode == 0, result.stderr
    found = [tuple(map(int, m.groups())) for m in PROGRESS.finditer(result.stderr)]
    # One line a second while the slow page is pending: at least two in four seconds.
    assert len(found) >= 2, result.stderr
    done, total = found[-1]
    assert total >= 2 and done < total  # the slow page was still to come
    assert all(d <= t for d, t in found)
    assert [d for d, _ in found] == sorted(d for d, _ in found)  # done only grows
    assert "about" in result.stderr  # a time left, once there is a rate


def test_a_short_run_logs_no_progress(tmp_path: Path, news_network: FixtureNetwork) -> None:
    news_network.herald.slow_delay = 0.0
    settings = write_settings(tmp_path, news_network, progress_every="30s")
    result = crawl(settings)
    assert result.returncode == 0, result.stderr
    assert not PROGRESS.search(result.stderr), result.stderr


def test_on_a_terminal_progress_is_a_live_line(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    news_network.herald.slow_delay = SLOW_PAGE_SECONDS
    settings = write_settings(tmp_path, news_network, progress_every="1h")
    command = [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings)]
    code, output = on_a_terminal([*command, "herald-russia"], tmp_path)
    assert code == 0, output
    # Rewritten in place (carriage return, erase line), about once a second.
    live = re.findall(r"\r\x1b\[Kherald-russia: (\d+)/(\d+) articles", output)
    assert len(live) >= 2, output
    assert not PROGRESS.search(output)  # the live line replaces the log lines on a terminal
    result_line = next(line for line in output.split("\n") if "[1/1] herald-russia:" in line)
    # The live line is erased and the result takes its place.
    assert result_line.rsplit("\r\x1b[K", 1)[-1].startswith("[1/1] herald-russia: ")

"""What ``newsmon crawl`` prints for a failing feed: each result once on a terminal, each
failure once in our words (no Scrapy "Gave up retrying" ERROR beside it)."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> tuple[Path, str]:
    url = f"http://127.0.0.1:{closed_port()}/rss.xml"
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n\n[crawl]\n'
        'user_agent = "newsmon-test/1 (+mailto:ops@example.org)"\nretries = 1\ntimeout = 5\n\n'
        f'[[feeds]]\nname = "refused"\nkind = "rss"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    return path, url


def crawl_command(settings: Path) -> list[str]:
    return [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings)]


def on_a_terminal(command: list[str], cwd: Path) -> tuple[int, str]:
    """Run with standard output and standard error both on one pseudo-terminal."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=cwd, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other side is closed, the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(60), b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_on_a_terminal_each_result_and_each_failure_shows_once(settings) -> None:
    path, url = settings
    code, output = on_a_terminal(crawl_command(path), path.parent)
    assert code == 1, output
    # What the terminal shows: a line rewritten in place (the live progress line, erased
    # before each result) counts as what was written last.
    lines = [line.rsplit("\r\x1b[K", 1)[-1] for line in output.splitlines()]
    assert sum("refused: failed in" in line for line in lines) == 1, output  # not its log line too
    assert [line for line in lines if line.startswith("[1/1] refused: failed")]
    assert sum(f"{url}: connection refused" in line for line in lines) == 2, output  # ours + result
    assert "scrapy" not in output and "Gave up retrying" not in output
    assert "robots.txt" not in output  # the page's failure says it; robots.txt's would repeat it


def test_with_output_redirected_the_log_keeps_the_run_line(settings) -> None:
    path, url = settings
    result = subprocess.run(
        crawl_command(path), cwd=path.parent, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stdout.count("refused: failed in") == 1
    assert result.stderr.count("crawler.crawl.runs: run refused: failed in") == 1
    failures = [line for line in result.stderr.splitlines() if "crawler.feed:" in line]
    assert failures == [next(iter(failures))] and url in failures[0]
    assert "scrapy" not in result.stderr and "Gave up retrying" not in result.stderr
    assert result.stderr.splitlines()[-1] == "newsmon: 1 of 1 feeds failed: refused"

"""``[cluster]`` in settings.toml: checked like the rest, one line naming file and key; the
commands of distributed mode refuse single mode; single mode is unchanged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.config import parse_settings
from crawler.errors import SettingsError

FEED = '[[feeds]]\nname = "herald-rss"\nkind = "rss"\nurl = "https://herald.example/rss.xml"\n'
PG = '[database]\nurl = "postgresql://newsmon@db.example/news"\n'


def problems(text: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(text)
    return caught.value.problems


def test_single_mode_is_the_default() -> None:
    settings = parse_settings(FEED)
    assert settings.cluster.mode == "single"
    assert not settings.cluster.distributed


def test_distributed_mode_on_postgresql() -> None:
    settings = parse_settings(
        PG + '[cluster]\nmode = "distributed"\nqueue = "desk-2"\nstalled_after = "1m"\n'
    )
    assert settings.cluster.distributed
    assert settings.cluster.queue == "desk-2"
    assert settings.cluster.stalled_after == timedelta(minutes=1)


@pytest.mark.parametrize(
    "database",
    ["", '[database]\nurl = "sqlite:///news.db"\n'],
)
def test_distributed_mode_needs_postgresql(database: str) -> None:
    assert problems(database + '[cluster]\nmode = "distributed"\n' + FEED) == [
        'settings.toml: cluster.mode: "distributed" needs a PostgreSQL database: set'
        ' database.url to "postgresql://user:pass@host/db" (the job queue lives there)'
    ]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('mode = "many"', "cluster.mode: expected 'single' or 'distributed' (got 'many')"),
        ('mod = "single"', "cluster.mod: unknown key (did you mean 'mode'?)"),
        ('stalled_after = "1s"', "cluster.stalled_after: must be from 2s to 1h (got '1s')"),
        ("stalled_after = 30", "cluster.stalled_after: expected a duration string"),
        ('queue = "Two Words"', "cluster.queue:"),
        ("poll_interval = 0", "cluster.poll_interval: must be from 0.1 to 60 (got 0)"),
    ],
)
def test_bad_cluster_keys_are_named(table: str, expected: str) -> None:
    found = problems(PG + "[cluster]\n" + table + "\n")
    assert len(found) == 1
    assert found[0].startswith("settings.toml: " + expected), found


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["worker", "workers"])
def test_cluster_commands_refuse_single_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    path = write(tmp_path, f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n' + FEED)
    assert main([command, "--settings", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"newsmon: {path}: cluster.mode is 'single': `newsmon {command}` needs"
        ' mode = "distributed" (see README, Scaling out)'
    ]


def test_worker_concurrency_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, PG + '[cluster]\nmode = "distributed"\n' + FEED)
    assert main(["worker", "--settings", str(path), "--concurrency", "0"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "--concurrency: must be from 1 to 64 (got 0)" in err


def test_status_in_single_mode_shows_no_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n' + FEED)
    assert main(["db", "upgrade", "--settings", str(path)]) == 0
    assert "job queue" not in capsys.readouterr().out
    assert main(["status", "--settings", str(path)]) == 0
    out = capsys.readouterr().out
    assert "herald-rss" in out
    assert "queue" not in out


@pytest.mark.postgres
def test_status_and_workers_in_distributed_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    path = write(
        tmp_path, f'[database]\nurl = "{pg_url}"\n[cluster]\nmode = "distributed"\n' + FEED
    )
    assert main(["workers", "--settings", str(path)]) == 0
    assert "no job queue in the database yet" in capsys.readouterr().out
    assert main(["db", "upgrade", "--settings", str(path)]) == 0
    assert "job queue: tables made" in capsys.readouterr().out
    assert main(["db", "upgrade", "--settings", str(path)]) == 0
    assert "job queue: tables present" in capsys.readouterr().out
    assert main(["workers", "--settings", str(path)]) == 0
    assert "(no live workers)" in capsys.readouterr().out
    assert main(["status", "--settings", str(path)]) == 0
    out = capsys.readouterr().out
    assert "herald-rss" in out
    assert "queue 'newsmon': 0 running, 0 queued" in out

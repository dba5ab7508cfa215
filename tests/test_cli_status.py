"""``newsmon status`` on a temporary database: outcomes, errors with their time, next runs,
the detail view of one feed; and the global options on either side of the command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.store.store import RunCounts, Store
from tests.test_cli import SETTINGS  # the same two feeds: one enabled, one not

LONG_ERROR = "https://herald.example/rss.xml: DNS lookup failed: " + "no such host " * 8
NEXT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    with Store.open(f"sqlite:///{tmp_path}/news.db") as store:
        store.sync_feeds(
            [
                ("herald-rss", "rss", "https://herald.example/rss.xml"),
                ("courier-economy", "listing", "https://courier.example/topic/economy"),
            ]
        )
    return path


def store_of(settings_path: Path) -> Store:
    return Store.open(f"sqlite:///{settings_path.parent}/news.db")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def status_json(capsys: pytest.CaptureFixture[str], settings: Path) -> dict[str, dict]:
    code, out, _ = run_cli(capsys, "status", "--settings", str(settings), "--format", "json")
    assert code == 0
    return {row["name"]: row for row in json.loads(out)}


def status_table(capsys: pytest.CaptureFixture[str], settings: Path) -> str:
    code, out, err = run_cli(capsys, "status", "--settings", str(settings))
    assert (code, err) == (0, "")
    return out


def test_an_interrupted_run_is_neither_a_success_nor_a_failure(settings_path: Path, capsys) -> None:
    with store_of(settings_path) as store:
        run = store.start_run("herald-rss")
        store.finish_run(run, RunCounts(), "failed", "HTTP 500", next_run_at=NEXT)
        run = store.start_run("herald-rss")
        store.finish_run(run, RunCounts(pages_fetched=1), "interrupted")
    row = status_json(capsys, settings_path)["herald-rss"]
    assert row["last_outcome"] == "interrupted"
    assert row["last_success_at"] is None
    assert row["consecutive_failures"] == 1  # the back-off is not cancelled
    out = status_table(capsys, settings_path)
    line = next(line for line in out.splitlines() if line.startswith("herald-rss"))
    assert "interrupted" in line and "never" in line and "HTTP 500" in line


def test_last_error_has_its_time_is_whole_in_json_and_clears_from_the_table_on_recovery(
    settings_path: Path, capsys
) -> None:
    with store_of(settings_path) as store:
        run = store.start_run("herald-rss")
        store.finish_run(run, RunCounts(), "failed", LONG_ERROR, next_run_at=NEXT)
    row = status_json(capsys, settings_path)["herald-rss"]
    assert row["last_error"] == LONG_ERROR
    error_at = datetime.fromisoformat(row["last_error_at"])
    assert abs(error_at - datetime.now(UTC)) < timedelta(minutes=1)
    out = status_table(capsys, settings_path)
    line = next(line for line in out.splitlines() if line.startswith("herald-rss"))
    assert f"{error_at:%Y-%m-%d %H:%M} https://herald.example/rss.xml: DNS lookup" in line

    with store_of(settings_path) as store:
        run = store.start_run("herald-rss")
        store.finish_run(run, RunCounts(pages_fetched=1), "ok", next_run_at=NEXT)
    out = status_table(capsys, settings_path)
    line = next(line for line in out.splitlines() if line.startswith("herald-rss"))
    assert "DNS" not in line and " ok " in line
    assert status_json(capsys, settings_path)["herald-rss"]["last_error"] == LONG_ERROR


def test_status_of_one_feed_lists_its_runs_with_errors_in_full(settings_path: Path, capsys) -> None:
    with store_of(settings_path) as store:
        run = store.start_run("herald-rss")
        store.finish_run(run, RunCounts(), "failed", LONG_ERROR)
        run = store.start_run("herald-rss")
        store.finish_run(run, RunCounts(pages_fetched=4, articles_found=3, articles_new=2), "ok")
    code, out, _ = run_cli(capsys, "status", "herald-rss", "--settings", str(settings_path))
    assert code == 0
    assert "feed: herald-rss (rss, enabled)" in out
    assert "failures in a row: 0" in out
    assert LONG_ERROR.strip() in out  # whole, below the table
    runs = [line for line in out.splitlines() if line[:4].isdigit() and "  " in line]
    assert [line.split()[2] for line in runs] == ["ok", "failed"]  # newest first
    code, out, _ = run_cli(
        capsys, "status", "herald-rss", "--format", "json", "--settings", str(settings_path)
    )
    detail = json.loads(out)
    assert [r["outcome"] for r in detail["runs"]] == ["ok", "failed"]
    assert detail["runs"][0]["articles_new"] == 2 and detail["runs"][1]["error"] == LONG_ERROR


def test_status_of_an_unknown_feed_suggests_the_close_name(settings_path: Path, capsys) -> None:
    code, out, err = run_cli(capsys, "status", "herald-rs", "--settings", str(settings_path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "did you mean 'herald-rss'?" in err


def test_crawl_of_an_unknown_feed_suggests_the_close_name(settings_path: Path, capsys) -> None:
    code, out, err = run_cli(capsys, "crawl", "herlad-rss", "--settings", str(settings_path))
    assert code == 2 and out == ""
    assert err == (
        "newsmon: unknown feed 'herlad-rss' (did you mean 'herald-rss'? settings.toml defines:"
        " herald-rss, courier-economy)\n"
    )


def test_a_manual_run_keeps_the_next_run_and_a_disabled_feed_has_none(
    settings_path: Path, capsys
) -> None:
    with store_of(settings_path) as store:
        store.set_next_run("herald-rss", NEXT)
        store.set_next_run("courier-economy", NEXT)
        run = store.start_run("herald-rss")  # as `newsmon crawl` does: no timetable of its own
        store.finish_run(run, RunCounts(pages_fetched=1), "ok")
    rows = status_json(capsys, settings_path)
    assert rows["herald-rss"]["next_run_at"] == "2030-01-01T12:00:00Z"
    assert rows["courier-economy"]["next_run_at"] is None
    out = status_table(capsys, settings_path)
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "2030-01-01 12:00" in lines["herald-rss"]
    assert "disabled" in lines["courier-economy"] and "2030" not in lines["courier-economy"]


@pytest.mark.parametrize(
    "args",
    [
        ["--settings", "{s}", "--log-level", "WARNING", "status"],
        ["status", "--settings", "{s}", "--log-format", "json"],
        ["--settings", "missing.toml", "status", "--settings", "{s}"],  # the later one wins
    ],
    ids=["before", "after", "both"],
)
def test_global_options_go_before_or_after_the_command(
    settings_path: Path, capsys, args: list[str]
) -> None:
    code, out, err = run_cli(capsys, *(a.replace("{s}", str(settings_path)) for a in args))
    assert (code, err) == (0, "")
    assert out.startswith("feed ") and "herald-rss" in out

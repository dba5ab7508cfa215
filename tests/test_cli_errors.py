"""Every input mistake on the command line is one line on stderr and exit 2, never a
traceback: values too large for a date, a timedelta or a database integer included."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.cli import main

SETTINGS = (
    '[database]\nurl = "sqlite:///news.db"\n\n'
    '[[feeds]]\nname = "herald-rss"\nkind = "rss"\nurl = "https://herald.example/rss.xml"\n'
)
HUGE = "100000000000000000000"  # 10^20: more than SQLite's or PostgreSQL's integers hold


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    return path


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("newsmon: ")
    return code, lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["query", "--since", "9999999d"], "--since '9999999d': too far back"),
        (["query", "--until", "99999999999999999999d"], "--until '99999999999999999999d': too"),
        (["stats", "--since", "9999999d"], "--since '9999999d': too far back"),
        (["export", "--since", "9999999d"], "--since '9999999d': too far back"),
        (["query", "--since", "0001-01-01T00:00+05:00"], "outside the years 1 to 9999 in UTC"),
        (["stats", "--since", "9999-12-31T23:59-05:00"], "outside the years 1 to 9999 in UTC"),
        (["query", "--limit", HUGE], "--limit: expected a whole number from 0 (no limit) to"),
        (["query", "--limit", "-1"], "--limit: expected a whole number from 0 (no limit) to"),
        (["stats", "--by", "tag", "--limit", HUGE], "--limit: expected a whole number from 0"),
        (["show", HUGE], f"an article ID is a whole number from 1 to 2147483647 (got '{HUGE}')"),
        (["history", HUGE], "an article ID is a whole number from 1 to 2147483647"),
        (["show", "2147483648"], "an article ID is a whole number from 1 to 2147483647"),
        (["show", "²"], "an article ID is a whole number"),  # a digit int() cannot read
        (["history", "1", "--diff", "1", "x"], "argument --diff: invalid int value: 'x'"),
        (["stats", "--by", "author"], "argument --by: invalid choice: 'author'"),
        (["query", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
    ],
)
def test_bad_option_values_are_one_line_usage_errors(
    settings_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, line = one_line_error(capsys, *args, "--settings", str(settings_path))
    assert code == 2
    assert expected in line, line


def test_the_largest_accepted_id_and_limit_work_on_both_databases(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "db.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    # Read commands open an existing database, never make one.
    assert main(["db", "upgrade", "--settings", str(path)]) == 0
    capsys.readouterr()
    largest = str(2**31 - 1)
    code, line = one_line_error(capsys, "show", largest, "--settings", str(path))
    assert (code, line) == (1, f"newsmon: no stored article matches '{largest}'")
    for args in (["query", "--limit", largest], ["stats", "--by", "site", "--limit", largest]):
        assert main([*args, "--format", "json", "--settings", str(path)]) == 0
        out, err = capsys.readouterr()
        assert err == "" and out.strip() not in ("", "null")


def test_unknown_command_and_missing_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, line = one_line_error(capsys, "frobnicate")
    assert code == 2 and "invalid choice: 'frobnicate'" in line
    code, line = one_line_error(capsys)
    assert code == 2 and "required: COMMAND" in line and "newsmon --help" in line


def test_deeply_nested_settings_file_is_a_settings_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    code, line = one_line_error(capsys, "check-config", "--settings", str(path))
    assert code == 2
    assert line == f"newsmon: {path}: arrays or tables nested too deeply to read"


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('schedule = { every = "99999999999d" }', "must be from 1s to 366d"),
        ('schedule = { every = "15m", jitter = "999999999d" }', "must be from 0s to 1d"),
    ],
)
def test_out_of_range_schedule_is_a_settings_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, expected: str
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(SETTINGS + setting + "\n", encoding="utf-8")
    code, line = one_line_error(capsys, "check-config", "--settings", str(path))
    assert code == 2
    assert line.startswith(f"newsmon: {path}: feeds[0] (name='herald-rss').schedule.")
    assert expected in line


def test_read_commands_never_create_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped path must not look like an empty database: no file, no folder made."""
    missing = tmp_path / "typo" / "news.db"
    path = tmp_path / "typo.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{missing}"\n', encoding="utf-8")
    for args in (["status"], ["query"], ["show", "1"], ["export"], ["stats"], ["history", "1"]):
        code, line = one_line_error(capsys, *args, "--settings", str(path))
        assert code == 1, args
        assert line.startswith(f"newsmon: database sqlite:///{missing} does not exist"), line
        assert "newsmon crawl" in line
    assert not (tmp_path / "typo").exists()


@pytest.mark.postgres
def test_read_commands_on_an_empty_postgresql_database_say_so(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pg.toml"
    path.write_text(f'[database]\nurl = "{pg_url}"\n', encoding="utf-8")
    code, line = one_line_error(capsys, "status", "--settings", str(path))
    assert code == 1 and "has no newsmon tables" in line
    assert main(["db", "current", "--settings", str(path)]) == 1  # still empty: nothing made
    assert "`newsmon db upgrade` creates" in capsys.readouterr().out

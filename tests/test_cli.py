"""The read commands on a temporary database: output and exit codes.

``crawl`` and ``run`` start a reactor (once per process), so they are exercised in
subprocesses by the end-to-end and service tests.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.article import Article as Parsed
from crawler.cli import main
from crawler.errors import StoreError
from crawler.store.queries import EXPORT_KEYS
from crawler.store.store import RunCounts, Store
from tests.factories import make_article

SETTINGS = """
[database]
url = "sqlite:///news.db"

[[feeds]]
name = "herald-rss"
kind = "rss"
url = "https://herald.example/rss.xml"
tags = ["world"]

[[feeds]]
name = "courier-economy"
kind = "listing"
url = "https://courier.example/topic/economy"
enabled = false
"""


def _article(n: int, **extra: Any) -> Parsed:
    story = make_article(
        f"https://herald.example/2024/05/0{n}/story-{n}.html",
        title=f"Story number {n}",
        authors=("Rui Costa",),
        published_at=datetime(2024, 5, n, 8, 0, tzinfo=UTC),
        tags=("harbour",),
        body=f"Paragraph one of story {n}.\n\nParagraph two, with a comma, of story {n}.",
        summary=f"Summary {n}",
    )
    return replace(story, **extra)


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    store.sync_feeds([("herald-rss", "rss", "https://herald.example/rss.xml")])
    run = store.start_run("herald-rss")
    store.save_article(_article(1), feed="herald-rss", feed_tags=["world"])
    store.save_article(_article(2, tags=("election",)), feed="herald-rss")
    store.save_article(_article(2, body="An edited body for story 2."), feed="herald-rss")
    store.finish_run(run, RunCounts(pages_fetched=3, articles_found=2, articles_new=2), "ok")
    store.close()
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_query_table_lists_newest_first(settings_path: Path, capsys) -> None:
    code, out, _ = run_cli(capsys, "query", "--settings", str(settings_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "published", "(UTC)"]
    assert "Story number 2" in lines[1] and "Story number 1" in lines[2]


def test_query_json_filters_by_tag(settings_path: Path, capsys) -> None:
    code, out, _ = run_cli(
        capsys, "query", "--settings", str(settings_path), "--tag", "WORLD", "--format", "json"
    )
    assert code == 0
    rows = json.loads(out)
    assert [r["title"] for r in rows] == ["Story number 1"]
    assert rows[0]["tags"] == ["harbour", "world"]


def test_query_since_and_csv(settings_path: Path, capsys) -> None:
    code, out, _ = run_cli(
        capsys,
        "query",
        "--settings",
        str(settings_path),
        "--since",
        "2024-05-02",
        "--format",
        "csv",
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["title"] for r in rows] == ["Story number 2"]
    assert json.loads(rows[0]["authors"]) == ["Rui Costa"]


def test_query_bad_date_is_a_one_line_error(settings_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "query", "--settings", str(settings_path), "--since", "soon")
    assert code == 2  # a usage error
    assert err.strip().startswith("newsmon: --since 'soon'") and len(err.strip().splitlines()) == 1


def test_show_by_id_and_by_tracking_url(settings_path: Path, capsys) -> None:
    code, out, _ = run_cli(
        capsys, "show", "--settings", str(settings_path), "2", "--format", "json"
    )
    assert code == 0
    detail = json.loads(out)
    assert detail["title"] == "Story number 2" and detail["versions"] == 2
    assert [v["version"] for v in detail["version_history"]] == [1, 2]
    url = "https://herald.example/2024/05/01/story-1.html?utm_source=rss#top"
    code, out, _ = run_cli(capsys, "show", "--settings", str(settings_path), url)
    assert code == 0 and "Story number 1" in out and "Paragraph two" in out


def test_show_unknown_article_exits_1(settings_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "show", "--settings", str(settings_path), "999")
    assert code == 1 and "no stored article matches '999'" in err


def test_export_jsonl_has_exactly_the_documented_keys(
    settings_path: Path, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "out.jsonl"
    code, _, err = run_cli(
        capsys, "export", "--settings", str(settings_path), "--output", str(target)
    )
    assert code == 0 and "exported 2 articles" in err
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [tuple(r) for r in records] == [EXPORT_KEYS, EXPORT_KEYS]
    assert records[0]["published_at"] == "2024-05-01T08:00:00Z"
    assert records[0]["feeds"] == ["herald-rss"] and records[1]["versions"] == 2
    # cluster_id follows versions; a story with no copies elsewhere is its own cluster.
    assert EXPORT_KEYS[-2:] == ("versions", "cluster_id")
    assert [r["cluster_id"] for r in records] == [r["id"] for r in records]


def test_export_csv_to_stdout(settings_path: Path, capsys) -> None:
    code, out, _ = run_cli(
        capsys,
        "export",
        "--settings",
        str(settings_path),
        "--format",
        "csv",
        "--since",
        "2024-05-02",
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1 and tuple(rows[0]) == EXPORT_KEYS


def test_status_shows_every_configured_feed(settings_path: Path, capsys) -> None:
    code, out, _ = run_cli(capsys, "status", "--settings", str(settings_path), "--format", "json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["herald-rss"]["last_outcome"] == "ok"
    assert rows["herald-rss"]["articles_new"] == 2
    assert rows["courier-economy"]["last_run_at"] is None and not rows["courier-economy"]["enabled"]
    code, out, _ = run_cli(capsys, "status", "--settings", str(settings_path))
    assert code == 0 and "herald-rss" in out and "courier-economy (off)" in out


def test_check_config_ok_and_broken(settings_path: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = run_cli(capsys, "check-config", "--settings", str(settings_path))
    assert code == 0 and "2 feeds (1 enabled)" in out
    broken = tmp_path / "broken.toml"
    broken.write_text(SETTINGS.replace('tags = ["world"]', 'tagz = ["world"]'), encoding="utf-8")
    code, out, err = run_cli(capsys, "check-config", "--settings", str(broken))
    assert code == 2
    assert "broken.toml: feeds[0] (name='herald-rss').tagz: unknown key" in err


def test_settings_from_environment(settings_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NEWSMON_SETTINGS", str(settings_path))
    code, out, _ = run_cli(capsys, "check-config")
    assert code == 0 and str(settings_path) in out


def test_crawl_unknown_feed_exits_2(settings_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "crawl", "--settings", str(settings_path), "nope")
    assert code == 2 and "unknown feed 'nope'" in err


def test_missing_settings_file_exits_2(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "query", "--settings", str(tmp_path / "absent.toml"))
    assert code == 2 and "absent.toml" in err and "cannot read" in err


def test_check_config_hides_database_passwords(tmp_path: Path, capsys) -> None:
    path = tmp_path / "settings.toml"
    url = "postgresql://newsmon:s3cretpass@db.example:5432/news?sslmode=require&password=hunter2"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    code, out, err = run_cli(capsys, "check-config", "--settings", str(path))
    assert code == 0 and err == ""
    assert "s3cretpass" not in out and "hunter2" not in out
    assert "database postgresql+psycopg://newsmon:***@db.example:5432/news?" in out
    assert "sslmode=require" in out


# --- export --output: a regular file or a new path, written whole or not at all ----------


def export_to(capsys: pytest.CaptureFixture[str], settings: Path, target: Path | str):
    code, out, err = run_cli(capsys, "export", "--settings", str(settings), "--output", str(target))
    assert "Traceback" not in err and ".partial" not in err
    return code, out, err


def refused(capsys: pytest.CaptureFixture[str], settings: Path, target: Path, why: str) -> None:
    code, out, err = export_to(capsys, settings, target)
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith(f"newsmon: --output {str(target)!r}: {why}"), line


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def test_export_refuses_a_symlink_and_leaves_it_alone(
    settings_path: Path, tmp_path: Path, capsys
) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text("kept\n", encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    refused(capsys, settings_path, link, "a symbolic link, not a regular file")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "kept\n"
    assert leftovers(tmp_path) == []


def test_export_refuses_a_fifo_without_opening_it(
    settings_path: Path, tmp_path: Path, capsys
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it for writing would block: the check must not
    refused(capsys, settings_path, fifo, "a FIFO, not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_export_refuses_a_directory(settings_path: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "exports"
    target.mkdir()
    refused(capsys, settings_path, target, "a directory, not a regular file")
    assert target.is_dir() and list(target.iterdir()) == []


def test_export_refuses_a_missing_directory(settings_path: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "nowhere" / "out.jsonl"
    refused(capsys, settings_path, target, f"no directory {str(tmp_path / 'nowhere')!r}")
    assert not (tmp_path / "nowhere").exists()


def test_export_refuses_a_path_under_a_regular_file(
    settings_path: Path, tmp_path: Path, capsys
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n", encoding="utf-8")
    refused(capsys, settings_path, notes / "out.jsonl", f"{str(notes)!r} is not a directory")
    assert notes.read_text(encoding="utf-8") == "notes\n"


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_export_into_an_unwritable_directory_fails_in_one_line(settings_path: Path, capsys) -> None:
    # sysfs refuses new files to everyone, root included (tests may run as root, for whom
    # a read-only permission bit would not stop anything).
    target = Path("/sys/kernel/newsmon-export.jsonl")
    code, out, err = export_to(capsys, settings_path, target)
    assert code == 1 and out == ""
    assert err.splitlines() == [f"newsmon: cannot write {target}: Permission denied"]
    assert not target.exists()


def test_export_replaces_a_regular_file_whole_and_keeps_its_mode(
    settings_path: Path, tmp_path: Path, capsys
) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old export\n", encoding="utf-8")
    target.chmod(0o640)
    code, _, err = export_to(capsys, settings_path, target)
    assert code == 0 and err == f"exported 2 articles to {target}\n"
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["Story number 1", "Story number 2"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_export_that_fails_midway_leaves_the_old_file(
    settings_path: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from crawler.store import queries

    real_iter_export = queries.iter_export

    def one_then_fail(session, since=None, seen_since=None):  # type: ignore[no-untyped-def]
        records = real_iter_export(session, since, seen_since=seen_since)
        yield next(records)
        raise StoreError("database connection lost")

    monkeypatch.setattr(queries, "iter_export", one_then_fail)
    target = tmp_path / "out.jsonl"
    target.write_text("old export\n", encoding="utf-8")
    code, _, err = export_to(capsys, settings_path, target)
    assert code == 1 and err == "newsmon: database connection lost\n"
    assert target.read_text(encoding="utf-8") == "old export\n"
    assert leftovers(tmp_path) == []


def test_export_to_dash_writes_standard_output(settings_path: Path, tmp_path: Path, capsys) -> None:
    code, out, err = export_to(capsys, settings_path, "-")
    assert code == 0 and err == ""
    assert [json.loads(line)["id"] for line in out.splitlines()] == [1, 2]
    assert not (tmp_path / "-").exists()


def test_lead_image_caption_and_credit_are_shown_wherever_the_image_is(
    settings_path: Path, tmp_path: Path, capsys
) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    image = {
        "lead_image_url": "https://herald.example/img/quay.jpg",
        "lead_image_caption": "The quay at dawn.",
        "lead_image_credit": "Rui Costa/Herald",
    }
    article_id = store.save_article(_article(3, **image), feed="herald-rss").article_id
    store.close()
    settings = str(settings_path)
    code, out, _ = run_cli(capsys, "show", "--settings", settings, str(article_id))
    assert code == 0
    for key, value in image.items():
        assert f"{key:>20}: {value}" in out.splitlines()
    code, out, _ = run_cli(capsys, "show", "--settings", settings, "1", "--format", "json")
    assert code == 0 and json.loads(out)["lead_image_caption"] is None
    code, out, _ = run_cli(capsys, "query", "--settings", settings, "--format", "json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert {key: rows[article_id][key] for key in image} == image
    code, out, _ = run_cli(capsys, "export", "--settings", settings)
    records = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert {key: records[article_id][key] for key in image} == image


def test_seen_since_is_collection_time_and_since_is_publication_time(
    settings_path: Path, capsys
) -> None:
    with Store.open(f"sqlite:///{settings_path.parent}/news.db") as store:
        store.save_article(
            _article(3), feed="herald-rss", fetched_at=datetime.now(UTC) - timedelta(days=3)
        )
    s = str(settings_path)
    code, out, _ = run_cli(capsys, "query", "--settings", s, "--since", "1d")
    assert (code, out.splitlines()[-1]) == (0, "(no articles match)")  # published in 2024
    code, out, _ = run_cli(
        capsys, "query", "--settings", s, "--seen-since", "1d", "--format", "json"
    )
    assert code == 0 and [r["title"] for r in json.loads(out)] == [
        "Story number 2",
        "Story number 1",
    ]
    code, out, _ = run_cli(capsys, "export", "--settings", s, "--seen-since", "4d")
    assert code == 0 and len(out.splitlines()) == 3
    code, out, _ = run_cli(
        capsys, "export", "--settings", s, "--seen-since", "1d", "--since", "2024-05-02"
    )
    assert code == 0 and [json.loads(line)["title"] for line in out.splitlines()] == [
        "Story number 2"
    ]
    for command in ("query", "export"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        assert "--seen-since D first collected by newsmon" in help_text
        assert "published at or after D" in help_text

"""Alerts in one process: what matches, what is sent once, retries, digests, settings.

Real parts throughout: a SQLite file (and PostgreSQL), apprise sending JSON over HTTP to a
webhook receiver on 127.0.0.1, and the pass's clock given explicitly where back-off and
digest periods are what is tested (no sleeping).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.alerts.dispatch import AlertDispatcher
from crawler.alerts.targets import check_targets, shown, target_key
from crawler.config import parse_settings
from crawler.config_alerts import AlertConfig
from crawler.errors import SettingsError
from crawler.store.alert_deliveries import failing_targets, retry_delay
from crawler.store.alert_matches import digest_due
from crawler.store.models import AlertDelivery
from crawler.store.store import Store
from tests.factories import make_article
from tests.webhook import WebhookReceiver

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
KHERSON_BODY = "Crowds gathered in Kherson as soldiers arrived. " * 8
OTHER_BODY = "The central bank kept its key rate unchanged on Friday. " * 8


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as hook:
        yield hook


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/news.db"
    else:
        url = request.getfixturevalue("pg_database")
    with Store.open(url) as opened:
        if request.param == "postgresql":
            _empty(opened)
        yield opened


def _empty(store: Store) -> None:
    from sqlalchemy import text

    with store.writing() as session:
        session.execute(text("TRUNCATE articles, alerts, alert_deliveries CASCADE"))


def alert(receiver: WebhookReceiver, **keys: object) -> AlertConfig:
    values: dict[str, object] = {"name": "kherson", "notify": [receiver.url()], **keys}
    return AlertConfig.model_validate(values)


def save(store: Store, path: str, title: str, body: str, **fields: object) -> int:
    result = store.save_article(
        make_article(f"https://news.example{path}", title=title, body=body, **fields),
        feed="wire",
        feed_tags=("world",),
    )
    return result.article_id


def test_a_match_is_sent_once_and_never_again(store: Store, receiver: WebhookReceiver) -> None:
    dispatcher = AlertDispatcher(store, [alert(receiver, search="kherson")])
    dispatcher.begin(T0)
    kherson = save(store, "/a/kherson", "Crowds Greet Soldiers in Kherson", KHERSON_BODY)
    save(store, "/a/rate", "Central Bank Holds Rate", OTHER_BODY)  # matches nothing
    first = dispatcher.run_pass(T0)
    assert (first.matched, first.sent, first.failed) == (1, 1, 0)
    posts = receiver.received()
    assert len(posts) == 1
    assert posts[0].title == "[kherson] new: Crowds Greet Soldiers in Kherson"
    assert "https://news.example/a/kherson" in posts[0].message
    # Another pass, and a new dispatcher (a restart) on the same database: nothing more.
    assert dispatcher.run_pass(T0 + timedelta(minutes=1)).sent == 0
    again = AlertDispatcher(store, [alert(receiver, search="kherson")])
    again.begin(T0)
    assert again.run_pass(T0 + timedelta(minutes=2)).sent == 0
    assert len(receiver.received()) == 1
    with store.reading() as session:
        rows = list(session.scalars(select(AlertDelivery)))
    assert [(r.article_id, r.version, r.event, r.status, r.attempts) for r in rows] == [
        (kherson, 1, "new", "sent", 1)
    ]


def test_an_edit_is_one_message_per_new_version(store: Store, receiver: WebhookReceiver) -> None:
    dispatcher = AlertDispatcher(store, [alert(receiver, events=["edited"], tags=["world"])])
    dispatcher.begin(T0)
    save(store, "/a/k", "Soldiers Enter Kherson", KHERSON_BODY)
    assert dispatcher.run_pass(T0).sent == 0  # new articles are not asked for
    save(store, "/a/k", "Soldiers Enter Kherson to Cheers", KHERSON_BODY + "Update.")
    save(store, "/a/k", "Soldiers Enter Kherson to Cheers", KHERSON_BODY + "Update.")  # same
    assert dispatcher.run_pass(T0).sent == 1
    (post,) = receiver.received()
    assert post.title == "[kherson] edited: Soldiers Enter Kherson to Cheers"
    assert "the headline was: Soldiers Enter Kherson" in post.message


def test_filters_tags_feeds_and_alternative_searches(
    store: Store, receiver: WebhookReceiver
) -> None:
    wanted = alert(receiver, search=["Kherson", "Cherson"], tags=["world"], feeds=["wire"])
    unwanted = alert(receiver, name="other-tag", notify=[receiver.url("/other")], tags=["sport"])
    dispatcher = AlertDispatcher(store, [wanted, unwanted])
    dispatcher.begin(T0)
    save(store, "/a/1", "Kherson Greets Soldiers", KHERSON_BODY)
    save(store, "/a/2", "Cherson Residents Return", "People came back to Cherson. " * 10)
    save(store, "/a/3", "Central Bank Holds Rate", OTHER_BODY)
    assert dispatcher.run_pass(T0).sent == 2
    assert sorted(p.title for p in receiver.received("/hook")) == [
        "[kherson] new: Cherson Residents Return",
        "[kherson] new: Kherson Greets Soldiers",
    ]
    assert receiver.received("/other") == []


def test_a_new_alert_starts_after_what_is_stored(store: Store, receiver: WebhookReceiver) -> None:
    save(store, "/a/old", "Kherson Before the Alert", KHERSON_BODY)
    dispatcher = AlertDispatcher(store, [alert(receiver, search="kherson")])
    dispatcher.begin(T0)
    assert dispatcher.run_pass(T0).sent == 0
    save(store, "/a/new", "Kherson After the Alert", KHERSON_BODY + " New.")
    assert dispatcher.run_pass(T0).sent == 1
    assert [p.title for p in receiver.received()] == ["[kherson] new: Kherson After the Alert"]


def test_a_failing_target_is_retried_with_back_off_and_sent_once(
    store: Store, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    good = WebhookReceiver()
    try:
        config = alert(receiver, notify=[receiver.url(), good.url()])
        dispatcher = AlertDispatcher(store, [config])
        dispatcher.begin(T0)
        receiver.fail_next(2)
        save(store, "/a/k", "Kherson Greets Soldiers", KHERSON_BODY)
        save(store, "/a/k2", "Kherson Markets Reopen", KHERSON_BODY + " Markets.")
        first = dispatcher.run_pass(T0)
        # The other target is not held up: it has both; the failing one was tried once.
        assert len(good.received()) == 2
        assert (first.sent, first.failed) == (2, 2)
        assert len(receiver.posts) == 1 and receiver.received() == []
        with store.reading() as session:
            (failing,) = failing_targets(session, ["kherson"], T0)
        assert failing.target == receiver.url() and failing.waiting == 2
        assert failing.attempts == 1 and "500" in (failing.last_error or "")
        assert failing.next_attempt_at == T0 + retry_delay(1)
        # Not before its time; then a second failure, doubling the wait; then success.
        assert dispatcher.run_pass(T0 + timedelta(seconds=29)).sent == 0
        assert len(receiver.posts) == 1
        second = dispatcher.run_pass(T0 + timedelta(seconds=30))
        assert (second.sent, second.failed) == (0, 2) and len(receiver.posts) == 2
        assert dispatcher.run_pass(T0 + timedelta(seconds=89)).sent == 0
        third = dispatcher.run_pass(T0 + timedelta(seconds=90))
        assert third.sent == 2
        assert sorted(p.title for p in receiver.received()) == [
            "[kherson] new: Kherson Greets Soldiers",
            "[kherson] new: Kherson Markets Reopen",
        ]
        assert dispatcher.run_pass(T0 + timedelta(hours=2)).sent == 0
        assert len(receiver.received()) == 2 and len(good.received()) == 2
        with store.reading() as session:
            assert failing_targets(session, ["kherson"], T0 + timedelta(hours=2)) == []
            attempts = sorted(
                session.scalars(
                    select(AlertDelivery.attempts).where(
                        AlertDelivery.target_key == target_key(receiver.url())
                    )
                )
            )
        assert attempts == [3, 3]
    finally:
        good.close()


def test_a_target_down_for_a_day_is_given_up(store: Store, tmp_path: Path) -> None:
    config = AlertConfig(name="k", notify=("json://127.0.0.1:9/closed",))  # nothing listens
    dispatcher = AlertDispatcher(store, [config])
    dispatcher.begin(T0)
    save(store, "/a/k", "Kherson Greets Soldiers", KHERSON_BODY)
    assert dispatcher.run_pass(T0).failed == 1
    assert dispatcher.run_pass(T0 + timedelta(days=1)).failed == 1
    with store.reading() as session:
        (row,) = session.scalars(select(AlertDelivery))
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)
        (failing,) = failing_targets(session, ["k"], T0 + timedelta(days=1))
    assert failing.given_up == 1 and failing.next_attempt_at is None
    assert dispatcher.run_pass(T0 + timedelta(days=2)).failed == 0  # never tried again


def test_a_digest_sends_one_message_per_period(store: Store, receiver: WebhookReceiver) -> None:
    dispatcher = AlertDispatcher(store, [alert(receiver, digest="1h")])
    dispatcher.begin(T0)
    start = T0 + timedelta(minutes=10)
    for n in range(3):
        save(store, f"/a/{n}", f"Story number {n} of the hour", f"{OTHER_BODY} {n}")
        dispatcher.run_pass(start + timedelta(minutes=n))
    assert receiver.received() == []
    report = dispatcher.run_pass(T0 + timedelta(hours=1))
    assert report.sent == 1  # messages: one digest of three matches
    (post,) = receiver.received()
    assert post.title == "[kherson] 3 new"
    assert all(f"Story number {n} of the hour" in post.message for n in range(3))
    assert digest_due(start, timedelta(hours=1)) == T0 + timedelta(hours=1)


def test_secrets_are_hidden_when_urls_are_shown() -> None:
    assert shown("json://user:s3cret-pass@127.0.0.1:9000/hook") == (
        "json://user:****@127.0.0.1:9000/hook"
    )
    telegram = shown("tgram://123456789:abcdefghijklmnop/12315544/")
    assert "abcdefghijklmnop" not in telegram and telegram.startswith("tgram://")


def test_unusable_notify_urls_are_settings_problems() -> None:
    settings = parse_settings(
        textwrap.dedent(
            """
            [[alerts]]
            name = "k"
            notify = ["json://127.0.0.1/ok", "nosuchservice://user:hunter22@host/x"]
            """
        )
    )
    with pytest.raises(SettingsError) as caught:
        check_targets(settings, "settings.toml")
    (problem,) = caught.value.problems
    assert problem.startswith("settings.toml: alerts[0] (name='k').notify[1]: apprise cannot use")
    assert "hunter22" not in problem


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('name = "k"\nsearch = "a OR b"\nnotify = ["json://h/x"]', ".search[0]: OR is searched"),
        ('name = "k"\nnotify = []', ".notify: give at least one URL"),
        ('name = "k"\nnotify = ["json://h/x"]\nevents = ["edit"]', ".events[0]: expected 'new'"),
        ('name = "k"\nnotify = ["json://h/x"]\ndigest = "8d"', ".digest: must be from 0s to 7d"),
        ('name = "k"\nnotify = ["json://h/x"]\nfeeds = ["nope"]', ".feeds[0]: no [[feeds]] entry"),
        ('name = "k"\nnotify = ["not a url"]', ".notify[0]: must be an apprise URL"),
        ('name = "k"\nnotify = ["json://h/x"]\nserach = "x"', ".serach: unknown key (did you"),
        ('notify = ["json://h/x"]', ".name: required key missing"),
    ],
)
def test_invalid_alert_settings_are_one_line_problems(toml: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(f"[[alerts]]\n{toml}\n")
    (line,) = caught.value.problems
    assert line.startswith("settings.toml: alerts[0]") and problem in line, line
    assert "\n" not in line


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "bad host:80"])
def test_invalid_metrics_address(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(f'[service]\nmetrics = "{value}"\n')
    (line,) = caught.value.problems
    assert line.startswith("settings.toml: service.metrics: "), line


def write_alert_settings(tmp_path: Path, notify: list[str]) -> Path:
    urls = ", ".join(f'"{u}"' for u in notify)
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n\n'
        f'[[alerts]]\nname = "kherson"\nsearch = "kherson"\nnotify = [{urls}]\n',
        encoding="utf-8",
    )
    return path


def newsmon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=120
    )


def test_alerts_test_reports_each_target_and_exits_by_the_worst(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    secret = "hunter2-secret"
    good = receiver.url("/good").replace("json://", f"json://desk:{secret}@")
    path = write_alert_settings(tmp_path, [good])
    ok = newsmon("alerts", "test", "kherson", "--settings", str(path))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"kherson → json://desk:****@127.0.0.1:{receiver.port}/good: sent"
    (post,) = receiver.received("/good")
    assert post.title == "[kherson] test message"

    path = write_alert_settings(tmp_path, [good, "json://127.0.0.1:9/closed"])
    receiver.fail_next(1)
    failed = newsmon("alerts", "test", "kherson", "--settings", str(path))
    assert failed.returncode == 1
    lines = failed.stdout.strip().splitlines()
    assert len(lines) == 2 and all(": FAILED: " in line for line in lines), lines
    assert secret not in failed.stdout + failed.stderr

    unknown = newsmon("alerts", "test", "nope", "--settings", str(path))
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "newsmon: unknown alert 'nope' (settings.toml defines: kherson)"
    )

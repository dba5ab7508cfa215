"""The PostgreSQL service lock survives its connection: a terminated lock backend (what a
database restart does to every session) is noticed, the lock taken again — or the service
stops when another process took it meanwhile or the database stays away.

The real service runs in a subprocess against the session's real PostgreSQL database; the
lock backend is terminated with ``pg_terminate_backend``, never by restarting the server
(other test sessions share it).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from crawler.errors import ServiceLockedError, StoreError
from crawler.store.lock import LockCheck, ServiceLock, advisory_key, lock_application_name
from crawler.store.models import CrawlRun
from crawler.store.store import Store
from tests.conftest import PG_ADMIN_URL
from tests.newssites import FixtureNetwork
from tests.service_process import ROOT, ServiceProcess, only_feeds_enabled, wait_for
from tests.test_end_to_end import write_settings

LOCK_HOLDERS = text(
    "SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
    " WHERE l.locktype = 'advisory' AND l.granted = :granted AND l.classid = 0"
    " AND l.objid = CAST(:k AS bigint)::oid AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@pytest.fixture
def admin(pg_url: str) -> Iterator[Engine]:
    """Plain connections to the service's database, for looking at and taking its lock."""
    engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def pg_service_settings(tmp_path: Path, network: FixtureNetwork, pg_url: str) -> Path:
    settings = write_settings(tmp_path, network, every="1s", revisit_window="1s")
    text_ = settings.read_text(encoding="utf-8")
    settings.write_text(
        text_.replace(f'url = "sqlite:///{tmp_path}/news.db"', f'url = "{pg_url}"'),
        encoding="utf-8",
    )
    only_feeds_enabled(settings, ("gazette-atom",))
    return settings


def lock_holders(admin: Engine, pg_url: str, granted: bool = True) -> list[tuple[int, str]]:
    with admin.connect() as conn:
        rows = conn.execute(LOCK_HOLDERS, {"k": advisory_key(pg_url), "granted": granted})
        return [(int(pid), str(name)) for pid, name in rows]


def held_by_service(admin: Engine, pg_url: str, service: ServiceProcess) -> int | None:
    """The backend pid holding the service lock for ``service``, if it holds it."""
    name = lock_application_name(service.process.pid)
    for pid, application_name in lock_holders(admin, pg_url):
        if application_name == name:
            return pid
    return None


def terminate_lock_backend(admin: Engine, service: ServiceProcess) -> None:
    with admin.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": lock_application_name(service.process.pid)},
        ).all()
    assert killed == [(True,)]


def finished_runs_since(store: Store, since: datetime) -> int:
    with store.reading() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(CrawlRun)
                .where(
                    CrawlRun.feed == "gazette-atom",
                    CrawlRun.started_at >= since,
                    CrawlRun.outcome.in_(["ok", "partial"]),
                )
            )
            or 0
        )


def run_second_service(settings: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scheduler.py"), "--settings", str(settings)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_service_takes_its_lock_again_when_its_backend_is_terminated(
    tmp_path: Path, news_network: FixtureNetwork, pg_url: str, admin: Engine
) -> None:
    settings = pg_service_settings(tmp_path, news_network, pg_url)
    service = ServiceProcess(settings)
    store = None
    try:
        first_backend = wait_for(
            "the service to hold its lock",
            lambda: "service started" in service.log and held_by_service(admin, pg_url, service),
            service=service,
        )
        store = Store.open(pg_url)
        terminate_lock_backend(admin, service)
        killed_at = datetime.now(UTC)

        wait_for(
            "the service to say it holds the lock again",
            lambda: "is held again on a new connection" in service.log,
            service=service,
        )
        second_backend = held_by_service(admin, pg_url, service)
        assert second_backend is not None and second_backend != first_backend
        assert len(lock_holders(admin, pg_url)) == 1
        regained = [line for line in service.log.splitlines() if "held again" in line]
        assert len(regained) == 1
        assert "connection to the database lost" in regained[0]

        # It keeps crawling: a run that started after the kill completes.
        wait_for(
            "a feed run after the kill",
            lambda: finished_runs_since(store, killed_at) >= 1,
            service=service,
        )
        # And a second service is refused as before, in one line.
        second = run_second_service(settings)
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert lines[-1].startswith("newsmon: another newsmon service is already running against")
        assert make_url(pg_url).database in lines[-1]
        assert "Traceback" not in second.stderr
        assert held_by_service(admin, pg_url, service) == second_backend

        assert service.terminate() == 0, service.log[-3000:]
        assert lock_holders(admin, pg_url) == []
        assert "Traceback" not in service.log
    finally:
        service.close()
        if store is not None:
            store.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_service_stops_when_another_session_took_its_lock_meanwhile(
    tmp_path: Path, news_network: FixtureNetwork, pg_url: str, admin: Engine
) -> None:
    settings = pg_service_settings(tmp_path, news_network, pg_url)
    service = ServiceProcess(settings)
    taker = admin.connect()
    try:
        wait_for(
            "the service to hold its lock",
            lambda: "service started" in service.log and held_by_service(admin, pg_url, service),
            service=service,
        )
        # Queue for the lock before its holder goes, so that this session gets it the moment
        # the terminated backend lets go — before the service can try again.
        taker_pid = taker.execute(text("SELECT pg_backend_pid()")).scalar()
        taker.execute(text("SET lock_timeout = '60s'"))
        took: list[bool] = []

        def take_the_lock() -> None:
            taker.execute(text("SELECT pg_advisory_lock(:k)"), {"k": advisory_key(pg_url)})
            took.append(True)

        queue = threading.Thread(target=take_the_lock)
        queue.start()
        wait_for(
            "the test session to wait for the lock",
            lambda: any(pid == taker_pid for pid, _ in lock_holders(admin, pg_url, granted=False)),
        )
        terminate_lock_backend(admin, service)
        queue.join(60)
        assert took == [True], "the test session did not get the lock"
        assert [pid for pid, _ in lock_holders(admin, pg_url)] == [taker_pid]

        code = service.wait(60)
        assert code == 1, service.log[-3000:]
        log = service.log
        assert "Traceback" not in log
        last = log.strip().splitlines()[-1]
        assert last.startswith("newsmon: the service lock on postgresql")
        assert "another newsmon service holds it now: this one stops crawling" in last
        assert "service lock lost: stopping" in log
        assert "service stopped" in log
        assert [pid for pid, _ in lock_holders(admin, pg_url)] == [taker_pid]
    finally:
        service.close()
        taker.close()


# -- the lock on its own: a database that does not answer for a while ----------------------


@pytest.fixture
def lone_database(pg_database: str) -> Iterator[tuple[str, Engine]]:
    """A database of its own (connections to it get refused and allowed again here), and
    a connection to the server's admin database that does it."""
    name = f"{make_url(pg_database).database}_lock"
    server = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_database).set(database=name).render_as_string(False), server
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def allow_connections(server: Engine, url: str, allowed: bool) -> None:
    with server.connect() as conn:
        name = make_url(url).database
        conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {allowed}'))


def terminate_own_lock_backend(conn: Connection, url: str) -> None:
    killed = conn.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = :name AND datname = :db"
        ),
        {"name": lock_application_name(), "db": make_url(url).database},
    ).all()
    assert killed == [(True,)]


def verify_until(lock: ServiceLock, wanted: LockCheck) -> list[LockCheck]:
    """verify() until it answers ``wanted`` (the backend's exit takes a moment to show)."""
    seen: list[LockCheck] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen.append(lock.verify())
        if seen[-1] is wanted:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"verify() never answered {wanted}: {seen[-5:]}")


@pytest.mark.postgres
def test_lock_is_taken_again_when_the_database_answers_within_the_bound(
    lone_database: tuple[str, Engine],
) -> None:
    url, server = lone_database
    lock = ServiceLock(url, regain_within=60)
    lock.acquire()
    try:
        assert lock.is_watched
        assert lock.verify() is LockCheck.HELD
        allow_connections(server, url, False)
        with server.connect() as conn:
            terminate_own_lock_backend(conn, url)
        seen = verify_until(lock, LockCheck.RETRYING)
        assert set(seen) <= {LockCheck.HELD, LockCheck.RETRYING}
        allow_connections(server, url, True)
        assert lock.verify() is LockCheck.REGAINED
        assert lock.verify() is LockCheck.HELD
        with pytest.raises(ServiceLockedError):
            ServiceLock(url).acquire()
    finally:
        allow_connections(server, url, True)
        lock.release()
    other = ServiceLock(url)
    other.acquire()  # released for real
    other.release()


@pytest.mark.postgres
def test_lock_gives_up_when_the_database_stays_away_past_the_bound(
    lone_database: tuple[str, Engine],
) -> None:
    url, server = lone_database
    lock = ServiceLock(url, regain_within=0.5)
    lock.acquire()
    try:
        allow_connections(server, url, False)
        with server.connect() as conn:
            terminate_own_lock_backend(conn, url)
        verify_until(lock, LockCheck.RETRYING)
        deadline = time.monotonic() + 30
        with pytest.raises(StoreError) as failure:
            while time.monotonic() < deadline:
                assert lock.verify() is LockCheck.RETRYING
                time.sleep(0.05)
        assert not isinstance(failure.value, ServiceLockedError)
        message = str(failure.value)
        assert "\n" not in message
        assert "database stayed unreachable for" in message
        assert "not currently accepting connections" in message
    finally:
        allow_connections(server, url, True)
        lock.release()


def test_sqlite_lock_needs_no_watching(tmp_path: Path) -> None:
    lock = ServiceLock(f"sqlite:///{tmp_path}/news.db")
    with lock:
        assert not lock.is_watched
        assert lock.verify() is LockCheck.HELD
        with pytest.raises(ServiceLockedError):
            ServiceLock(f"sqlite:///{tmp_path}/news.db").acquire()

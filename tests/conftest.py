"""Shared fixtures: databases (SQLite file, real PostgreSQL), the fixture news network.

PostgreSQL tests skip with the reason when the server is absent; with
NEWSMON_REQUIRE_SERVICES=1 (as .ci/run sets) they fail instead, so CI cannot go green by
skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.newssites import news_network  # noqa: F401  (a fixture, used by name)

PG_ADMIN_URL = os.environ.get(
    "NEWSMON_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("NEWSMON_REQUIRE_SERVICES") == "1"
TEST_PASSWORD = "pw-never-logged-7f3a"


def _unavailable(what: str, reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} not reachable ({reason}); start it or unset NEWSMON_REQUIRE_SERVICES")
    pytest.skip(f"{what} not reachable ({reason}); start it to run this test")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(PG_ADMIN_URL)
    name = f"newsmon_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(
            admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any driver or network error means: no server to test on
        _unavailable(
            f"PostgreSQL at {admin_url.render_as_string(hide_password=True)}",
            str(exc).splitlines()[0],
        )
    try:
        url = admin_url.set(database=name)
        if url.password is None:
            # A password in every URL the tests hand out, so that a test can look for it in
            # what the processes log (the server trusts 127.0.0.1: any password connects).
            url = url.set(password=TEST_PASSWORD)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied before each test: everything the
    migrations make (tables, alembic_version, the text search configuration, the unaccent
    extension) lives in the public schema, so that schema is dropped and made anew."""
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_database)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """Each storage test runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/news.db"
    return str(request.getfixturevalue("pg_url"))

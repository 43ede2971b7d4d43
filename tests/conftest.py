"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL server.

``engine`` is parametrised over both backends and hands each test a freshly migrated,
empty database. PostgreSQL is started once per run from the installed binaries; on a
developer machine without them those cases skip, but under ``CI=true`` they fail loudly.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.pgserver import PgServer, find_pg_bindir
from wbl.db import make_engine, make_sessionmaker, upgrade

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SAMPLE_TERM = FIXTURES / "sample-term"
_counter = itertools.count()

# CI explores the same examples on every run, so a red build is reproducible; developers
# get fresh random examples (and a local example database) each time.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if IN_CI:
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_pg_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("PostgreSQL binaries not found; .ci/run should have installed them")
        pytest.skip("PostgreSQL is not installed on this machine")
    server = PgServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> Iterator[str]:
    """A migrated template database that each test's database is cloned from."""
    name = "wbl_template"
    with DatabaseJanitor(
        user=pg_server.user,
        host=pg_server.host,
        port=pg_server.port,
        dbname=name,
        as_template=True,
    ):
        engine = make_engine(pg_server.url(name))
        upgrade(engine)
        engine.dispose()
        yield name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "wbl.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    template: str = request.getfixturevalue("pg_template")
    name = f"wbl_test_{os.getpid()}_{next(_counter)}"
    with DatabaseJanitor(
        user=server.user,
        host=server.host,
        port=server.port,
        dbname=name,
        template_dbname=template,
    ):
        yield server.url(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a fresh database; the test commits or not as the code under test would."""
    with make_sessionmaker(engine)() as session:
        yield session

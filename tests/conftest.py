"""Shared fixtures: a fresh migrated database per test, on SQLite and on PostgreSQL.

Every test that asks for ``app`` (or anything built on it) runs twice, once per
backend. Each test gets its own database copied from a migrated template, so tests
commit for real and never see each other's rows. With ``REQUIRE_POSTGRES=1`` a test
that cannot get PostgreSQL fails instead of skipping.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pgserver  # noqa: E402
from support import TEST_PASSWORD, make_config, skip_or_fail  # noqa: E402

from portal import create_app, schema  # noqa: E402
from portal.auth import services as auth_services  # noqa: E402
from portal.config import Config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


# --- no real network ---------------------------------------------------------------

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
        raise AssertionError("test tried to reach {!r}: only loopback is allowed".format(host))
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach a real server (Twilio, SMTP, a CDN...)."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


# --- translations --------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    """Compile the catalogs once, so a bare ``pytest`` works as well as ``make test``."""
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "compile", "-d", str(ROOT / "translations"), "-D", "messages"],
        check=True,
        capture_output=True,
    )


# --- databases -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    schema.upgrade("sqlite:///{}".format(path))
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pgserver.PostgresServer]:
    """One throwaway PostgreSQL server for the whole run."""
    if not pgserver.available():
        skip_or_fail("PostgreSQL server binaries not installed", "REQUIRE_POSTGRES")
    server = pgserver.PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: pgserver.PostgresServer) -> str:
    """A PostgreSQL database migrated to head, used as the template of each test's."""
    name = "porta_template"
    postgres_server.create_database(name, template="template0")
    schema.upgrade(postgres_server.url(name))
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on; every database test runs on both."""
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the head revision, for this test only."""
    if backend == "sqlite":
        path = tmp_path / "porta.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield "sqlite:///{}".format(path)
        return
    server: pgserver.PostgresServer = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    name = "test_{}".format(uuid.uuid4().hex[:12])
    server.create_database(name, template=template)
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (for migration tests)."""
    if backend == "sqlite":
        yield "sqlite:///{}".format(tmp_path / "empty.sqlite3")
        return
    server: pgserver.PostgresServer = request.getfixturevalue("postgres_server")
    name = "empty_{}".format(uuid.uuid4().hex[:12])
    server.create_database(name, template="template0")
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Config:
    """The configuration of the test's app."""
    return make_config(database_url, tmp_path / "instance")


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    """The application, on this test's own database."""
    application = create_app(config)
    application.config["TESTING"] = True
    yield application
    from portal.db import get_engine

    get_engine(application).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    """Runs ``flask`` commands against the test's app."""
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session of the test's own on the app's database.

    Deliberately outside any application context: requests made by the test client then
    run in their own contexts, as in production, instead of sharing ``g`` with the test.
    Call ``session.expire_all()`` to see what a request changed.
    """
    from portal.db import get_engine

    with Session(get_engine(app), expire_on_commit=False) as db_session:
        yield db_session


@pytest.fixture
def create_staff(session: Session):  # type: ignore[no-untyped-def]
    """Factory: a committed staff member; defaults to an operator."""

    def _create(
        email: str = "staff@example.org",
        roles: tuple[str, ...] = ("operator",),
        password: str = TEST_PASSWORD,
        **kwargs: Any,
    ):  # type: ignore[no-untyped-def]
        staff = auth_services.save_staff(
            session, email=email, full_name=kwargs.pop("full_name", "Test Staff"), roles=roles, password=password, **kwargs
        )
        session.commit()
        return staff

    return _create


@pytest.fixture
def make_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory for extra apps (another config or database); their engines are closed after."""
    from portal.db import get_engine

    made: list[Flask] = []

    def _make(database_url: str, **overrides: Any) -> Flask:
        application = create_app(make_config(database_url, tmp_path / "instance", **overrides))
        made.append(application)
        return application

    yield _make
    for application in made:
        get_engine(application).dispose()

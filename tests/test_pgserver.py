"""The throwaway PostgreSQL server really starts, serves SQLAlchemy, and cleans up."""
import os
import socket
import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select

try:  # tests/ is not a package: pytest puts it on sys.path ("prepend" import mode)
    import pgserver
except ImportError:  # ... and if it becomes one, the project root is on sys.path instead
    from tests import pgserver

pytestmark = pytest.mark.postgres


def _require_postgres() -> None:
    """Skip without PostgreSQL, unless REQUIRE_POSTGRES=1 (CI) demands it."""
    if pgserver.available():
        return
    msg = ("PostgreSQL server binaries not found (looked in pg_config --bindir, "
           "/usr/lib/postgresql/*/bin and PATH; as root a 'postgres' user is also needed)")
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"REQUIRE_POSTGRES=1 but {msg}", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def server():
    """One server for the module: start() costs ~1.5 s, almost all of it initdb."""
    _require_postgres()
    with pgserver.PostgresServer() as srv:
        yield srv


def test_database_roundtrip(server):
    name = f"t_{uuid.uuid4().hex[:12]}"
    server.create_database(name, template="template0")
    engine = create_engine(server.url(name))
    try:
        meta = MetaData()
        things = Table("things", meta, Column("id", Integer, primary_key=True),
                       Column("label", String(50), nullable=False))
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(things.insert(), {"id": 1, "label": "caffè"})
        with engine.connect() as conn:
            assert conn.execute(select(things.c.label)).scalar_one() == "caffè"
            assert conn.exec_driver_sql("SHOW server_encoding").scalar() == "UTF8"
            assert conn.exec_driver_sql("SHOW fsync").scalar() == "off"
    finally:
        engine.dispose()
        server.drop_database(name)
    admin = create_engine(server.url("postgres"))
    try:
        with admin.connect() as conn:
            left = conn.exec_driver_sql("SELECT count(*) FROM pg_database WHERE datname = %(n)s",
                                        {"n": name}).scalar()
    finally:
        admin.dispose()  # a pooled connection left open is a ResourceWarning -> error
    assert left == 0


def test_stop_kills_server_and_removes_files():
    _require_postgres()
    srv = pgserver.PostgresServer().start()
    tmpdir, port = srv.tmpdir, srv.port
    assert os.path.isdir(tmpdir)
    srv.stop()
    assert not os.path.exists(tmpdir)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    srv.stop()  # idempotent: atexit may call it again

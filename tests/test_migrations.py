"""One migration history for both metadata, that upgrades, downgrades and matches the models."""

from __future__ import annotations

import re
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portal import schema
from portal.db import make_engine


VERSIONS = Path(schema.MIGRATIONS_DIR) / "versions"


def test_the_history_has_exactly_one_head() -> None:
    """Two heads mean two branches nobody merged: upgrades would be ambiguous."""
    assert len(schema.head_revisions()) == 1


def test_revision_files_are_date_prefixed_and_have_real_downgrades() -> None:
    """Files sort by date, and every upgrade can be undone."""
    files = sorted(VERSIONS.glob("*.py"))
    assert files
    for path in files:
        assert re.match(r"^\d{8}_[0-9a-f]+_\w+\.py$", path.name), path.name
        source = path.read_text()
        downgrade = source.split("def downgrade()", 1)[1]
        assert "op." in downgrade, "{} has an empty downgrade".format(path.name)


def test_an_empty_database_upgrades_to_head_and_back_to_base(empty_database_url: str) -> None:
    """Upgrade creates every table of both metadata; downgrade removes them all."""
    engine = make_engine(empty_database_url)
    try:
        schema.upgrade(empty_database_url)
        assert schema.is_up_to_date(engine)
        tables = set(inspect(engine).get_table_names())
        expected = {t for metadata in schema.metadatas() for t in metadata.tables}
        assert expected <= tables

        schema.downgrade(empty_database_url, "base")
        engine.dispose()
        remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        assert schema.current_revisions(engine) == set()
    finally:
        engine.dispose()


def test_the_models_match_the_migrations(database_url: str) -> None:
    """Autogenerate against a migrated database finds nothing: no model change is unmigrated."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, schema.metadatas())
        assert differences == []
    finally:
        engine.dispose()


def test_the_app_refuses_to_serve_from_a_database_behind_the_migrations(empty_database_url: str, make_app) -> None:
    """Pages answer 503 naming the command that fixes it; the health check still answers."""
    app = make_app(empty_database_url)
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 503
    assert schema.UPGRADE_COMMAND in response.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200

    schema.upgrade(empty_database_url)
    assert client.get("/").status_code == 200


def test_db_upgrade_and_downgrade_commands_move_the_database(empty_database_url: str, make_app) -> None:
    """``flask --app portal db upgrade`` / ``db downgrade base`` as the README says."""
    app = make_app(empty_database_url)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert next(iter(schema.head_revisions())) in result.output
    assert runner.invoke(args=["db", "current"]).exit_code == 0

    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert "base" in result.output
    behind = runner.invoke(args=["db", "current"])
    assert behind.exit_code == 1
    assert schema.UPGRADE_COMMAND in behind.output

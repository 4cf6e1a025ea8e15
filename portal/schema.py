"""The database schema's history: Alembic, driven from Flask commands and tests.

Migrations never run inside ``create_app`` or the web process; the ``release`` step
(``flask --app portal db upgrade``) applies them, and the app refuses to serve from a
database that is behind.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
UPGRADE_COMMAND = "flask --app portal db upgrade"


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration pointing at our one history and the given database."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option(
        "file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"
    )
    return config


def head_revisions(database_url: str = "sqlite://") -> set[str]:
    """The heads of the migration history (exactly one, a test insists)."""
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database says it is at (empty for a blank database)."""
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_up_to_date(engine: Engine) -> bool:
    """True when the database is at the head of the history."""
    return current_revisions(engine) == head_revisions()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Undo migrations down to ``revision`` (``base`` for an empty database)."""
    command.downgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str, autogenerate: bool) -> None:
    """Write a new, date-prefixed revision file (compared to the models if asked)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=autogenerate)


def metadatas() -> list:  # type: ignore[type-arg]
    """Both metadata the history covers, with every model imported."""
    import messaging.models  # noqa: F401  (registers every messaging table)
    import portal.models  # noqa: F401  (registers every portal table)
    from messaging.db import MessagingBase
    from portal.db import Base

    return [Base.metadata, MessagingBase.metadata]

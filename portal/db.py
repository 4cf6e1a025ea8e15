"""The portal's metadata, engine and per-context session.

Services take a ``Session`` argument and never look it up themselves; views and CLI
commands get the current one with :func:`get_session`, and the app removes it when the
application context ends. Nothing here commits: the caller that owns the unit of work
does.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask.globals import _cv_app
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

from messaging.db import NAMING_CONVENTION, UTCDateTime, utcnow

__all__ = ["Base", "UTCDateTime", "get_session", "init_app", "make_engine", "utcnow"]


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: ``column`` holds one of ``values`` (codes, never user input)."""
    return "{} IN ({})".format(column, ", ".join("'{}'".format(v) for v in values))


class Base(DeclarativeBase):
    """Declarative base of every portal table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs to behave like the other.

    ``hide_parameters`` keeps the values of a failed statement (names, phone numbers)
    out of exception messages, and so out of every log line that reports an error.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _app_context_id() -> int:
    return id(_cv_app.get(None))


class _DatabaseState:
    """What the app keeps in ``app.extensions``: its engine and session registry."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = scoped_session(
            sessionmaker(bind=self.engine, expire_on_commit=False), scopefunc=_app_context_id
        )


def init_app(app: Flask, url: str) -> None:
    """Bind an engine to the app and close the session at the end of each context."""
    state = _DatabaseState(url)
    app.extensions["porta.db"] = state

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        state.sessions.remove()


def get_engine(app: Flask | None = None) -> Engine:
    """The engine of the given (or current) app."""
    return (app or current_app).extensions["porta.db"].engine


def get_session() -> Session:
    """The session of the current application context (views and CLI commands only)."""
    return current_app.extensions["porta.db"].sessions()

"""Configuration comes from the environment; production refuses to start without secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal import create_app
from portal.config import Config, ConfigError
from portal.db import get_engine


def test_production_without_secret_key_or_public_url_refuses_to_start_and_says_what_to_set(tmp_path: Path) -> None:
    """A missing secret in production is a start-up error naming the variables."""
    with pytest.raises(ConfigError) as excinfo:
        Config.from_env({"PORTA_ENV": "production"}, tmp_path)
    assert "SECRET_KEY" in str(excinfo.value)
    assert "PUBLIC_BASE_URL" in str(excinfo.value)

    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        Config.from_env({"PORTA_ENV": "production", "SECRET_KEY": "x" * 40}, tmp_path)


def test_development_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    """No hard-coded default: a random secret is written to instance/ and reused."""
    first = Config.from_env({}, tmp_path)
    second = Config.from_env({}, tmp_path)
    assert len(first.secret_key) >= 40
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    other = Config.from_env({}, tmp_path / "elsewhere")
    assert other.secret_key != first.secret_key


def test_defaults_are_an_embedded_sqlite_database_and_rome_time(tmp_path: Path) -> None:
    """With nothing set, the demo runs on a SQLite file under instance/."""
    config = Config.from_env({}, tmp_path)
    assert config.database_url == "sqlite:///{}".format(tmp_path / "porta.sqlite3")
    assert config.timezone == "Europe/Rome"
    assert not config.production


def test_a_hosting_providers_postgres_url_is_spoken_with_psycopg(tmp_path: Path) -> None:
    """``postgres://`` URLs as platforms hand them out work unchanged."""
    config = Config.from_env({"DATABASE_URL": "postgres://u:p@db:5432/porta"}, tmp_path)
    assert config.database_url == "postgresql+psycopg://u:p@db:5432/porta"


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"TIMEZONE": "Europe/Atlantis"}, "TIMEZONE"),
        ({"PORTA_ENV": "staging"}, "PORTA_ENV"),
        ({"LOGIN_LOCKOUT_FAILURES": "ten"}, "LOGIN_LOCKOUT_FAILURES"),
    ],
)
def test_invalid_settings_are_refused_with_the_variable_named(tmp_path: Path, environ: dict, message: str) -> None:
    """A typo in the environment stops start-up instead of running half-configured."""
    with pytest.raises(ConfigError, match=message):
        Config.from_env(environ, tmp_path)


def test_production_cookies_are_secure_httponly_and_samesite(tmp_path: Path) -> None:
    """Session cookies never travel over plain HTTP in production."""
    config = Config.from_env(
        {
            "PORTA_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "PUBLIC_BASE_URL": "https://casa.example.org",
            "DATABASE_URL": "sqlite:///{}".format(tmp_path / "p.sqlite3"),
        },
        tmp_path,
    )
    app = create_app(config)
    get_engine(app).dispose()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["PREFERRED_URL_SCHEME"] == "https"


def test_behind_a_proxy_the_real_client_address_is_used(make_app, database_url: str) -> None:  # type: ignore[no-untyped-def]
    """With PROXY_COUNT=1 the sign-in throttle sees the caller, not the proxy."""
    from flask import request

    app = make_app(database_url, proxy_count=1)
    seen = {}

    @app.route("/whoami-probe")
    def whoami_probe():  # type: ignore[no-untyped-def]
        seen["addr"] = request.remote_addr
        return ""

    whoami_probe.porta_access = "public"  # type: ignore[attr-defined]
    app.test_client().get("/whoami-probe", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert seen["addr"] == "203.0.113.7"

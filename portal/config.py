"""Configuration: environment variables (and an optional ``.env``) into one typed object.

Everything a deployment can change is read here and nowhere else, so the README's table
of variables and this file can be compared line by line. A missing secret in production
is a start-up error; in development a secret is generated once into ``instance/``.
"""

from __future__ import annotations

import os
import secrets
import dataclasses
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The shipped languages, in the order the switcher shows them. Italian is the default.
LANGUAGES: tuple[str, ...] = ("it", "en", "zh", "ro", "sq", "ar", "ur", "bn", "es", "uk")
RTL_LANGUAGES: frozenset[str] = frozenset({"ar", "ur"})
DEFAULT_LANGUAGE = "it"


class ConfigError(RuntimeError):
    """Raised when the environment cannot produce a configuration we may start with."""


@dataclass(frozen=True)
class Config:
    """The settings of one running Porta Unica, whatever process reads them."""

    #: ``development`` (default) or ``production``; production demands real secrets.
    env: str
    database_url: str
    secret_key: str
    public_base_url: str
    timezone: str = "Europe/Rome"
    agency_name: str = "Agenzia Casa"
    #: Shown on every page: the free helpline people can call instead of using the site.
    helpline_number: str = ""
    #: Where the "Quick exit" button of citizen pages leaves to at once: a neutral page
    #: that reveals nothing if someone looks at the screen or the browser's history.
    quick_exit_url: str = "https://www.google.com/search?q=meteo"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_sms_from: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_whatsapp_from: str = ""
    twilio_api_base_url: str = ""
    smtp_url: str = ""
    mail_from: str = ""
    #: Secret that signs webhook messages we send to other systems.
    webhook_secret: str = ""
    #: The neutral name SMS and WhatsApp messages are signed with (never the agency's).
    message_sender: str = "Comune"
    #: Quiet hours (no messages) per channel, "HH:MM-HH:MM" in TIMEZONE; "" = none.
    quiet_hours_sms: str = "20:30-08:00"
    quiet_hours_whatsapp: str = "20:30-08:00"
    quiet_hours_email: str = ""
    reminder_offsets: str = "2d,2h"
    reminder_min_gap_minutes: int = 60
    dispatch_concurrency: int = 16
    dispatch_batch_size: int = 100
    #: Messages per second per channel ("sms=10,whatsapp=10,email=5"); absent = no limit.
    dispatch_rates: str = "sms=10,whatsapp=10,email=5"
    dispatch_max_attempts: int = 6
    #: YAML file naming the approved WhatsApp Content SID per message kind and language;
    #: relative to the instance folder; "" = none (WhatsApp only inside the 24-hour window).
    whatsapp_templates_file: str = ""
    #: Failed logins before an account is locked, and for how long.
    login_lockout_failures: int = 10
    login_lockout_minutes: int = 15
    #: Days an untouched intake draft is kept before it is deleted.
    intake_draft_days: int = 30
    #: The version of the privacy notice people acknowledge when they submit an intake.
    privacy_notice_version: str = "2026-11"
    #: How long a one-time PIN for resuming a draft stays valid.
    resume_pin_minutes: int = 15
    #: No appointment can be booked starting sooner than this.
    booking_min_notice_hours: int = 24
    #: Nor further ahead than this.
    booking_horizon_days: int = 60
    #: The local patron's day, "MM-DD" (no appointments that day); "" = none.
    patron_saint_day: str = ""
    #: A person without a free slot within this many days may join the waiting list.
    waiting_list_after_days: int = 14
    #: How long a freed time offered to the first in line is kept for them.
    waiting_list_hold_minutes: int = 30
    #: Where request counts for rate limits are kept: "memory://" (one process) or a
    #: shared store such as "redis://host:6379" when several web processes run.
    ratelimit_storage_uri: str = "memory://"
    #: False turns every rate limit off (never in production).
    ratelimit_enabled: bool = True
    #: Reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    proxy_count: int = 0
    instance_path: str = ""

    @property
    def production(self) -> bool:
        """True when the deployment asked for production behaviour (secure cookies...)."""
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], instance_path: str | Path) -> "Config":
        """Build the configuration, failing with a message that says what to set."""
        instance = Path(instance_path)
        env = environ.get("PORTA_ENV", "development").strip().lower() or "development"
        if env not in {"development", "production"}:
            raise ConfigError("PORTA_ENV must be 'development' or 'production', not {!r}.".format(env))
        production = env == "production"

        missing = [name for name in ("SECRET_KEY", "PUBLIC_BASE_URL") if not environ.get(name)]
        if production and missing:
            raise ConfigError(
                "PORTA_ENV=production needs {} set in the environment "
                "(see the README's table of environment variables).".format(" and ".join(missing))
            )
        secret_key = environ.get("SECRET_KEY") or _development_secret(instance)
        database_url = environ.get("DATABASE_URL") or "sqlite:///{}".format(instance / "porta.sqlite3")
        timezone = environ.get("TIMEZONE", "Europe/Rome")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError("TIMEZONE {!r} is not a known IANA time zone.".format(timezone)) from exc

        return cls(
            env=env,
            database_url=_normalise_database_url(database_url),
            secret_key=secret_key,
            public_base_url=(environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
            timezone=timezone,
            agency_name=environ.get("AGENCY_NAME", "Agenzia Casa"),
            helpline_number=environ.get("HELPLINE_NUMBER", "800 000 000"),
            quick_exit_url=environ.get("QUICK_EXIT_URL", "https://www.google.com/search?q=meteo"),
            twilio_account_sid=environ.get("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=environ.get("TWILIO_AUTH_TOKEN", ""),
            twilio_sms_from=environ.get("TWILIO_SMS_FROM", ""),
            twilio_messaging_service_sid=environ.get("TWILIO_MESSAGING_SERVICE_SID", ""),
            twilio_whatsapp_from=environ.get("TWILIO_WHATSAPP_FROM", ""),
            twilio_api_base_url=environ.get("TWILIO_API_BASE_URL", ""),
            smtp_url=environ.get("SMTP_URL", ""),
            mail_from=environ.get("MAIL_FROM", ""),
            webhook_secret=environ.get("WEBHOOK_SECRET", ""),
            message_sender=environ.get("MESSAGE_SENDER", "Comune"),
            quiet_hours_sms=environ.get("QUIET_HOURS_SMS", "20:30-08:00"),
            quiet_hours_whatsapp=environ.get("QUIET_HOURS_WHATSAPP", "20:30-08:00"),
            quiet_hours_email=environ.get("QUIET_HOURS_EMAIL", ""),
            reminder_offsets=environ.get("REMINDER_OFFSETS", "2d,2h"),
            reminder_min_gap_minutes=_int(environ, "REMINDER_MIN_GAP_MINUTES", 60),
            dispatch_concurrency=_int(environ, "DISPATCH_CONCURRENCY", 16),
            dispatch_batch_size=_int(environ, "DISPATCH_BATCH_SIZE", 100),
            dispatch_rates=environ.get("DISPATCH_RATES", "sms=10,whatsapp=10,email=5"),
            dispatch_max_attempts=_int(environ, "DISPATCH_MAX_ATTEMPTS", 6),
            whatsapp_templates_file=environ.get("WHATSAPP_TEMPLATES_FILE", ""),
            login_lockout_failures=_int(environ, "LOGIN_LOCKOUT_FAILURES", 10),
            login_lockout_minutes=_int(environ, "LOGIN_LOCKOUT_MINUTES", 15),
            intake_draft_days=_int(environ, "INTAKE_DRAFT_DAYS", 30),
            privacy_notice_version=environ.get("PRIVACY_NOTICE_VERSION", "2026-11"),
            resume_pin_minutes=_int(environ, "RESUME_PIN_MINUTES", 15),
            booking_min_notice_hours=_int(environ, "BOOKING_MIN_NOTICE_HOURS", 24),
            booking_horizon_days=_int(environ, "BOOKING_HORIZON_DAYS", 60),
            patron_saint_day=_month_day(environ, "PATRON_SAINT_DAY"),
            waiting_list_after_days=_int(environ, "WAITING_LIST_AFTER_DAYS", 14),
            waiting_list_hold_minutes=_int(environ, "WAITING_LIST_HOLD_MINUTES", 30),
            ratelimit_storage_uri=environ.get("RATELIMIT_STORAGE_URI", "memory://"),
            ratelimit_enabled=environ.get("RATELIMIT_ENABLED", "true").strip().lower() not in {"0", "false", "no"},
            proxy_count=_int(environ, "PROXY_COUNT", 0),
            instance_path=str(instance),
        )

    def flask_settings(self) -> dict[str, object]:
        """The subset Flask and its extensions read from ``app.config``."""
        return {
            "SECRET_KEY": self.secret_key,
            "PREFERRED_URL_SCHEME": "https" if self.public_base_url.startswith("https") else "http",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.production,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.production,
            "WTF_CSRF_TIME_LIMIT": 8 * 3600,
            "BABEL_DEFAULT_LOCALE": DEFAULT_LANGUAGE,
            "BABEL_DEFAULT_TIMEZONE": self.timezone,
            "MAX_CONTENT_LENGTH": 1024 * 1024,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            "RATELIMIT_ENABLED": self.ratelimit_enabled or self.production,
            "RATELIMIT_HEADERS_ENABLED": True,
        }

    def replace(self, **changes: object) -> "Config":
        """A copy with some settings changed; tests use it instead of mutating env."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError("{} must be a whole number, not {!r}.".format(name, raw)) from exc


def _month_day(environ: Mapping[str, str], name: str) -> str:
    """A yearly day as "MM-DD" ("06-24"), checked against a leap year; "" when unset."""
    raw = environ.get(name, "").strip()
    if not raw:
        return ""
    try:
        if len(raw) != 5 or raw[2] != "-":
            raise ValueError(raw)
        date.fromisoformat("2000-" + raw)
    except ValueError as exc:
        raise ConfigError("{} must be a day as MM-DD (06-24), not {!r}.".format(name, raw)) from exc
    return raw


def _normalise_database_url(url: str) -> str:
    """Let people paste the URL their host gives them; we always speak psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _development_secret(instance: Path) -> str:
    """Generate a secret once per checkout, so sessions survive restarts in development."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_dotenv_if_present(root: Path) -> None:
    """Read ``.env`` beside the checkout without overriding the real environment."""
    from dotenv import load_dotenv

    path = root / ".env"
    if path.exists():
        load_dotenv(path, override=False)


__all__ = ["Config", "ConfigError", "LANGUAGES", "RTL_LANGUAGES", "DEFAULT_LANGUAGE"]

"""Command-line interface: ``flask --app portal <command>``.

Commands call the same services as the views; each owns its transaction and commits.
"""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from portal import schema
from portal.api.models import SCOPES as API_SCOPES
from portal.auth import services as auth_services
from portal.auth.models import Role
from portal.config import LANGUAGES
from portal.db import get_engine, get_session, utcnow

db_cli = AppGroup("db", help="Apply or undo database migrations.")
staff_cli = AppGroup("staff", help="Manage staff accounts.")
messaging_cli = AppGroup("messaging", help="The outbox: send what is due.")
api_token_cli = AppGroup("api-token", help="Tokens other systems use to call the REST API.")


def _url() -> str:
    return current_app.config["PORTA"].database_url


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    schema.upgrade(_url(), revision)
    click.echo("Database at revision {}.".format(", ".join(sorted(schema.current_revisions(get_engine()))) or "base"))


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION (default: one step; 'base' empties the database)."""
    schema.downgrade(_url(), revision)
    click.echo("Database at revision {}.".format(", ".join(sorted(schema.current_revisions(get_engine()))) or "base"))


@db_cli.command("current")
def db_current() -> None:
    """Show the database's revision and whether it is up to date."""
    current = schema.current_revisions(get_engine())
    heads = schema.head_revisions()
    click.echo("current: {}".format(", ".join(sorted(current)) or "base"))
    click.echo("head:    {}".format(", ".join(sorted(heads))))
    if current != heads:
        click.echo("Behind: run '{}'.".format(schema.UPGRADE_COMMAND))
        sys.exit(1)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate", is_flag=True, help="Compare the models to the database.")
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration file under migrations/versions."""
    schema.revision(_url(), message, autogenerate)


@staff_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True, help="Full name as colleagues see it.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([r.value for r in Role]))
@click.option("--language", "languages", multiple=True, type=click.Choice(LANGUAGES), help="Spoken with callers.")
@click.option("--team", "teams", multiple=True, help="Team code (created if missing).")
@click.option("--locale", "preferred_locale", type=click.Choice(LANGUAGES), default=None)
@click.password_option(help="Prompted for when not given; at least 12 characters.")
def staff_create(
    email: str,
    full_name: str,
    roles: tuple[str, ...],
    languages: tuple[str, ...],
    teams: tuple[str, ...],
    preferred_locale: str | None,
    password: str,
) -> None:
    """Create a staff account (or update the one with that e-mail)."""
    session = get_session()
    try:
        staff = auth_services.save_staff(
            session,
            email=email,
            full_name=full_name,
            roles=roles,
            password=password,
            languages=languages,
            teams=teams,
            preferred_locale=preferred_locale,
        )
    except auth_services.StaffError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo("Staff account {} saved with roles: {}.".format(staff.email, ", ".join(sorted(staff.role_names))))


@staff_cli.command("unlock")
@click.argument("email")
def staff_unlock(email: str) -> None:
    """Clear the failed sign-ins that lock an account."""
    session = get_session()
    cleared = auth_services.unlock(session, email)
    session.commit()
    click.echo("Unlocked." if cleared else "That account was not locked.")


@api_token_cli.command("create")
@click.option("--name", required=True, help="Who holds the token (one active token per name).")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(API_SCOPES), help="Repeat for several.")
def api_token_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a token; it is printed once, alone on the last line, and never again."""
    from portal.api import services as api_services

    session = get_session()
    try:
        token, plaintext = api_services.create_token(session, name, scopes, utcnow())
    except api_services.ApiTokenError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo("API token {!r} created with scopes: {}.".format(token.name, ", ".join(token.scopes)))
    click.echo("Store it now: it cannot be shown again.")
    click.echo(plaintext)


@api_token_cli.command("list")
def api_token_list() -> None:
    """List tokens by name and prefix (never the tokens themselves)."""
    from portal.api import services as api_services

    tokens = api_services.list_tokens(get_session())
    if not tokens:
        click.echo("No API tokens.")
    for token in tokens:
        click.echo(
            "{}  {}…  {}  created {}  last used {}{}".format(
                token.name,
                token.prefix,
                ",".join(token.scopes),
                token.created_at.strftime("%Y-%m-%d %H:%M"),
                token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never",
                "  REVOKED {}".format(token.revoked_at.strftime("%Y-%m-%d %H:%M")) if token.revoked_at else "",
            )
        )


@api_token_cli.command("revoke")
@click.option("--name", required=True, help="The name the token was created with.")
def api_token_revoke(name: str) -> None:
    """Revoke the active token with this name: it stops working at once."""
    from portal.api import services as api_services

    session = get_session()
    if not api_services.revoke_by_name(session, name, utcnow()):
        raise click.ClickException("No active API token named {!r}.".format(name))
    session.commit()
    click.echo("API token {!r} revoked.".format(name))


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only when the database has no office yet (first run).")
def seed_demo(if_empty: bool) -> None:
    """Load the illustrative agency; running it twice changes nothing."""
    from portal.demo import services as demo

    config = current_app.config["PORTA"]
    if config.production:
        raise click.ClickException("seed-demo loads known demo passwords; it refuses PORTA_ENV=production.")
    session = get_session()
    if if_empty and demo.has_offices(session):
        click.echo("Demo data already present; nothing loaded.")
        return
    summary = demo.seed(session)
    session.commit()
    click.echo(summary)


@click.command("demo-info")
@with_appcontext
def demo_info() -> None:
    """Print where the demo listens and how to sign in."""
    from portal.demo import services as demo

    click.echo(demo.describe(current_app.config["PORTA"].public_base_url))


@click.command("worker")
@with_appcontext
def worker() -> None:
    """Run the scheduler: the only process in which periodic jobs run."""
    from portal import worker as worker_module

    if not schema.is_up_to_date(get_engine()):
        raise click.ClickException("The database is behind the code: run '{}'.".format(schema.UPGRADE_COMMAND))
    worker_module.run(current_app._get_current_object())  # type: ignore[attr-defined]


@messaging_cli.command("dispatch")
@click.option("--once", is_flag=True, help="One pass over what is due, then exit (for cron and tests).")
def messaging_dispatch(once: bool) -> None:
    """Send due messages: one pass with --once, else every few seconds until stopped."""
    import time

    from portal.messages.services import build_dispatcher

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    dispatcher = build_dispatcher(app)
    try:
        while True:
            report = dispatcher.drain()
            click.echo(
                "claimed={} sent={} retried={} failed={} deferred={}".format(
                    report.claimed, report.sent, report.retried, report.failed, report.deferred
                )
            )
            if once:
                break
            time.sleep(5)
    finally:
        dispatcher.close()


def init_app(app: Flask) -> None:
    """Register every command on the app."""
    for command in (db_cli, staff_cli, messaging_cli, api_token_cli, seed_demo, demo_info, worker):
        app.cli.add_command(command)

"""API tokens: created once in plaintext, stored only as a digest, scoped, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import schema
from portal.api import services as api
from portal.api.models import SCOPES, ApiToken
from portal.db import utcnow


def test_a_new_token_authenticates_and_carries_only_its_scopes(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    token, plaintext = api.create_token(session, "crm", ["intakes:write"], now)
    session.commit()

    assert plaintext.startswith("pu_") and len(plaintext) > 40
    assert token.prefix == plaintext[:8]
    found = api.authenticate(session, plaintext, now)
    assert found is not None and found.id == token.id
    assert api.has_scope(found, "intakes:write")
    assert not api.has_scope(found, "intakes:read")
    assert not api.has_scope(found, "appointments:write")


def test_a_wrong_or_malformed_token_opens_nothing(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    _token, plaintext = api.create_token(session, "crm", ["intakes:read"], now)
    session.commit()

    assert api.authenticate(session, plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"), now) is None
    assert api.authenticate(session, plaintext[3:], now) is None
    assert api.authenticate(session, "", now) is None


def test_the_plaintext_token_is_stored_nowhere_in_the_database(session) -> None:  # type: ignore[no-untyped-def]
    _token, plaintext = api.create_token(session, "partner", ["intakes:write", "appointments:write"], utcnow())
    session.commit()
    stored = []
    for metadata in schema.metadatas():
        for table in metadata.sorted_tables:
            stored.extend(str(value) for row in session.execute(select(table)) for value in row)
    assert stored, "the token row is there"
    assert not any(plaintext[8:] in value for value in stored)


def test_last_used_is_written_at_most_once_a_minute(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    token, plaintext = api.create_token(session, "crm", ["intakes:read"], now)
    session.commit()

    api.authenticate(session, plaintext, now)
    assert token.last_used_at == now
    api.authenticate(session, plaintext, now + timedelta(seconds=30))
    assert token.last_used_at == now
    later = now + timedelta(seconds=61)
    api.authenticate(session, plaintext, later)
    assert token.last_used_at == later


def test_a_revoked_token_stops_working_at_once_and_its_name_can_be_reused(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    token, plaintext = api.create_token(session, "crm", ["intakes:write"], now)
    session.commit()

    with pytest.raises(api.ApiTokenError):
        api.create_token(session, "crm", ["intakes:write"], now)
    api.revoke(session, token, now)
    session.commit()
    assert api.authenticate(session, plaintext, now) is None
    assert not api.has_scope(token, "intakes:write")

    _new, new_plaintext = api.create_token(session, "crm", ["intakes:write"], now)
    assert api.authenticate(session, new_plaintext, now) is not None


def test_unknown_scopes_are_refused(session) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(api.ApiTokenError, match="intakes:write"):
        api.create_token(session, "crm", ["intakes:delete"], utcnow())
    with pytest.raises(api.ApiTokenError):
        api.create_token(session, "crm", [], utcnow())


def test_the_create_command_prints_the_token_alone_on_its_last_line(runner, session) -> None:  # type: ignore[no-untyped-def]
    """Other systems' provisioning scripts read the last line: nothing else may be on it."""
    result = runner.invoke(args=["api-token", "create", "--name", "crm", "--scope", "intakes:write", "--scope", "intakes:read"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.rstrip("\n").splitlines()[-1]
    assert plaintext.startswith("pu_") and plaintext == plaintext.strip() and " " not in plaintext

    token = api.authenticate(session, plaintext, utcnow())
    assert token is not None and token.name == "crm"
    assert sorted(token.scopes) == ["intakes:read", "intakes:write"]
    assert session.scalar(select(ApiToken.token_hash)) != plaintext


def test_the_create_command_names_the_valid_scopes_when_given_an_unknown_one(runner, session) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["api-token", "create", "--name", "crm", "--scope", "intakes:delete"])
    assert result.exit_code != 0
    for scope in SCOPES:
        assert scope in result.output
    assert session.scalar(select(ApiToken.id)) is None


def test_list_shows_prefixes_and_revoke_stops_a_token_by_name(runner, session) -> None:  # type: ignore[no-untyped-def]
    created = runner.invoke(args=["api-token", "create", "--name", "crm", "--scope", "intakes:read"])
    plaintext = created.output.splitlines()[-1]

    listing = runner.invoke(args=["api-token", "list"])
    assert listing.exit_code == 0
    assert "crm" in listing.output and plaintext[:8] in listing.output
    assert plaintext not in listing.output

    revoked = runner.invoke(args=["api-token", "revoke", "--name", "crm"])
    assert revoked.exit_code == 0, revoked.output
    session.expire_all()
    assert api.authenticate(session, plaintext, utcnow()) is None
    assert "REVOKED" in runner.invoke(args=["api-token", "list"]).output
    assert runner.invoke(args=["api-token", "revoke", "--name", "crm"]).exit_code != 0

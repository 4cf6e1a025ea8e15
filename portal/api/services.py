"""Creating, checking and revoking API tokens.

A token is ``pu_`` followed by 32 random bytes (URL-safe base64). It is shown once, when
created; the database keeps only its SHA-256 digest, so a leaked backup opens nothing.
Tokens carry so much entropy that a plain, unsalted digest is as good as a slow hash, and
it lets a presented token be found by an indexed lookup: no comparison of secrets in
Python, hence nothing to time.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.models import SCOPES, ApiToken

TOKEN_PREFIX = "pu_"
#: ``last_used_at`` is written at most this often per token.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenError(ValueError):
    """A token could not be created as asked."""


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, scopes: Iterable[str], now: datetime) -> tuple[ApiToken, str]:
    """A new token for ``name`` with ``scopes``; returns the row and the plaintext (shown once).

    One name has at most one active token, so revoking by name is unambiguous; to rotate,
    revoke the old token first (or create the new one under a new name).
    """
    name = name.strip()
    if not name:
        raise ApiTokenError("a token needs a name")
    chosen = list(dict.fromkeys(scopes))
    unknown = [scope for scope in chosen if scope not in SCOPES]
    if unknown or not chosen:
        raise ApiTokenError("scopes must be among {}".format(", ".join(SCOPES)))
    if active_token(session, name) is not None:
        raise ApiTokenError("an active token named {!r} already exists; revoke it first".format(name))
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name, prefix=plaintext[:8], token_hash=_digest(plaintext), scopes=chosen, created_at=now
    )
    session.add(token)
    session.flush()
    return token, plaintext


def active_token(session: Session, name: str) -> ApiToken | None:
    """The token named ``name`` that is not revoked, if any."""
    return session.scalar(select(ApiToken).where(ApiToken.name == name.strip(), ApiToken.revoked_at.is_(None)))


def authenticate(session: Session, plaintext: str, now: datetime) -> ApiToken | None:
    """The active token ``plaintext`` is, or None; notes when it was last used."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.flush()
    return token


def has_scope(token: ApiToken, scope: str) -> bool:
    """True when ``token`` is active and was granted ``scope``."""
    return token.revoked_at is None and scope in token.scopes


def revoke(session: Session, token: ApiToken, now: datetime) -> None:
    """Stop ``token`` from working, for good (it stays listed, marked revoked)."""
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()


def revoke_by_name(session: Session, name: str, now: datetime) -> bool:
    """Revoke the active token named ``name``; False when there is none."""
    token = active_token(session, name)
    if token is None:
        return False
    revoke(session, token, now)
    return True


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, active ones first, newest first."""
    return list(
        session.scalars(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()))
    )

"""API tokens: what another system presents to use the REST API, and what it may do."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, utcnow

#: Everything a token can be allowed to do.
SCOPES: tuple[str, ...] = ("intakes:write", "intakes:read", "appointments:write")


class ApiToken(Base):
    """A bearer token for one other system; only its SHA-256 digest is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who holds it ("crm", "partner-caritas"); an admin revokes by this name.
    name: Mapped[str] = mapped_column(String(80), index=True)
    #: The token's first 8 characters, so an admin can tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(8))
    #: Hex SHA-256 of the whole token: enough to recognise it, useless to present.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: A list among :data:`SCOPES`.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Updated at most once a minute, so busy clients do not write on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None

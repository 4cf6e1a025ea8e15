"""Staff members, their roles, teams and languages, and the login throttle."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a staff member may do; one person can hold several."""

    OPERATOR = "operator"
    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


staff_team = Table(
    "staff_team",
    Base.metadata,
    Column("staff_id", ForeignKey("staff_member.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
)


class Team(Base):
    """A group of caseworkers that forwarded intakes are routed to."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code that routing rules and the CLI refer to.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    members: Mapped[list["StaffMember"]] = relationship(secondary=staff_team, back_populates="teams")


class StaffMember(UserMixin, Base):
    """A person who signs in to the staff console."""

    __tablename__ = "staff_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case; it is the login name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    #: Interface language chosen by the person; None means "follow the browser".
    preferred_locale: Mapped[str | None] = mapped_column(String(8))
    #: Bumped when the password changes, so every older session stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    roles: Mapped[list["StaffRole"]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )
    languages: Mapped[list["StaffLanguage"]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )
    teams: Mapped[list[Team]] = relationship(secondary=staff_team, back_populates="members", lazy="selectin")

    @property
    def role_names(self) -> frozenset[str]:
        """The roles held, as plain strings, for access checks."""
        return frozenset(r.role for r in self.roles)

    @property
    def language_codes(self) -> list[str]:
        """The languages this person speaks with callers."""
        return [lang.language for lang in self.languages]

    def has_any_role(self, *roles: str) -> bool:
        """True when the person holds at least one of ``roles``."""
        return bool(self.role_names.intersection(roles))

    def get_id(self) -> str:
        """Flask-Login's id carries the session version, so a password change logs out."""
        return "{}:{}".format(self.id, self.session_version)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active


class StaffRole(Base):
    """One role held by one staff member."""

    __tablename__ = "staff_role"
    __table_args__ = (
        CheckConstraint("role IN ('operator', 'caseworker', 'coordinator', 'admin')", name="known_role"),
    )

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    staff: Mapped[StaffMember] = relationship(back_populates="roles")


class StaffLanguage(Base):
    """A language a staff member can speak with callers (a shipped language code)."""

    __tablename__ = "staff_language"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)

    staff: Mapped[StaffMember] = relationship(back_populates="languages")


class LoginThrottle(Base):
    """Failed sign-ins counted per key (an account, or a client address).

    Keys are stored as SHA-256 digests: the table needs to recognise a key again, not to
    know whose e-mail or address it was.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("key_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_digest: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: No attempt with this key is even checked before this moment.
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

"""A person who asked for help, as the agency knows them across intakes and calls.

A person is created when an intake is submitted (from its contact answers), never from a
draft, and is never merged automatically: two records that look alike are offered to an
operator as likely duplicates, because a shared phone can belong to the very person
someone is escaping from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, UTCDateTime, one_of, utcnow

#: How a person prefers to be reached; "phone_call" means an operator calls them.
PREFERRED_CHANNELS: tuple[str, ...] = ("sms", "whatsapp", "email", "phone_call")


class Person(Base):
    """Someone who asked for help: who they are and how (and whether) to reach them."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint(
            one_of("preferred_channel", PREFERRED_CHANNELS),
            name="known_channel",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    #: Lower-case, accents and punctuation removed ("d angelo maria"): what name search reads.
    search_name: Mapped[str] = mapped_column(String(201), index=True, default="")
    #: E.164 ("+393331234567").
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    #: Stored lower-case, so the same address typed twice is recognised.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    #: Upper-case: 16 characters, or the 11-digit provisional code.
    codice_fiscale: Mapped[str | None] = mapped_column(String(16), index=True)
    #: The language messages to this person are written in (a shipped language code).
    language: Mapped[str] = mapped_column(String(8))
    preferred_channel: Mapped[str] = mapped_column(String(20), default="sms")
    #: False when messages could put the person at risk: nothing is sent to them at all.
    safe_to_contact: Mapped[bool] = mapped_column(default=True)
    #: "HH:MM-HH:MM" in the agency's time zone: the only hours messages may arrive.
    safe_hours: Mapped[str | None] = mapped_column(String(11))
    #: When the person agreed to WhatsApp messages; None = no WhatsApp.
    whatsapp_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def full_name(self) -> str:
        """First and last name, as an operator reads them out."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)

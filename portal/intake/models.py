"""Intakes (a person's answers to the questionnaire), who changed them, resume PINs, calls.

Answers are stored in their JSON form (see the questionnaire's ``dump``/``load``) and
are read and written only through :func:`portal.intake.services.get_answers` and
:func:`portal.intake.services.set_answers`, so that the later segregation of sensitive
answers changes one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, one_of, utcnow
from portal.people.models import Person



#: Where an intake stands. Casework adds its statuses here, with a migration that
#: recreates the ``known_status`` CHECK constraint from this tuple.
INTAKE_STATUSES: tuple[str, ...] = ("draft", "submitted")
#: How the intake reached us: the citizen online, an operator on the phone or at the
#: front desk, or a partner organisation (through the API).
INTAKE_CHANNELS: tuple[str, ...] = ("web", "phone", "front_desk", "partner")
CALL_DIRECTIONS: tuple[str, ...] = ("inbound", "outbound")
CALL_REASONS: tuple[str, ...] = ("new_request", "follow_up", "appointment", "information", "other")
CALL_OUTCOMES: tuple[str, ...] = (
    "intake_started",
    "intake_completed",
    "appointment_booked",
    "information_given",
    "referred",
    "call_dropped",
    "other",
)
#: Operators' notes on a call stay short: a call log is not a case file.
CALL_NOTES_MAX = 2000


class Intake(Base):
    """One request for help: the answers, their triage, and where the request stands."""

    __tablename__ = "intake"
    __table_args__ = (
        CheckConstraint(one_of("status", INTAKE_STATUSES), name="known_status"),
        CheckConstraint(one_of("channel", INTAKE_CHANNELS), name="known_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "PU-XXXX-XXXX", read out on the phone; the last character checks the others.
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    #: The questionnaire version the answers mean something in (never re-interpreted).
    questionnaire_version: Mapped[str] = mapped_column(String(20))
    #: Question id → answer, in JSON form. Read and write through the services only.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The person's language (messages and the wizard), a shipped language code.
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(20))
    #: The wizard section to reopen when the intake is resumed.
    current_section: Mapped[str | None] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: A draft nobody touched until then is deleted (None once submitted).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    privacy_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Which privacy notice the person acknowledged (PRIVACY_NOTICE_VERSION at the time).
    privacy_notice_version: Mapped[str | None] = mapped_column(String(20))
    #: ``Triage.to_json()`` (untranslated), computed at submission.
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Copied from the triage so lists can sort and filter on it.
    urgency: Mapped[str | None] = mapped_column(String(20), index=True)
    recommended_service: Mapped[str | None] = mapped_column(String(40))

    person: Mapped[Person | None] = relationship()


class IntakeChange(Base):
    """Which answers a staff member changed, and when: ids only, never the values."""

    __tablename__ = "intake_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id", ondelete="SET NULL"))
    #: Question ids whose answer was set, changed or removed.
    question_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ResumePin(Base):
    """A one-time code sent to the person so they can reopen their draft elsewhere.

    Only a keyed hash is kept (HMAC-SHA256 with the app's secret): six digits are too few
    to survive a plain hash being read from a backup.
    """

    __tablename__ = "resume_pin"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="CASCADE"), index=True)
    pin_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Wrong codes tried against this PIN; at the limit it no longer opens anything.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CallLog(Base):
    """One phone call an operator handled: why, how it ended, and whether an interpreter was needed."""

    __tablename__ = "call_log"
    __table_args__ = (
        CheckConstraint(one_of("direction", CALL_DIRECTIONS), name="known_direction"),
        CheckConstraint(one_of("reason", CALL_REASONS), name="known_reason"),
        CheckConstraint(one_of("outcome", CALL_OUTCOMES), name="known_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), index=True)
    intake_id: Mapped[int | None] = mapped_column(ForeignKey("intake.id", ondelete="SET NULL"), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id", ondelete="SET NULL"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    reason: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(String(CALL_NOTES_MAX))
    interpreter_needed: Mapped[bool] = mapped_column(default=False)
    #: A shipped language code, or any language an interpreter was asked for.
    interpreter_language: Mapped[str | None] = mapped_column(String(20))

    person: Mapped[Person | None] = relationship()

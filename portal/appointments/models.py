"""Working plans, closures and appointments.

A staff member's week is a set of :class:`WorkingHours` periods (a lunch break is the
gap between two periods of the same day), changed on given days by
:class:`PlanException` rows: leave takes time away, an extra day adds some. Closures
are the national holidays and the patron's day (computed, see ``calendar.py``) plus
the agency's own :class:`Closure` days.

Cultural mediators are staff members too: they already have an account, a name and the
languages they speak (``staff_language``). What makes someone a mediator at a given hour
is a plan period whose ``purpose`` is ``mediation``; the same person may deliver
services at other hours. No role is added, because a mediator needs no access to the
console beyond what their roles already give.

The database, not the code, has the last word on double bookings: two booked
appointments can never share a staff member's (or a mediator's) start time.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agency.models import Office, Service
from portal.auth.models import StaffMember
from portal.db import Base, UTCDateTime, one_of, utcnow
from portal.people.models import Person

#: How an appointment takes place (the same codes as ``Service.modes``).
MODES: tuple[str, ...] = ("in_person", "phone_call")
#: What a plan period is for: delivering services, or mediating for others' appointments.
PURPOSES: tuple[str, ...] = ("service", "mediation")
EXCEPTION_KINDS: tuple[str, ...] = ("leave", "extra")
APPOINTMENT_STATUSES: tuple[str, ...] = ("booked", "cancelled", "attended", "no_show")
#: Who made the booking: the citizen online, an operator on the phone or at the desk, a partner.
APPOINTMENT_CHANNELS: tuple[str, ...] = ("web", "phone", "front_desk", "api")
BOOKED = "booked"
CANCELLED = "cancelled"



class WorkingHours(Base):
    """One period of a staff member's usual week, at one office (0 = Monday)."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("starts < ends", name="starts_before_ends"),
        CheckConstraint(one_of("purpose", PURPOSES), name="known_purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id", ondelete="CASCADE"), index=True)
    #: Where the person sits; phone appointments are also made from an office.
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    weekday: Mapped[int]
    #: Wall-clock times in the agency's time zone.
    starts: Mapped[time]
    ends: Mapped[time]
    #: The modes offered in this period: a subset of ``MODES``.
    modes: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(MODES))
    purpose: Mapped[str] = mapped_column(String(20), default="service")

    staff: Mapped[StaffMember] = relationship()
    office: Mapped[Office] = relationship()


class PlanException(Base):
    """A change to someone's usual week on given days.

    ``leave`` removes the whole day (no times) or the given hours of each day from
    ``first_day`` to ``last_day``. ``extra`` adds the given hours at ``office_id`` on
    each of those days, e.g. a Saturday opening.
    """

    __tablename__ = "plan_exception"
    __table_args__ = (
        CheckConstraint(one_of("kind", EXCEPTION_KINDS), name="known_kind"),
        CheckConstraint(one_of("purpose", PURPOSES), name="known_purpose"),
        CheckConstraint("first_day <= last_day", name="days_in_order"),
        CheckConstraint(
            "(starts IS NULL AND ends IS NULL) OR (starts IS NOT NULL AND ends IS NOT NULL AND starts < ends)",
            name="hours_in_order",
        ),
        CheckConstraint(
            "kind = 'leave' OR (starts IS NOT NULL AND office_id IS NOT NULL)", name="extra_has_hours_and_office"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    starts: Mapped[time | None]
    ends: Mapped[time | None]
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    modes: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(MODES))
    purpose: Mapped[str] = mapped_column(String(20), default="service")
    #: For the staff who read the plan ("annual leave", "training"); never shown to citizens.
    note: Mapped[str | None] = mapped_column(String(200))


class Closure(Base):
    """A day the agency closes on top of the holidays: one office, or all (no office)."""

    __tablename__ = "closure"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    reason: Mapped[str | None] = mapped_column(String(200))


class Appointment(Base):
    """A person's booked time with a staff member (and perhaps a mediator)."""

    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint(one_of("status", APPOINTMENT_STATUSES), name="known_status"),
        CheckConstraint(one_of("channel", APPOINTMENT_CHANNELS), name="known_channel"),
        CheckConstraint(one_of("mode", MODES), name="known_mode"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        CheckConstraint(
            "(mediator_id IS NULL AND mediator_language IS NULL)"
            " OR (mediator_id IS NOT NULL AND mediator_language IS NOT NULL)",
            name="mediator_with_language",
        ),
        # The race guard: whoever commits second breaks these, whatever the code did.
        Index(
            "uq_appointment_staff_booked",
            "staff_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        Index(
            "uq_appointment_mediator_booked",
            "mediator_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'booked' AND mediator_id IS NOT NULL"),
            postgresql_where=text("status = 'booked' AND mediator_id IS NOT NULL"),
        ),
        Index("ix_appointment_staff_id_starts_at", "staff_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    intake_id: Mapped[int | None] = mapped_column(ForeignKey("intake.id", ondelete="SET NULL"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    mode: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id"))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"), index=True)
    #: The language the mediator interprets into (a shipped language code).
    mediator_language: Mapped[str | None] = mapped_column(String(8))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=BOOKED, index=True)
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The staff member who booked it; None when the citizen booked it themselves.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: How many times it was moved; part of the messages' idempotency keys after a move.
    revision: Mapped[int] = mapped_column(default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    #: What the person wrote they need, in a few words (``forms.REASON_MAX``), for the staff member.
    reason: Mapped[str | None] = mapped_column(String(300))
    #: Random; signed links to manage the appointment carry it, and changing it revokes them.
    manage_token: Mapped[str] = mapped_column(String(64), unique=True)

    person: Mapped[Person] = relationship()
    service: Mapped[Service] = relationship()
    office: Mapped[Office] = relationship()
    staff: Mapped[StaffMember] = relationship(foreign_keys=[staff_id])
    mediator: Mapped[StaffMember | None] = relationship(foreign_keys=[mediator_id])

    @property
    def subject_key(self) -> str:
        """What messaging files this appointment's messages under (and cancels them by)."""
        return "appointment:{}".format(self.id)


#: A waiting-list entry: in line, served (it led to a booking), left (by the person or an
#: operator) or lapsed (too many offers went unanswered).
WAITING_STATUSES: tuple[str, ...] = ("waiting", "booked", "left", "lapsed")
#: An offer: held for the person until it is accepted, declined or expires; withdrawn
#: when the person leaves the list or the time stops being bookable while held.
OFFER_STATUSES: tuple[str, ...] = ("held", "accepted", "declined", "expired", "withdrawn")
WAITING = "waiting"
HELD = "held"


class WaitingListEntry(Base):
    """A person waiting for an earlier time of a service than the free ones.

    The line is per service, in the order people joined (``created_at``, then ``id``).
    Office, mode and language narrow what may be offered; None means any.
    """

    __tablename__ = "waiting_list_entry"
    __table_args__ = (
        CheckConstraint(one_of("status", WAITING_STATUSES), name="known_status"),
        CheckConstraint(one_of("channel", APPOINTMENT_CHANNELS), name="known_channel"),
        CheckConstraint("mode IS NULL OR " + one_of("mode", MODES), name="known_mode"),
        Index("ix_waiting_list_entry_line", "service_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    intake_id: Mapped[int | None] = mapped_column(ForeignKey("intake.id", ondelete="SET NULL"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    mode: Mapped[str | None] = mapped_column(String(20))
    #: The language the person needs (a staff member who speaks it, or a mediator); None: any.
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default=WAITING)
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Offers that expired unanswered; at ``offers.MAX_MISSED_OFFERS`` the entry lapses.
    missed_offers: Mapped[int] = mapped_column(default=0)
    #: What the person wrote they need, as for an appointment.
    reason: Mapped[str | None] = mapped_column(String(300))
    #: Random; the link to the person's place in line carries it (see ``policy.waiting_link``).
    manage_token: Mapped[str] = mapped_column(String(64), unique=True)
    #: The appointment the entry led to.
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id", ondelete="SET NULL"))

    person: Mapped[Person] = relationship()
    service: Mapped[Service] = relationship()
    office: Mapped[Office | None] = relationship()

    @property
    def subject_key(self) -> str:
        """What messaging files this entry's messages under (leaving the list cancels them)."""
        return "waiting:{}".format(self.id)


class WaitingListOffer(Base):
    """A freed time held for one person in line until ``expires_at``.

    While held, the time is not offered to anyone else and cannot be booked; the partial
    unique indexes make sure two offers never hold the same time of the same person.
    """

    __tablename__ = "waiting_list_offer"
    __table_args__ = (
        CheckConstraint(one_of("status", OFFER_STATUSES), name="known_status"),
        CheckConstraint(one_of("mode", MODES), name="known_mode"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        Index(
            "uq_waiting_list_offer_staff_held",
            "staff_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
        Index(
            "uq_waiting_list_offer_mediator_held",
            "mediator_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'held' AND mediator_id IS NOT NULL"),
            postgresql_where=text("status = 'held' AND mediator_id IS NOT NULL"),
        ),
        Index(
            "uq_waiting_list_offer_entry_held",
            "entry_id",
            unique=True,
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
        Index("ix_waiting_list_offer_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waiting_list_entry.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    mode: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id"))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    mediator_language: Mapped[str | None] = mapped_column(String(8))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=HELD)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id", ondelete="SET NULL"))

    entry: Mapped[WaitingListEntry] = relationship()
    office: Mapped[Office] = relationship()

    @property
    def subject_key(self) -> str:
        """The offer's message subject; a reply to it ("1" or "2") names this offer."""
        return "waiting_offer:{}".format(self.id)

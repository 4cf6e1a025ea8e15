"""Offices, opening hours and services.

Texts that people read in their own language (a service's name, an office's
accessibility notes) are stored as a mapping from language code to text, because an
agency writes them itself; :func:`portal.i18n.localized` picks the right one.
"""

from __future__ import annotations

from datetime import time

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base

office_service = Table(
    "office_service",
    Base.metadata,
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class Office(Base):
    """A place where people are received (or from where they are phoned)."""

    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(32))
    #: Language code → text: step-free access, lifts, hearing loops...
    accessibility_notes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: A link to the place on a map, opened by the person's own browser, never embedded.
    map_url: Mapped[str | None] = mapped_column(String(500))

    hours: Mapped[list["OfficeHours"]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="(OfficeHours.weekday, OfficeHours.opens)"
    )
    services: Mapped[list["Service"]] = relationship(secondary=office_service, back_populates="offices")


class OfficeHours(Base):
    """One opening period of an office on one weekday (0 = Monday)."""

    __tablename__ = "office_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    weekday: Mapped[int]
    opens: Mapped[time]
    closes: Mapped[time]

    office: Mapped[Office] = relationship(back_populates="hours")


class Service(Base):
    """Something a person can be offered an appointment for."""

    __tablename__ = "service"
    __table_args__ = (CheckConstraint("duration_minutes > 0", name="positive_duration"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code other systems and triage rules refer to.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    #: Language code → name.
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    #: Language code → a sentence or two for the citizen.
    description: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    duration_minutes: Mapped[int]
    #: Subset of ``["in_person", "phone_call"]``.
    modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Staff roles that deliver it.
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    offices: Mapped[list[Office]] = relationship(secondary=office_service, back_populates="services")

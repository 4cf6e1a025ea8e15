"""Reading the agency's offices and services for the public pages."""

from __future__ import annotations

from datetime import date, datetime

from babel import Locale
from babel.dates import format_interval, get_day_names
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.agency.models import Office, Service


def public_offices(session: Session) -> list[Office]:
    """Offices with their hours and services, in a stable order for the home page."""
    return list(
        session.scalars(
            select(Office).options(selectinload(Office.hours), selectinload(Office.services)).order_by(Office.name)
        )
    )


def active_services(session: Session) -> list[Service]:
    """Services people can currently ask for."""
    return list(session.scalars(select(Service).where(Service.active.is_(True)).order_by(Service.code)))


def active_service(session: Session, code: str | None) -> Service | None:
    """The service people can currently ask for under ``code``; None for any other code."""
    if not code:
        return None
    return session.scalar(select(Service).where(Service.code == code, Service.active.is_(True)))


#: How a service can be delivered, as people read it.
MODE_LABELS = {
    "in_person": _l("in person"),
    "phone_call": _l("by phone"),
}


def opening_hours(office: Office, locale: Locale | str) -> list[tuple[str, str]]:
    """The office's week as (day name, "09:00–13:00, 14:30–17:30") in ``locale``.

    Days are named and times written the way the reader's language does it (Babel),
    in the order of the week, only days the office is open.
    """
    locale = Locale.parse(locale)
    day_names = get_day_names("wide", locale=locale)
    by_day: dict[int, list[str]] = {}
    for hours in sorted(office.hours, key=lambda h: (h.weekday, h.opens)):
        start = datetime.combine(date(2000, 1, 3), hours.opens)
        end = datetime.combine(date(2000, 1, 3), hours.closes)
        by_day.setdefault(hours.weekday, []).append(format_interval(start, end, skeleton="Hm", locale=locale))
    separator = "، " if locale.character_order == "right-to-left" else ", "
    return [(day_names[day].capitalize(), separator.join(periods)) for day, periods in sorted(by_day.items())]

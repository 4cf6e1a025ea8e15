"""Who works when and where, day by day: plans, exceptions, holidays and closures.

Everything here is wall-clock time in the agency's time zone, because that is what a
plan means: "09:00–13:00 on Mondays" is 09:00 on the office clock in winter and in
summer alike. Conversion to UTC happens only when a slot is cut (``slots.py``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Iterable, Iterator

import holidays
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.appointments.models import Closure, PlanException, WorkingHours


@dataclass(frozen=True)
class Period:
    """Someone at work on one day, from ``starts`` to ``ends`` (wall clock), at one office."""

    staff_id: int
    office_id: int
    day: date
    starts: time
    ends: time
    modes: frozenset[str]
    purpose: str


def days(first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last``, both included."""
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def public_holidays(first: date, last: date, patron_day: tuple[int, int] | None) -> set[date]:
    """Italy's national holidays (Easter Monday included) and the patron's day, if any.

    The ``holidays`` package computes the movable feasts; the patron's day is the one
    holiday that differs from one Comune to the next, so it comes from configuration.
    """
    years = range(first.year, last.year + 1)
    closed = {day for day in holidays.country_holidays("IT", years=years) if first <= day <= last}
    if patron_day is not None:
        month, day_of_month = patron_day
        for year in years:
            try:
                patron = date(year, month, day_of_month)
            except ValueError:  # 29 February in a common year
                continue
            if first <= patron <= last:
                closed.add(patron)
    return closed


@dataclass(frozen=True)
class Closures:
    """Days without appointments: for every office, or for some offices only."""

    everywhere: frozenset[date]
    by_office: dict[int, frozenset[date]]

    def closed(self, office_id: int, day: date) -> bool:
        """True when ``office_id`` receives nobody on ``day``."""
        return day in self.everywhere or day in self.by_office.get(office_id, frozenset())


def closures(session: Session, first: date, last: date, patron_day: tuple[int, int] | None) -> Closures:
    """Holidays plus the agency's own closures between ``first`` and ``last``."""
    everywhere = public_holidays(first, last, patron_day)
    by_office: dict[int, set[date]] = defaultdict(set)
    for closure in session.scalars(select(Closure).where(Closure.day >= first, Closure.day <= last)):
        if closure.office_id is None:
            everywhere.add(closure.day)
        else:
            by_office[closure.office_id].add(closure.day)
    return Closures(frozenset(everywhere), {office: frozenset(found) for office, found in by_office.items()})


def _subtract(starts: time, ends: time, gaps: Iterable[tuple[time, time]]) -> list[tuple[time, time]]:
    """What is left of ``starts``–``ends`` once every gap is taken out."""
    pieces = [(starts, ends)]
    for gap_start, gap_end in gaps:
        left = []
        for piece_start, piece_end in pieces:
            if gap_end <= piece_start or gap_start >= piece_end:
                left.append((piece_start, piece_end))
                continue
            if piece_start < gap_start:
                left.append((piece_start, gap_start))
            if gap_end < piece_end:
                left.append((gap_end, piece_end))
        pieces = left
    return pieces


def working_periods(
    session: Session,
    staff_ids: Iterable[int],
    first: date,
    last: date,
    closed: Closures,
    purpose: str | None = None,
) -> list[Period]:
    """Everyone's periods at work from ``first`` to ``last``, leave taken out, extras added.

    A period at an office that is closed that day is dropped: a holiday closes the whole
    agency, an agency closure one office or all of them.
    """
    staff_ids = list(staff_ids)
    if not staff_ids:
        return []
    weekly_query = select(WorkingHours).where(WorkingHours.staff_id.in_(staff_ids))
    exceptions_query = select(PlanException).where(
        PlanException.staff_id.in_(staff_ids), PlanException.first_day <= last, PlanException.last_day >= first
    )
    if purpose is not None:
        weekly_query = weekly_query.where(WorkingHours.purpose == purpose)
        exceptions_query = exceptions_query.where(
            or_(PlanException.kind == "leave", PlanException.purpose == purpose)
        )
    weekly: dict[int, list[WorkingHours]] = defaultdict(list)
    for hours in session.scalars(weekly_query):
        weekly[hours.weekday].append(hours)
    exceptions = list(session.scalars(exceptions_query))

    periods: list[Period] = []
    for day in days(first, last):
        todays = [e for e in exceptions if e.first_day <= day <= e.last_day]
        raw = [(h.staff_id, h.office_id, h.starts, h.ends, h.modes, h.purpose) for h in weekly.get(day.weekday(), [])]
        raw += [
            (e.staff_id, e.office_id, e.starts, e.ends, e.modes, e.purpose)
            for e in todays
            if e.kind == "extra" and e.office_id is not None and e.starts is not None and e.ends is not None
        ]
        leave: dict[int, list[tuple[time, time]]] = defaultdict(list)
        for exception in todays:
            if exception.kind == "leave":
                leave[exception.staff_id].append(
                    (exception.starts or time.min, exception.ends or time.max)
                )
        for staff_id, office_id, starts, ends, modes, period_purpose in raw:
            if closed.closed(office_id, day):
                continue
            for piece_start, piece_end in _subtract(starts, ends, leave.get(staff_id, ())):
                periods.append(
                    Period(staff_id, office_id, day, piece_start, piece_end, frozenset(modes), period_purpose)
                )
    return periods

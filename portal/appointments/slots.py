"""Free slots: cut from the plans in local wall time, offered and booked in UTC.

A slot is (service, office, mode, staff member, start, end, optional mediator). It
leaves the server as an opaque id signed with the deployment's secret, so the booking
that comes back later names exactly what was offered and nothing else: an altered id
fails to decode (:class:`InvalidSlot`), and a well-formed one is checked again against
the plans and the bookings when it is booked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from portal.agency.models import Office, OfficeHours, Service
from portal.appointments.calendar import Closures, Period, closures, working_periods
from portal.appointments.models import BOOKED, HELD, MODES, Appointment, WaitingListOffer
from portal.appointments.policy import BookingPolicy
from portal.auth.models import StaffLanguage, StaffMember, StaffRole
from portal.config import DEFAULT_LANGUAGE

_SALT = "porta.appointments.slot"
_VERSION = 1
#: Plans are read a week at a time, so finding the next few slots reads a week, not the horizon.
_CHUNK_DAYS = 7


class InvalidSlot(ValueError):
    """A slot id that was not issued by us, or was altered on the way."""


@dataclass(frozen=True)
class Slot:
    """One bookable time: whom, where, how and when (UTC)."""

    service_id: int
    office_id: int
    mode: str
    staff_id: int
    start: datetime
    end: datetime
    mediator_id: int | None = None
    mediator_language: str | None = None

    def columns(self) -> dict[str, Any]:
        """The slot as the columns that store it (an appointment's, a held offer's)."""
        return {
            "service_id": self.service_id,
            "office_id": self.office_id,
            "mode": self.mode,
            "staff_id": self.staff_id,
            "mediator_id": self.mediator_id,
            "mediator_language": self.mediator_language,
            "starts_at": self.start,
            "ends_at": self.end,
        }

    @classmethod
    def of(cls, row: Any) -> "Slot":
        """The slot a row with those columns takes up."""
        return cls(row.service_id, row.office_id, row.mode, row.staff_id, row.starts_at, row.ends_at,
                   row.mediator_id, row.mediator_language)


def search_language(language: str | None) -> str | None:
    """The language a search must honour: None for the default one, which every staff member speaks."""
    return language if language and language != DEFAULT_LANGUAGE else None


def encode_slot(slot: Slot, secret_key: str) -> str:
    """The slot's opaque, signed id."""
    payload = [
        _VERSION,
        slot.service_id,
        slot.office_id,
        MODES.index(slot.mode),
        slot.staff_id,
        int(slot.start.timestamp()) // 60,
        int((slot.end - slot.start).total_seconds()) // 60,
        slot.mediator_id or 0,
        slot.mediator_language or "",
    ]
    return str(URLSafeSerializer(secret_key, salt=_SALT).dumps(payload))


def decode_slot(text: str, secret_key: str) -> Slot:
    """The slot an id names; :class:`InvalidSlot` when it is forged, altered or malformed."""
    try:
        payload = URLSafeSerializer(secret_key, salt=_SALT).loads(text)
    except (BadData, UnicodeError, ValueError, TypeError) as exc:
        raise InvalidSlot("not a slot id we issued") from exc
    if not (isinstance(payload, list) and len(payload) == 9 and payload[0] == _VERSION):
        raise InvalidSlot("not a slot id we issued")
    _, service_id, office_id, mode, staff_id, start_minute, minutes, mediator_id, language = payload
    numbers = (service_id, office_id, mode, staff_id, start_minute, minutes, mediator_id)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers) or not isinstance(language, str):
        raise InvalidSlot("not a slot id we issued")
    if mode >= len(MODES) or minutes == 0 or bool(mediator_id) != bool(language):
        raise InvalidSlot("not a slot id we issued")
    start = datetime.fromtimestamp(start_minute * 60, tz=timezone.utc)
    return Slot(
        service_id, office_id, MODES[mode], staff_id, start, start + timedelta(minutes=minutes),
        mediator_id or None, language or None,
    )


def to_json(slot: Slot, office_code: str, policy: BookingPolicy) -> dict[str, Any]:
    """The API's view of a slot: id, local start and end with their UTC offset, office, mode."""
    return {
        "slot": encode_slot(slot, policy.secret_key),
        "start": slot.start.astimezone(policy.timezone).isoformat(),
        "end": slot.end.astimezone(policy.timezone).isoformat(),
        "office": office_code,
        "mode": slot.mode,
    }


# --- cutting slots from periods ---------------------------------------------------------


def _cut(period: Period, minutes: int, policy: BookingPolicy) -> Iterable[tuple[datetime, datetime]]:
    """(start, end) in UTC of each slot that fits the period, stepping in wall-clock time.

    A wall-clock start that does not exist (inside the spring-forward hour) is skipped; an
    ambiguous one (the autumn hour that happens twice) is taken once, at its first passing.
    """
    length = timedelta(minutes=minutes)
    wall = datetime.combine(period.day, period.starts)
    last = datetime.combine(period.day, period.ends)
    while wall + length <= last:
        start = wall.replace(tzinfo=policy.timezone).astimezone(timezone.utc)
        if start.astimezone(policy.timezone).replace(tzinfo=None) == wall:
            yield start, start + length
        wall += length


def taken(
    people: list[int], first: datetime, last: datetime, now: datetime, ignore: int | None = None,
    hold: int | None = None,
) -> tuple[Select[Any], Select[Any]]:
    """What takes time of ``people`` between ``first`` and ``last``: (staff, mediator, start, end) rows.

    Booked appointments (but ``ignore``, one being moved), and times held for someone on
    the waiting list until their hold ends (but ``hold``, the offer being accepted): a
    held time is nobody else's. Slot search and booking ask the same two questions.
    """
    booked = select(Appointment.staff_id, Appointment.mediator_id, Appointment.starts_at, Appointment.ends_at).where(
        Appointment.status == BOOKED,
        or_(Appointment.staff_id.in_(people), Appointment.mediator_id.in_(people)),
        Appointment.starts_at < last,
        Appointment.ends_at > first,
    )
    if ignore is not None:
        booked = booked.where(Appointment.id != ignore)
    held = select(WaitingListOffer.staff_id, WaitingListOffer.mediator_id, WaitingListOffer.starts_at,
                  WaitingListOffer.ends_at).where(
        WaitingListOffer.status == HELD,
        WaitingListOffer.expires_at > now,
        or_(WaitingListOffer.staff_id.in_(people), WaitingListOffer.mediator_id.in_(people)),
        WaitingListOffer.starts_at < last,
        WaitingListOffer.ends_at > first,
    )
    if hold is not None:
        held = held.where(WaitingListOffer.id != hold)
    return booked, held


def _busy(
    session: Session, people: Iterable[int], first: datetime, last: datetime, ignore: int | None, now: datetime
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Taken time (:func:`taken`) of each of ``people``, as the staff member or as the mediator."""
    people = list(people)
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    if not people:
        return busy
    for query in taken(people, first, last, now, ignore=ignore):
        for staff_id, mediator_id, starts_at, ends_at in session.execute(query):
            busy[staff_id].append((starts_at, ends_at))
            if mediator_id is not None:
                busy[mediator_id].append((starts_at, ends_at))
    return busy


#: office id → weekday → opening periods (wall clock); an office without any is never clipped.
OpeningHours = dict[int, dict[int, list[tuple[time, time]]]]


def _opening_hours(session: Session, offices: set[int]) -> OpeningHours:
    hours: OpeningHours = defaultdict(lambda: defaultdict(list))
    rows = session.execute(
        select(OfficeHours.office_id, OfficeHours.weekday, OfficeHours.opens, OfficeHours.closes).where(
            OfficeHours.office_id.in_(offices)
        )
    )
    for office_id, weekday, opens, closes in rows:
        hours[office_id][weekday].append((opens, closes))
    return hours


def _open(hours: OpeningHours, office_id: int, start: datetime, end: datetime, policy: BookingPolicy) -> bool:
    """An in-person slot lies inside one of its office's opening periods (if the office lists any)."""
    if office_id not in hours:
        return True
    local_start, local_end = start.astimezone(policy.timezone), end.astimezone(policy.timezone)
    if local_end.date() != local_start.date():
        return False
    return any(
        opens <= local_start.time() and local_end.time() <= closes
        for opens, closes in hours[office_id].get(local_start.weekday(), ())
    )


def _free(busy: dict[int, list[tuple[datetime, datetime]]], person: int, start: datetime, end: datetime) -> bool:
    return not any(s < end and start < e for s, e in busy.get(person, ()))


@dataclass
class SlotQuery:
    """What is asked for; every filter is optional but the service."""

    service: Service
    office: Office | None = None
    language: str | None = None
    mode: str | None = None
    staff_id: int | None = None
    #: Only these local days (both included); the whole bookable window by default.
    first_day: date | None = None
    last_day: date | None = None


def _deliverers(session: Session, query: SlotQuery) -> dict[int, frozenset[str]]:
    """Active staff holding a role that delivers the service → the languages they speak."""
    staff = select(StaffMember).where(
        StaffMember.active.is_(True),
        StaffMember.id.in_(select(StaffRole.staff_id).where(StaffRole.role.in_(query.service.roles or []))),
    )
    if query.staff_id is not None:
        staff = staff.where(StaffMember.id == query.staff_id)
    return {member.id: frozenset(member.language_codes) for member in session.scalars(staff)}


def _mediators(session: Session, language: str) -> list[int]:
    """Active staff who speak ``language``: possible mediators, when their plan says so."""
    return list(
        session.scalars(
            select(StaffMember.id)
            .join(StaffLanguage, StaffLanguage.staff_id == StaffMember.id)
            .where(StaffMember.active.is_(True), StaffLanguage.language == language)
            .order_by(StaffMember.id)
        )
    )


def candidate_slots(
    session: Session,
    policy: BookingPolicy,
    query: SlotQuery,
    now: datetime,
    limit: int | None = 20,
    ignore_appointment: int | None = None,
    check_busy: bool = True,
) -> list[Slot]:
    """The next slots matching ``query``, earliest first, at most ``limit`` (None: all).

    Nothing in the past, nothing sooner than the minimum notice, nothing beyond the
    horizon; in person only while the office is open (when it lists opening hours:
    a staff member's plan may run longer, for phone calls or paperwork). With a language, a staff member who speaks it is offered alone and one who
    does not is offered with a mediator for it who has room then (in person, at the same
    office). ``check_busy=False`` ignores bookings: it answers "is this still offered by
    the plans?", which booking asks before it checks for collisions itself.
    """
    query = replace(query, language=search_language(query.language))
    service = query.service
    earliest, latest = now + policy.min_notice, now + policy.horizon
    modes = [m for m in MODES if m in (service.modes or []) and (query.mode is None or m == query.mode)]
    offices = {office.id for office in service.offices}
    if query.office is not None:
        offices &= {query.office.id}
    if not service.active or not modes or not offices:
        return []
    deliverers = _deliverers(session, query)
    if not deliverers:
        return []
    mediators = _mediators(session, query.language) if query.language else []
    first = max(earliest.astimezone(policy.timezone).date(), query.first_day or date.min)
    last = min(latest.astimezone(policy.timezone).date(), query.last_day or date.max)
    if first > last:
        return []
    closed = closures(session, first, last, policy.patron_day)
    opening = _opening_hours(session, offices)
    busy = (
        # a day's margin: a slot starting just before the horizon may end after it
        _busy(session, set(deliverers) | set(mediators), earliest, latest + timedelta(days=1), ignore_appointment, now)
        if check_busy
        else {}
    )

    found: list[Slot] = []
    chunk_first = first
    while chunk_first <= last and (limit is None or len(found) < limit):
        chunk_last = min(last, chunk_first + timedelta(days=_CHUNK_DAYS - 1))
        found.extend(
            _slots_in(session, policy, query, deliverers, mediators, modes, offices, closed, busy,
                      chunk_first, chunk_last, earliest, latest, opening)
        )
        chunk_first = chunk_last + timedelta(days=1)
    found.sort(key=lambda s: (s.start, MODES.index(s.mode), s.office_id, s.staff_id))
    return found if limit is None else found[:limit]


def _slots_in(
    session: Session,
    policy: BookingPolicy,
    query: SlotQuery,
    deliverers: dict[int, frozenset[str]],
    mediators: list[int],
    modes: list[str],
    offices: set[int],
    closed: Closures,
    busy: dict[int, list[tuple[datetime, datetime]]],
    first: date,
    last: date,
    earliest: datetime,
    latest: datetime,
    opening: OpeningHours,
) -> list[Slot]:
    service = query.service
    mediation: list[Period] = (
        working_periods(session, mediators, first, last, closed, purpose="mediation") if mediators else []
    )
    mediation_by_day: dict[date, list[Period]] = defaultdict(list)
    for period in mediation:
        mediation_by_day[period.day].append(period)

    found = []
    for period in working_periods(session, deliverers, first, last, closed, purpose="service"):
        if period.office_id not in offices:
            continue
        for start, end in _cut(period, service.duration_minutes, policy):
            if start < earliest or start > latest or not _free(busy, period.staff_id, start, end):
                continue
            for mode in modes:
                if mode not in period.modes:
                    continue
                if mode == "in_person" and not _open(opening, period.office_id, start, end, policy):
                    continue  # people are received only while the office is open
                slot = Slot(service.id, period.office_id, mode, period.staff_id, start, end)
                if query.language and query.language not in deliverers[period.staff_id]:
                    slot = _with_mediator(slot, query.language, mediation_by_day[period.day], busy, policy)
                    if slot is None:
                        continue
                found.append(slot)
    return found


def _with_mediator(
    slot: Slot, language: str, periods: list[Period], busy: dict[int, list[tuple[datetime, datetime]]],
    policy: BookingPolicy,
) -> Slot | None:
    """``slot`` with the first mediator whose plan covers it and who is free, else None."""
    for period in sorted(periods, key=lambda p: p.staff_id):
        if period.staff_id == slot.staff_id or slot.mode not in period.modes:
            continue
        if slot.mode == "in_person" and period.office_id != slot.office_id:
            continue
        starts = datetime.combine(period.day, period.starts, tzinfo=policy.timezone)
        ends = datetime.combine(period.day, period.ends, tzinfo=policy.timezone)
        if starts <= slot.start and slot.end <= ends and _free(busy, period.staff_id, slot.start, slot.end):
            return Slot(slot.service_id, slot.office_id, slot.mode, slot.staff_id, slot.start, slot.end,
                        period.staff_id, language)
    return None


def find_slots(
    session: Session,
    policy: BookingPolicy,
    service: Service,
    now: datetime,
    *,
    office: Office | None = None,
    language: str | None = None,
    mode: str | None = None,
    limit: int = 20,
) -> list[Slot]:
    """The next free slots for ``service``, optionally at one office, in one language or mode."""
    query = SlotQuery(service=service, office=office, language=language, mode=mode)
    return candidate_slots(session, policy, query, now, limit=limit)


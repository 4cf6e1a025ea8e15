"""What can be booked: slots cut from plans, around holidays, leave, mediators and limits.

The helpers at the top build a small agency (offices, services, staff and their plans)
and are shared with ``test_booking.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from portal.agency.models import Office, Service
from portal.appointments.models import Closure, PlanException, WorkingHours
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import (
    InvalidSlot,
    Slot,
    SlotQuery,
    candidate_slots,
    decode_slot,
    encode_slot,
    find_slots,
    to_json,
)
from portal.auth.models import StaffLanguage, StaffMember, StaffRole

ROME = ZoneInfo("Europe/Rome")
SECRET = "slot-test-secret"
EVERY_DAY = range(7)


def policy(**changes: Any) -> BookingPolicy:
    """Rules with no notice and a long horizon unless a test says otherwise."""
    values: dict[str, Any] = {"secret_key": SECRET, "min_notice": timedelta(0), "horizon": timedelta(days=400)}
    values.update(changes)
    return BookingPolicy(**values)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


def make_office(session: Session, code: str, services: Iterable[Service] = ()) -> Office:
    office = Office(code=code, name=code.title(), address="Via Roma 10", postal_code="59100", city="Prato")
    office.services = list(services)
    session.add(office)
    session.flush()
    return office


def make_service(session: Session, code: str = "colloquio", minutes: int = 30, modes: Iterable[str] = ("in_person", "phone_call"), roles: Iterable[str] = ("caseworker",)) -> Service:
    service = Service(code=code, name={"it": code}, duration_minutes=minutes, modes=list(modes), roles=list(roles))
    session.add(service)
    session.flush()
    return service


def make_staff(session: Session, email: str, languages: Iterable[str] = ("it",), roles: Iterable[str] = ("caseworker",)) -> StaffMember:
    staff = StaffMember(
        email=email,
        full_name=email.split("@")[0],
        password_hash="unused",
        roles=[StaffRole(role=role) for role in roles],
        languages=[StaffLanguage(language=language) for language in languages],
    )
    session.add(staff)
    session.flush()
    return staff


def plan(session: Session, staff: StaffMember, office: Office, weekdays: Iterable[int], starts: str, ends: str, modes: Iterable[str] = ("in_person", "phone_call"), purpose: str = "service") -> None:
    for weekday in weekdays:
        session.add(WorkingHours(
            staff_id=staff.id, office_id=office.id, weekday=weekday, starts=time.fromisoformat(starts),
            ends=time.fromisoformat(ends), modes=list(modes), purpose=purpose,
        ))
    session.flush()


@dataclass
class Agency:
    service: Service
    centro: Office
    nord: Office
    anna: StaffMember  # caseworker at centro, speaks it and en
    bruno: StaffMember  # caseworker at nord, speaks it and ar


@pytest.fixture
def agency(session: Session) -> Agency:
    """One 30-minute service at two offices, a caseworker at each, no plans yet."""
    service = make_service(session)
    centro = make_office(session, "centro", [service])
    nord = make_office(session, "nord", [service])
    anna = make_staff(session, "anna@example.org", ("it", "en"))
    bruno = make_staff(session, "bruno@example.org", ("it", "ar"))
    session.commit()
    return Agency(service, centro, nord, anna, bruno)


def slots_on(session: Session, rules: BookingPolicy, service: Service, day: date, now: datetime, **query: Any) -> list[Slot]:
    return candidate_slots(session, rules, SlotQuery(service=service, first_day=day, last_day=day, **query), now, limit=None)


def local_times(slots: Iterable[Slot]) -> list[str]:
    return [slot.start.astimezone(ROME).strftime("%H:%M") for slot in slots]


# --- daylight saving -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "change", "offset_before", "offset_after"),
    [
        (date(2026, 3, 28), date(2026, 3, 29), "+01:00", "+02:00"),
        (date(2026, 10, 24), date(2026, 10, 25), "+02:00", "+01:00"),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_a_morning_plan_starts_at_nine_local_time_on_both_sides_of_a_clock_change(
    session: Session, agency: Agency, before: date, change: date, offset_before: str, offset_after: str
) -> None:
    plan(session, agency.anna, agency.centro, [before.weekday(), change.weekday()], "09:00", "13:00", modes=["in_person"])
    rules = policy()
    now = datetime.combine(before - timedelta(days=10), time(8), tzinfo=timezone.utc)
    expected = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]

    for day, offset in ((before, offset_before), (change, offset_after)):
        found = slots_on(session, rules, agency.service, day, now)
        shown = [to_json(slot, "centro", rules) for slot in found]
        assert local_times(found) == expected
        assert shown[0]["start"] == "{}T09:00:00{}".format(day.isoformat(), offset)
        assert shown[-1]["end"] == "{}T13:00:00{}".format(day.isoformat(), offset)
        assert len({slot.start for slot in found}) == len(found)
        assert all(slot.end - slot.start == timedelta(minutes=30) for slot in found)
    first_utc = slots_on(session, rules, agency.service, change, now)[0].start
    assert first_utc == datetime.combine(change, time(9), tzinfo=ROME).astimezone(timezone.utc)
    assert first_utc.hour == (7 if offset_after == "+02:00" else 8)


def test_clock_times_that_do_not_exist_or_happen_twice_give_no_odd_slots(session: Session, agency: Agency) -> None:
    """A night plan across the change itself: 02:30 never happens in spring, happens twice in autumn."""
    plan(session, agency.anna, agency.centro, [6], "01:00", "04:00", modes=["in_person"])
    now = utc(2026, 3, 1)
    spring = slots_on(session, policy(), agency.service, date(2026, 3, 29), now)
    assert local_times(spring) == ["01:00", "01:30", "03:00", "03:30"]
    autumn = slots_on(session, policy(), agency.service, date(2026, 10, 25), now)
    assert local_times(autumn) == ["01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]
    assert len({slot.start for slot in autumn}) == 6 and all(a.end <= b.start for a, b in zip(autumn, autumn[1:]))


# --- closures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "holiday",
    [date(2027, 3, 29), date(2026, 4, 25), date(2026, 6, 2), date(2026, 12, 25), date(2026, 6, 24)],
    ids=["easter-monday", "liberation-day", "republic-day", "christmas", "patron-saint"],
)
def test_national_holidays_and_the_patron_day_have_no_slots(session: Session, agency: Agency, holiday: date) -> None:
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "13:00")
    rules = policy(patron_day=(6, 24))
    now = utc(2026, 3, 1, 8)
    assert slots_on(session, rules, agency.service, holiday, now) == []
    assert slots_on(session, rules, agency.service, holiday + timedelta(days=2), now) != []  # an ordinary day


def test_without_a_configured_patron_day_the_twenty_fourth_of_june_is_a_working_day(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "13:00")
    assert slots_on(session, policy(), agency.service, date(2026, 6, 24), utc(2026, 6, 1)) != []


def test_an_agency_closure_closes_one_office_or_every_office(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "10:00")
    plan(session, agency.bruno, agency.nord, EVERY_DAY, "09:00", "10:00")
    session.add_all([Closure(day=date(2026, 7, 7), office_id=agency.nord.id), Closure(day=date(2026, 7, 8))])
    now = utc(2026, 7, 1)

    on_seventh = slots_on(session, policy(), agency.service, date(2026, 7, 7), now)
    assert {slot.office_id for slot in on_seventh} == {agency.centro.id}
    assert slots_on(session, policy(), agency.service, date(2026, 7, 8), now) == []


# --- plans: breaks, leave, extra days ----------------------------------------------------------


def test_no_slot_falls_in_the_lunch_break_or_runs_past_the_end_of_a_period(session: Session, agency: Agency) -> None:
    agency.service.duration_minutes = 45
    plan(session, agency.anna, agency.centro, [0], "09:00", "13:00", modes=["in_person"])
    plan(session, agency.anna, agency.centro, [0], "14:00", "17:00", modes=["in_person"])
    found = slots_on(session, policy(), agency.service, date(2026, 7, 6), utc(2026, 7, 1))
    assert local_times(found) == ["09:00", "09:45", "10:30", "11:15", "12:00", "14:00", "14:45", "15:30", "16:15"]


def test_leave_removes_whole_days_or_some_hours(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "12:00", modes=["in_person"])
    session.add_all([
        PlanException(staff_id=agency.anna.id, kind="leave", first_day=date(2026, 7, 6), last_day=date(2026, 7, 8)),
        PlanException(staff_id=agency.anna.id, kind="leave", first_day=date(2026, 7, 9), last_day=date(2026, 7, 9),
                      starts=time(10), ends=time(11)),
    ])
    now = utc(2026, 7, 1)
    for day in (6, 7, 8):
        assert slots_on(session, policy(), agency.service, date(2026, 7, day), now) == []
    assert local_times(slots_on(session, policy(), agency.service, date(2026, 7, 9), now)) == ["09:00", "09:30", "11:00", "11:30"]
    assert len(slots_on(session, policy(), agency.service, date(2026, 7, 10), now)) == 6


def test_an_extra_day_adds_slots_where_the_week_has_none(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, [0, 1, 2, 3, 4], "09:00", "12:00")
    saturday = date(2026, 7, 11)
    assert slots_on(session, policy(), agency.service, saturday, utc(2026, 7, 1)) == []
    session.add(PlanException(staff_id=agency.anna.id, kind="extra", first_day=saturday, last_day=saturday,
                              starts=time(9), ends=time(10), office_id=agency.centro.id, modes=["in_person"]))
    found = slots_on(session, policy(), agency.service, saturday, utc(2026, 7, 1))
    assert local_times(found) == ["09:00", "09:30"]
    assert {slot.mode for slot in found} == {"in_person"}


# --- mediators ---------------------------------------------------------------------------------


def test_a_language_nobody_speaks_is_offered_only_when_a_mediator_has_room(session: Session, agency: Agency) -> None:
    monday = date(2026, 7, 6)
    plan(session, agency.anna, agency.centro, [0], "09:00", "13:00", modes=["in_person"])
    now = utc(2026, 7, 1)
    assert slots_on(session, policy(), agency.service, monday, now, language="zh") == []

    mediator = make_staff(session, "mei@example.org", ("zh", "it"), roles=("operator",))
    plan(session, mediator, agency.centro, [0], "10:00", "11:30", purpose="mediation")
    found = slots_on(session, policy(), agency.service, monday, now, language="zh")
    assert local_times(found) == ["10:00", "10:30", "11:00"]
    assert {(slot.mediator_id, slot.mediator_language) for slot in found} == {(mediator.id, "zh")}
    # A mediator is not a caseworker: without the language the plan offers Anna alone.
    assert {slot.staff_id for slot in slots_on(session, policy(), agency.service, monday, now)} == {agency.anna.id}


def test_a_mediator_at_another_office_helps_only_by_phone(session: Session, agency: Agency) -> None:
    monday = date(2026, 7, 6)
    plan(session, agency.anna, agency.centro, [0], "09:00", "10:00")
    mediator = make_staff(session, "mei@example.org", ("zh",), roles=("operator",))
    plan(session, mediator, agency.nord, [0], "09:00", "10:00", purpose="mediation")
    found = slots_on(session, policy(), agency.service, monday, utc(2026, 7, 1), language="zh")
    assert {slot.mode for slot in found} == {"phone_call"}


def test_a_booked_mediator_hour_disappears_for_every_caseworker(session: Session, agency: Agency) -> None:
    from portal.appointments.services import book
    from portal.people.services import new_person

    monday = date(2026, 7, 6)
    carla = make_staff(session, "carla@example.org", ("it",))
    plan(session, agency.anna, agency.centro, [0], "10:00", "11:00", modes=["in_person"])
    plan(session, carla, agency.centro, [0], "10:00", "11:00", modes=["in_person"])
    mediator = make_staff(session, "mei@example.org", ("zh",), roles=("operator",))
    plan(session, mediator, agency.centro, [0], "10:00", "11:00", purpose="mediation")
    session.commit()
    now = utc(2026, 7, 1)
    rules = policy()
    before = slots_on(session, rules, agency.service, monday, now, language="zh")
    assert [(local_times([s])[0], s.staff_id) for s in before] == [
        ("10:00", agency.anna.id), ("10:00", carla.id), ("10:30", agency.anna.id), ("10:30", carla.id)
    ]

    person = new_person(now)
    session.add(person)
    book(session, encode_slot(before[0], SECRET), person, now=now, policy=rules)
    session.commit()

    after = slots_on(session, rules, agency.service, monday, now, language="zh")
    assert [(local_times([s])[0], s.staff_id) for s in after] == [("10:30", agency.anna.id), ("10:30", carla.id)]
    # Carla is still free at 10:00 for anyone who needs no mediator.
    assert ("10:00", carla.id) in [(local_times([s])[0], s.staff_id) for s in slots_on(session, rules, agency.service, monday, now)]


def test_a_caseworker_who_speaks_the_language_needs_no_mediator(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, [0], "09:00", "10:00")
    plan(session, agency.bruno, agency.nord, [0], "09:00", "10:00")
    found = slots_on(session, policy(), agency.service, date(2026, 7, 6), utc(2026, 7, 1), language="ar")
    assert {slot.staff_id for slot in found} == {agency.bruno.id}
    assert all(slot.mediator_id is None for slot in found)


# --- limits: past, notice, horizon ----------------------------------------------------------


def test_nothing_in_the_past_is_offered(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, [0], "09:00", "13:00", modes=["in_person"])
    now = local(2026, 7, 6, 11, 10).astimezone(timezone.utc)
    found = find_slots(session, policy(), agency.service, now, limit=3)
    assert [slot.start.astimezone(ROME) for slot in found] == [local(2026, 7, 6, 11, 30), local(2026, 7, 6, 12), local(2026, 7, 6, 12, 30)]


def test_nothing_is_offered_inside_the_minimum_notice(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "13:00", modes=["in_person"])
    rules = policy(min_notice=timedelta(hours=24))
    at_nine = local(2026, 7, 6, 9).astimezone(timezone.utc)
    assert find_slots(session, rules, agency.service, at_nine, limit=1)[0].start == local(2026, 7, 7, 9)
    a_minute_later = at_nine + timedelta(minutes=1)
    assert find_slots(session, rules, agency.service, a_minute_later, limit=1)[0].start == local(2026, 7, 7, 9, 30)


def test_nothing_is_offered_beyond_the_horizon(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, EVERY_DAY, "09:00", "13:00", modes=["in_person"])
    now = local(2026, 7, 6, 10).astimezone(timezone.utc)
    found = find_slots(session, policy(horizon=timedelta(days=14)), agency.service, now, limit=1000)
    assert found[-1].start == local(2026, 7, 20, 10)
    assert all(slot.start <= now + timedelta(days=14) for slot in found)


# --- filters -------------------------------------------------------------------------------------


def test_the_mode_filter_and_the_service_modes_both_restrict_slots(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, [0], "09:00", "10:00", modes=["in_person"])
    plan(session, agency.anna, agency.centro, [0], "14:00", "15:00", modes=["phone_call"])
    monday, now = date(2026, 7, 6), utc(2026, 7, 1)
    assert local_times(slots_on(session, policy(), agency.service, monday, now, mode="in_person")) == ["09:00", "09:30"]
    assert local_times(slots_on(session, policy(), agency.service, monday, now, mode="phone_call")) == ["14:00", "14:30"]
    agency.service.modes = ["in_person"]
    assert slots_on(session, policy(), agency.service, monday, now, mode="phone_call") == []


def test_the_office_filter_keeps_one_office(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, [0], "09:00", "10:00")
    plan(session, agency.bruno, agency.nord, [0], "09:00", "10:00")
    found = slots_on(session, policy(), agency.service, date(2026, 7, 6), utc(2026, 7, 1), office=agency.nord)
    assert found and {(slot.office_id, slot.staff_id) for slot in found} == {(agency.nord.id, agency.bruno.id)}


def test_a_service_is_never_offered_at_an_office_that_does_not_provide_it(session: Session, agency: Agency) -> None:
    desk = make_service(session, "sportello")
    agency.centro.services.append(desk)
    plan(session, agency.bruno, agency.nord, [0], "09:00", "10:00")
    assert find_slots(session, policy(), desk, utc(2026, 7, 1)) == []
    assert find_slots(session, policy(), desk, utc(2026, 7, 1), office=agency.nord) == []


def test_only_active_staff_holding_a_delivering_role_are_offered(session: Session, agency: Agency) -> None:
    operator = make_staff(session, "otto@example.org", roles=("operator",))
    plan(session, operator, agency.centro, [0], "09:00", "10:00")
    plan(session, agency.anna, agency.centro, [0], "09:00", "10:00")
    agency.anna.active = False
    assert find_slots(session, policy(), agency.service, utc(2026, 7, 1)) == []


# --- slot ids --------------------------------------------------------------------------------------


def test_a_slot_id_round_trips_and_a_tampered_one_is_refused(session: Session, agency: Agency) -> None:
    plan(session, agency.anna, agency.centro, [0], "09:00", "10:00")
    slot = find_slots(session, policy(), agency.service, utc(2026, 7, 1), limit=1)[0]
    slot_id = encode_slot(slot, SECRET)
    assert decode_slot(slot_id, SECRET) == slot
    payload, signature = slot_id.rsplit(".", 1)
    for forged in (payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature, slot_id[:-2], "", "nonsense", slot_id + "x"):
        with pytest.raises(InvalidSlot):
            decode_slot(forged, SECRET)
    with pytest.raises(InvalidSlot):
        decode_slot(slot_id, "another-secret")


def test_in_person_slots_keep_to_the_office_opening_hours_and_phone_calls_do_not_need_them(
    session: Session, agency: Agency
) -> None:
    from portal.agency.models import OfficeHours

    plan(session, agency.anna, agency.centro, [0], "08:00", "14:00")
    session.add(OfficeHours(office_id=agency.centro.id, weekday=0, opens=time(9), closes=time(12, 30)))
    session.commit()
    found = slots_on(session, policy(), agency.service, date(2026, 7, 6), utc(2026, 7, 1))
    in_person = local_times(s for s in found if s.mode == "in_person")
    by_phone = local_times(s for s in found if s.mode == "phone_call")
    assert in_person[0] == "09:00" and in_person[-1] == "12:00" and len(in_person) == 7
    assert by_phone[0] == "08:00" and by_phone[-1] == "13:30"

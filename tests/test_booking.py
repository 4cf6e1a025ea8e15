"""Booking, cancelling and moving appointments, with their messages, on both databases."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from messaging.models import Message
from messaging.policy import ReminderPolicy
from portal.appointments.models import Appointment, PlanException
from portal.appointments.policy import BookingPolicy
from portal.appointments.services import NotBooked, SlotTaken, SlotUnavailable, book, cancel, reschedule
from portal.appointments.slots import InvalidSlot, Slot, encode_slot, find_slots
from portal.config import ConfigError
from portal.db import get_engine
from portal.people.models import Person
from portal.people.services import new_person
from support import make_config
from test_slots import SECRET, Agency, agency, local, make_service, plan, policy  # noqa: F401

#: Monday 6 July 2026, 08:00 in Rome: the clock of every test here unless it says otherwise.
NOW = local(2026, 7, 6, 8).astimezone(timezone.utc)


def person(session: Session, phone: str | None = "+393331234567", **changes: Any) -> Person:
    someone = new_person(NOW)
    someone.first_name, someone.last_name, someone.phone = "Ada", "Rossi", phone
    for name, value in changes.items():
        setattr(someone, name, value)
    session.add(someone)
    session.commit()
    return someone


def slot_id(slot: Slot) -> str:
    return encode_slot(slot, SECRET)


def messages(session: Session, appointment_id: int) -> dict[str, tuple[str, str, datetime]]:
    """idempotency key → (kind, status, send_at) of every message about the appointment."""
    session.expire_all()
    rows = session.scalars(select(Message).where(Message.subject_key == "appointment:{}".format(appointment_id)))
    return {m.idempotency_key: (m.kind, m.status, m.send_at) for m in rows}


@pytest.fixture
def week(session: Session, agency: Agency) -> Agency:
    """Anna receives in person at centro on weekday mornings, 09:00–13:00."""
    plan(session, agency.anna, agency.centro, [0, 1, 2, 3, 4], "09:00", "13:00", modes=["in_person"])
    session.commit()
    return agency


def first_slot(session: Session, agency: Agency, rules: BookingPolicy | None = None, now: datetime = NOW) -> Slot:
    return find_slots(session, rules or policy(), agency.service, now, limit=1)[0]


# --- the race ------------------------------------------------------------------------------------


def race(engine: Any, attempts: list[tuple[str, int]], rules: BookingPolicy) -> list[str]:
    """Book each (slot id, person id) from its own thread and session, all at the same instant."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []

    def attempt(chosen: str, person_id: int) -> None:
        with Session(engine, expire_on_commit=False) as own:
            someone = own.get(Person, person_id)
            barrier.wait(timeout=30)
            try:
                book(own, chosen, someone, now=NOW, policy=rules)
                own.commit()
                outcomes.append("booked")
            except SlotTaken:
                own.rollback()
                outcomes.append("taken")

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


def test_booking_the_last_slot_at_once_lets_exactly_one_win(app: Flask, session: Session, week: Agency) -> None:
    rules = policy()
    rounds, contenders = 10, 4
    slots = find_slots(session, rules, week.service, NOW, limit=rounds)
    people = [person(session, phone="+39333000000{}".format(i)).id for i in range(contenders)]

    for slot in slots:
        outcomes = race(get_engine(app), [(slot_id(slot), someone) for someone in people], rules)
        assert outcomes == ["booked"] + ["taken"] * (contenders - 1)

    session.expire_all()
    booked = session.scalar(select(func.count()).select_from(Appointment).where(Appointment.status == "booked"))
    confirmations = session.scalar(select(func.count()).select_from(Message).where(Message.kind == "appointment_confirmation"))
    assert booked == rounds
    assert confirmations == rounds
    # The losers are shown what is still free: none of the slots just taken.
    assert not {s.start for s in find_slots(session, rules, week.service, NOW, limit=50)} & {s.start for s in slots}


def test_overlapping_slots_of_different_lengths_booked_at_once_let_only_one_win(
    app: Flask, session: Session, week: Agency
) -> None:
    """45 minutes from 09:00 and 30 minutes from 09:30 share a quarter of an hour."""
    long_service = make_service(session, "lungo", minutes=45)
    week.centro.services.append(long_service)
    session.commit()
    rules = policy()
    people = [person(session, phone="+39333000001{}".format(i)).id for i in range(4)]
    for day in range(6, 11):
        at_nine = local(2026, 7, day, 9)
        long = next(s for s in find_slots(session, rules, long_service, NOW, limit=200) if s.start == at_nine)
        short = next(s for s in find_slots(session, rules, week.service, NOW, limit=200)
                     if s.start == at_nine + timedelta(minutes=30))
        attempts = [(slot_id(long), people[0]), (slot_id(short), people[1]), (slot_id(long), people[2]), (slot_id(short), people[3])]
        assert race(get_engine(app), attempts, rules) == ["booked", "taken", "taken", "taken"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Appointment)) == 5


def test_an_overlapping_slot_of_another_length_is_refused(session: Session, week: Agency) -> None:
    long_service = make_service(session, "lungo", minutes=45)
    week.centro.services.append(long_service)
    session.commit()
    rules = policy()
    short = [s for s in find_slots(session, rules, week.service, NOW, limit=4) if s.start == local(2026, 7, 6, 9, 30)]
    long = find_slots(session, rules, long_service, NOW, limit=1)[0]
    assert long.start == local(2026, 7, 6, 9) and short

    book(session, slot_id(long), person(session), now=NOW, policy=rules)
    session.commit()
    with pytest.raises(SlotTaken):
        book(session, slot_id(short[0]), person(session, phone=None), now=NOW, policy=rules)
    session.rollback()
    assert local(2026, 7, 6, 9, 30) not in {s.start for s in find_slots(session, rules, week.service, NOW, limit=5)}
    assert find_slots(session, rules, week.service, NOW, limit=1)[0].start == local(2026, 7, 6, 10)


# --- messages in the same transaction ------------------------------------------------------------


def test_booking_queues_a_confirmation_and_reminders_with_it(session: Session, week: Agency) -> None:
    rules = policy()
    slot = find_slots(session, rules, week.service, NOW, limit=100)[-1]  # far enough for both reminders
    appointment = book(session, slot_id(slot), person(session), now=NOW, policy=rules, channel="phone")
    session.commit()

    key = "appointment:{}".format(appointment.id)
    assert messages(session, appointment.id) == {
        key + ":confirmation": ("appointment_confirmation", "pending", NOW),
        key + ":reminder:2d": ("appointment_reminder", "pending", slot.start - timedelta(days=2)),
        key + ":reminder:2h": ("appointment_reminder", "pending", slot.start - timedelta(hours=2)),
    }
    confirmation = session.scalar(select(Message).where(Message.idempotency_key == key + ":confirmation"))
    assert confirmation.context["address"] == "Via Roma 10, Prato"
    assert confirmation.context["link"].endswith(appointment.manage_token)
    assert datetime.fromisoformat(confirmation.context["start"]) == slot.start
    assert confirmation.not_after == slot.start


def test_a_booking_rolled_back_leaves_no_appointment_and_no_message(session: Session, week: Agency) -> None:
    slot = find_slots(session, policy(), week.service, NOW, limit=100)[-1]
    book(session, slot_id(slot), person(session), now=NOW, policy=policy())
    assert session.scalar(select(func.count()).select_from(Message)) == 3  # confirmation, 2 reminders
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Appointment)) == 0
    assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_reminders_after_the_start_or_right_after_booking_are_not_planned(session: Session, week: Agency) -> None:
    # 09:00 tomorrow is 25 hours away: the 2-day reminder would be in the past, the
    # 2-hour one is kept; a 0-minute "reminder" would come at the start itself.
    rules = policy(reminders=ReminderPolicy(offsets=(timedelta(days=2), timedelta(hours=2), timedelta(0))))
    tomorrow = local(2026, 7, 7, 9)
    slot = next(s for s in find_slots(session, rules, week.service, NOW, limit=20) if s.start == tomorrow)
    appointment = book(session, slot_id(slot), person(session), now=NOW, policy=rules)
    session.commit()
    assert sorted(k.rsplit(":", 1)[-1] for k in messages(session, appointment.id)) == ["2h", "confirmation"]

    # A slot 2½ hours away: its 2-hour reminder would arrive 30 minutes after the
    # confirmation, inside the 60-minute gap.
    soon = find_slots(session, rules, week.service, local(2026, 7, 6, 8, 30).astimezone(timezone.utc), limit=20)
    slot = next(s for s in soon if s.start == local(2026, 7, 6, 11))
    booked_at = local(2026, 7, 6, 8, 30).astimezone(timezone.utc)
    appointment = book(session, slot_id(slot), person(session, phone="+393339999999"), now=booked_at, policy=rules)
    session.commit()
    assert [k.rsplit(":", 1)[-1] for k in messages(session, appointment.id)] == ["confirmation"]


def test_nothing_is_sent_to_a_person_it_is_unsafe_to_message(session: Session, week: Agency) -> None:
    appointment = book(session, slot_id(first_slot(session, week)), person(session, safe_to_contact=False), now=NOW, policy=policy())
    session.commit()
    assert appointment.status == "booked"
    assert messages(session, appointment.id) == {}


# --- cancel and reschedule -------------------------------------------------------------------------


def test_cancelling_frees_the_slot_and_stops_the_reminders(session: Session, week: Agency) -> None:
    rules = policy()
    slot = find_slots(session, rules, week.service, NOW, limit=100)[-1]
    appointment = book(session, slot_id(slot), person(session), now=NOW, policy=rules)
    session.commit()
    assert slot.start not in {s.start for s in find_slots(session, rules, week.service, NOW, limit=100)}

    later = NOW + timedelta(hours=1)
    cancel(session, appointment, now=later, policy=rules, reason="asked by phone")
    session.commit()
    key = "appointment:{}".format(appointment.id)
    assert messages(session, appointment.id) == {
        key + ":confirmation": ("appointment_confirmation", "cancelled", NOW),
        key + ":reminder:2d": ("appointment_reminder", "cancelled", slot.start - timedelta(days=2)),
        key + ":reminder:2h": ("appointment_reminder", "cancelled", slot.start - timedelta(hours=2)),
        key + ":cancelled": ("appointment_cancelled", "pending", later),
    }
    assert (appointment.status, appointment.cancelled_at, appointment.cancel_reason) == ("cancelled", later, "asked by phone")
    # The time is free again: someone else books the very same slot.
    other = book(session, slot_id(slot), person(session, phone="+393330000009"), now=later, policy=rules)
    session.commit()
    assert other.starts_at == slot.start
    with pytest.raises(NotBooked):
        cancel(session, appointment, now=later, policy=rules)


def test_rescheduling_moves_the_appointment_and_its_reminders(session: Session, week: Agency) -> None:
    rules = policy()
    free = find_slots(session, rules, week.service, NOW, limit=100)
    old, new = free[-1], free[-10]
    appointment = book(session, slot_id(old), person(session), now=NOW, policy=rules)
    session.commit()
    later = NOW + timedelta(hours=1)
    reschedule(session, appointment, slot_id(new), now=later, policy=rules)
    session.commit()

    assert (appointment.starts_at, appointment.ends_at, appointment.status) == (new.start, new.end, "booked")
    key = "appointment:{}".format(appointment.id)
    assert messages(session, appointment.id) == {
        key + ":confirmation": ("appointment_confirmation", "cancelled", NOW),
        key + ":reminder:2d": ("appointment_reminder", "cancelled", old.start - timedelta(days=2)),
        key + ":reminder:2h": ("appointment_reminder", "cancelled", old.start - timedelta(hours=2)),
        key + ":r1:rescheduled": ("appointment_rescheduled", "pending", later),
        key + ":r1:reminder:2d": ("appointment_reminder", "pending", new.start - timedelta(days=2)),
        key + ":r1:reminder:2h": ("appointment_reminder", "pending", new.start - timedelta(hours=2)),
    }
    still_free = {s.start for s in find_slots(session, rules, week.service, NOW, limit=100)}
    assert old.start in still_free and new.start not in still_free


def test_rescheduling_onto_a_taken_slot_keeps_the_appointment_where_it_was(session: Session, week: Agency) -> None:
    rules = policy()
    first, second = find_slots(session, rules, week.service, NOW, limit=2)
    mine = book(session, slot_id(first), person(session), now=NOW, policy=rules)
    book(session, slot_id(second), person(session, phone="+393330000001"), now=NOW, policy=rules)
    session.commit()
    with pytest.raises(SlotTaken):
        reschedule(session, mine, slot_id(second), now=NOW, policy=rules)
    session.rollback()
    session.refresh(mine)
    assert (mine.starts_at, mine.revision) == (first.start, 0)


# --- refused slot ids ------------------------------------------------------------------------------


def test_a_tampered_slot_id_is_refused_and_nothing_is_booked(session: Session, week: Agency) -> None:
    genuine = slot_id(first_slot(session, week))
    payload, signature = genuine.rsplit(".", 1)
    tampered = payload + "." + signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for forged in (tampered, encode_slot(first_slot(session, week), "not-our-secret")):
        with pytest.raises(InvalidSlot):
            book(session, forged, person(session), now=NOW, policy=policy())
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_a_slot_that_the_plans_no_longer_offer_is_refused(session: Session, week: Agency) -> None:
    rules = policy()
    slot = first_slot(session, week)
    session.add(PlanException(staff_id=week.anna.id, kind="leave", first_day=date(2026, 7, 6), last_day=date(2026, 7, 6)))
    session.commit()
    with pytest.raises(SlotUnavailable):
        book(session, slot_id(slot), person(session), now=NOW, policy=rules)
    session.rollback()
    # ... and so is one whose time has come within the minimum notice meanwhile.
    tomorrow = find_slots(session, rules, week.service, NOW, limit=1)[0]
    with pytest.raises(SlotUnavailable):
        book(session, slot_id(tomorrow), person(session), now=tomorrow.start - timedelta(hours=1),
             policy=policy(min_notice=timedelta(hours=24)))


# --- configuration ------------------------------------------------------------------------------------


def test_the_booking_rules_come_from_the_configuration(tmp_path: Any) -> None:
    from portal.config import Config

    config = Config.from_env(
        {"BOOKING_MIN_NOTICE_HOURS": "2", "BOOKING_HORIZON_DAYS": "30", "PATRON_SAINT_DAY": "06-24",
         "REMINDER_OFFSETS": "1d", "REMINDER_MIN_GAP_MINUTES": "30", "TIMEZONE": "Europe/Rome",
         "WAITING_LIST_AFTER_DAYS": "10", "WAITING_LIST_HOLD_MINUTES": "45"},
        tmp_path,
    )
    rules = BookingPolicy.from_config(config)
    assert (rules.min_notice, rules.horizon, rules.patron_day) == (timedelta(hours=2), timedelta(days=30), (6, 24))
    assert rules.reminders == ReminderPolicy(offsets=(timedelta(days=1),), min_gap_after_booking=timedelta(minutes=30))
    assert (rules.waiting_after, rules.offer_hold) == (timedelta(days=10), timedelta(minutes=45))
    assert rules.quiet is not None and not rules.quiet.is_allowed("sms", datetime(2026, 7, 1, 21, tzinfo=timezone.utc))
    assert BookingPolicy.from_config(make_config("sqlite://", tmp_path)).patron_day is None
    for wrong in ("24-06", "6-24", "02-30", "june"):
        with pytest.raises(ConfigError, match="PATRON_SAINT_DAY"):
            Config.from_env({"PATRON_SAINT_DAY": wrong}, tmp_path)


def test_the_calendar_file_follows_the_appointment_and_names_no_service(session: Session, week: Agency) -> None:
    import icalendar

    from portal.appointments.ics import appointment_ics

    rules = policy()
    first, second = find_slots(session, rules, week.service, NOW, limit=2)
    appointment = book(session, slot_id(first), person(session), now=NOW, policy=rules)
    session.commit()

    def event(language: str) -> Any:
        return icalendar.Calendar.from_ical(appointment_ics(appointment, rules, language)).walk("VEVENT")[0]

    booked = event("it")
    assert (booked.decoded("dtstart"), booked.decoded("dtend")) == (first.start, first.end)
    assert (str(booked["summary"]), str(booked["location"]), str(booked["status"])) == ("Appuntamento", "Via Roma 10, Prato", "CONFIRMED")
    assert week.service.code not in appointment_ics(appointment, rules, "it").decode()

    reschedule(session, appointment, slot_id(second), now=NOW, policy=rules)
    moved = event("en")
    assert (str(moved["uid"]), moved.decoded("dtstart"), int(moved["sequence"])) == (str(booked["uid"]), second.start, 1)
    cancel(session, appointment, now=NOW, policy=rules)
    assert str(event("en")["status"]) == "CANCELLED"

"""The waiting list: a freed time goes to the first in line, held for them, then to the next."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from messaging.models import Message
from messaging.policy import QuietHours
from portal.appointments import offers, services, waiting
from portal.appointments.models import Appointment, WaitingListEntry, WaitingListOffer
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import Slot, encode_slot, find_slots
from portal.people.models import Person
from portal.people.services import new_person
from test_slots import SECRET, Agency, agency, local, plan, policy, utc  # noqa: F401

#: A Wednesday morning; the window (14 days) reaches Wednesday 15 July.
NOW = utc(2026, 7, 1, 8)
MONDAY = date(2026, 7, 6)


def _person(session: Session, name: str, phone: str | None = "+393331112222", **extra: object) -> Person:
    person = new_person(NOW)
    person.first_name, person.last_name, person.phone = name, "Rossi", phone
    for key, value in extra.items():
        setattr(person, key, value)
    session.add(person)
    session.flush()
    return person


@pytest.fixture
def rules() -> BookingPolicy:
    return policy(min_notice=timedelta(hours=24), horizon=timedelta(days=60))


@pytest.fixture
def full(session: Session, agency: Agency, rules: BookingPolicy) -> list[Appointment]:  # noqa: F811
    """Anna sees people on Mondays 09:00-09:30 only: both Mondays inside the window are booked."""
    plan(session, agency.anna, agency.centro, [0], "09:00", "09:30", modes=["in_person"])
    session.flush()
    taken = []
    for n, slot in enumerate(find_slots(session, rules, agency.service, NOW, limit=2)):
        taken.append(services.book(session, encode_slot(slot, SECRET), _person(session, "Gianni{}".format(n)),
                                   now=NOW, policy=rules))
    session.commit()
    assert [a.starts_at for a in taken] == [local(2026, 7, 6, 9), local(2026, 7, 13, 9)]
    return taken


def _two_in_line(session: Session, agency: Agency, rules: BookingPolicy) -> tuple[WaitingListEntry, WaitingListEntry]:  # noqa: F811
    """Maria joins first, Luca a minute later."""
    maria = waiting.join(session, _person(session, "Maria"), agency.service, now=NOW, policy=rules)
    luca = waiting.join(session, _person(session, "Luca", "+393339998888"), agency.service,
                        now=NOW + timedelta(minutes=1), policy=rules)
    return maria, luca


def _messages(session: Session, kind: str) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.kind == kind).order_by(Message.id)))


def _offer(session: Session, entry: WaitingListEntry) -> WaitingListOffer | None:
    return session.scalar(select(WaitingListOffer).where(WaitingListOffer.entry_id == entry.id, WaitingListOffer.status == "held"))


def test_joining_is_offered_only_when_nothing_is_free_within_the_window(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    assert waiting.may_join(session, rules, agency.service, NOW)
    first = waiting.first_free(session, rules, agency.service, NOW)
    assert first is not None and first.start == local(2026, 7, 20, 9)  # the next Monday, beyond 14 days
    services.cancel(session, full[0], now=NOW, policy=rules)
    assert not waiting.may_join(session, rules, agency.service, NOW)


def test_joining_sends_the_link_to_the_place_in_line_and_joining_twice_is_one_place(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    maria = _person(session, "Maria")
    entry = waiting.join(session, maria, agency.service, now=NOW, policy=rules)
    again = waiting.join(session, maria, agency.service, now=NOW + timedelta(minutes=5), policy=rules)
    session.commit()

    assert again.id == entry.id and waiting.position(session, entry) == 1
    [joined] = _messages(session, "waiting_list_joined")
    assert joined.recipient_key == "person:{}".format(maria.id)
    assert joined.context["link"].endswith("/appointments/waiting/" + entry.manage_token)
    assert "Maria" not in str(joined.context)


def test_a_person_who_may_not_be_messaged_cannot_join(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    hidden = _person(session, "Hidden", safe_to_contact=False)
    with pytest.raises(waiting.NotReachable):
        waiting.join(session, hidden, agency.service, now=NOW, policy=rules)


def test_a_cancelled_time_is_held_for_the_first_in_line_and_nobody_else_can_book_it(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    maria, luca = _two_in_line(session, agency, rules)
    session.commit()
    assert _offer(session, maria) is None  # nothing free yet

    later = NOW + timedelta(hours=1)
    services.cancel(session, full[0], now=later, policy=rules)
    session.commit()

    offer = _offer(session, maria)
    assert offer is not None and _offer(session, luca) is None
    assert offer.starts_at == local(2026, 7, 6, 9) and offer.expires_at == later + timedelta(minutes=30)
    [message] = _messages(session, "waiting_list_offer")
    assert message.subject_key == offer.subject_key and message.recipient_key == "person:{}".format(maria.person_id)
    assert message.context["minutes"] == 30 and message.not_after == offer.expires_at
    # The held time is offered to no one else and cannot be booked by anyone else.
    assert local(2026, 7, 6, 9) not in [s.start for s in find_slots(session, rules, agency.service, later, limit=5)]
    freed = full[0]
    slot = Slot.of(freed)
    with pytest.raises(services.SlotTaken):
        services.book(session, encode_slot(slot, SECRET), _person(session, "Quick"), now=later, policy=rules)
    session.rollback()


def test_accepting_in_time_books_the_appointment_with_its_confirmation(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    entry = waiting.join(session, _person(session, "Maria"), agency.service, now=NOW, policy=rules, reason="sfratto")
    services.cancel(session, full[0], now=NOW, policy=rules)
    session.commit()
    offer = _offer(session, entry)
    assert offer is not None

    appointment = waiting.accept(session, offer, now=NOW + timedelta(minutes=20), policy=rules)
    session.commit()

    assert (appointment.status, appointment.starts_at, appointment.person_id) == ("booked", local(2026, 7, 6, 9), entry.person_id)
    assert appointment.reason == "sfratto"
    assert (offer.status, entry.status, entry.appointment_id) == ("accepted", "booked", appointment.id)
    assert [m.subject_key for m in _messages(session, "appointment_confirmation")][-1] == appointment.subject_key
    assert waiting.position(session, entry) is None


def test_an_unanswered_offer_passes_to_the_next_in_line_and_the_first_keeps_their_place(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    maria, luca = _two_in_line(session, agency, rules)
    services.cancel(session, full[0], now=NOW, policy=rules)
    session.commit()
    first = _offer(session, maria)
    assert first is not None

    late = NOW + timedelta(minutes=31)
    with pytest.raises(waiting.OfferGone):
        waiting.accept(session, first, now=late, policy=rules)
    session.rollback()
    assert offers.offer_free_times(session, late, rules) == 1
    session.commit()

    assert first.status == "expired" and (maria.status, maria.missed_offers) == ("waiting", 1)
    second = _offer(session, luca)
    assert second is not None and second.starts_at == first.starts_at
    assert waiting.position(session, maria) == 1  # still first for the next freed time
    offer_message = next(m for m in _messages(session, "waiting_list_offer") if m.subject_key == first.subject_key)
    assert offer_message.status == "cancelled"  # not sent after its hold ran out


def test_after_three_unanswered_offers_a_person_leaves_the_line(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    entry = waiting.join(session, _person(session, "Maria"), agency.service, now=NOW, policy=rules)
    services.cancel(session, full[0], now=NOW, policy=rules)
    services.cancel(session, full[1], now=NOW, policy=rules)
    # Another caseworker's Tuesday hour is free too: three different times in the window.
    plan(session, agency.bruno, agency.nord, [1], "09:00", "09:30", modes=["in_person"])
    session.commit()
    moment = NOW
    for missed in range(1, 4):
        assert _offer(session, entry) is not None or offers.offer_free_times(session, moment, rules) == 1
        moment += timedelta(minutes=31)
        offers.offer_free_times(session, moment, rules)
        session.commit()
        assert entry.missed_offers == missed
    assert entry.status == "lapsed" and waiting.position(session, entry) is None
    assert _offer(session, entry) is None


def test_declining_passes_the_time_on_and_it_is_never_offered_to_the_same_person_again(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    maria, luca = _two_in_line(session, agency, rules)
    services.cancel(session, full[0], now=NOW, policy=rules)
    session.commit()
    offer = _offer(session, maria)
    assert offer is not None

    waiting.decline(session, offer, now=NOW + timedelta(minutes=2), policy=rules)
    session.commit()

    assert offer.status == "declined" and maria.status == "waiting" and maria.missed_offers == 0
    given = _offer(session, luca)
    assert given is not None and given.starts_at == offer.starts_at
    waiting.decline(session, given, now=NOW + timedelta(minutes=3), policy=rules)
    session.commit()
    assert _offer(session, maria) is None and _offer(session, luca) is None  # both said no to that Monday
    assert local(2026, 7, 6, 9) in [s.start for s in find_slots(session, rules, agency.service, NOW, limit=3)]


def test_leaving_the_line_withdraws_the_held_time_and_it_goes_to_the_next(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    maria, luca = _two_in_line(session, agency, rules)
    services.cancel(session, full[0], now=NOW, policy=rules)
    session.commit()
    held = _offer(session, maria)

    waiting.leave(session, maria, now=NOW + timedelta(minutes=5), policy=rules)
    session.commit()

    assert maria.status == "left" and held is not None and held.status == "withdrawn"
    assert _offer(session, luca) is not None and waiting.position(session, luca) == 1
    joined = next(m for m in _messages(session, "waiting_list_joined") if m.subject_key == maria.subject_key)
    assert joined.status == "cancelled"
    with pytest.raises(waiting.WaitingListError):
        waiting.leave(session, maria, now=NOW + timedelta(minutes=6), policy=rules)


def test_only_times_that_fit_the_persons_choices_are_offered(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    north_only = waiting.join(session, _person(session, "Maria"), agency.service, now=NOW, policy=rules,
                              office=agency.nord)
    anywhere = waiting.join(session, _person(session, "Luca", "+393339998888"), agency.service,
                            now=NOW + timedelta(minutes=1), policy=rules)
    services.cancel(session, full[0], now=NOW, policy=rules)  # a time at centro
    session.commit()
    assert _offer(session, north_only) is None
    offer = _offer(session, anywhere)
    assert offer is not None and offer.office_id == agency.centro.id


def test_a_time_soon_after_the_hold_would_be_too_late_to_accept_is_not_offered(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    entry = waiting.join(session, _person(session, "Maria"), agency.service, now=NOW, policy=rules)
    # Cancelled on Sunday at 08:45: Monday 09:00 is 24 h 15 min away, inside notice plus hold.
    sunday = local(2026, 7, 5, 8, 45)
    services.cancel(session, full[0], now=sunday, policy=rules)
    session.commit()
    assert _offer(session, entry) is None


def test_an_offer_made_at_night_waits_for_the_morning_and_is_held_from_then(
    session: Session, agency: Agency, full: list[Appointment]  # noqa: F811
) -> None:
    quiet = QuietHours.from_quiet("Europe/Rome", {"sms": "20:30-08:00"})
    rules = policy(min_notice=timedelta(hours=24), horizon=timedelta(days=60), quiet=quiet)
    entry = waiting.join(session, _person(session, "Maria"), agency.service, now=NOW, policy=rules)
    night = local(2026, 7, 1, 22, 0)
    services.cancel(session, full[0], now=night, policy=rules)
    session.commit()

    offer = _offer(session, entry)
    assert offer is not None and offer.expires_at == local(2026, 7, 2, 8, 30)
    [message] = _messages(session, "waiting_list_offer")
    assert message.send_at == local(2026, 7, 2, 8, 0)


def test_the_database_never_lets_two_offers_hold_the_same_time(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    maria = waiting.join(session, _person(session, "Maria"), agency.service, now=NOW, policy=rules)
    luca = waiting.join(session, _person(session, "Luca", "+393339998888"), agency.service, now=NOW, policy=rules)
    session.commit()
    when = datetime(2026, 7, 6, 7, tzinfo=NOW.tzinfo)
    for entry in (maria, luca):
        session.add(WaitingListOffer(entry_id=entry.id, service_id=agency.service.id, office_id=agency.centro.id,
                                     mode="in_person", staff_id=agency.anna.id, starts_at=when,
                                     ends_at=when + timedelta(minutes=30), status="held", created_at=NOW,
                                     expires_at=NOW + timedelta(minutes=30)))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_the_worker_job_expires_unanswered_offers_and_offers_again(app, session: Session, agency: Agency) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """``appointments.waiting_list`` in the worker's table, run as the worker runs it (real clock, app settings)."""
    from portal import worker
    from portal.db import utcnow

    plan(session, agency.anna, agency.centro, range(7), "09:00", "09:30", modes=["in_person"])
    session.commit()
    rules = BookingPolicy.from_config(app.config["PORTA"])
    entry = waiting.join(session, _person(session, "Maria"), agency.service, now=utcnow(), policy=rules)
    session.commit()
    first = _offer(session, entry)
    assert first is not None
    first.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()

    job = next(job for job in worker.JOBS if job.id == "appointments.waiting_list")
    assert worker.run_job(app, job) == 1
    session.expire_all()

    assert session.get(WaitingListOffer, first.id).status == "expired"
    again = _offer(session, session.get(WaitingListEntry, entry.id))
    assert again is not None and again.starts_at != first.starts_at
    assert session.get(WaitingListEntry, entry.id).missed_offers == 1


def test_times_that_appear_together_go_one_each_to_the_people_in_line_in_order(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    """New hours (no cancellation): the minute job finds two times and gives the earlier to the first."""
    maria, luca = _two_in_line(session, agency, rules)
    plan(session, agency.bruno, agency.nord, [1], "09:00", "09:30", modes=["in_person"])
    session.commit()

    assert offers.offer_free_times(session, NOW, rules) == 2
    session.commit()

    first, second = _offer(session, maria), _offer(session, luca)
    assert first is not None and second is not None
    assert (first.starts_at, second.starts_at) == (local(2026, 7, 7, 9), local(2026, 7, 14, 9))


def test_booking_the_service_another_way_ends_the_wait_and_releases_the_held_time(
    session: Session, agency: Agency, rules: BookingPolicy, full: list[Appointment]  # noqa: F811
) -> None:
    maria, luca = _two_in_line(session, agency, rules)
    services.cancel(session, full[0], now=NOW, policy=rules)
    session.commit()
    held = _offer(session, maria)
    assert held is not None
    far = waiting.first_free(session, rules, agency.service, NOW)
    assert far is not None

    services.book(session, encode_slot(far, SECRET), maria.person, now=NOW, policy=rules)  # she took a later time herself
    session.commit()

    assert (maria.status, held.status) == ("booked", "withdrawn")
    assert waiting.position(session, luca) == 1
    passed = _offer(session, luca)
    assert passed is not None and passed.starts_at == held.starts_at

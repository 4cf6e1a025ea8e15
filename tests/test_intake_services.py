"""The intake's life in services: references, drafts, operator changes, submission, PINs, purge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from messaging.models import Message, MessageStatus
from portal import worker
from portal.db import utcnow
from portal.intake import services as intakes
from portal.intake.models import CallLog, Intake, IntakeChange, ResumePin
from portal.intake.references import ALPHABET, generate, is_valid_reference, normalise_reference
from portal.people.models import Person

SECRET = b"test-secret-key"
HELPLINE = "800 123 456"
LINK = "http://localhost/intake/status"

COMPLETE: dict[str, Any] = {
    "household.adults": 1,
    "household.minors": 2,
    "housing.situation": "private_rent",
    "housing.eviction": "none",
    "work.status": "unemployed",
    "residence.in_comune": True,
    "contact.first_name": "Maria",
    "contact.last_name": "Rossi",
    "contact.phone": "+393331234567",
    "contact.language": "it",
    "contact.channel": "sms",
    "consent.privacy_acknowledged": True,
}


def _messages(session, kind: str) -> list[Message]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(Message).where(Message.kind == kind).order_by(Message.id)))


def _draft(session, answers: dict[str, Any] | None = None, now=None, **kwargs: Any) -> Intake:  # type: ignore[no-untyped-def]
    now = now or utcnow()
    intake = intakes.start(session, kwargs.pop("channel", "web"), "it", now, **kwargs)
    if answers:
        intakes.save_answers(session, intake, answers, now)
    session.commit()
    return intake


def _submit(session, intake: Intake, now=None) -> list[str]:  # type: ignore[no-untyped-def]
    missing = intakes.submit(session, intake, now or utcnow(), "2026-11", helpline=HELPLINE, link=LINK)
    session.commit()
    return missing


# --- references ----------------------------------------------------------------------


def test_references_look_right_and_are_unique(session) -> None:  # type: ignore[no-untyped-def]
    references = {_draft(session).reference for _ in range(20)}
    assert len(references) == 20
    for reference in references:
        assert reference.startswith("PU-") and len(reference) == 12 and reference[7] == "-"
        assert set(reference[3:].replace("-", "")) <= set(ALPHABET)
        assert is_valid_reference(reference)


def test_a_single_misheard_character_is_caught_by_the_check_character() -> None:
    for _ in range(50):
        code = generate().replace("-", "")[2:]
        for position in range(len(code)):
            for char in ALPHABET:
                if char != code[position]:
                    typo = code[:position] + char + code[position + 1:]
                    assert not is_valid_reference(typo), typo


def test_most_swaps_of_neighbouring_characters_are_caught_too() -> None:
    caught = total = 0
    for _ in range(200):
        code = generate().replace("-", "")[2:]
        for position in range(len(code) - 1):
            if code[position] != code[position + 1]:
                swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
                total += 1
                caught += not is_valid_reference(swapped)
    assert caught / total > 0.9


@pytest.mark.parametrize("typed", ["pu-4k7m-2x9q", "PU 4K7M 2X9Q", "4k7m2x9q", " pu4k7m-2x9q ", "4K7M.2X9Q"])
def test_typed_references_are_normalised(typed) -> None:  # type: ignore[no-untyped-def]
    assert normalise_reference(typed) == "PU-4K7M-2X9Q"


@pytest.mark.parametrize("typed", ["", "PU-4K7M-2X9", "PU-4K7M-2X9QQ", "PU-0K7M-2X9Q", "PU-4K7M-2X1Q", "ciao mondo"])
def test_what_cannot_be_a_reference_is_refused_not_guessed(typed) -> None:  # type: ignore[no-untyped-def]
    assert normalise_reference(typed) is None
    assert not is_valid_reference(typed)


def test_find_by_reference_accepts_what_a_person_types(session) -> None:  # type: ignore[no-untyped-def]
    intake = _draft(session)
    assert intakes.find_by_reference(session, intake.reference.lower().replace("-", " ")) is intake
    body = intake.reference.replace("-", "")[2:]
    wrong = body[:-1] + next(c for c in ALPHABET if c != body[-1])
    assert intakes.find_by_reference(session, wrong) is None


# --- drafts and answers ----------------------------------------------------------------


def test_a_new_draft_records_its_questionnaire_version_and_expiry(session, create_staff) -> None:  # type: ignore[no-untyped-def]
    from portal.intake import questionnaire

    now = utcnow()
    staff = create_staff()
    intake = intakes.start(session, "phone", "ar", now, staff=staff, draft_days=10)
    session.commit()
    assert intake.status == "draft" and intake.channel == "phone" and intake.language == "ar"
    assert intake.questionnaire_version == questionnaire.current().version
    assert intake.expires_at == now + timedelta(days=10)
    assert intake.created_by_id == staff.id
    with pytest.raises(ValueError):
        intakes.start(session, "carrier-pigeon", "it", now)


def test_saving_answers_merges_clears_and_prunes_hidden_ones(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    intake = _draft(session, now=now)
    later = now + timedelta(days=3)
    intakes.save_answers(
        session,
        intake,
        {"housing.situation": "private_rent", "housing.eviction": "notice_received", "housing.eviction_cause": "lease_end"},
        later,
        section="housing",
        draft_days=30,
    )
    intakes.save_answers(session, intake, {"household.adults": 2}, later)
    session.commit()
    answers = intakes.get_answers(intake)
    assert answers["housing.eviction_cause"] == "lease_end" and answers["household.adults"] == 2
    assert intake.current_section == "housing"
    assert intake.expires_at == later + timedelta(days=30)

    intakes.save_answers(session, intake, {"housing.eviction": "none", "household.adults": None}, later)
    session.commit()
    answers = intakes.get_answers(intake)
    assert "housing.eviction_cause" not in answers, "a hidden answer must not be kept"
    assert "household.adults" not in answers
    assert answers["housing.eviction"] == "none"


def test_operator_changes_record_who_and_which_questions_but_never_the_values(session, create_staff) -> None:  # type: ignore[no-untyped-def]
    staff = create_staff()
    intake = _draft(session, {"household.adults": 1})
    changed = intakes.save_answers(
        session, intake, {"household.adults": 3, "household.minors": 1, "contact.first_name": "Fatima"}, utcnow(), staff=staff
    )
    session.commit()
    assert changed == ["contact.first_name", "household.adults", "household.minors"]
    change = session.scalars(select(IntakeChange)).one()
    assert change.staff_id == staff.id and change.intake_id == intake.id
    assert change.question_ids == changed
    assert "Fatima" not in repr(change.question_ids)
    assert intake.updated_by_id == staff.id

    intakes.save_answers(session, intake, {"household.adults": 3}, utcnow(), staff=staff)
    session.commit()
    assert session.scalar(select(func.count(IntakeChange.id))) == 1, "nothing changed, nothing recorded"


def test_a_citizen_cannot_change_a_submitted_intake_but_an_operator_may_correct_it(session, create_staff) -> None:  # type: ignore[no-untyped-def]
    intake = _draft(session, COMPLETE)
    assert _submit(session, intake) == []
    with pytest.raises(intakes.IntakeLocked):
        intakes.save_answers(session, intake, {"household.adults": 2}, utcnow())
    session.rollback()

    staff = create_staff()
    intakes.save_answers(session, intake, {"contact.email": "maria@example.org"}, utcnow(), staff=staff)
    session.commit()
    assert intake.person.email == "maria@example.org"
    assert session.scalars(select(IntakeChange.question_ids)).one() == ["contact.email"]


# --- submission ------------------------------------------------------------------------


def test_submit_with_missing_answers_lists_them_and_changes_nothing(session) -> None:  # type: ignore[no-untyped-def]
    partial = {k: v for k, v in COMPLETE.items() if k not in ("household.minors", "contact.last_name")}
    intake = _draft(session, partial)
    before = dict(intake.answers)

    missing = _submit(session, intake)

    assert "household.minors" in missing and "contact.last_name" in missing
    session.expire_all()
    intake = session.get(Intake, intake.id)
    assert intake.status == "draft" and intake.submitted_at is None
    assert intake.triage is None and intake.person_id is None and intake.privacy_acknowledged_at is None
    assert intake.answers == before
    assert session.scalar(select(func.count(Person.id))) == 0
    assert session.scalar(select(func.count(Message.id))) == 0


def test_submit_stores_triage_and_privacy_acknowledgement_and_links_the_person(session) -> None:  # type: ignore[no-untyped-def]
    from portal.intake import triage

    now = utcnow()
    intake = _draft(session, COMPLETE)
    assert _submit(session, intake, now) == []

    session.expire_all()
    intake = session.get(Intake, intake.id)
    assert intake.status == "submitted" and intake.submitted_at == now and intake.expires_at is None
    assert intake.privacy_acknowledged_at == now and intake.privacy_notice_version == "2026-11"
    stored = triage.Triage.from_json(intake.triage)
    assert intake.urgency == stored.urgency and intake.urgency in ("emergency", "high", "standard")
    assert intake.recommended_service == stored.recommended_service
    assert intake.person is not None
    assert (intake.person.first_name, intake.person.phone) == ("Maria", "+393331234567")


def test_submit_queues_exactly_one_receipt_in_the_persons_language_even_when_called_twice(session) -> None:  # type: ignore[no-untyped-def]
    intake = _draft(session, dict(COMPLETE, **{"contact.language": "uk"}))
    assert _submit(session, intake) == []
    assert _submit(session, intake) == []

    receipts = _messages(session, "intake_receipt")
    assert len(receipts) == 1
    receipt = receipts[0]
    assert receipt.idempotency_key == "intake:{}:receipt".format(intake.id)
    assert receipt.context == {"reference": intake.reference, "helpline": HELPLINE, "link": LINK}
    assert receipt.recipient_key == "person:{}".format(intake.person_id)
    assert receipt.phone == "+393331234567" and receipt.channels == ["sms"]
    assert receipt.language == "uk" and intake.language == "uk"
    assert receipt.status == MessageStatus.PENDING


def test_no_receipt_is_sent_to_someone_for_whom_messages_are_not_safe(session) -> None:  # type: ignore[no-untyped-def]
    intake = _draft(session, dict(COMPLETE, **{"safety.safe_to_contact": False}))
    assert _submit(session, intake) == []
    assert intake.status == "submitted"
    assert intake.person.safe_to_contact is False
    assert _messages(session, "intake_receipt") == []


def test_submitting_emits_the_intake_submitted_signal_once(session) -> None:  # type: ignore[no-untyped-def]
    received: list[tuple[int, str]] = []

    def receiver(sender: Intake, **kwargs: Any) -> None:
        received.append((sender.id, sender.status))
        assert kwargs["session"] is session

    intake = _draft(session, COMPLETE)
    intakes.intake_submitted.connect(receiver)
    try:
        _submit(session, _draft(session, {"household.adults": 1}))  # answers missing: no signal
        _submit(session, intake)
        _submit(session, intake)
    finally:
        intakes.intake_submitted.disconnect(receiver)
    assert received == [(intake.id, "submitted")]


# --- resume PINs -----------------------------------------------------------------------


def _pin(session, intake: Intake) -> str:  # type: ignore[no-untyped-def]
    messages = _messages(session, "one_time_pin")
    return messages[-1].context["pin"]


def _request(session, intake: Intake, now, ttl: int = 15) -> bool:  # type: ignore[no-untyped-def]
    ok = intakes.request_resume_pin(session, intake.reference, now, SECRET, ttl)
    session.commit()
    return ok


def test_a_pin_sent_to_the_drafts_contact_reopens_the_draft_once(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    intake = _draft(session, {"contact.phone": "+393331234567", "contact.channel": "sms"}, now=now)
    assert _request(session, intake, now, ttl=15)

    message = _messages(session, "one_time_pin")[0]
    pin = message.context["pin"]
    assert len(pin) == 6 and pin.isdigit() and message.context["minutes"] == 15
    assert message.phone == "+393331234567"
    assert message.not_after == now + timedelta(minutes=15)
    row = session.scalars(select(ResumePin)).one()
    assert pin not in row.pin_hash

    assert intakes.resume(session, intake.reference.lower(), pin, now + timedelta(minutes=1), SECRET) is intake
    session.commit()
    assert intakes.resume(session, intake.reference, pin, now + timedelta(minutes=2), SECRET) is None, "a PIN works once"


def test_a_pin_expires(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    intake = _draft(session, {"contact.phone": "+393331234567"}, now=now)
    assert _request(session, intake, now, ttl=15)
    pin = _pin(session, intake)
    assert intakes.resume(session, intake.reference, pin, now + timedelta(minutes=16), SECRET) is None


def test_five_wrong_pins_lock_it_even_against_the_right_one(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    intake = _draft(session, {"contact.phone": "+393331234567"}, now=now)
    assert _request(session, intake, now)
    pin = _pin(session, intake)
    wrong = "{:06d}".format((int(pin) + 1) % 1_000_000)
    for _ in range(5):
        assert intakes.resume(session, intake.reference, wrong, now, SECRET) is None
        session.commit()
    assert intakes.resume(session, intake.reference, pin, now, SECRET) is None


def test_a_new_pin_invalidates_the_older_one(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    intake = _draft(session, {"contact.email": "maria@example.org", "contact.channel": "email"}, now=now)
    assert _request(session, intake, now)
    first = _pin(session, intake)
    assert _request(session, intake, now + timedelta(minutes=1))
    second = _pin(session, intake)
    if first != second:
        assert intakes.resume(session, intake.reference, first, now + timedelta(minutes=2), SECRET) is None
    assert intakes.resume(session, intake.reference, second, now + timedelta(minutes=2), SECRET) is intake
    first_message = _messages(session, "one_time_pin")[0]
    assert first_message.status == MessageStatus.CANCELLED


def test_at_most_three_pins_an_hour(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    intake = _draft(session, {"contact.phone": "+393331234567"}, now=now)
    assert [_request(session, intake, now + timedelta(minutes=m)) for m in range(4)] == [True, True, True, False]
    assert len(_messages(session, "one_time_pin")) == 3
    assert _request(session, intake, now + timedelta(minutes=61))


def test_a_pin_request_reveals_nothing_and_sends_nothing_when_it_cannot_be_honoured(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    no_contact = _draft(session, {"household.adults": 1}, now=now)
    unsafe = _draft(session, {"contact.phone": "+393331234567", "safety.safe_to_contact": False}, now=now)
    submitted = _draft(session, COMPLETE, now=now)
    _submit(session, submitted, now)
    for reference in ("PU-2222-2222", no_contact.reference, unsafe.reference, submitted.reference, "nonsense"):
        assert intakes.request_resume_pin(session, reference, now, SECRET, 15) is False
    session.commit()
    assert _messages(session, "one_time_pin") == []
    assert session.scalar(select(func.count(ResumePin.id))) == 0


# --- purge -----------------------------------------------------------------------------


def test_expired_drafts_are_purged_with_their_pins_and_changes(app, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    staff = create_staff()
    now = utcnow()
    old = now - timedelta(days=31)
    expired = _draft(session, {"contact.phone": "+393331234567"}, now=old)
    intakes.save_answers(session, expired, {"household.adults": 2}, old, staff=staff)
    session.commit()
    assert _request(session, expired, old)
    session.add(CallLog(intake_id=expired.id, operator_id=staff.id, started_at=old, reason="new_request"))
    fresh = _draft(session, {"household.adults": 1}, now=now)
    submitted = _draft(session, COMPLETE, now=old)
    _submit(session, submitted, old)
    session.commit()
    expired_id = expired.id

    job = next(job for job in worker.JOBS if job.id == "intake.purge_expired_drafts")
    assert worker.run_job(app, job) == 1

    session.expire_all()
    assert session.get(Intake, expired_id) is None
    assert {i.id for i in session.scalars(select(Intake))} == {fresh.id, submitted.id}
    assert session.scalar(select(func.count(ResumePin.id))) == 0
    assert session.scalar(select(func.count(IntakeChange.id))) == 0
    assert session.scalars(select(CallLog)).one().intake_id is None


def test_stale_pins_of_live_drafts_are_purged_after_the_throttle_window(session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    intake = _draft(session, {"contact.phone": "+393331234567"}, now=now)
    assert _request(session, intake, now - timedelta(hours=3))
    assert _request(session, intake, now - timedelta(minutes=5))
    assert intakes.purge_expired(session, now) == 0
    session.commit()
    assert session.scalar(select(func.count(ResumePin.id))) == 1

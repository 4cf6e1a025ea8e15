"""The intake's life: start a draft, save answers, resume it with a PIN, submit it.

Every function takes the session and the clock explicitly and only flushes; the caller
(a view, the API, a CLI command or a job) owns the transaction and commits.

Answers are read and written only through :func:`get_answers` and :func:`set_answers`.
Answers to ``sensitive`` questions (``safety.violence``) will later be encrypted or kept
apart; going through these two functions keeps that change in one place.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from blinker import Namespace
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from messaging.outbox import Recipient, cancel, enqueue
from portal.auth.models import StaffMember
from portal.config import LANGUAGES
from portal.intake.models import INTAKE_CHANNELS, CallLog, Intake, IntakeChange, ResumePin
from portal.intake.references import generate, is_valid_reference, normalise_reference
from portal.people import services as people
from portal.people.models import Person

#: Kept in step with the INTAKE_DRAFT_DAYS default; callers pass the configured value.
DEFAULT_DRAFT_DAYS = 30
#: Dates in the answers (an eviction "within 7 days") are days in this zone.
AGENCY_TIMEZONE = "Europe/Rome"
PIN_DIGITS = 6
#: Wrong tries after which a PIN opens nothing, even when the right code follows.
PIN_MAX_ATTEMPTS = 5
#: PINs one intake may be sent per :data:`PIN_WINDOW`: texts cost money and annoy.
PINS_PER_WINDOW = 3
PIN_WINDOW = timedelta(hours=1)

_signals = Namespace()

#: Sent after an intake is submitted (sender: the Intake; kwargs: session, now), inside
#: the submitting transaction: receivers flush, never commit. This is THE seam where
#: forwarding to casework and booking attach (later issues); nothing connects to it yet.
intake_submitted = _signals.signal("intake-submitted")


class IntakeLocked(ValueError):
    """A submitted intake can only be corrected by a staff member."""


def get_answers(intake: Intake) -> dict[str, Any]:
    """The intake's answers in Python form, read with the questionnaire they were given in."""
    from portal.intake import questionnaire

    return questionnaire.get(intake.questionnaire_version).load(intake.answers or {})


def set_answers(intake: Intake, answers: Mapping[str, Any]) -> None:
    """Store ``answers`` (Python form) on the intake, in JSON form."""
    from portal.intake import questionnaire

    intake.answers = questionnaire.get(intake.questionnaire_version).dump(answers)


def start(
    session: Session,
    channel: str,
    language: str,
    now: datetime,
    staff: StaffMember | None = None,
    person: Person | None = None,
    draft_days: int = DEFAULT_DRAFT_DAYS,
) -> Intake:
    """A new draft with a fresh reference, on the current questionnaire version."""
    from portal.intake import questionnaire

    if channel not in INTAKE_CHANNELS:
        raise ValueError("channel must be among {}".format(", ".join(INTAKE_CHANNELS)))
    if language not in LANGUAGES:
        raise ValueError("language must be among {}".format(", ".join(LANGUAGES)))
    intake = Intake(
        reference=_fresh_reference(session),
        status="draft",
        questionnaire_version=questionnaire.current().version,
        answers={},
        language=language,
        channel=channel,
        person=person,
        created_by_id=staff.id if staff else None,
        updated_by_id=staff.id if staff else None,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=draft_days),
    )
    session.add(intake)
    session.flush()
    return intake


def _fresh_reference(session: Session) -> str:
    for _ in range(20):
        reference = generate()
        if session.scalar(select(Intake.id).where(Intake.reference == reference)) is None:
            return reference
    raise RuntimeError("could not find an unused intake reference")  # 30**7 codes: never


def find_by_reference(session: Session, text: str) -> Intake | None:
    """The intake a typed or read-out reference names (check character verified)."""
    if not is_valid_reference(text):
        return None
    return session.scalar(select(Intake).where(Intake.reference == normalise_reference(text)))


def save_answers(
    session: Session,
    intake: Intake,
    values: Mapping[str, Any],
    now: datetime,
    staff: StaffMember | None = None,
    section: str | None = None,
    draft_days: int = DEFAULT_DRAFT_DAYS,
    timezone: str = AGENCY_TIMEZONE,
) -> list[str]:
    """Merge ``values`` (Python form; None removes an answer) and return the ids that changed.

    Answers that the new values hide are dropped (``prune``), so a draft never keeps what
    the person can no longer see. A staff member's change is recorded with the ids it
    touched (never the values). Only staff may correct a submitted intake; its triage and
    person are then brought up to date.
    """
    from portal.intake import questionnaire

    if intake.status != "draft" and staff is None:
        raise IntakeLocked("intake {} is {}; only staff may change it".format(intake.reference, intake.status))
    merged = get_answers(intake)
    for question_id, value in values.items():
        if value is None:
            merged.pop(question_id, None)
        else:
            merged[question_id] = value
    pruned = questionnaire.get(intake.questionnaire_version).prune(merged)
    before = dict(intake.answers or {})
    set_answers(intake, pruned)
    changed = sorted(k for k in set(before) | set(intake.answers) if before.get(k) != intake.answers.get(k))
    intake.updated_at = now
    if section is not None:
        intake.current_section = section
    if staff is not None:
        intake.updated_by_id = staff.id
        if changed:
            session.add(IntakeChange(intake_id=intake.id, staff_id=staff.id, question_ids=changed, changed_at=now))
    if intake.status == "draft":
        intake.expires_at = now + timedelta(days=draft_days)
    elif changed:
        _evaluate(intake, pruned, now, timezone)  # a correction after submission: triage again
        if intake.person is not None:
            people.upsert_from_answers(session, pruned, now, person=intake.person)
    session.flush()
    return changed


def _evaluate(intake: Intake, answers: Mapping[str, Any], now: datetime, timezone: str) -> None:
    from portal.intake import triage

    result = triage.evaluate(answers, today=now.astimezone(ZoneInfo(timezone)).date())
    intake.triage = result.to_json()
    intake.urgency = result.urgency
    intake.recommended_service = result.recommended_service


def resume_link(public_base_url: str) -> str:
    """Where a receipt sends the person to follow their request (the wizard's resume page)."""
    return "{}/intake/resume".format(public_base_url.rstrip("/"))


def submit(
    session: Session,
    intake: Intake,
    now: datetime,
    privacy_notice_version: str,
    helpline: str,
    link: str,
    staff: StaffMember | None = None,
    timezone: str = AGENCY_TIMEZONE,
) -> list[str]:
    """Submit a draft; returns the question ids still missing (nothing changed) or [].

    On success: triage is computed and stored, the person is created (or updated) from
    the contact answers and linked, a receipt is queued for them when they may be
    messaged, and :data:`intake_submitted` is sent. ``helpline`` and ``link`` go into the
    receipt. Submitting an intake that is already submitted does nothing.
    """
    from portal.intake import questionnaire

    if intake.status != "draft":
        return []
    answers = get_answers(intake)
    missing = questionnaire.get(intake.questionnaire_version).missing_for_submit(answers)
    if missing:
        return list(missing)
    _evaluate(intake, answers, now, timezone)
    intake.person = people.upsert_from_answers(session, answers, now, person=intake.person)
    intake.language = intake.person.language
    intake.status = "submitted"
    intake.submitted_at = now
    intake.updated_at = now
    intake.expires_at = None
    intake.privacy_acknowledged_at = now
    intake.privacy_notice_version = privacy_notice_version
    if staff is not None:
        intake.updated_by_id = staff.id
    session.flush()
    recipient = people.recipient(intake.person)
    if recipient is not None:
        enqueue(
            session,
            recipient,
            "intake_receipt",
            {"reference": intake.reference, "helpline": helpline, "link": link},
            send_at=now,
            idempotency_key="intake:{}:receipt".format(intake.id),
            subject_key="intake:{}".format(intake.id),
        )
    intake_submitted.send(intake, session=session, now=now)
    return []


def _pin_digest(secret: bytes, intake_id: int, pin: str) -> str:
    message = "resume-pin:{}:{}".format(intake_id, pin).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def expired_draft(intake: Intake, now: datetime) -> bool:
    """A draft past its expiry is gone for the person, even before the purge job deletes it."""
    return intake.status == "draft" and intake.expires_at is not None and intake.expires_at <= now


def _open_draft(session: Session, reference: str, now: datetime) -> Intake | None:
    intake = find_by_reference(session, reference)
    if intake is None or intake.status != "draft" or expired_draft(intake, now):
        return None
    return intake


def _draft_recipient(intake: Intake, now: datetime) -> Recipient | None:
    if intake.person is not None:
        return people.recipient(intake.person)
    return people.recipient(people.contact_from_answers(get_answers(intake), intake.language, now))


def request_resume_pin(session: Session, reference: str, now: datetime, secret: bytes, ttl_minutes: int) -> bool:
    """Send a one-time PIN to the draft's own contact; False, saying no more, if not possible.

    Unknown references, submitted or expired intakes, drafts with no contact that may be
    messaged, and a fourth request within the hour all answer the same False, so the
    answer reveals nothing. The PIN goes only into that message; older PINs stop working.
    """
    intake = _open_draft(session, reference, now)
    if intake is None:
        return False
    recent = session.scalar(
        select(func.count(ResumePin.id)).where(ResumePin.intake_id == intake.id, ResumePin.created_at > now - PIN_WINDOW)
    )
    if recent >= PINS_PER_WINDOW:
        return False
    recipient = _draft_recipient(intake, now)
    if recipient is None:
        return False
    subject = "intake:{}:pin".format(intake.id)
    session.execute(
        update(ResumePin)
        .where(ResumePin.intake_id == intake.id, ResumePin.used_at.is_(None), ResumePin.expires_at > now)
        .values(expires_at=now)
    )
    cancel(session, subject)
    pin = "{:0{}d}".format(secrets.randbelow(10**PIN_DIGITS), PIN_DIGITS)
    row = ResumePin(
        intake_id=intake.id,
        pin_hash=_pin_digest(secret, intake.id, pin),
        created_at=now,
        expires_at=now + timedelta(minutes=ttl_minutes),
        attempts=0,
    )
    session.add(row)
    session.flush()
    enqueue(
        session,
        recipient,
        "one_time_pin",
        {"pin": pin, "minutes": ttl_minutes},
        send_at=now,
        idempotency_key="intake:{}:pin:{}".format(intake.id, row.id),
        subject_key=subject,
        not_after=row.expires_at,
    )
    return True


def resume(session: Session, reference: str, pin: str, now: datetime, secret: bytes) -> Intake | None:
    """The draft, when ``pin`` is its latest PIN, unused, unexpired and not locked; else None.

    A wrong PIN counts against the latest one: after :data:`PIN_MAX_ATTEMPTS` it is dead
    and a new one must be asked for. A right PIN works once.
    """
    intake = _open_draft(session, reference, now)
    if intake is None:
        return None
    row = session.scalar(
        select(ResumePin)
        .where(ResumePin.intake_id == intake.id, ResumePin.used_at.is_(None), ResumePin.expires_at > now)
        .order_by(ResumePin.created_at.desc(), ResumePin.id.desc())
        .limit(1)
    )
    if row is None or row.attempts >= PIN_MAX_ATTEMPTS:
        return None
    candidate = "".join(char for char in pin if not char.isspace())
    if hmac.compare_digest(row.pin_hash, _pin_digest(secret, intake.id, candidate)):
        row.used_at = now
        session.flush()
        return intake
    row.attempts += 1
    session.flush()
    return None


def purge_expired(session: Session, now: datetime) -> int:
    """Delete drafts past their expiry (with their PINs and change records) and stale PINs.

    Returns the number of drafts deleted. A PIN is stale once it expired longer ago than
    the throttle window, so the "3 an hour" count still sees every recent one.
    """
    expired = select(Intake.id).where(Intake.status == "draft", Intake.expires_at < now)
    session.execute(delete(ResumePin).where(ResumePin.intake_id.in_(expired)))
    session.execute(delete(IntakeChange).where(IntakeChange.intake_id.in_(expired)))
    session.execute(update(CallLog).where(CallLog.intake_id.in_(expired)).values(intake_id=None))
    deleted = session.execute(
        delete(Intake).where(Intake.status == "draft", Intake.expires_at < now).execution_options(synchronize_session=False)
    )
    session.execute(delete(ResumePin).where(ResumePin.expires_at < now - PIN_WINDOW))
    return int(deleted.rowcount or 0)


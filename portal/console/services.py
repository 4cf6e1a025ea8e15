"""The operator console's own logic: calls, intakes started for a caller, who may read what.

Searching people, starting, saving and submitting intakes live in ``portal.people`` and
``portal.intake``; this module adds what only the helpline and front desk need. Like
every service it takes the session and the clock explicitly and only flushes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agency.models import Service
from portal.auth.models import Role, StaffMember
from portal.config import LANGUAGES
from portal.intake import services as intakes
from portal.intake.models import CALL_DIRECTIONS, CALL_NOTES_MAX, CALL_OUTCOMES, CALL_REASONS, CallLog, Intake, IntakeChange
from portal.people import services as people
from portal.people.models import Person

#: Channels an operator records an intake under.
CONSOLE_CHANNELS: tuple[str, ...] = ("phone", "front_desk")
#: Roles that read every sensitive answer (besides the operator who took the call).
SENSITIVE_READERS = frozenset({Role.CASEWORKER.value, Role.COORDINATOR.value})
INTERPRETER_LANGUAGE_MAX = 20


class CallLogError(ValueError):
    """A call that cannot be recorded as given; ``field`` names the offending value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__("{}: {}".format(field, reason))
        self.field = field


class NotYourCall(PermissionError):
    """Only the operator who logged a call changes it: the notes are theirs."""


# --- who may read sensitive answers ------------------------------------------------------------


def may_see_sensitive(staff: StaffMember, intake: Intake) -> bool:
    """True when ``staff`` may read the intake's sensitive answers (``question.sensitive``).

    Caseworkers and coordinators, who act on them, and the operator who took the call,
    who heard them. Everyone else sees that an answer is recorded, not what it is. This
    is the one place the rule lives; the privacy-hardening work tightens it here.
    """
    if staff.role_names & SENSITIVE_READERS:
        return True
    return intake.created_by_id is not None and intake.created_by_id == staff.id


# --- intakes started for a caller -------------------------------------------------------------


def answers_from_person(person: Person) -> dict[str, Any]:
    """The contact answers a known caller already gave, to start their new intake with."""
    answers: dict[str, Any] = {
        "contact.first_name": person.first_name or None,
        "contact.last_name": person.last_name or None,
        "contact.phone": person.phone,
        "contact.email": person.email,
        "contact.codice_fiscale": person.codice_fiscale,
        "contact.language": person.language,
        "contact.channel": person.preferred_channel,
    }
    return {key: value for key, value in answers.items() if value}


def start_for_caller(
    session: Session,
    channel: str,
    language: str,
    now: datetime,
    staff: StaffMember,
    person: Person | None = None,
    call: CallLog | None = None,
    draft_days: int = intakes.DEFAULT_DRAFT_DAYS,
) -> Intake:
    """A draft taken by ``staff`` on the phone or at the desk, in the caller's language.

    A known caller's contact details are filled in from their record (the operator
    checks them with the caller); the caller's language is the first answer. When the
    intake comes out of a logged call, the call points to it.
    """
    if channel not in CONSOLE_CHANNELS:
        raise ValueError("channel must be among {}".format(", ".join(CONSOLE_CHANNELS)))
    intake = intakes.start(session, channel, language, now, staff=staff, person=person, draft_days=draft_days)
    answers = answers_from_person(person) if person is not None else {}
    answers["contact.language"] = language
    intakes.save_answers(session, intake, answers, now, staff=staff, draft_days=draft_days)
    if call is not None and call.intake_id is None:
        call.intake_id = intake.id
        if call.person_id is None and person is not None:
            call.person_id = person.id
    session.flush()
    return intake


def save_for_caller(
    session: Session,
    intake: Intake,
    values: Mapping[str, Any],
    now: datetime,
    staff: StaffMember,
    draft_days: int = intakes.DEFAULT_DRAFT_DAYS,
    timezone: str = intakes.AGENCY_TIMEZONE,
) -> list[str]:
    """Save what the operator entered; the draft follows the caller's language at once.

    So that anything sent about the draft before submission (a resume PIN) is already
    in the caller's language, not the one the intake was started in.
    """
    changed = intakes.save_answers(session, intake, values, now, staff=staff, draft_days=draft_days, timezone=timezone)
    language = intakes.get_answers(intake).get("contact.language")
    if intake.status == "draft" and language in LANGUAGES:
        intake.language = language
    session.flush()
    return changed


def intakes_of(session: Session, person: Person) -> list[Intake]:
    """A person's intakes, newest first."""
    query = select(Intake).where(Intake.person_id == person.id).order_by(Intake.created_at.desc(), Intake.id.desc())
    return list(session.scalars(query))


@dataclass(frozen=True)
class Change:
    """One recorded change to an intake's answers: when, by whom, which questions."""

    changed_at: datetime
    staff_name: str | None
    question_ids: tuple[str, ...]


def changes_of(session: Session, intake: Intake) -> list[Change]:
    """Who changed which answers of the intake and when, oldest first (never the values)."""
    rows = session.execute(
        select(IntakeChange, StaffMember.full_name)
        .outerjoin(StaffMember, StaffMember.id == IntakeChange.staff_id)
        .where(IntakeChange.intake_id == intake.id)
        .order_by(IntakeChange.changed_at, IntakeChange.id)
    )
    return [Change(change.changed_at, name, tuple(change.question_ids or ())) for change, name in rows]


def staff_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """{id: full name} for the staff members named by ``ids``."""
    wanted = {staff_id for staff_id in ids if staff_id is not None}
    if not wanted:
        return {}
    rows = session.execute(select(StaffMember.id, StaffMember.full_name).where(StaffMember.id.in_(wanted)))
    return {staff_id: name for staff_id, name in rows}


def service_names(session: Session, code: str | None) -> dict[str, str] | None:
    """The agency service's name in every language it has (None when no such service)."""
    if not code:
        return None
    return session.scalar(select(Service.name).where(Service.code == code))


def duplicates_of(session: Session, found: Iterable[Person]) -> dict[int, list[Person]]:
    """For each person found, the other records that look like the same person."""
    return people.likely_duplicates_of(session, found)


# --- the call log ---------------------------------------------------------------------------


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    """The call's fields, checked; raises :class:`CallLogError` on the first fault."""
    checked = dict(values)
    if checked.get("direction") not in CALL_DIRECTIONS:
        raise CallLogError("direction", "must be among {}".format(", ".join(CALL_DIRECTIONS)))
    if checked.get("reason") not in CALL_REASONS:
        raise CallLogError("reason", "must be among {}".format(", ".join(CALL_REASONS)))
    outcome = checked.get("outcome") or None
    if outcome is not None and outcome not in CALL_OUTCOMES:
        raise CallLogError("outcome", "must be among {}".format(", ".join(CALL_OUTCOMES)))
    checked["outcome"] = outcome
    notes = (checked.get("notes") or "").strip() or None
    if notes is not None and len(notes) > CALL_NOTES_MAX:
        raise CallLogError("notes", "at most {} characters".format(CALL_NOTES_MAX))
    checked["notes"] = notes
    needed = bool(checked.get("interpreter_needed"))
    language = (checked.get("interpreter_language") or "").strip() or None
    if needed and language is None:
        raise CallLogError("interpreter_language", "say which language the interpreter is needed for")
    if language is not None and len(language) > INTERPRETER_LANGUAGE_MAX:
        raise CallLogError("interpreter_language", "at most {} characters".format(INTERPRETER_LANGUAGE_MAX))
    checked["interpreter_needed"] = needed
    checked["interpreter_language"] = language if needed else None
    started, ended = checked.get("started_at"), checked.get("ended_at")
    if started is None:
        raise CallLogError("started_at", "a call has a start")
    if ended is not None and ended < started:
        raise CallLogError("ended_at", "a call cannot end before it starts")
    return checked


def start_call(
    session: Session,
    operator: StaffMember,
    started_at: datetime,
    reason: str,
    direction: str = "inbound",
    person: Person | None = None,
    intake: Intake | None = None,
    ended_at: datetime | None = None,
    outcome: str | None = None,
    notes: str | None = None,
    interpreter_needed: bool = False,
    interpreter_language: str | None = None,
) -> CallLog:
    """Record a call ``operator`` is taking (or took): the end may follow with :func:`end_call`."""
    values = _checked(
        {
            "started_at": started_at,
            "ended_at": ended_at,
            "direction": direction,
            "reason": reason,
            "outcome": outcome,
            "notes": notes,
            "interpreter_needed": interpreter_needed,
            "interpreter_language": interpreter_language,
        }
    )
    call = CallLog(
        operator_id=operator.id,
        person_id=person.id if person is not None else (intake.person_id if intake is not None else None),
        intake_id=intake.id if intake is not None else None,
        **values,
    )
    session.add(call)
    session.flush()
    return call


def may_change_call(staff: StaffMember, call: CallLog) -> bool:
    """Only the operator who logged a call edits or ends it."""
    return call.operator_id is not None and call.operator_id == staff.id


def update_call(session: Session, call: CallLog, staff: StaffMember, **values: Any) -> None:
    """Change a call's details (notes, outcome, times...); only its own operator may."""
    if not may_change_call(staff, call):
        raise NotYourCall("call {} belongs to another operator".format(call.id))
    current = {
        name: getattr(call, name)
        for name in (
            "started_at", "ended_at", "direction", "reason", "outcome", "notes", "interpreter_needed", "interpreter_language",
        )
    }  # fmt: skip
    for name, value in _checked(current | values).items():
        setattr(call, name, value)
    session.flush()


def end_call(session: Session, call: CallLog, staff: StaffMember, now: datetime) -> bool:
    """End the call now; False when it had already ended (the first end stands)."""
    if not may_change_call(staff, call):
        raise NotYourCall("call {} belongs to another operator".format(call.id))
    if call.ended_at is not None:
        return False
    call.ended_at = max(now, call.started_at)
    session.flush()
    return True


def calls_for(session: Session, person: Person, limit: int = 100) -> list[CallLog]:
    """The calls with ``person``, newest first."""
    query = (
        select(CallLog)
        .where(CallLog.person_id == person.id)
        .order_by(CallLog.started_at.desc(), CallLog.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def calls_about(session: Session, intake: Intake) -> list[CallLog]:
    """The calls in which ``intake`` was taken or discussed, newest first."""
    query = select(CallLog).where(CallLog.intake_id == intake.id).order_by(CallLog.started_at.desc(), CallLog.id.desc())
    return list(session.scalars(query))

"""People: filled in from an intake's contact answers, found again, and reached safely.

Nothing here merges two records: :func:`likely_duplicates` offers candidates and an
operator decides. :func:`recipient` is the one place that turns a person into a message
recipient, and it answers None when messages could put the person at risk.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any, Iterable, Mapping

import phonenumbers
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from messaging.outbox import Recipient
from portal.config import DEFAULT_LANGUAGE, LANGUAGES
from portal.people.models import PREFERRED_CHANNELS, Person

#: Channels tried for each preference, best first; each is dropped when the person has
#: no address for it (and WhatsApp without consent). A phone call is arranged by an
#: operator; written messages to such a person go by SMS, then e-mail.
CHANNEL_ORDER: dict[str, tuple[str, ...]] = {
    "whatsapp": ("whatsapp", "sms", "email"),
    "sms": ("sms", "email"),
    "email": ("email", "sms"),
    "phone_call": ("sms", "email"),
}
DEFAULT_REGION = "IT"
#: The parts of the day the questionnaire offers for ``safety.safe_hours``, as windows
#: in the agency's time zone (the option labels say the same hours).
SAFE_HOURS: dict[str, tuple[str, str]] = {
    "morning": ("09:00", "13:00"),
    "afternoon": ("13:00", "18:00"),
    "evening": ("18:00", "20:30"),
}
_CODICE_FISCALE = re.compile(r"^(?:[A-Z0-9]{16}|[0-9]{11})$")
_PHONE_CHARACTERS = re.compile(r"^[0-9+()./ \-]+$")


def fold(text: str) -> str:
    """Lower-case, without accents or punctuation, single-spaced: "D'Angelo  Núñez" → "d angelo nunez"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return " ".join("".join(char if char.isalnum() else " " for char in bare).split())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def upsert_from_answers(session: Session, answers: Mapping[str, Any], now: datetime, person: Person | None = None) -> Person:
    """Bring ``person`` (or a new one) up to date with an intake's ``contact.*`` answers.

    ``answers`` are in Python form (see the questionnaire contract). Without ``person`` a
    new record is always created: finding an existing one is an operator's call
    (:func:`likely_duplicates`), never a guess made here.
    """
    if person is None:
        person = new_person(now)
        session.add(person)
    apply_answers(person, answers, now)
    session.flush()
    return person


def new_person(now: datetime, language: str = DEFAULT_LANGUAGE) -> Person:
    """An empty person with every default set (not added to any session)."""
    return Person(
        first_name="",
        last_name="",
        search_name="",
        language=language,
        preferred_channel="sms",
        safe_to_contact=True,
        created_at=now,
        updated_at=now,
    )


def apply_answers(person: Person, answers: Mapping[str, Any], now: datetime) -> None:
    """Copy contact, safety and consent answers onto ``person``.

    Answers that are absent leave the field as it was, so a later, shorter intake does
    not erase a known e-mail. Unanswered "safe to contact" counts as yes: the person gave
    us a way to reach them and did not say it was unsafe.
    """
    for question_id, attribute in (("contact.first_name", "first_name"), ("contact.last_name", "last_name")):
        if question_id in answers:
            setattr(person, attribute, _text(answers[question_id]) or "")
    if "contact.phone" in answers:
        person.phone = _text(answers["contact.phone"])
    if "contact.email" in answers:
        email = _text(answers["contact.email"])
        person.email = email.lower() if email else None
    if "contact.codice_fiscale" in answers:
        code = _text(answers["contact.codice_fiscale"])
        person.codice_fiscale = code.upper() if code else None
    if answers.get("contact.language") in LANGUAGES:
        person.language = answers["contact.language"]
    if answers.get("contact.channel") in PREFERRED_CHANNELS:
        person.preferred_channel = answers["contact.channel"]
    if "safety.safe_to_contact" in answers:
        person.safe_to_contact = answers["safety.safe_to_contact"] is not False
    if "safety.safe_hours" in answers or "safety.safe_to_contact" in answers:
        person.safe_hours = safe_hours_window(answers.get("safety.safe_hours"))
    if "consent.whatsapp" in answers:
        consented = answers["consent.whatsapp"] is True
        person.whatsapp_consent_at = (person.whatsapp_consent_at or now) if consented else None
    person.search_name = fold("{} {}".format(person.first_name, person.last_name))
    person.updated_at = now


def safe_hours_window(value: Any) -> str | None:
    """The one "HH:MM-HH:MM" window messaging honours, from the parts of day a person chose.

    Adjacent parts join ("morning" and "afternoon" → 09:00-18:00). Parts with a gap
    between them cannot be one window, so only the earliest run is kept: fewer hours,
    never an hour the person did not choose. A text already in "HH:MM-HH:MM" form is kept.
    """
    if isinstance(value, str):
        return _text(value)
    windows = sorted(SAFE_HOURS[code] for code in value or () if code in SAFE_HOURS)
    if not windows:
        return None
    start, end = windows[0]
    for next_start, next_end in windows[1:]:
        if next_start != end:
            break
        end = next_end
    return "{}-{}".format(start, end)


def normalise_phone(text: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for a phone number typed any usual way ("333 123 4567", "0039 333…"), else None."""
    if not _PHONE_CHARACTERS.match(text.strip()) or sum(char.isdigit() for char in text) < 6:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def search(session: Session, text: str, limit: int = 20) -> list[Person]:
    """People matching ``text``: a reference, a codice fiscale, a phone number, or a name.

    Every reading of the text that makes sense is tried and the results are joined, exact
    matches (reference, codice fiscale, phone) first. A name matches when every word
    appears in the first or last name, in any order, ignoring accents and case.
    """
    from portal.intake.models import Intake
    from portal.intake.references import normalise_reference

    text = text.strip()
    if not text:
        return []
    exact = []
    reference = normalise_reference(text)
    if reference is not None:
        exact.append(Person.id.in_(select(Intake.person_id).where(Intake.reference == reference)))
    compact = re.sub(r"[\s.\-]", "", text).upper()
    if _CODICE_FISCALE.match(compact):
        exact.append(Person.codice_fiscale == compact)
    phone = normalise_phone(text)
    if phone is not None:
        exact.append(Person.phone == phone)
    order = (Person.last_name, Person.first_name, Person.id)
    found: list[Person] = []
    if exact:
        found.extend(session.scalars(select(Person).where(or_(*exact)).order_by(*order).limit(limit)))
    words = fold(text).split()
    if words and any(char.isalpha() for char in text) and len(found) < limit:
        query = select(Person).where(*(Person.search_name.contains(word, autoescape=True) for word in words))
        if found:
            query = query.where(Person.id.not_in([person.id for person in found]))
        found.extend(session.scalars(query.order_by(*order).limit(limit - len(found))))
    return found


#: What makes two records look like the same person: any one of these, equal and not empty.
_IDENTIFYING = ("phone", "email", "codice_fiscale", "search_name")


def likely_duplicates(session: Session, person: Person) -> list[Person]:
    """Other people sharing this one's phone, e-mail, codice fiscale or full name."""
    return [other for other in _alike(session, [person]) if other.id != person.id]


def likely_duplicates_of(session: Session, found: Iterable[Person]) -> dict[int, list[Person]]:
    """For each of ``found`` (saved people), the others that look like them, in one query."""
    found = list(found)
    candidates = _alike(session, found)
    return {
        person.id: [other for other in candidates if other.id != person.id and _same(person, other)]
        for person in found
    }


def _same(one: Person, other: Person) -> bool:
    return any(getattr(one, name) and getattr(one, name) == getattr(other, name) for name in _IDENTIFYING)


def _alike(session: Session, people: list[Person]) -> list[Person]:
    """Everyone sharing an identifying value with any of ``people`` (them included), in name order."""
    same = [
        getattr(Person, name).in_(values)
        for name in _IDENTIFYING
        if (values := {getattr(p, name) for p in people if getattr(p, name)})
    ]
    if not same:
        return []
    query = select(Person).where(or_(*same)).order_by(Person.last_name, Person.first_name, Person.id)
    return list(session.scalars(query))


def recipient(person: Person, key: str | None = None) -> Recipient | None:
    """How messages reach ``person``, or None when nothing may be sent to them.

    None when the person said messages are not safe, or when no channel has an address.
    Callers must then send nothing (an operator can still call, if that was agreed).
    ``key`` defaults to "person:<id>"; a draft's contact that is not yet a person has none.
    """
    if person.safe_to_contact is False:
        return None
    available = {
        "whatsapp": bool(person.phone) and person.whatsapp_consent_at is not None,
        "sms": bool(person.phone),
        "email": bool(person.email),
    }
    channels = [c for c in CHANNEL_ORDER.get(person.preferred_channel or "sms", CHANNEL_ORDER["sms"]) if available[c]]
    if not channels:
        return None
    if key is None and person.id is not None:
        key = "person:{}".format(person.id)
    return Recipient(
        key=key,
        language=person.language or DEFAULT_LANGUAGE,
        phone=person.phone,
        email=person.email,
        channels=tuple(channels),
        safe_hours=person.safe_hours,
    )


def contact_from_answers(answers: Mapping[str, Any], language: str, now: datetime) -> Person:
    """A transient person (in no session) built from a draft's contact answers.

    Lets a draft that has no person yet be reached (for a resume PIN) under exactly the
    rules :func:`recipient` applies to people.
    """
    person = new_person(now, language)
    apply_answers(person, answers, now)
    return person

"""The intake questionnaire, kept as data: one YAML file per version.

A municipality changes its questions without touching code, and every intake records the
version it was answered with: editing a file must never change what old answers mean,
so a new meaning is a new file (``v2.yaml``) and :func:`get` returns any shipped version.
Files are read and checked once at start-up (:func:`init_app`); a mistake stops the app
with the file, the line and the reason, instead of surfacing in front of a citizen.

Labels, help texts, section titles and option labels are English msgids, extracted into
the portal's catalogs by the ``porta_yaml`` extractor (``babel.cfg``) and translated
where they are shown. The languages a person may choose (``options_from: languages``)
come from ``portal.config.LANGUAGES`` and are named in themselves, never translated.

Branching: ``show_if`` is an expression (``portal.intake.expressions``) over EARLIER
answers. A question is hidden when its condition is false, or when a question it depends
on is hidden; while the answers it needs are still missing its state is *undetermined*,
and it stays visible, so a page without JavaScript can show a follow-up question next to
the one that decides it. Only questions that are certainly shown are required to submit.

Answer values and their JSON form are described in ``fields.py`` and the shared contract:
int, Decimal euros, date, bool, option code(s), str (E.164 phones, upper-case codici
fiscali) and, for a ``group``, a list of dicts keyed by the group's field ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from flask_babel import gettext as _

from portal.intake import fields
from portal.intake.expressions import Expression
from portal.intake.fields import Invalid
from portal.people.models import PREFERRED_CHANNELS

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.datastructures import MultiDict

QUESTIONNAIRES_DIR = Path(__file__).resolve().parent / "questionnaires"

TYPES: tuple[str, ...] = (
    "single_choice", "multiple_choice", "yes_no", "integer", "money", "date",
    "text", "phone", "email", "codice_fiscale", "group",
)
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice"})
#: Types a ``group`` row may hold.
ROW_TYPES = frozenset(TYPES) - {"group", "multiple_choice"}

PHONE, EMAIL, CHANNEL = "contact.phone", "contact.email", "contact.channel"
#: Channels that need a phone number; ``email`` needs an e-mail address.
PHONE_CHANNELS = frozenset({"sms", "whatsapp", "phone_call"})
#: Questions the code itself relies on (to reach the person, in their language): every
#: version must have them, with these types.
CODE_QUESTIONS: Mapping[str, str] = {
    "contact.first_name": "text",
    "contact.last_name": "text",
    PHONE: "phone",
    EMAIL: "email",
    "contact.language": "single_choice",
    CHANNEL: "single_choice",
    "consent.privacy_acknowledged": "yes_no",
}
CHANNEL_CODES = frozenset(PREFERRED_CHANNELS)


class QuestionnaireError(ValueError):
    """A questionnaire file is broken; ``str()`` is ``"<file>:<line>: <reason>"``."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__("{}:{}: {}".format(path, line, reason))
        self.path, self.line, self.reason = str(path), line, reason


@dataclass(frozen=True)
class Option:
    """One answer of a choice; ``label`` is the English msgid."""

    code: str
    label: str
    #: Set for labels written in their own language (language names): its BCP 47 tag,
    #: for ``<span lang>``. Such labels are shown as they are, never translated.
    lang: str | None = None
    #: In a multiple choice, an answer that excludes the others ("None of these").
    exclusive: bool = False


@dataclass(frozen=True)
class Question:
    """One question, or one field of a ``group`` row."""

    id: str
    type: str
    label: str
    help: str | None = None
    options: tuple[Option, ...] = ()
    required: bool = False
    show_if: Expression | None = None
    #: Answers that could hurt the person if seen by the wrong eyes (violence).
    sensitive: bool = False
    #: Offered with an explicit "skip": asked with care, never blocking.
    skippable: bool = False
    #: Bounds: the value for integers, euros for money, rows for a group.
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    fields: tuple["Question", ...] = ()
    #: A yes/no that counts as answered only when "yes" (an acknowledgement).
    agreement: bool = False
    line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Section:
    """One page of the wizard."""

    id: str
    title: str
    intro: str | None
    questions: tuple[Question, ...]


@dataclass
class Parsed:
    """What a form or API body said: valid values, one message per bad field, and the raw input."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


class Questionnaire:
    """One checked version of the questionnaire, and what can be done with answers to it."""

    def __init__(self, version: str, sections: Iterable[Section]) -> None:
        self.version = version
        self.sections: tuple[Section, ...] = tuple(sections)
        self.questions: Mapping[str, Question] = MappingProxyType(
            {q.id: q for section in self.sections for q in section.questions}
        )
        self._section_of = {q.id: section for section in self.sections for q in section.questions}

    def __repr__(self) -> str:
        return "<Questionnaire version {}>".format(self.version)

    def section_of(self, question_id: str) -> Section:
        """The section (page) that asks ``question_id``."""
        return self._section_of[question_id]

    # --- branching ---------------------------------------------------------------------------

    def _states(self, answers: Mapping[str, Any]) -> dict[str, bool | None]:
        """Each question: True (shown), False (hidden) or None (undetermined), in order."""
        states: dict[str, bool | None] = {}
        for question in self.questions.values():
            condition = question.show_if
            if condition is None:
                states[question.id] = True
                continue
            needed = [states[name] for name in condition.names]
            if False in needed:
                states[question.id] = False
                continue
            result = condition.evaluate({name: answers.get(name) for name in condition.names})
            states[question.id] = None if (result and None in needed) else result
        return states

    def visible(self, question_id: str, answers: Mapping[str, Any]) -> bool:
        """False only when the answers given rule the question out."""
        return self._states(answers)[self.questions[question_id].id] is not False

    def visible_questions(self, section_id: str | None, answers: Mapping[str, Any]) -> list[Question]:
        """The questions to show on one page (``None``: the whole questionnaire)."""
        states = self._states(answers)
        return [
            question
            for question in self.questions.values()
            if states[question.id] is not False
            and (section_id is None or self.section_of(question.id).id == section_id)
        ]

    def prune(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers without those to hidden (or unknown) questions: they no longer apply."""
        states = self._states(answers)
        return {qid: value for qid, value in answers.items() if states.get(qid, False) is not False}

    def missing_for_submit(self, answers: Mapping[str, Any]) -> list[str]:
        """Ids still to answer before submitting, in questionnaire order.

        Required questions that are certainly shown; a phone or an e-mail address
        (reported as ``contact.phone``), and the one the chosen channel needs.
        """
        states = self._states(answers)
        missing = {
            q.id
            for q in self.questions.values()
            if q.required and states[q.id] is True and not _answered(q, answers.get(q.id))
        }
        channel = answers.get(CHANNEL)
        if not answers.get(PHONE) and (not answers.get(EMAIL) or channel in PHONE_CHANNELS):
            missing.add(PHONE)
        if channel == "email" and not answers.get(EMAIL):
            missing.add(EMAIL)
        return [qid for qid in self.questions if qid in missing]

    # --- parsing -----------------------------------------------------------------------------

    def parse_form(
        self, formdata: MultiDict[str, str], question_ids: Iterable[str], answers: Mapping[str, Any] | None = None
    ) -> Parsed:
        """Parse one page. Field names are question ids; group rows are ``<id>.<n>.<field>``.

        ``answers`` (the ones given on earlier pages) decide which questions are hidden:
        those are cleared (``None``) rather than checked. Blank fields are ``None`` too.
        """
        parsed = Parsed()
        ids = [self.questions[qid].id for qid in question_ids]
        for qid in ids:
            question = self.questions[qid]
            if question.type == "group":
                rows = _form_rows(formdata, question)
                parsed.raw[qid] = rows
                self._parse_rows(question, rows, parsed, fields.parse_value_text)
            elif question.type == "multiple_choice":
                codes = [code.strip() for code in formdata.getlist(qid) if code.strip()]
                parsed.raw[qid] = codes
                _store(parsed, qid, lambda: fields.parse_choices(question, codes) if codes else None)
            else:
                text = formdata.get(qid, "")
                parsed.raw[qid] = text
                _store(parsed, qid, lambda: fields.parse_value_text(question, text))
        return self._finish(parsed, ids, answers or {})

    def parse_json(self, data: Mapping[str, Any]) -> Parsed:
        """Parse a whole API ``answers`` object (JSON form); ``null`` clears an answer."""
        parsed = Parsed()
        for qid, value in data.items():
            parsed.raw[qid] = value
            question = self.questions.get(qid)
            if question is None:
                parsed.errors[qid] = _("There is no such question.")
            elif value is None:
                parsed.values[qid] = None
            elif question.type == "group":
                if isinstance(value, list) and all(isinstance(row, dict) for row in value):
                    self._parse_rows(question, value, parsed, fields.from_json)
                else:
                    parsed.errors[qid] = fields.wrong_type_message("group")
            else:
                _store(parsed, qid, lambda: fields.from_json(question, value))
        return self._finish(parsed, [qid for qid in data if qid in self.questions], {})

    def _parse_rows(
        self, question: Question, rows: list[dict[str, Any]], parsed: Parsed, parse: Callable[[Question, Any], Any]
    ) -> None:
        """A group's rows: errors keyed ``<id>.<n>.<field>``; its value only when all are valid."""
        known = {f.id: f for f in question.fields}
        values: list[dict[str, Any]] = []
        errors: dict[str, str] = {}
        for n, row in enumerate(rows):
            value: dict[str, Any] = {}
            for name in row:
                if name not in known:
                    errors["{}.{}.{}".format(question.id, n, name)] = _("There is no such question.")
            for f in question.fields:
                key = "{}.{}.{}".format(question.id, n, f.id)
                try:
                    item = None if row.get(f.id) is None else parse(f, row[f.id])
                except Invalid as invalid:
                    errors[key] = invalid.message
                    continue
                if item is not None:
                    value[f.id] = item
                elif f.required:
                    errors[key] = _("Fill this in for each person you add.")
            values.append(value)
        if question.max is not None and len(rows) > question.max:
            errors[question.id] = _("You can add up to %(max)s people.", max=question.max)
        parsed.errors.update(errors)
        if not errors:
            parsed.values[question.id] = values or None

    def _finish(self, parsed: Parsed, ids: list[str], answers: Mapping[str, Any]) -> Parsed:
        """Clear hidden questions and check that the chosen channel can reach the person."""
        merged = {k: v for k, v in {**answers, **parsed.values}.items() if v is not None}
        states = self._states(merged)
        for qid in ids:
            if states[qid] is False:
                parsed.values[qid] = None
                merged.pop(qid, None)
                for key in [k for k in parsed.errors if k == qid or k.startswith(qid + ".")]:
                    del parsed.errors[key]
        channel = merged.get(CHANNEL)
        if CHANNEL in ids and CHANNEL not in parsed.errors:
            if channel in PHONE_CHANNELS and not merged.get(PHONE) and PHONE not in parsed.errors:
                parsed.errors[CHANNEL] = _("To be contacted this way, also give your phone number.")
            elif channel == "email" and not merged.get(EMAIL) and EMAIL not in parsed.errors:
                parsed.errors[CHANNEL] = _("To be contacted this way, also give your e-mail address.")
        if CHANNEL in parsed.errors:
            parsed.values.pop(CHANNEL, None)
        return parsed

    # --- storage -----------------------------------------------------------------------------

    def dump(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON form of valid answers (``None`` ones are left out)."""
        return {qid: fields.to_json(self.questions[qid], v) for qid, v in answers.items() if v is not None}

    def load(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Answers back from the JSON form this version dumped."""
        return {qid: fields.from_stored(self.questions[qid], v) for qid, v in data.items() if v is not None}


def _answered(question: Question, value: Any) -> bool:
    if question.agreement:
        return value is True
    return value is not None and value != "" and value != []


def _store(parsed: Parsed, qid: str, parse: Callable[[], Any]) -> None:
    try:
        parsed.values[qid] = parse()
    except Invalid as invalid:
        parsed.errors[qid] = invalid.message


def _form_rows(formdata: MultiDict[str, str], question: Question) -> list[dict[str, str]]:
    """The group's non-blank rows, in the order of their numbers in the form."""
    pattern = re.compile(r"{}\.(\d+)\.(\w+)$".format(re.escape(question.id)))
    rows: dict[int, dict[str, str]] = {}
    for key in formdata:
        match = pattern.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = formdata.get(key, "").strip()
    return [
        {name: text for name, text in row.items() if text}
        for _n, row in sorted(rows.items())
        if any(row.values())
    ]


# --- loading -------------------------------------------------------------------------------------


def load_questionnaires(directory: Path | None = None) -> dict[str, Questionnaire]:
    """Every ``v*.yaml`` in ``directory``, checked; raises :class:`QuestionnaireError`."""
    from portal.intake.questionnaire_file import read_questionnaire

    found: dict[str, Questionnaire] = {}
    for path in sorted((directory or QUESTIONNAIRES_DIR).glob("v*.yaml")):
        questionnaire = read_questionnaire(path)
        found[questionnaire.version] = questionnaire
    if not found:
        raise QuestionnaireError(directory or QUESTIONNAIRES_DIR, 0, "no questionnaire file (v1.yaml...)")
    return dict(sorted(found.items(), key=lambda item: _version_key(item[0])))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@cache
def _shipped() -> dict[str, Questionnaire]:
    return load_questionnaires()


def current() -> Questionnaire:
    """The latest version: the one new intakes are answered with."""
    return list(_shipped().values())[-1]


def get(version: str) -> Questionnaire:
    """The version an intake was answered with; ``KeyError`` if none such is shipped."""
    return _shipped()[version]


def init_app(app: Flask) -> None:
    """Read and check every questionnaire now: a broken file stops start-up."""
    app.extensions["intake.questionnaires"] = _shipped()

"""Forms of the citizen's self-screening: one page of the questionnaire, and resuming a draft.

The questionnaire is data, so a wizard page cannot be a fixed WTForms class:
:class:`StepPage` does for one page what a FlaskForm does for a fixed form. It knows the
questions the page shows, what each field holds (the saved answer, or exactly what the
person typed) and one message per field that is wrong. Parsing and checking are the
questionnaire's own (``Questionnaire.parse_form``); CSRF is checked on every POST by
``CSRFProtect``. The resume forms are ordinary Flask-WTF forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, Mapping

from babel.numbers import get_decimal_symbol
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.intake.questionnaire import CHANNEL, EMAIL, PHONE, Parsed, Question, Questionnaire, Section
from portal.intake.references import is_valid_reference
from portal.i18n import current_language

#: Empty rows a household group offers without JavaScript (one more per "Add another person").
EMPTY_ROWS_WHEN_NONE = 2
EMPTY_ROWS_AFTER_SOME = 1
#: Autocomplete tokens for questions a browser can fill in from the person's own details.
AUTOCOMPLETE = {"contact.first_name": "given-name", "contact.last_name": "family-name", PHONE: "tel", EMAIL: "email"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def form_value(question: Question, value: Any) -> Any:
    """An answer (Python form) as its form field holds it: text, codes, or rows of texts."""
    if question.type == "multiple_choice":
        return list(value or [])
    if question.type == "group":
        return [{f.id: form_value(f, row.get(f.id)) for f in question.fields} for row in value or []]
    if value is None:
        return ""
    if question.type == "yes_no":
        return "yes" if value else "no"
    if question.type == "money":
        return _money_text(value)
    if question.type == "date":
        return value.isoformat()
    return str(value)


def _money_text(amount: Decimal) -> str:
    """Euros the way the reader writes them, in a form the parser reads back the same."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    mark = get_decimal_symbol(get_locale() or "it")
    return str(amount).replace(".", mark if mark in {".", ","} else ",")


def date_input_type(text: str) -> str:
    """``date`` for the browser's date picker, ``text`` to show back a date it could not hold."""
    return "date" if not text or _ISO_DATE.match(text) else "text"


def to_formdata(raw: Mapping[str, Any]) -> MultiDict[str, str]:
    """What the person typed (``Parsed.raw``) as the form data that would say it again."""
    data: MultiDict[str, str] = MultiDict()
    for qid, value in raw.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for n, row in enumerate(value):
                for name, text in row.items():
                    data.add("{}.{}.{}".format(qid, n, name), text)
        elif isinstance(value, list):
            for code in value:
                data.add(qid, code)
        else:
            data.add(qid, value)
    return data


@dataclass
class StepPage:
    """One page of the wizard: its questions, their field values and their errors.

    ``answers`` are the saved ones (Python form): they decide which questions show.
    ``raw`` holds what was typed, by question id; it wins over the saved answer, so a
    page shown again after an error keeps every field exactly as the person left it.
    """

    questionnaire: Questionnaire
    section: Section
    answers: Mapping[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: Empty household rows to add to the usual ones ("Add another person").
    extra_rows: int = 0
    notice: str | None = None

    @cached_property
    def questions(self) -> list[Question]:
        """The questions this page shows, given the answers saved so far."""
        return self.questionnaire.visible_questions(self.section.id, self.answers)

    @property
    def question_ids(self) -> list[str]:
        return [question.id for question in self.questions]

    def parse(self, formdata: MultiDict[str, str]) -> Parsed:
        """The page's form data, parsed and checked against the questions it showed."""
        return self.questionnaire.parse_form(formdata, self.question_ids, self.answers)

    def value(self, question: Question) -> Any:
        """What the field shows: what was typed, else the saved answer (else a sensible default)."""
        if question.id in self.raw:
            return self.raw[question.id]
        if question.id == "contact.language" and question.id not in self.answers:
            return current_language()
        return form_value(question, self.answers.get(question.id))

    def choices(self, question: Question) -> list[tuple[str, str, str | None]]:
        """(code, label in the page's language, language of a label written in itself)."""
        if question.type == "yes_no":
            return [("yes", _("Yes"), None), ("no", _("No"), None)]
        return [(o.code, o.label if o.lang else _(o.label), o.lang) for o in question.options]

    def date_type(self, question: Question) -> str:
        return date_input_type(self.value(question))

    def autocomplete(self, question: Question) -> str | None:
        return AUTOCOMPLETE.get(question.id)

    def rows(self, question: Question) -> list[dict[str, str]]:
        """A group's rows to show: the filled ones, then empty ones to fill in."""
        filled = list(self.value(question))
        empty = (EMPTY_ROWS_AFTER_SOME if filled else EMPTY_ROWS_WHEN_NONE) + self.extra_rows
        limit = question.max if question.max is not None else len(filled) + EMPTY_ROWS_WHEN_NONE + 10
        empty = max(0, min(empty, limit - len(filled)))
        return filled + [{} for _n in range(empty)]

    def decided_by(self, question: Question) -> list[Question]:
        """Questions on this page, still unanswered, that decide whether ``question`` applies.

        Without JavaScript such a follow-up is shown next to them, labelled "only if...".
        """
        if question.show_if is None:
            return []
        names = question.show_if.names
        return [q for q in self.questions if q.id in names and self.answers.get(q.id) is None]

    def group_field_error(self, question: Question, row: int, name: str) -> str | None:
        return self.errors.get("{}.{}.{}".format(question.id, row, name))

    def summary(self) -> list[tuple[str, str, str]]:
        """(anchor, what, message) for each error, in the order of the page."""
        items: list[tuple[str, str, str]] = []
        for question in self.questions:
            label = _(question.label)
            if question.id in self.errors:
                items.append(("q-" + question.id, label, self.errors[question.id]))
            prefix = question.id + "."
            for key, message in self.errors.items():
                if key.startswith(prefix):
                    _qid, row, name = key.rsplit(".", 2)
                    row_field = next((f for f in question.fields if f.id == name), None)
                    what = _("Person %(number)s", number=int(row) + 1)
                    if row_field is not None:
                        what = "{} – {}".format(what, _(row_field.label))
                    items.append(("q-" + key, what, message))
        return items

    def require_answers(self) -> None:
        """Add a message for each question the page shows that must be answered to go on."""
        shown = set(self.question_ids)
        for qid in self.questionnaire.missing_for_submit(self.answers):
            if qid in shown and qid not in self.errors and not (qid in (PHONE, EMAIL) and CHANNEL in self.errors):
                self.errors[qid] = missing_message(self.questionnaire.questions[qid])

    def invalid_raw(self) -> dict[str, Any]:
        """What was typed into the fields that are wrong, to show again later."""
        wrong = {qid for qid in self.question_ids if any(k == qid or k.startswith(qid + ".") for k in self.errors)}
        return {qid: self.raw[qid] for qid in wrong if qid in self.raw}

    def restore(self, raw: Mapping[str, Any]) -> None:
        """Show again what was typed into wrong fields, with the messages they deserve."""
        ids = [qid for qid in self.question_ids if qid in raw]
        parsed = self.questionnaire.parse_form(to_formdata({qid: raw[qid] for qid in ids}), ids, self.answers)
        self.raw.update({qid: raw[qid] for qid in ids})
        self.errors.update(parsed.errors)


def missing_message(question: Question) -> str:
    """Why a page cannot be left yet, for one question: what to do, not what is wrong."""
    if question.agreement:
        return _("To send your request, confirm that you have read the privacy notice.")
    if question.id == PHONE:
        return _("Give a mobile phone number or an e-mail address, so that we can reach you.")
    if question.id == EMAIL:
        return _("Give your e-mail address, or choose another way for us to contact you.")
    if question.type in ("single_choice", "yes_no", "multiple_choice"):
        return _("Choose an answer to continue.")
    return _("Answer this question to continue.")


def _a_reference(form: FlaskForm, field: StringField) -> None:
    if field.data and not is_valid_reference(field.data):
        raise ValidationError(
            _("This is not a reference code we gave. Check each character: it looks like PU-4K7M-2X92.")
        )


class ResumeCodeForm(FlaskForm):
    """The reference code of a draft to continue on this device."""

    code = StringField(
        _l("Your reference code"),
        validators=[DataRequired(message=_l("Enter your reference code.")), Length(max=40), _a_reference],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "dir": "ltr"},
    )


class ResumePinForm(ResumeCodeForm):
    """The reference code again, and the one-time PIN we sent for it."""

    pin = StringField(
        _l("PIN"),
        validators=[DataRequired(message=_l("Enter the PIN we sent you.")), Length(max=20)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"inputmode": "numeric", "dir": "ltr"},
    )

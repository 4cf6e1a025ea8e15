"""Forms of the operator console.

Every form is a POST with a CSRF token, the search too: what an operator types (a name,
a phone number, a codice fiscale) must not end up in an address, a browser's history or
a server's access log. The questionnaire page is not a WTForms form: the questionnaire
parses its own fields (``Questionnaire.parse_form``), and CSRF is checked app-wide.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal.config import LANGUAGES
from portal.console.labels import CALL_DIRECTIONS, CALL_OUTCOMES, CALL_REASONS, label
from portal.console.services import INTERPRETER_LANGUAGE_MAX
from portal.intake.models import CALL_DIRECTIONS as CALL_DIRECTION_CODES
from portal.intake.models import CALL_NOTES_MAX, CallLog
from portal.intake.models import CALL_OUTCOMES as CALL_OUTCOME_CODES
from portal.intake.models import CALL_REASONS as CALL_REASON_CODES

#: What ``<input type="datetime-local">`` sends.
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
#: The interpreter-language choice that opens the free-text field.
OTHER_LANGUAGE = "other"


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def to_utc(local: datetime | None, timezone: str) -> datetime | None:
    """A wall-clock time typed in the agency's time zone, as the UTC instant it names."""
    if local is None:
        return None
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


def to_local(moment: datetime | None, timezone: str) -> datetime | None:
    """A stored instant as the agency's wall-clock time, for a form field."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None, second=0, microsecond=0)


class SearchForm(FlaskForm):
    """Find a caller by name, phone number, codice fiscale or request reference."""

    q = StringField(
        _l("Name, phone number, codice fiscale or reference"),
        validators=[DataRequired(message=_l("Type what the caller told you.")), Length(max=100)],
        filters=[_strip],
    )


class NewIntakeForm(FlaskForm):
    """Start an intake for a caller; language choices are named by the view."""

    channel = RadioField(
        _l("How is the caller in touch?"),
        choices=[SelectChoice("phone", _l("On the phone")), SelectChoice("front_desk", _l("At the front desk"))],
        default="phone",
        validators=[InputRequired(message=_l("Choose phone or front desk."))],
    )
    language = SelectField(_l("Caller's language"), validators=[InputRequired()], validate_choice=True)
    person_id = HiddenField()
    call_id = HiddenField()


class CallForm(FlaskForm):
    """A call: start and end (agency time), why, how it ended, notes and interpreter needs."""

    started_at = DateTimeLocalField(
        _l("Started at"), format=LOCAL_FORMAT, validators=[InputRequired(message=_l("Enter when the call started."))]
    )
    ended_at = DateTimeLocalField(_l("Ended at"), format=LOCAL_FORMAT, validators=[Optional()])
    direction = SelectField(_l("Direction"), validate_choice=True)
    reason = SelectField(_l("Reason for the call"), validate_choice=True)
    outcome = SelectField(_l("Outcome"), validate_choice=True)
    notes = TextAreaField(
        _l("Notes"),
        validators=[
            Optional(),
            Length(max=CALL_NOTES_MAX, message=_l("Keep the notes to %(max)d characters or fewer.")),
        ],
        filters=[_strip],
    )
    interpreter_needed = BooleanField(_l("An interpreter or cultural mediator is needed"))
    interpreter_language = SelectField(_l("Interpreter's language"), validate_choice=True)
    interpreter_language_other = StringField(
        _l("Other language"), validators=[Optional(), Length(max=INTERPRETER_LANGUAGE_MAX)], filters=[_strip]
    )
    person_id = HiddenField()
    intake_id = HiddenField()
    save = SubmitField(_l("Save the call"))
    end_now = SubmitField(_l("Save and end the call now"))

    def validate_interpreter_language(self, field: SelectField) -> None:
        """An interpreter is asked for in a language: which one must be said."""
        if not self.interpreter_needed.data:
            return
        if not field.data:
            raise ValidationError(_l("Choose the language the interpreter is needed for."))
        if field.data == OTHER_LANGUAGE and not self.interpreter_language_other.data:
            raise ValidationError(_l("Write the language the interpreter is needed for."))

    def validate_ended_at(self, field: DateTimeLocalField) -> None:
        """A call ends after it starts."""
        if field.data and self.started_at.data and field.data < self.started_at.data:
            raise ValidationError(_l("The end cannot be before the start."))

    def set_choices(self, languages: list[tuple[str, str]]) -> None:
        """Codes in the reader's words; ``languages`` are the shipped ones, named by the view."""
        self.direction.choices = [(code, label(CALL_DIRECTIONS, code)) for code in CALL_DIRECTION_CODES]
        self.reason.choices = [(code, label(CALL_REASONS, code)) for code in CALL_REASON_CODES]
        self.outcome.choices = [("", _("Not yet known"))] + [(c, label(CALL_OUTCOMES, c)) for c in CALL_OUTCOME_CODES]
        self.interpreter_language.choices = [("", "—"), *languages, (OTHER_LANGUAGE, _("Another language"))]

    def load(self, call: CallLog, timezone: str) -> None:
        """Fill the form with a stored call, its times in the agency's time zone."""
        self.started_at.data = to_local(call.started_at, timezone)
        self.ended_at.data = to_local(call.ended_at, timezone)
        self.direction.data, self.reason.data, self.outcome.data = call.direction, call.reason, call.outcome or ""
        self.notes.data = call.notes or ""
        self.interpreter_needed.data = call.interpreter_needed
        language = call.interpreter_language or ""
        shipped = language in LANGUAGES or not language
        self.interpreter_language.data = language if shipped else OTHER_LANGUAGE
        self.interpreter_language_other.data = "" if shipped else language

    def values(self, timezone: str, now: datetime) -> dict[str, Any]:
        """The call's fields for the services; "end the call now" ends it at ``now``."""
        started = to_utc(self.started_at.data, timezone)
        ended = to_utc(self.ended_at.data, timezone)
        if self.end_now.data and ended is None:
            ended = max(now, started) if started else now
        return {
            "started_at": started,
            "ended_at": ended,
            "direction": self.direction.data,
            "reason": self.reason.data,
            "outcome": self.outcome.data or None,
            "notes": self.notes.data or None,
            "interpreter_needed": bool(self.interpreter_needed.data),
            "interpreter_language": self.chosen_interpreter_language(),
        }

    def chosen_interpreter_language(self) -> str | None:
        """The language to store: a shipped code, or the words typed for another one."""
        if not self.interpreter_needed.data:
            return None
        if self.interpreter_language.data == OTHER_LANGUAGE:
            return self.interpreter_language_other.data or None
        return self.interpreter_language.data or None


class ActionForm(FlaskForm):
    """A button that changes one thing (end a call now): only the CSRF token."""

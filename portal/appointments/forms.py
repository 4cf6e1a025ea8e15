"""Forms of the citizen's booking: what and where, the time, the person's details.

Choices that come from the database (services, offices) are given to the form by the
view; each check says in plain words what to do next, so a wrong choice is explained
next to its field instead of WTForms' "Not a valid choice". CSRF comes with FlaskForm.
"""

from __future__ import annotations

from typing import Any, Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from portal.agency.models import Office, Service
from portal.appointments.models import MODES
from portal.config import LANGUAGES
from portal.people.services import normalise_phone

#: The reason is a few words for the staff member, not a case file.
REASON_MAX = 300
#: How a person may hear from us about the appointment (WhatsApp needs a consent given elsewhere).
BOOKING_CHANNELS: tuple[str, ...] = ("sms", "email")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ChooseForm(FlaskForm):
    """Step 1: the service, the office, in person or by phone, and the language spoken."""

    service = RadioField(_l("What is the appointment for?"), validate_choice=False)
    office = RadioField(_l("Which office?"), validate_choice=False)
    mode = RadioField(_l("How would you like to meet?"), validate_choice=False)
    language = SelectField(_l("In which language would you like to talk?"), validate_choice=False)

    def __init__(self, services: Sequence[Service], offices: Sequence[Office], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = {service.code: service for service in services}
        self.offices = {office.code: office for office in offices}

    @property
    def chosen_service(self) -> Service | None:
        return self.services.get(self.service.data or "")

    def validate_service(self, field: Field) -> None:
        if field.data not in self.services:
            raise ValidationError(_("Choose what the appointment is for."))

    def validate_office(self, field: Field) -> None:
        office = self.offices.get(field.data or "")
        if office is None:
            raise ValidationError(_("Choose an office."))
        service = self.chosen_service
        if service is not None and office not in service.offices:
            raise ValidationError(_("This office does not offer the service you chose. Please choose another office."))

    def validate_mode(self, field: Field) -> None:
        if field.data not in MODES:
            raise ValidationError(_("Choose how you would like to meet."))
        service = self.chosen_service
        if service is not None and field.data not in (service.modes or []):
            raise ValidationError(_("This service is not offered this way. Please choose the other way."))

    def validate_language(self, field: Field) -> None:
        if field.data not in LANGUAGES:
            raise ValidationError(_("Choose a language."))


class SlotForm(FlaskForm):
    """Step 2: one of the times shown (an opaque, signed slot id)."""

    slot = StringField(_l("Date and time"), filters=[_strip])


class DetailsForm(FlaskForm):
    """Step 3: why, who, and how to reach them; the phone number is kept in E.164."""

    reason = TextAreaField(
        _l("What would you like to talk about?"),
        filters=[_strip],
        validators=[Length(max=REASON_MAX, message=_l("Please write at most %(max)d characters."))],
    )
    first_name = StringField(
        _l("First name"),
        filters=[_strip],
        validators=[DataRequired(message=_l("Enter your first name.")), Length(max=100)],
    )
    last_name = StringField(
        _l("Surname"),
        filters=[_strip],
        validators=[DataRequired(message=_l("Enter your surname.")), Length(max=100)],
    )
    phone = StringField(_l("Mobile phone number"), filters=[_strip])
    email = StringField(
        _l("E-mail address"),
        filters=[_strip],
        validators=[Optional(), Length(max=254), Email(message=_l("Enter a valid e-mail address."))],
    )
    language = SelectField(_l("In which language should we write to you?"), validate_choice=False)
    channel = RadioField(_l("How would you like us to contact you?"), validate_choice=False)

    def validate_phone(self, field: Field) -> None:
        if field.data:
            e164 = normalise_phone(field.data)
            if e164 is None:
                raise ValidationError(_("Not a valid phone number"))
            field.data = e164
        elif self.channel.data == "sms":
            raise ValidationError(_("To be contacted this way, also give your phone number."))

    def validate(self, extra_validators: Any = None) -> bool:
        """Every field's checks, then one across fields (``Optional`` stops an empty e-mail's own)."""
        valid = super().validate(extra_validators)
        if self.channel.data == "email" and not self.email.data and not self.email.errors:
            self.email.errors.append(_("To be contacted this way, also give your e-mail address."))
            valid = False
        return valid

    def validate_language(self, field: Field) -> None:
        if field.data not in LANGUAGES:
            raise ValidationError(_("Choose a language."))

    def validate_channel(self, field: Field) -> None:
        if field.data not in BOOKING_CHANNELS:
            raise ValidationError(_("Choose how we should contact you."))

    def answers(self) -> dict[str, Any]:
        """The details as the contact answers ``people.services`` reads (Python form)."""
        return {
            "contact.first_name": self.first_name.data,
            "contact.last_name": self.last_name.data,
            "contact.phone": self.phone.data or None,
            "contact.email": self.email.data or None,
            "contact.language": self.language.data,
            "contact.channel": self.channel.data,
        }

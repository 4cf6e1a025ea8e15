"""Forms of the staff messaging pages.

Filters are GET forms without CSRF (they change nothing and their address can be
bookmarked); every form that changes something is a POST carrying a CSRF token.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

#: The portal's keys look like "person:7" or "appointment:12"; nothing else is looked up.
KEY_PATTERN = r"^[a-z_]+:[A-Za-z0-9_-]+$"


class HistoryForm(FlaskForm):
    """Whose messages to show: a person's key, a subject's key, or both."""

    class Meta:
        csrf = False

    recipient = StringField(
        _l("Person"),
        validators=[Optional(), Length(max=100), Regexp(KEY_PATTERN, message=_l("Write a key such as person:7."))],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    subject = StringField(
        _l("Subject"),
        validators=[Optional(), Length(max=100), Regexp(KEY_PATTERN, message=_l("Write a key such as appointment:12."))],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


class QueueFilterForm(FlaskForm):
    """Narrow the queue of failed messages; choices are filled in by the view."""

    class Meta:
        csrf = False

    channel = SelectField(_l("Channel"), validators=[Optional()], validate_choice=True)
    kind = SelectField(_l("Kind of message"), validators=[Optional()], validate_choice=True)


class ActionForm(FlaskForm):
    """A button that changes one row (retry, cancel, mark handled): only the CSRF token."""


class BulkRetryForm(FlaskForm):
    """Retry every message shown on the page; the rows' ids travel as hidden fields."""

    message_ids = SelectMultipleField(coerce=int, validate_choice=False, validators=[DataRequired()])

"""Words staff read in the console: codes in their language, answers written the staff's way.

Intakes, calls and triage store short English codes and answers in their Python form; the
console shows them in the staff member's interface language: option labels translated,
money and dates formatted by Babel, languages named in the reader's language (the
caller's language is a fact about the caller, not the language of the page).
"""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from typing import Any

from babel import Locale
from flask_babel import format_currency, format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.i18n import BABEL_LOCALES
from portal.intake.expressions import dotted_name
from portal.intake.questionnaire import Question, Questionnaire

INTAKE_CHANNELS = {
    "web": _l("On the website"),
    "phone": _l("Phone"),
    "front_desk": _l("Front desk"),
    "partner": _l("Partner organisation"),
}
INTAKE_STATUSES = {"draft": _l("Draft"), "submitted": _l("Submitted")}
#: Bootstrap Italia badge colours for the urgency levels of triage.
URGENCY_BADGES = {"emergency": "bg-danger", "high": "bg-warning text-dark", "standard": "bg-secondary"}
MEASURE_STATUSES = {"likely": _l("Likely"), "possible": _l("Possible")}
#: Economic resources and personal potential in the quadrant.
LEVELS = {"low": _l("Low"), "high": _l("High")}
CALL_DIRECTIONS = {"inbound": _l("Incoming call"), "outbound": _l("Outgoing call")}
CALL_REASONS = {
    "new_request": _l("New request for help"),
    "follow_up": _l("Follow-up on a request"),
    "appointment": _l("Appointment"),
    "information": _l("Information only"),
    "other": _l("Other"),
}
CALL_OUTCOMES = {
    "intake_started": _l("Intake started"),
    "intake_completed": _l("Intake completed"),
    "appointment_booked": _l("Appointment booked"),
    "information_given": _l("Information given"),
    "referred": _l("Referred to another service"),
    "call_dropped": _l("Call dropped"),
    "other": _l("Other"),
}


def label(labels: dict[str, Any], code: str | None) -> str:
    """The words for ``code`` in ``labels``; a dash for none, the code itself if unknown."""
    if not code:
        return "—"
    return str(labels.get(code, code))


def language_name(code: str | None) -> str:
    """A language named in the reader's language ("Arabo" for an Italian operator).

    Codes Babel does not know (an interpreter asked for in words) are shown as written.
    """
    if not code:
        return "—"
    try:
        name = Locale.parse(BABEL_LOCALES.get(code, code)).get_display_name(get_locale())
    except (ValueError, TypeError):
        return code
    if not name:
        return code
    return name[:1].upper() + name[1:]


def yes_no(value: bool) -> str:
    """A yes/no answer in words."""
    return _("Yes") if value else _("No")


def option_label(question: Question, code: str) -> str:
    """An option's words; language options are named in the reader's language."""
    option = next((o for o in question.options if o.code == code), None)
    if option is None:
        return code
    if option.lang:
        return language_name(code)
    return _(option.label)


def format_answer(question: Question, value: Any) -> str:
    """One scalar answer as staff read it (groups are shown row by row by the template)."""
    if value is None or value == "" or value == []:
        return "—"
    if question.type == "money" and isinstance(value, Decimal):
        return format_currency(value, "EUR")
    if question.type == "date" and isinstance(value, date):
        return format_date(value, "medium")
    if question.type == "yes_no":
        return yes_no(bool(value))
    if question.type == "single_choice":
        return option_label(question, value)
    if question.type == "multiple_choice":
        return ", ".join(option_label(question, code) for code in value)
    return str(value)


def input_value(question: Question, value: Any) -> str:
    """An answer written back into a form field so that parsing it gives the same answer."""
    if value is None:
        return ""
    if isinstance(value, str):  # already text: what was typed, or an option code
        return value
    if question.type == "yes_no":
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_COMPARISONS = {ast.Gt: ">", ast.GtE: "≥", ast.Lt: "<", ast.LtE: "≤"}


def condition_text(questionnaire: Questionnaire, question: Question) -> str | None:
    """When a follow-up is asked, in words: "(only if “Where are you living now?” is …)".

    Plain conditions (one question compared with options, a number or yes/no) are spelt
    out; anything more involved names the questions it depends on.
    """
    condition = question.show_if
    if condition is None:
        return None
    node = condition.tree
    negated = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    if negated:
        node = node.operand  # type: ignore[attr-defined]
    name = dotted_name(node)
    if name in questionnaire.questions and questionnaire.questions[name].type == "yes_no":
        return _("(only if “%(question)s” is “%(answer)s”)", question=_(questionnaire.questions[name].label), answer=yes_no(not negated))
    if not negated and isinstance(node, ast.Compare) and len(node.ops) == 1:
        described = _compare(questionnaire, node)
        if described is not None:
            return described
    labels = ", ".join("“{}”".format(_(questionnaire.questions[n].label)) for n in sorted(condition.names) if n in questionnaire.questions)
    return _("(only if relevant after: %(questions)s)", questions=labels)


def _compare(questionnaire: Questionnaire, node: ast.Compare) -> str | None:
    name = dotted_name(node.left)
    other = node.comparators[0]
    if name not in questionnaire.questions:
        return None
    subject = questionnaire.questions[name]
    op = type(node.ops[0])
    question = _(subject.label)
    if isinstance(other, ast.Constant) and op in (ast.Eq, ast.NotEq) and isinstance(other.value, str):
        answer = option_label(subject, other.value)
        if op is ast.Eq:
            return _("(only if “%(question)s” is “%(answer)s”)", question=question, answer=answer)
        return _("(only if “%(question)s” is not “%(answer)s”)", question=question, answer=answer)
    if isinstance(other, ast.List) and op in (ast.In, ast.NotIn):
        codes = [element.value for element in other.elts if isinstance(element, ast.Constant)]
        answers = "; ".join("“{}”".format(option_label(subject, str(code))) for code in codes)
        if op is ast.In:
            return _("(only if “%(question)s” is one of: %(answers)s)", question=question, answers=answers)
        return _("(only if “%(question)s” is none of: %(answers)s)", question=question, answers=answers)
    if isinstance(other, ast.Constant) and op in _COMPARISONS and isinstance(other.value, (int, float)):
        return _(
            "(only if “%(question)s” %(comparison)s %(value)s)",
            question=question,
            comparison=_COMPARISONS[op],
            value=other.value,
        )
    return None


#: Registered for the console's templates.
TEMPLATE_HELPERS = {
    "channel_label": lambda code: label(INTAKE_CHANNELS, code),
    "intake_status_label": lambda code: label(INTAKE_STATUSES, code),
    "urgency_badge": lambda code: URGENCY_BADGES.get(code or "", "bg-secondary"),
    "measure_status_label": lambda code: label(MEASURE_STATUSES, code),
    "level_label": lambda code: label(LEVELS, code),
    "call_direction_label": lambda code: label(CALL_DIRECTIONS, code),
    "call_reason_label": lambda code: label(CALL_REASONS, code),
    "call_outcome_label": lambda code: label(CALL_OUTCOMES, code),
    "language_name": language_name,
    "format_answer": format_answer,
    "input_value": input_value,
    "option_label": option_label,
    "yes_no": yes_no,
}

"""What the console's intake pages show, assembled from an intake and its questionnaire.

The compact page puts every section of the questionnaire on one page for an operator on
the phone: each question with its answer (or what was typed, after an error), its error,
whether the current answers leave it out, and in words when it is asked. The staff view
of a submitted intake reads its stored triage again in the staff member's language.
Sensitive answers pass through :func:`portal.console.services.may_see_sensitive` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.console.labels import condition_text
from portal.intake import triage as triage_module
from portal.intake.questionnaire import Question, Questionnaire, Section

#: Questions the compact page asks apart from their section: the caller's language at the
#: top, the privacy acknowledgement next to the notice read aloud.
LANGUAGE_QUESTION = "contact.language"
PRIVACY_QUESTION = "consent.privacy_acknowledged"
#: Empty rows offered for adding household members on a page without JavaScript.
SPARE_ROWS = 2


@dataclass
class Item:
    """One question on the compact page."""

    question: Question
    value: Any
    #: What was typed (after an error); None: show ``value``.
    raw: Any = None
    error: str | None = None
    #: Group rows' errors, keyed "<row>.<field>".
    row_errors: dict[str, str] = field(default_factory=dict)
    #: The answers given rule the question out (it is shown folded, greyed).
    hidden: bool = False
    condition: str | None = None
    #: A sensitive answer this staff member may not read.
    restricted: bool = False

    @property
    def html_id(self) -> str:
        return html_id(self.question.id)

    def rows(self) -> list[dict[str, Any]]:
        """A group's rows to show: what was typed or stored, then empty ones to add."""
        rows = list(self.raw if self.raw is not None else (self.value or []))
        limit = self.question.max or len(rows) + SPARE_ROWS
        return rows + [{} for _ in range(max(0, min(SPARE_ROWS, limit - len(rows))))]


def html_id(question_id: str) -> str:
    """An element id for a question or a group row's field (dots read badly in CSS)."""
    return "q-" + question_id.replace(".", "-")


def editable_ids(questionnaire: Questionnaire, sensitive_allowed: bool) -> list[str]:
    """The questions the compact page sends back: all but the sensitive ones kept from this reader."""
    return [q.id for q in questionnaire.questions.values() if sensitive_allowed or not q.sensitive]


def compact_sections(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    sensitive_allowed: bool,
    raw: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[tuple[Section, list[Item]]]:
    """Every section with its questions, for the one-page form (see the module docstring)."""
    raw, errors = raw or {}, errors or {}
    shown = {q.id for q in questionnaire.visible_questions(None, answers)}
    sections = []
    for section in questionnaire.sections:
        items = []
        for question in section.questions:
            if question.id in (LANGUAGE_QUESTION, PRIVACY_QUESTION):
                continue
            prefix = question.id + "."
            items.append(
                Item(
                    question=question,
                    value=answers.get(question.id),
                    raw=raw.get(question.id) if question.id in errors or any(k.startswith(prefix) for k in errors) else None,
                    error=errors.get(question.id),
                    row_errors={k[len(prefix):]: v for k, v in errors.items() if k.startswith(prefix)},
                    hidden=question.id not in shown,
                    condition=condition_text(questionnaire, question),
                    restricted=question.sensitive and not sensitive_allowed,
                )
            )
        sections.append((section, items))
    return sections


def error_summary(questionnaire: Questionnaire, errors: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(element id, what it is, the message) for each error, in questionnaire order.

    Group rows are named by the group, the row number and the field ("Who else lives
    with you? – 2 – Age"); the caller's language and the privacy box by their own ids.
    """
    order = {qid: n for n, qid in enumerate(questionnaire.questions)}
    summary = []
    for key in sorted(errors, key=lambda k: (order.get(_owner(questionnaire, k), len(order)), k)):
        owner = _owner(questionnaire, key)
        name = question_label(questionnaire, owner)
        if key != owner:
            row, field_id = key[len(owner) + 1:].split(".", 1)
            group = questionnaire.questions[owner]
            field = next((f for f in group.fields if f.id == field_id), None)
            name = "{} – {} – {}".format(name, int(row) + 1, _(field.label) if field else field_id)
        summary.append((html_id(key), name, errors[key]))
    return summary


def _owner(questionnaire: Questionnaire, key: str) -> str:
    """The question an error key belongs to ("household.members.0.age" → "household.members")."""
    if key in questionnaire.questions:
        return key
    return next((qid for qid in questionnaire.questions if key.startswith(qid + ".")), key)


def privacy_notice(language: str, agency: str) -> dict[str, Any]:
    """The notice an operator reads aloud, in ``language``: the public privacy page's own words.

    Rendered with ``force_locale`` so that it is in the caller's language whatever the
    operator's interface speaks; the sentences are those of the privacy page, so the
    caller hears exactly what they would read online.
    """
    with force_locale(language):
        return {
            "title": _("Privacy notice"),
            "paragraphs": [
                (
                    None,
                    _(
                        "%(agency)s processes your personal data to help you with your housing situation, as part of its public social services.",
                        agency=agency,
                    ),
                ),
                (
                    _("What we collect and why"),
                    _(
                        "Only what you tell us about your household, your home, your income and how to contact you, so that we can understand your situation, tell you what support you may be entitled to and book an appointment."
                    ),
                ),
                (
                    _("Who sees it"),
                    _(
                        "Only the staff of the agency who work on your request. We never send details about your situation by text message or in the subject of an e-mail."
                    ),
                ),
                (
                    _("Your rights"),
                    _(
                        "You can ask to see, correct or delete your data, and you can stop messages at any time by replying STOP. Ask at any of our offices or call the free helpline."
                    ),
                ),
            ],
        }


def missing_errors(missing: list[str]) -> dict[str, str]:
    """What to tell the operator about each answer still needed to submit."""
    errors = {}
    for question_id in missing:
        if question_id == PRIVACY_QUESTION:
            errors[question_id] = _("Read the privacy notice to the caller and tick the box.")
        elif question_id == "contact.phone":
            errors[question_id] = _("Give a mobile phone number, or an e-mail address if the caller prefers e-mail.")
        else:
            errors[question_id] = _("Answer this question before submitting.")
    return errors


def restricted_text(value: Any) -> str:
    """What a reader without the right sees instead of a sensitive answer."""
    return _("Recorded, restricted") if value not in (None, "", []) else _("Not answered")


# --- triage, read again in the staff member's language -------------------------------------------


@dataclass(frozen=True)
class ReasonView:
    text: str
    based_on: tuple[str, ...]
    source: str | None


@dataclass(frozen=True)
class MeasureView:
    code: str
    label: str
    status: str
    reasons: tuple[ReasonView, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class TriageView:
    urgency: str
    urgency_label: str
    urgency_reasons: tuple[ReasonView, ...]
    measures: tuple[MeasureView, ...]
    resources: str | None
    potential: str | None
    pathway_label: str | None
    pathway_text: str | None
    quadrant_reasons: tuple[ReasonView, ...]
    recommended_service: str
    service_reasons: tuple[ReasonView, ...]
    missing: tuple[str, ...]
    rules_version: str


def question_label(questionnaire: Questionnaire, question_id: str) -> str:
    """A question's label in the reader's language; the id itself if the version lacks it."""
    question = questionnaire.questions.get(question_id)
    return _(question.label) if question is not None else question_id


def triage_view(stored: Mapping[str, Any], questionnaire: Questionnaire, sensitive_allowed: bool) -> TriageView:
    """The stored triage (``Triage.to_json()``) in the reader's language, with labels for ids.

    A reason that rests on a sensitive answer is shown only to those who may read the
    answer; others learn that a reason is recorded, not what it is.
    """
    result = triage_module.Triage.from_json(stored)
    sensitive = {q.id for q in questionnaire.questions.values() if q.sensitive}

    def reasons(items: Any) -> tuple[ReasonView, ...]:
        views = []
        for reason in items:
            if not sensitive_allowed and sensitive.intersection(reason.answers):
                views.append(ReasonView(_("Recorded, restricted"), (), None))
                continue
            views.append(
                ReasonView(
                    triage_module.localize(reason.text, reason.params),
                    tuple(question_label(questionnaire, qid) for qid in reason.answers),
                    reason.source,
                )
            )
        return tuple(views)

    def labels(ids: Any) -> tuple[str, ...]:
        return tuple(question_label(questionnaire, qid) for qid in ids)

    quadrant = result.quadrant
    pathway_text = stored.get("quadrant", {}).get("pathway_text")
    return TriageView(
        urgency=result.urgency,
        urgency_label=str(triage_module.urgency_label(result.urgency)),
        urgency_reasons=reasons(result.urgency_reasons),
        measures=tuple(
            MeasureView(m.code, str(triage_module.measure_label(m.code)), m.status, reasons(m.reasons), labels(m.missing))
            for m in result.measures
        ),
        resources=quadrant.resources,
        potential=quadrant.potential,
        pathway_label=str(triage_module.pathway_label(quadrant.pathway)) if quadrant.pathway else None,
        pathway_text=_(pathway_text) if pathway_text else None,
        quadrant_reasons=reasons(quadrant.reasons),
        recommended_service=result.recommended_service,
        service_reasons=reasons(result.service_reasons),
        missing=labels(result.missing),
        rules_version=result.rules_version,
    )

"""Triage: from an intake's answers to urgency, measures, quadrant and the first service.

The rules are data (``triage_rules.yaml``, loaded and checked by
:mod:`portal.intake.triage_rules`, applied by :mod:`portal.intake.triage_engine`); this
module is what the rest of the portal uses: the results and their JSON form. Every
conclusion carries its reasons — the rule, a sentence with the values that mattered, the
legal source, and the question ids that made it so — because a coordinator must be able
to check it and a family must be able to understand it. Triage works with what it has:
an unanswered question makes a condition *unknown* (never false), a measure whose other
conditions hold is reported as *possible*, and the ids that would sharpen the result are
listed as ``missing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from portal.intake.triage_rules import DEFAULT_PATH, Rules, RulesError, load_file

__all__ = [
    "Measure", "Quadrant", "Reason", "Rules", "RulesError", "Triage",
    "evaluate", "init_app", "load_rules", "localize", "measure_label", "pathway_label", "urgency_label",
]  # fmt: skip

Translate = Callable[[str, dict[str, Any]], str]


@dataclass(frozen=True)
class Reason:
    """Why: ``text`` is the English msgid, filled in with ``params`` once translated."""

    rule: str
    text: str
    params: dict[str, str | int]
    #: The question ids whose answers made it so.
    answers: tuple[str, ...]
    source: str | None


@dataclass(frozen=True)
class Measure:
    """A measure the household may be entitled to: ``likely``, or ``possible`` until ``missing`` is answered."""

    code: str
    status: str
    reasons: tuple[Reason, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Quadrant:
    """The "capacity to inhabit": economic resources × personal and social potential."""

    resources: str | None
    potential: str | None
    pathway: str | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Triage:
    """The whole result, stored with the intake as :meth:`to_json`."""

    rules_version: str
    urgency: str
    urgency_reasons: tuple[Reason, ...]
    measures: tuple[Measure, ...]
    quadrant: Quadrant
    recommended_service: str
    #: Question ids that would sharpen the result if answered.
    missing: tuple[str, ...]
    #: Why that service first (the recommended-service rule that matched, or the default).
    service_reasons: tuple[Reason, ...] = field(default=())

    def to_json(self, translate: Translate | None = None) -> dict[str, Any]:
        """JSON-able form; texts translated by ``translate(msgid, params)`` when given.

        Each reason also keeps its ``msgid`` and ``params``, so a stored result can be
        shown again later in any language.
        """
        quadrant: dict[str, Any] = {
            "resources": self.quadrant.resources,
            "potential": self.quadrant.potential,
            "pathway": self.quadrant.pathway,
        }
        text = _pathway_text(self.quadrant.pathway)
        if text is not None:
            quadrant["pathway_text"] = translate(text, {}) if translate else text
        quadrant["reasons"] = _reasons_json(self.quadrant.reasons, translate)
        return {
            "urgency": self.urgency,
            "urgency_reasons": _reasons_json(self.urgency_reasons, translate),
            "measures": [
                {
                    "code": m.code,
                    "status": m.status,
                    "reasons": _reasons_json(m.reasons, translate),
                    "missing": list(m.missing),
                }
                for m in self.measures
            ],
            "quadrant": quadrant,
            "recommended_service": self.recommended_service,
            "service_reasons": _reasons_json(self.service_reasons, translate),
            "missing": list(self.missing),
            "rules_version": self.rules_version,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Triage:
        """The inverse of :meth:`to_json` (whether or not it was translated)."""
        quadrant = data["quadrant"]
        return cls(
            rules_version=data["rules_version"],
            urgency=data["urgency"],
            urgency_reasons=_reasons_from(data["urgency_reasons"]),
            measures=tuple(
                Measure(m["code"], m["status"], _reasons_from(m["reasons"]), tuple(m["missing"]))
                for m in data["measures"]
            ),
            quadrant=Quadrant(
                quadrant["resources"], quadrant["potential"], quadrant["pathway"], _reasons_from(quadrant["reasons"])
            ),
            recommended_service=data["recommended_service"],
            missing=tuple(data["missing"]),
            service_reasons=_reasons_from(data.get("service_reasons", ())),
        )


def _reasons_json(reasons: Iterable[Reason], translate: Translate | None) -> list[dict[str, Any]]:
    return [
        {
            "rule": r.rule,
            "text": translate(r.text, dict(r.params)) if translate else r.text % dict(r.params),
            "msgid": r.text,
            "params": dict(r.params),
            "answers": list(r.answers),
            "source": r.source,
        }
        for r in reasons
    ]


def _reasons_from(items: Iterable[Mapping[str, Any]]) -> tuple[Reason, ...]:
    return tuple(
        Reason(r["rule"], r.get("msgid", r["text"]), dict(r.get("params", {})), tuple(r["answers"]), r.get("source"))
        for r in items
    )


_MONEY = re.compile(r"^-?\d+\.\d\d$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def localize(msgid: str, params: Mapping[str, Any]) -> str:
    """A ``translate`` for :meth:`Triage.to_json` in the current Flask-Babel locale.

    Translates first, then fills in: amounts (always written with two decimals) as euros
    and dates (ISO) the way the reader's language writes them.
    """
    from flask_babel import format_currency, format_date, gettext

    values: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and _MONEY.match(value):
            value = format_currency(Decimal(value), "EUR")
        elif isinstance(value, str) and _DATE.match(value):
            value = format_date(date.fromisoformat(value), "long")
        values[key] = value
    return gettext(msgid) % values


@lru_cache(maxsize=1)
def _default_rules() -> Rules:
    from portal.intake import questionnaire

    current = questionnaire.current()
    return replace(load_file(DEFAULT_PATH, vocabulary(current)), questionnaire=current)


def load_rules(path: Path | None = None, questionnaire: Any = None) -> Rules:
    """The rules in ``path`` (default: the shipped file, cached), checked against ``questionnaire``.

    Without a questionnaire the current one is used. Raises :class:`RulesError`
    (``"<file>:<line>: <reason>"``) for any fault, including a question id the
    questionnaire does not have or an option code it does not offer.
    """
    if path is None and questionnaire is None:
        return _default_rules()
    if questionnaire is None:
        from portal.intake import questionnaire as module

        questionnaire = module.current()
    rules = load_file(Path(path) if path is not None else DEFAULT_PATH, vocabulary(questionnaire))
    return replace(rules, questionnaire=questionnaire)


def vocabulary(questionnaire: Any) -> dict[str, frozenset[Any] | None]:
    """Question id → the values rules may compare it with (None: any value)."""
    result: dict[str, frozenset[Any] | None] = {}
    for question_id, question in questionnaire.questions.items():
        if question.options:
            result[question_id] = frozenset(option.code for option in question.options)
        elif question.type == "yes_no":
            result[question_id] = frozenset({True, False})
        else:
            result[question_id] = None
    return result


def measure_label(code: str) -> Any:
    """The measure's name as a lazy msgid (for templates); the code itself if unknown."""
    return _label({m.code: m.label for m in _default_rules().measures}, code)


def urgency_label(code: str) -> Any:
    """The urgency level's name as a lazy msgid."""
    return _label({level.code: level.label for level in _default_rules().urgency}, code)


def pathway_label(code: str) -> Any:
    """The pathway's short name as a lazy msgid."""
    return _label({p.code: p.label for p in _default_rules().pathways}, code)


def _label(labels: Mapping[str, str], code: str) -> Any:
    from flask_babel import lazy_gettext

    return lazy_gettext(labels[code]) if code in labels else code


def _pathway_text(code: str | None) -> str | None:
    return next((p.text for p in _default_rules().pathways if p.code == code), None) if code else None


def init_app(app: Any) -> None:
    """Read the rules and check them against the questionnaire now: a broken file stops start-up."""
    app.extensions["intake.triage_rules"] = load_rules()


def evaluate(answers: Mapping[str, Any], today: date, rules: Rules | None = None) -> Triage:
    """Apply the rules to ``answers`` (question id → value; unanswered ids absent) on ``today``."""
    from portal.intake.triage_engine import run

    return run(rules or load_rules(), answers, today)

"""How triage applies its rules: three-valued, first-match and points tables that explain themselves.

Kept apart from :mod:`portal.intake.triage` (the results and their JSON form) so each
reads in one sitting. Every function here returns, besides its conclusion, the question
ids that decided it and those whose answer is missing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from portal.intake.expressions import Expression, dotted_name
from portal.intake.triage import Measure, Quadrant, Reason, Triage
from portal.intake.triage_rules import Rule, Rules


def run(rules: Rules, answers: Mapping[str, Any], today: date) -> Triage:
    """The whole triage of ``answers`` on ``today`` (see :func:`portal.intake.triage.evaluate`)."""
    env = _Env({key: value for key, value in answers.items() if value is not None})
    env.not_asked = _not_asked(rules, answers) - rules.unknown_when_not_asked
    env["today"] = today
    env.update({"threshold." + name: t.value for name, t in rules.thresholds.items()})
    urgency, urgency_reasons, urgency_missing = _urgency(rules, env)
    measures, measures_missing = _measures(rules, env)
    quadrant, quadrant_missing = _quadrant(rules, env)
    env["triage.urgency"] = urgency
    env["triage.measures"] = [m.code for m in measures]
    env["triage.likely_measures"] = [m.code for m in measures if m.status == "likely"]
    row, outcome, service_missing = _first_match(rules.services, env)
    if row is not None and outcome is not None:
        service, service_reasons = row.outcome or rules.default_service, (_reason(row, outcome, env),)
    else:
        default = Reason("service.default", rules.default_service_text, {}, (), None)
        service, service_reasons = rules.default_service, (default,)
    missing = _merge([urgency_missing, measures_missing, quadrant_missing, service_missing])
    return Triage(
        rules_version=rules.version,
        urgency=urgency,
        urgency_reasons=urgency_reasons,
        measures=measures,
        quadrant=quadrant,
        recommended_service=service,
        missing=_ordered(set(missing) - rules.never_missing, rules),
        service_reasons=service_reasons,
    )


class _Env(dict):  # type: ignore[type-arg]
    """What expressions read: answers, ``today``, thresholds; and which questions were not asked."""

    not_asked: frozenset[str] = frozenset()


def _not_asked(rules: Rules, answers: Mapping[str, Any]) -> frozenset[str]:
    """Questions the questionnaire skips given these answers: they do not apply."""
    if rules.questionnaire is None:
        return frozenset()
    asked = {question.id for question in rules.questionnaire.visible_questions(None, answers)}
    return frozenset(qid for qid in rules.questions if qid not in asked and answers.get(qid) is None)


@dataclass(frozen=True)
class _Outcome:
    """A condition's value with the answers that decided it, or those it lacks."""

    value: bool | None
    support: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def _explain(node: ast.expr, env: _Env) -> _Outcome:
    """Evaluate like :meth:`Expression.evaluate`, remembering which answers decided.

    ``a or b`` that holds because of ``a`` is explained by ``a``'s answers alone; an
    ``and`` that fails by the first part that fails; an unknown by the unanswered ids.
    A comparison that is unknown only because of questions that were not asked does
    not hold: they do not apply to this household.
    """
    if isinstance(node, ast.BoolOp):
        parts = [_explain(value, env) for value in node.values]
        decisive = isinstance(node.op, ast.Or)  # a true part decides an "or", a false one an "and"
        for part in parts:
            if part.value is decisive:
                return _Outcome(decisive, part.support)
        unknown = [part.missing for part in parts if part.value is None]
        if unknown:
            return _Outcome(None, missing=_merge(unknown))
        return _Outcome(not decisive, _merge(part.support for part in parts))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _explain(node.operand, env)
        return _Outcome(None if inner.value is None else not inner.value, inner.support, inner.missing)
    value = Expression("", node, frozenset(), {}).evaluate(env)
    names = [name for name in _names(node) if not name.startswith(("threshold.", "triage."))]
    if value is None:
        unanswered = [name for name in names if env.get(name) is None]
        if unanswered and all(name in env.not_asked for name in unanswered):
            return _Outcome(False)
        return _Outcome(None, missing=tuple(name for name in unanswered if name not in env.not_asked))
    return _Outcome(value, tuple(name for name in names if env.get(name) is not None))


def _names(node: ast.AST) -> list[str]:
    """Dotted names in reading order (function names excluded)."""
    if isinstance(node, (ast.Attribute, ast.Name)):
        name = dotted_name(node)
        return [name] if name else []
    children = [c for c in ast.iter_child_nodes(node) if not (isinstance(node, ast.Call) and c is node.func)]
    return [name for child in children for name in _names(child)]


def _merge(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for group in groups for name in group))


def _ordered(ids: set[str], rules: Rules) -> tuple[str, ...]:
    """In the questionnaire's order, so a list of what to answer reads like the form."""
    order = {qid: index for index, qid in enumerate(rules.questions)}
    return tuple(sorted(ids, key=lambda qid: (order.get(qid, len(order)), qid)))


def _check(rule: Rule, env: _Env) -> _Outcome:
    return _explain(rule.when.tree, env)


def _param(value: Any) -> str | int:
    if value is None:
        return "?"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value() and value.as_tuple().exponent == 0:
        return int(value)  # a count such as 7 days; amounts keep their two decimals
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value)


def _reason(rule: Rule, outcome: _Outcome, env: _Env, source: str | None = None, **extra: Any) -> Reason:
    params = {key: _param(env.get(name)) for key, name in rule.params.items()} | extra
    return Reason(rule.id, rule.text, params, outcome.support, rule.source or source)


def _urgency(rules: Rules, env: _Env) -> tuple[str, tuple[Reason, ...], tuple[str, ...]]:
    """The highest level with a rule that holds; unknown rules above it are what is missing."""
    missing: list[tuple[str, ...]] = []
    looked_at: list[tuple[str, ...]] = []
    for level in rules.urgency:
        outcomes = [(rule, _check(rule, env)) for rule in level.rules]
        held = tuple(_reason(rule, outcome, env) for rule, outcome in outcomes if outcome.value)
        if held:
            return level.code, held, _merge(missing)
        if not level.rules:  # the default level: explained by everything the rules looked at
            reason = Reason("urgency." + level.code, level.text or "", {}, _merge(looked_at), None)
            return level.code, (reason,), _merge(missing)
        missing += [outcome.missing for _rule, outcome in outcomes]
        looked_at += [outcome.support for _rule, outcome in outcomes]
    raise AssertionError("the rules file always ends with the standard level")


def _measures(rules: Rules, env: _Env) -> tuple[tuple[Measure, ...], tuple[str, ...]]:
    """Every condition holds: likely; none fails and some are unknown: possible."""
    measures: list[Measure] = []
    missing: list[tuple[str, ...]] = []
    for measure in rules.measures:
        outcomes = [(rule, _check(rule, env)) for rule in measure.conditions]
        if any(outcome.value is False for _rule, outcome in outcomes):
            continue
        gaps = _merge(outcome.missing for _rule, outcome in outcomes if outcome.value is None)
        missing.append(gaps)
        held = tuple(_reason(rule, outcome, env, measure.source) for rule, outcome in outcomes if outcome.value)
        if held:  # with nothing known to hold, the measure is not worth mentioning yet
            status = "possible" if gaps else "likely"
            measures.append(Measure(measure.code, status, held, _ordered(set(gaps), rules)))
    return tuple(measures), _merge(missing)


def _first_match(rows: Iterable[Rule], env: _Env) -> tuple[Rule | None, _Outcome | None, tuple[str, ...]]:
    """The first row that holds; rows skipped as unknown tell what is missing."""
    missing: list[tuple[str, ...]] = []
    for row in rows:
        outcome = _check(row, env)
        if outcome.value:
            return row, outcome, _merge(missing)
        if outcome.value is None:
            missing.append(outcome.missing)
    return None, None, _merge(missing)


def _quadrant(rules: Rules, env: _Env) -> tuple[Quadrant, tuple[str, ...]]:
    row, outcome, missing = _first_match(rules.resources, env)
    reasons = [_reason(row, outcome, env)] if row is not None and outcome is not None else []
    resources = row.outcome if row is not None else None
    low = high = top = 0
    gaps: list[tuple[str, ...]] = []
    scored: list[Reason] = []
    for factor in rules.potential:
        possible: list[int] = []
        for case in factor.cases:
            case_outcome = _check(case, env)
            if case_outcome.value is None:
                possible.append(case.points)
                gaps.append(case_outcome.missing)
            elif case_outcome.value:
                if not possible:  # no earlier case could still apply: this one is certain
                    scored.append(_reason(case, case_outcome, env, points=case.points))
                possible.append(case.points)
                break
        else:
            possible.append(0)
        low, high = low + min(possible), high + max(possible)
        top += max(case.points for case in factor.cases)
    needed = rules.thresholds[rules.potential_high].value
    potential = "high" if low >= needed else "low" if high < needed else None
    if potential is not None:
        answers = _merge(reason.answers for reason in scored)
        total = {"points": low, "max": top, "threshold": _param(needed)}
        scored.append(Reason("potential.total", rules.potential_text, total, answers, None))
        gaps = []
    pathway = next((p.code for p in rules.pathways if (p.resources, p.potential) == (resources, potential)), None)
    return Quadrant(resources, potential, pathway, tuple(reasons + scored)), _merge([missing, *gaps])

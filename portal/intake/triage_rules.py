"""The triage rules file (``triage_rules.yaml``): read once, checked hard.

A coordinator edits this file every year when thresholds change. A typo there must stop
start-up with the file, the line and the reason — never silently tell a family it is not
entitled to something — so every key, name, option code and placeholder is checked here,
against the questionnaire the rules read. The engine that applies the rules is
:mod:`portal.intake.triage`; the page a coordinator reads is ``docs/triage.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

import yaml

from portal.intake.expressions import Expression, ExpressionError, compile_expression

DEFAULT_PATH = Path(__file__).with_name("triage_rules.yaml")
URGENCY_LEVELS = ("emergency", "high", "standard")
RANKS = ("high", "low")
#: Names the recommended-service rules may read besides answers: what triage concluded.
DERIVED = ("triage.urgency", "triage.measures", "triage.likely_measures")
#: Placeholders the engine fills in itself (points of a potential case, the total).
AUTO_PARAMS = {"case": {"points"}, "total": {"points", "max", "threshold"}}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")

#: Question id → the literal values it may be compared with (None: any value).
Vocabulary = Mapping[str, "frozenset[Any] | None"]


class RulesError(ValueError):
    """The rules file is broken; ``str()`` is ``"<file>:<line>: <reason>"``."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__("{}:{}: {}".format(path, line, reason))
        self.path = str(path)
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Threshold:
    """A number the law (or the agency) sets, with where it comes from and for which year."""

    name: str
    value: Decimal
    source: str
    year: int
    note: str


@dataclass(frozen=True)
class Rule:
    """One row of a table: a condition, the sentence that explains it, its legal source."""

    id: str
    when: Expression
    text: str
    source: str | None
    #: Placeholder of ``text`` → the threshold (``threshold.x``) or question id it shows.
    params: Mapping[str, str]
    #: What the row decides: ``high``/``low`` for resources, a service code for services.
    outcome: str | None = None
    points: int = 0


@dataclass(frozen=True)
class Level:
    """An urgency level: any of its rules puts the intake there (``standard`` has none)."""

    code: str
    label: str
    rules: tuple[Rule, ...]
    text: str | None


@dataclass(frozen=True)
class MeasureRules:
    """A measure the household may be entitled to: every condition must hold."""

    code: str
    label: str
    source: str | None
    conditions: tuple[Rule, ...]


@dataclass(frozen=True)
class Factor:
    """One line of the potential points table: the first case that holds gives its points."""

    id: str
    cases: tuple[Rule, ...]


@dataclass(frozen=True)
class Pathway:
    """What a quadrant of the "capacity to inhabit" suggests."""

    resources: str
    potential: str
    code: str
    label: str
    text: str


@dataclass(frozen=True)
class Rules:
    """The whole rules file, validated."""

    version: str
    path: str
    thresholds: Mapping[str, Threshold]
    urgency: tuple[Level, ...]
    measures: tuple[MeasureRules, ...]
    resources: tuple[Rule, ...]
    potential: tuple[Factor, ...]
    potential_high: str
    potential_text: str
    pathways: tuple[Pathway, ...]
    services: tuple[Rule, ...]
    default_service: str
    default_service_text: str
    #: Questions never listed as missing: a person may leave them unanswered on purpose.
    never_missing: frozenset[str]
    #: Questions that stay unknown (not "does not apply") when the questionnaire skips them.
    unknown_when_not_asked: frozenset[str] = frozenset()
    #: Question ids in the questionnaire's order (to list what is missing in that order).
    questions: tuple[str, ...] = ()
    #: The questionnaire checked against, which tells what was not asked; None in tests.
    questionnaire: Any = field(default=None, compare=False, repr=False)


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of itself and of each value."""

    line = 0
    lines: dict[Any, int]
    raw: dict[Any, str]


class _Loader(yaml.SafeLoader):
    """Builds :class:`_Map` objects and refuses duplicate keys (PyYAML keeps the last)."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line, result.lines, result.raw = node.start_mark.line + 1, {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        if key in result:
            raise RulesError(loader.name, key_node.start_mark.line + 1, "duplicate key {!r}".format(key))
        result[key] = loader.construct_object(value_node, deep=True)  # type: ignore[no-untyped-call]
        result.lines[key] = value_node.start_mark.line + 1
        if isinstance(value_node, yaml.ScalarNode):
            result.raw[key] = value_node.value
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


class _Reader:
    """Walks the parsed file, raising :class:`RulesError` at the line of the fault."""

    def __init__(self, path: Path, vocabulary: Vocabulary) -> None:
        self.path = path
        self.vocabulary = vocabulary
        self.ids: set[str] = set()
        self.thresholds: dict[str, Threshold] = {}
        self.measure_codes: set[str] = set()

    def fail(self, line: int, reason: str) -> RulesError:
        return RulesError(self.path, line, reason)

    def mapping(self, value: Any, line: int, required: set[str], optional: set[str] = set()) -> _Map:
        if not isinstance(value, _Map):
            raise self.fail(line, "expected a mapping with {}".format(", ".join(sorted(required))))
        for key in value:
            if key not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                raise self.fail(value.lines[key], "unknown key {!r} (expected {})".format(key, allowed))
        for key in sorted(required):
            if key not in value:
                raise self.fail(value.line, "missing key {!r}".format(key))
        return value

    def named(self, parent: _Map, key: str) -> _Map:
        """A mapping whose keys are names the file chooses (thresholds, params)."""
        value = parent[key]
        if not isinstance(value, _Map):
            raise self.fail(parent.lines[key], "{!r} must be a mapping of names".format(key))
        return value

    def items(self, parent: _Map, key: str) -> list[tuple[Any, int]]:
        """A list value with the line of each item (items are mappings here)."""
        value = parent[key]
        if not isinstance(value, list) or not value:
            raise self.fail(parent.lines[key], "{!r} must be a non-empty list".format(key))
        return [(item, item.line if isinstance(item, _Map) else parent.lines[key]) for item in value]

    def string(self, parent: _Map, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = parent[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(parent.lines[key], "{!r} must be a non-empty text".format(key))
        if pattern is not None and not pattern.match(value):
            reason = "{!r} is not a valid {} (lower case letters, digits, _ and .)".format(value, key)
            raise self.fail(parent.lines[key], reason)
        return value

    def question_list(self, parent: _Map, key: str) -> frozenset[str]:
        value = parent.get(key) or []
        if not isinstance(value, list):
            raise self.fail(parent.lines[key], "{} must be a list of question ids".format(key))
        for name in value:
            if str(name) not in self.vocabulary:
                raise self.fail(parent.lines[key], "{!r} is not a question of the questionnaire".format(name))
        return frozenset(str(name) for name in value)

    def rule_id(self, parent: _Map) -> str:
        rule_id = self.string(parent, "id", _ID)
        if rule_id in self.ids:
            raise self.fail(parent.lines["id"], "duplicate id {!r}".format(rule_id))
        self.ids.add(rule_id)
        return rule_id

    def threshold(self, name: str, value: Any, line: int) -> Threshold:
        if not _CODE.match(str(name)):
            raise self.fail(line, "threshold name {!r} must be lower case letters, digits and _".format(name))
        item = self.mapping(value, line, {"value", "source", "year", "note"})
        try:
            number = Decimal(str(item.raw.get("value", "")).replace("_", ""))
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number < 0:
            raise self.fail(item.lines["value"], "value must be a number of zero or more")
        year = item["year"]
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            raise self.fail(item.lines["year"], "year must be a year such as 2026")
        return Threshold(name, number, self.string(item, "source"), year, self.string(item, "note"))

    def expression(self, parent: _Map, derived: bool) -> Expression:
        line = parent.lines["when"]
        try:
            expression = compile_expression(self.string(parent, "when"))
        except ExpressionError as error:
            raise self.fail(line, str(error)) from None
        for name in sorted(expression.names):
            self.known_name(name, line, derived)
        for name, values in expression.literals.items():
            allowed = self.allowed_literals(name)
            wrong = sorted(repr(v) for v in values if allowed is not None and v not in allowed)
            if wrong:
                choices = ", ".join(sorted(repr(v) for v in allowed or ()))
                raise self.fail(line, "{} is never {} (it is one of {})".format(name, ", ".join(wrong), choices))
        return expression

    def known_name(self, name: str, line: int, derived: bool = False) -> None:
        if name.startswith("threshold."):
            if name.removeprefix("threshold.") not in self.thresholds:
                raise self.fail(line, "unknown threshold {!r} (defined: {})".format(name, ", ".join(self.thresholds)))
        elif name in DERIVED:
            if not derived:
                raise self.fail(line, "{!r} can only be read by recommended_service rules".format(name))
        elif name not in self.vocabulary:
            raise self.fail(line, "{!r} is not a question of the questionnaire".format(name))

    def allowed_literals(self, name: str) -> frozenset[Any] | None:
        if name == "triage.urgency":
            return frozenset(URGENCY_LEVELS)
        if name in DERIVED:
            return frozenset(self.measure_codes)
        if name.startswith("threshold."):
            return None
        return self.vocabulary.get(name)

    def rule(self, value: Any, line: int, kind: str = "condition") -> Rule:
        """A row; ``kind`` is ``condition``, ``resources`` (has ``value``), ``case`` or ``service``."""
        extra = {"resources": {"value"}, "case": {"points"}, "service": {"service"}}.get(kind, set())
        item = self.mapping(value, line, {"id", "when", "text"} | extra, {"source", "params"})
        derived = kind == "service"
        rule_id = self.rule_id(item)
        params: dict[str, str] = {}
        if "params" in item:
            raw = self.named(item, "params")
            for key, name in raw.items():
                if not isinstance(name, str):
                    raise self.fail(raw.lines[key], "param {!r} must name a threshold or a question".format(key))
                self.known_name(name, raw.lines[key], derived)
                params[str(key)] = name
        text = self.text(item, "text", set(params) | AUTO_PARAMS.get(kind, set()))
        source = self.string(item, "source") if item.get("source") is not None else None
        outcome, points = None, 0
        if kind == "resources":
            outcome = item["value"]
            if outcome not in RANKS:
                raise self.fail(item.lines["value"], "value must be high or low")
        elif kind == "service":
            outcome = self.string(item, "service", _CODE)
        elif kind == "case":
            points = item["points"]
            if not isinstance(points, int) or isinstance(points, bool) or points < 0:
                raise self.fail(item.lines["points"], "points must be a whole number of zero or more")
        return Rule(rule_id, self.expression(item, derived), text, source, params, outcome, points)

    def text(self, parent: _Map, key: str, params: set[str]) -> str:
        text = self.string(parent, key)
        unknown = sorted(set(_PLACEHOLDER.findall(text)) - params)
        if unknown:
            raise self.fail(parent.lines[key], "placeholder %({})s has no param".format(unknown[0]))
        try:
            text % {name: "x" for name in params}
        except (KeyError, ValueError, TypeError):
            raise self.fail(parent.lines[key], "only %(name)s placeholders may be used (write %% for a percent sign)")
        return text


def load_file(path: Path, vocabulary: Vocabulary) -> Rules:
    """Read and check ``path`` against the questions in ``vocabulary``."""
    reader = _Reader(path, vocabulary)
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_Loader)  # a SafeLoader that also records lines
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise RulesError(path, (mark.line + 1) if mark else 1, "not valid YAML: {}".format(error.problem)) from None
    sections = {"version", "thresholds", "urgency", "measures", "quadrant", "recommended_service"}
    top = reader.mapping(data, 1, sections, {"never_missing", "unknown_when_not_asked"})
    version = top["version"]
    if not isinstance(version, str) or not version.strip():
        raise reader.fail(top.lines["version"], 'version must be a quoted text, such as "2026.1"')
    thresholds = reader.named(top, "thresholds")
    for name, value in thresholds.items():
        reader.thresholds[name] = reader.threshold(name, value, thresholds.lines[name])
    never, unknown = reader.question_list(top, "never_missing"), reader.question_list(top, "unknown_when_not_asked")
    levels = _urgency(reader, top)
    measures = _measures(reader, top)
    quadrant = reader.mapping(top["quadrant"], top.lines["quadrant"], {"resources", "potential", "pathways"})
    potential = reader.mapping(quadrant["potential"], quadrant.lines["potential"], {"high_from", "text", "factors"})
    high_from = reader.string(potential, "high_from")
    if high_from not in reader.thresholds:
        raise reader.fail(potential.lines["high_from"], "unknown threshold {!r}".format(high_from))
    service = reader.mapping(top["recommended_service"], top.lines["recommended_service"], {"rules", "default"})
    default = reader.mapping(service["default"], service.lines["default"], {"service", "text"})
    return Rules(
        version=version,
        path=str(path),
        thresholds=dict(reader.thresholds),
        urgency=levels,
        measures=measures,
        resources=tuple(reader.rule(v, line, "resources") for v, line in reader.items(quadrant, "resources")),
        potential=_factors(reader, potential),
        potential_high=high_from,
        potential_text=reader.text(potential, "text", AUTO_PARAMS["total"]),
        pathways=_pathways(reader, quadrant),
        services=tuple(reader.rule(v, line, "service") for v, line in reader.items(service, "rules")),
        default_service=reader.string(default, "service", _CODE),
        default_service_text=reader.text(default, "text", set()),
        never_missing=never,
        unknown_when_not_asked=unknown,
        questions=tuple(vocabulary),
    )


def _urgency(reader: _Reader, top: _Map) -> tuple[Level, ...]:
    section = reader.mapping(top["urgency"], top.lines["urgency"], set(URGENCY_LEVELS))
    levels = []
    for code in URGENCY_LEVELS:
        if code == "standard":  # the default: no rules, one sentence saying nothing urgent showed
            item = reader.mapping(section[code], section.lines[code], {"label", "text"})
            levels.append(Level(code, reader.string(item, "label"), (), reader.text(item, "text", set())))
        else:
            item = reader.mapping(section[code], section.lines[code], {"label", "rules"})
            rules = tuple(reader.rule(value, line) for value, line in reader.items(item, "rules"))
            levels.append(Level(code, reader.string(item, "label"), rules, None))
    return tuple(levels)


def _measures(reader: _Reader, top: _Map) -> tuple[MeasureRules, ...]:
    measures = []
    for value, line in reader.items(top, "measures"):
        item = reader.mapping(value, line, {"code", "label", "conditions"}, {"source"})
        code = reader.string(item, "code", _CODE)
        if code in reader.measure_codes:
            raise reader.fail(item.lines["code"], "duplicate measure {!r}".format(code))
        reader.measure_codes.add(code)
        source = reader.string(item, "source") if item.get("source") is not None else None
        conditions = tuple(reader.rule(v, at) for v, at in reader.items(item, "conditions"))
        measures.append(MeasureRules(code, reader.string(item, "label"), source, conditions))
    return tuple(measures)


def _factors(reader: _Reader, potential: _Map) -> tuple[Factor, ...]:
    factors = []
    for value, line in reader.items(potential, "factors"):
        item = reader.mapping(value, line, {"id", "cases"})
        factor_id = reader.rule_id(item)
        factors.append(Factor(factor_id, tuple(reader.rule(v, at, "case") for v, at in reader.items(item, "cases"))))
    return tuple(factors)


def _pathways(reader: _Reader, quadrant: _Map) -> tuple[Pathway, ...]:
    pathways: dict[tuple[str, str], Pathway] = {}
    for value, line in reader.items(quadrant, "pathways"):
        item = reader.mapping(value, line, {"resources", "potential", "pathway", "label", "pathway_text"})
        for key in ("resources", "potential"):
            if item[key] not in RANKS:
                raise reader.fail(item.lines[key], "{} must be high or low".format(key))
        key = (item["resources"], item["potential"])
        if key in pathways:
            raise reader.fail(line, "a second pathway for resources {} and potential {}".format(*key))
        code = reader.string(item, "pathway", _CODE)
        if code in {p.code for p in pathways.values()}:
            raise reader.fail(item.lines["pathway"], "duplicate pathway {!r}".format(code))
        text = reader.text(item, "pathway_text", set())
        pathways[key] = Pathway(key[0], key[1], code, reader.string(item, "label"), text)
    gaps = [k for k in ((r, p) for r in RANKS for p in RANKS) if k not in pathways]
    if gaps:
        raise reader.fail(quadrant.lines["pathways"], "no pathway for resources {} and potential {}".format(*gaps[0]))
    return tuple(pathways.values())

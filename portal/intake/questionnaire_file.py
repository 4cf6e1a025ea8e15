"""Reading one questionnaire file: YAML with line numbers, checked before anything uses it.

The people who edit these files are not programmers, so every mistake is reported as
``<file>:<line>: <reason>``, with the reason in words (a misspelt key, an option code
that a ``show_if`` compares with but no option has, a condition on a later question).
Lines come from the YAML nodes: the loader records where each mapping and key starts.

Values are read with YAML's usual rules, so ``no``/``yes`` unquoted are booleans; an
option code or label written that way is refused with a hint to quote it (an unquoted
label would also be skipped by the catalog extractor, which wants strings).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Any

import yaml

from portal.config import LANGUAGES
from portal.intake.expressions import FUNCTIONS, ExpressionError, compile_expression
from portal.intake.questionnaire import (
    CHANNEL,
    CHANNEL_CODES,
    CHOICE_TYPES,
    CODE_QUESTIONS,
    ROW_TYPES,
    TYPES,
    Option,
    Question,
    Questionnaire,
    QuestionnaireError,
    Section,
)

_KEYS = {
    "top": ({"version", "sections"}, {"version", "sections"}),
    "section": ({"id", "title", "intro", "questions"}, {"id", "title", "questions"}),
    "question": (
        {
            "id", "type", "label", "help", "options", "options_from", "required", "show_if", "sensitive",
            "skippable", "min", "max", "max_length", "fields", "agreement",
        },
        {"id", "type", "label"},
    ),
    "option": ({"code", "label", "exclusive"}, {"code", "label"}),
}
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CODE = re.compile(r"[a-z0-9][a-z0-9_]*")
_VERSION = re.compile(r"\d+(\.\d+)*")
#: Where options can come from instead of the file.
OPTION_SOURCES = ("languages",)


class _Problem(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


class _Mapping(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers its line and the line of each key."""

    line: int
    lines: dict[str, int]

    def at(self, key: str) -> int:
        return self.lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line, mapping.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise _Problem(line, "keys must be words, not {!r}".format(key))
        if key in mapping:
            raise _Problem(line, "duplicate key '{}' (first at line {})".format(key, mapping.lines[key]))
        mapping[key] = loader.construct_object(value_node, deep=True)  # type: ignore[no-untyped-call]
        mapping.lines[key] = line
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_questionnaire(path: Path) -> Questionnaire:
    """Read and check ``path``; raise :class:`QuestionnaireError` naming line and reason."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (a SafeLoader)
        return _Reader(path).questionnaire(data)
    except _Problem as problem:
        raise QuestionnaireError(path, problem.line, problem.reason) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        raise QuestionnaireError(path, line, "not valid YAML: {}".format(error.problem or error.context)) from None
    except UnicodeDecodeError:
        raise QuestionnaireError(path, 0, "not UTF-8 text") from None


class _Reader:
    """Builds a :class:`Questionnaire` from one file's data, refusing anything doubtful."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[str, int] = {}

    def questionnaire(self, data: Any) -> Questionnaire:
        top = _mapping(data, 1, "the file")
        _check_keys(top, "top", "the file")
        version = top["version"]
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise _Problem(top.at("version"), "version must be a number in quotes, such as \"1\"")
        if self.path.stem != "v" + version:
            raise _Problem(top.at("version"), "version \"{}\" belongs in v{}.yaml".format(version, version))
        sections = [self.section(item, top.at("sections")) for item in _list(top, "sections")]
        ids = [s.id for s in sections]
        for section in sections:
            if ids.count(section.id) > 1:
                raise _Problem(top.at("sections"), "duplicate section id '{}'".format(section.id))
        questionnaire = Questionnaire(version, sections)
        self.check_branching(questionnaire)
        self.check_code_questions(questionnaire, top.at("sections"))
        return questionnaire

    def section(self, data: Any, line: int) -> Section:
        item = _mapping(data, line, "a section")
        _check_keys(item, "section", "a section")
        section_id = _name(item, "id", _NAME)
        questions = tuple(self.question(q, item.at("questions"), top_level=True) for q in _list(item, "questions"))
        return Section(section_id, _text(item, "title"), _text(item, "intro", required=False), questions)

    def question(self, data: Any, line: int, top_level: bool) -> Question:
        item = _mapping(data, line, "a question")
        _check_keys(item, "question", "a question")
        pattern = re.compile(r"{0}(\.{0})*".format(_NAME.pattern)) if top_level else _NAME
        question_id = _name(item, "id", pattern)
        if top_level:
            if question_id in self.lines:
                raise _Problem(item.at("id"), "duplicate question id '{}' (first at line {})".format(
                    question_id, self.lines[question_id]))
            self.lines[question_id] = item.at("id")
        kind = item["type"]
        allowed = TYPES if top_level else tuple(t for t in TYPES if t in ROW_TYPES)
        if kind not in allowed:
            raise _Problem(item.at("type"), "unknown type {!r} (known: {})".format(kind, ", ".join(allowed)))
        for key, types in (("min", {"integer"}), ("max", {"integer", "money", "group"}),
                           ("max_length", {"text"}), ("fields", {"group"}), ("agreement", {"yes_no"}),
                           ("options", CHOICE_TYPES), ("options_from", {"single_choice"})):
            if key in item and kind not in types:
                raise _Problem(item.at(key), "'{}' does not apply to a {} question".format(key, kind))
        if not top_level and "show_if" in item:
            raise _Problem(item.at("show_if"), "fields of a group cannot have 'show_if'")
        question = Question(
            id=question_id,
            type=kind,
            label=_text(item, "label"),
            help=_text(item, "help", required=False),
            options=self.options(item, kind),
            required=_flag(item, "required"),
            show_if=_expression(item),
            sensitive=_flag(item, "sensitive"),
            skippable=_flag(item, "skippable"),
            min=_number(item, "min"),
            max=_number(item, "max"),
            max_length=_number(item, "max_length"),
            fields=self.fields(item, question_id) if kind == "group" else (),
            agreement=_flag(item, "agreement"),
            line=item.at("id"),
        )
        if question.required and question.skippable:
            raise _Problem(item.at("skippable"), "a question cannot be both required and skippable")
        if question.min is not None and question.max is not None and question.min > question.max:
            raise _Problem(item.at("min"), "min is greater than max")
        if kind == "group" and question.max is None:
            raise _Problem(item.line, "a group needs 'max', the most rows a person may add")
        return question

    def options(self, item: _Mapping, kind: str) -> tuple[Option, ...]:
        if kind not in CHOICE_TYPES:
            return ()
        if "options_from" in item:
            if "options" in item or item["options_from"] not in OPTION_SOURCES:
                raise _Problem(item.at("options_from"), "options_from must be one of: {} (and no 'options')".format(
                    ", ".join(OPTION_SOURCES)))
            from portal.i18n import SHIPPED

            return tuple(Option(code=lang.code, label=lang.autonym, lang=lang.html_lang) for lang in SHIPPED)
        if "options" not in item:
            raise _Problem(item.line, "a {} question needs 'options'".format(kind))
        options: list[Option] = []
        for data in _list(item, "options"):
            option = _mapping(data, item.at("options"), "an option")
            _check_keys(option, "option", "an option")
            code = option["code"]
            if not isinstance(code, str):
                raise _Problem(option.at("code"), "option code {!r} must be text: put it in quotes".format(code))
            if not _CODE.fullmatch(code):
                raise _Problem(option.at("code"), "option code {!r} may hold only a-z, 0-9 and _".format(code))
            if code in {o.code for o in options}:
                raise _Problem(option.at("code"), "duplicate option code '{}'".format(code))
            if "exclusive" in option and kind != "multiple_choice":
                raise _Problem(option.at("exclusive"), "'exclusive' applies only to multiple_choice")
            options.append(Option(code=code, label=_text(option, "label"), exclusive=_flag(option, "exclusive")))
        if len(options) < 2:
            raise _Problem(item.at("options"), "a choice needs at least two options")
        return tuple(options)

    def fields(self, item: _Mapping, group_id: str) -> tuple[Question, ...]:
        rows = tuple(self.question(f, item.at("fields"), top_level=False) for f in _list(item, "fields"))
        ids = [f.id for f in rows]
        if len(set(ids)) != len(ids):
            raise _Problem(item.at("fields"), "duplicate field id in group '{}'".format(group_id))
        return rows

    def check_branching(self, questionnaire: Questionnaire) -> None:
        """``show_if`` may read only earlier questions, and compare them with values they can have."""
        order = list(questionnaire.questions)
        for position, question in enumerate(questionnaire.questions.values()):
            condition = question.show_if
            if condition is None:
                continue
            for name in sorted(condition.names):
                if name == question.id:
                    raise _Problem(question.line, "show_if of '{}' refers to itself".format(name))
                if name in order[position:]:
                    raise _Problem(question.line, "show_if of '{}' refers to '{}', which is asked later".format(
                        question.id, name))
                if name not in questionnaire.questions:
                    raise _Problem(question.line, "show_if of '{}' refers to '{}', which is not a question".format(
                        question.id, name))
            for name, values in condition.literals.items():
                target = questionnaire.questions[name]
                for value in sorted(values, key=repr):
                    if not _comparable(target, value):
                        raise _Problem(question.line, "show_if of '{}' compares '{}' with {!r}, {}".format(
                            question.id, name, value, _expected(target)))

    def check_code_questions(self, questionnaire: Questionnaire, line: int) -> None:
        """The questions the portal's code reads by id must be there, with the expected types."""
        for question_id, kind in CODE_QUESTIONS.items():
            question = questionnaire.questions.get(question_id)
            if question is None:
                raise _Problem(line, "every version needs the question '{}' ({})".format(question_id, kind))
            if question.type != kind:
                raise _Problem(question.line, "'{}' must be of type {}".format(question_id, kind))
        channel_codes = {o.code for o in questionnaire.questions[CHANNEL].options}
        if not CHANNEL_CODES <= channel_codes:
            raise _Problem(questionnaire.questions[CHANNEL].line, "'{}' needs the options {}".format(
                CHANNEL, ", ".join(sorted(CHANNEL_CODES))))
        language = questionnaire.questions["contact.language"]
        if not {o.code for o in language.options} <= set(LANGUAGES):
            raise _Problem(language.line, "'contact.language' may offer only shipped languages")


def _comparable(question: Question, value: Any) -> bool:
    if question.type in CHOICE_TYPES:
        return value in {o.code for o in question.options}
    if question.type == "yes_no":
        return isinstance(value, bool)
    if question.type in ("integer", "money"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return question.type in ("text", "email", "phone", "codice_fiscale") and isinstance(value, str)


def _expected(question: Question) -> str:
    if question.type in CHOICE_TYPES:
        return "not one of its option codes ({})".format(", ".join(o.code for o in question.options))
    return "which a question of type {} never has".format(question.type)


def _mapping(value: Any, line: int, what: str) -> _Mapping:
    if not isinstance(value, _Mapping):
        raise _Problem(line, "{} must be a mapping of keys and values".format(what))
    return value


def _check_keys(item: _Mapping, kind: str, what: str) -> None:
    allowed, required = _KEYS[kind]
    for key in item:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise _Problem(item.at(key), "unknown key '{}' in {} (known: {})".format(key, what, known))
    for key in sorted(required - set(item)):
        raise _Problem(item.line, "{} needs '{}'".format(what, key))


def _list(item: _Mapping, key: str) -> list[Any]:
    value = item[key]
    if not isinstance(value, list) or not value:
        raise _Problem(item.at(key), "'{}' must be a list with at least one item".format(key))
    return value


def _name(item: _Mapping, key: str, pattern: re.Pattern[str]) -> str:
    value = item[key]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _Problem(item.at(key), "{} {!r} may hold only a-z, 0-9 and _ (and dots between words)".format(key, value))
    if value in FUNCTIONS or value == "today" or any(keyword.iskeyword(part) for part in value.split(".")):
        raise _Problem(item.at(key), "{} {!r} uses a reserved word".format(key, value))
    return value


def _text(item: _Mapping, key: str, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return None  # type: ignore[return-value]
    if not isinstance(value, str) or not value.strip():
        raise _Problem(item.at(key), "'{}' must be text (put it in quotes if it is yes, no, a number...)".format(key))
    return value


def _flag(item: _Mapping, key: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise _Problem(item.at(key), "'{}' must be true or false".format(key))
    return value


def _number(item: _Mapping, key: str) -> int | None:
    value = item.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise _Problem(item.at(key), "'{}' must be a whole number, 0 or more".format(key))
    return value


def _expression(item: _Mapping) -> Any:
    source = item.get("show_if")
    if source is None:
        return None
    if not isinstance(source, str):
        raise _Problem(item.at("show_if"), "show_if must be text, such as \"household.minors > 0\"")
    try:
        return compile_expression(source)
    except ExpressionError as error:
        raise _Problem(item.at("show_if"), "show_if: {}".format(error)) from None

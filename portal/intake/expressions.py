"""A small, safe expression language over answers, for ``show_if`` and triage rules.

Written in Python syntax so a coordinator can read it (``housing.situation == 'hosted'
and household.minors > 0``) but never run by Python: the text is parsed with :mod:`ast`,
every node is checked against a short whitelist, and a tiny interpreter walks the tree.
Names are question ids (``household.minors``) or constants the caller provides.

Unanswered questions make a result *unknown* (``None``) rather than false, with
three-valued logic (``False and unknown`` is ``False``, ``True or unknown`` is ``True``),
so triage can tell "not entitled" from "we would need to know your ISEE".
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

#: Functions an expression may call. Each receives the evaluation environment first.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    # Days from today to a date (negative when it is past); ``today`` comes from the caller.
    "days_until": lambda env, value: (value - env["today"]).days,
    "count": lambda env, value: len(value),
}

#: Dotted lower-case identifiers: ``household.minors``, ``threshold.isee_erp``.
_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class ExpressionError(ValueError):
    """The text is not a valid expression; ``column`` is 0-based within the text."""

    def __init__(self, source: str, reason: str, column: int | None = None) -> None:
        where = "" if column is None else " (at column {})".format(column + 1)
        super().__init__("{}{}: {!r}".format(reason, where, source))
        self.reason = reason
        self.column = column


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready to evaluate any number of times."""

    source: str
    tree: ast.expr = field(repr=False, compare=False)
    #: Every dotted name the expression reads.
    names: frozenset[str]
    #: Name → the literal values it is compared with (``==``, ``!=``, ``in``), so a
    #: loader can check them against a question's option codes.
    literals: Mapping[str, frozenset[Any]] = field(compare=False)

    def evaluate(self, env: Mapping[str, Any]) -> bool | None:
        """True, False, or None when an answer it needs is missing."""
        value = _eval(self.tree, env)
        return None if value is None else bool(value)


def compile_expression(source: str) -> Expression:
    """Parse and check ``source``; raise :class:`ExpressionError` naming what is wrong."""
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as error:
        raise ExpressionError(source, "not a valid expression", (error.offset or 1) - 1) from None
    names: set[str] = set()
    literals: dict[str, set[Any]] = {}
    _check(tree, source, names, literals)
    return Expression(
        source=source, tree=tree, names=frozenset(names), literals={k: frozenset(v) for k, v in literals.items()}
    )


def dotted_name(node: ast.expr) -> str | None:
    """``household.minors`` for the Attribute chain Python parses it into, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        if isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
            return -node.operand.value
    raise LookupError


def _literals_of(node: ast.expr) -> list[Any] | None:
    try:
        if isinstance(node, (ast.List, ast.Tuple)):
            return [_literal(element) for element in node.elts]
        return [_literal(node)]
    except LookupError:
        return None


def _check(node: ast.expr, source: str, names: set[str], literals: dict[str, set[Any]]) -> None:
    column = getattr(node, "col_offset", None)
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, source, names, literals)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        _check(node.operand, source, names, literals)
    elif isinstance(node, ast.Compare):
        if not all(type(op) in _COMPARE for op in node.ops):
            raise ExpressionError(source, "unsupported comparison", column)
        operands = [node.left, *node.comparators]
        for operand in operands:
            _check(operand, source, names, literals)
        for left, right in zip(operands, operands[1:]):
            for name_node, other in ((left, right), (right, left)):
                name = dotted_name(name_node)
                values = _literals_of(other)
                if name is not None and values is not None:
                    literals.setdefault(name, set()).update(values)
    elif isinstance(node, (ast.Attribute, ast.Name)):
        name = dotted_name(node)
        if name is None or not _NAME.fullmatch(name):
            raise ExpressionError(source, "only question ids and constants may be named", column)
        if name in FUNCTIONS:
            raise ExpressionError(source, "'{}' is a function".format(name), column)
        names.add(name)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise ExpressionError(source, "unknown function (known: {})".format(", ".join(FUNCTIONS)), column)
        if len(node.args) != 1:
            raise ExpressionError(source, "'{}' takes one argument".format(node.func.id), column)
        _check(node.args[0], source, names, literals)
    elif isinstance(node, (ast.List, ast.Tuple)):
        if _literals_of(node) is None:
            raise ExpressionError(source, "a list may hold only constants", column)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (str, int, float, bool)):
            raise ExpressionError(source, "unsupported constant", column)
    else:
        raise ExpressionError(source, "unsupported syntax ({})".format(type(node).__name__), column)


def _eval(node: ast.expr, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.BoolOp):
        results = [_eval(value, env) for value in node.values]
        if isinstance(node.op, ast.And):
            if any(r is not None and not r for r in results):
                return False
            return None if any(r is None for r in results) else True
        if any(r is not None and r for r in results):
            return True
        return None if any(r is None for r in results) else False
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, env)
        if operand is None:
            return None
        return (not operand) if isinstance(node.op, ast.Not) else -operand
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        result: bool | None = True
        for op, comparator in zip(node.ops, node.comparators):
            right = _eval(comparator, env)
            if left is None or right is None:
                result = None
            elif result is not None:
                try:
                    outcome = _COMPARE[type(op)](left, right)
                except TypeError:  # e.g. a date compared with a number: not knowable, not a crash
                    return None
                if not outcome:
                    return False
            left = right
        return result
    if isinstance(node, (ast.Attribute, ast.Name)):
        return env.get(dotted_name(node) or "")
    if isinstance(node, ast.Call):
        argument = _eval(node.args[0], env)
        if argument is None:
            return None
        return FUNCTIONS[node.func.id](env, argument)  # type: ignore[attr-defined]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(element, env) for element in node.elts]
    if isinstance(node, ast.Constant):
        return node.value
    raise AssertionError("unchecked node")  # _check admits nothing else

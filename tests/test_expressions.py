"""The expression language of show_if and triage rules: readable, safe, honest about unknowns."""

from __future__ import annotations

from datetime import date

import pytest

from portal.intake.expressions import ExpressionError, compile_expression

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ("household.minors > 0", {"household.minors": 2}, True),
        ("household.minors > 0", {"household.minors": 0}, False),
        ("household.minors > 0", {}, None),
        ("housing.situation in ['homeless', 'emergency_shelter']", {"housing.situation": "homeless"}, True),
        ("housing.situation not in ('owner',)", {"housing.situation": "owner"}, False),
        ("'overcrowded' in housing.problems", {"housing.problems": ["unfit", "overcrowded"]}, True),
        ("'overcrowded' in housing.problems", {"housing.problems": []}, False),
        ("not residence.in_comune", {"residence.in_comune": False}, True),
        ("days_until(housing.eviction_date) <= 7", {"housing.eviction_date": date(2026, 11, 29)}, True),
        ("days_until(housing.eviction_date) <= 7", {"housing.eviction_date": date(2026, 11, 30)}, False),
        ("count(household.members) >= 2", {"household.members": [{}, {}]}, True),
        ("0 < household.adults <= 2", {"household.adults": 3}, False),
        ("income.monthly_net == -1", {"income.monthly_net": -1}, True),
    ],
)
def test_expressions_read_answers_like_a_coordinator_would(source: str, answers: dict, expected: bool | None) -> None:
    assert compile_expression(source).evaluate({"today": TODAY, **answers}) is expected


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        # False wins over unknown in "and"; True wins over unknown in "or".
        ("income.isee <= 16500 and housing.situation == 'owner'", {"housing.situation": "hosted"}, False),
        ("income.isee <= 16500 and housing.situation == 'owner'", {"housing.situation": "owner"}, None),
        ("income.isee <= 16500 or residence.in_comune", {"residence.in_comune": True}, True),
        ("income.isee <= 16500 or residence.in_comune", {"residence.in_comune": False}, None),
        ("not income.isee_unknown", {}, None),
        # A comparison between things that cannot be compared is unknown, not a crash.
        ("housing.eviction_date < 5", {"housing.eviction_date": TODAY}, None),
    ],
)
def test_missing_answers_make_the_result_unknown_not_false(source: str, answers: dict, expected: bool | None) -> None:
    assert compile_expression(source).evaluate(answers) is expected


def test_an_expression_lists_the_answers_it_reads_and_the_codes_it_compares_with() -> None:
    expression = compile_expression("housing.situation in ['hosted', 'homeless'] and 'unfit' in housing.problems")
    assert expression.names == {"housing.situation", "housing.problems"}
    assert expression.literals["housing.situation"] == {"hosted", "homeless"}
    assert expression.literals["housing.problems"] == {"unfit"}


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "household.minors.__class__",
        "(1).real",
        "[x for x in household.members]",
        "household.members[0]",
        "lambda: 1",
        "household.minors if True else 0",
        "household.minors + 1 > 2",
        "household.minors is None",
        "days_until(a, b)",
        "days_until",
        "f'{household.minors}'",
        "household.minors >",
    ],
)
def test_anything_beyond_the_small_language_is_refused_before_it_runs(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source)


def test_a_refusal_says_where_and_why() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("household.members[0] > 1")
    assert "Subscript" in caught.value.reason
    assert caught.value.column == 0

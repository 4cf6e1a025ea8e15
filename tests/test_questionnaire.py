"""The questionnaire as data: version 1's branches, what submitting needs, the API's
answers, storage, broken files stopping start-up, and its texts reaching the catalogs."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from portal.config import LANGUAGES
from portal.i18n import SHIPPED
from portal.intake.questionnaire import (
    QUESTIONNAIRES_DIR,
    Questionnaire,
    QuestionnaireError,
    current,
    get,
    load_questionnaires,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def questionnaire() -> Questionnaire:
    return current()


#: Enough to submit: the required answers of someone renting privately, not evicted.
COMPLETE: dict[str, Any] = {
    "household.adults": 1,
    "household.minors": 2,
    "housing.situation": "private_rent",
    "housing.eviction": "none",
    "work.status": "unemployed",
    "residence.in_comune": True,
    "contact.first_name": "Amina",
    "contact.last_name": "Rahman",
    "contact.phone": "+393331234567",
    "contact.language": "bn",
    "contact.channel": "sms",
    "consent.privacy_acknowledged": True,
}


# --- version 1 -------------------------------------------------------------------------------------


def test_version_1_is_shipped_and_is_the_current_one() -> None:
    assert get("1").version == "1"
    assert current() is get("1")
    with pytest.raises(KeyError):
        get("99")


def test_version_1_asks_the_questions_the_rest_of_the_portal_reads(questionnaire: Questionnaire) -> None:
    expected_types = {
        "household.adults": "integer", "household.minors": "integer", "household.members_over_60": "integer",
        "household.disabled_members": "integer", "household.single_parent": "yes_no",
        "housing.situation": "single_choice", "housing.eviction": "single_choice", "housing.eviction_date": "date",
        "housing.eviction_cause": "single_choice", "housing.arrears_cause": "single_choice",
        "housing.problems": "multiple_choice", "housing.registered_lease": "single_choice",
        "housing.monthly_rent": "money", "income.isee": "money", "income.isee_unknown": "yes_no",
        "income.monthly_net": "money", "work.status": "single_choice", "residence.in_comune": "yes_no",
        "residence.works_in_comune": "yes_no", "residence.years_in_italy": "integer",
        "potential.skills": "multiple_choice", "potential.italian_level": "single_choice",
        "potential.support_network": "single_choice", "potential.training_interest": "yes_no",
        "safety.violence": "single_choice", "safety.safe_to_contact": "yes_no", "safety.safe_hours": "multiple_choice",
        "contact.first_name": "text", "contact.last_name": "text", "contact.phone": "phone", "contact.email": "email",
        "contact.codice_fiscale": "codice_fiscale", "contact.language": "single_choice",
        "contact.channel": "single_choice", "consent.privacy_acknowledged": "yes_no", "consent.whatsapp": "yes_no",
        "household.members": "group",
    }
    assert {qid: questionnaire.questions[qid].type for qid in expected_types} == expected_types
    codes = {qid: [o.code for o in q.options] for qid, q in questionnaire.questions.items()}
    assert codes["housing.situation"] == [
        "homeless", "emergency_shelter", "hosted", "private_rent", "erp_tenant", "owner", "other"]
    assert codes["housing.eviction"] == ["none", "notice_received", "eviction_validated", "eviction_scheduled"]
    assert codes["housing.eviction_cause"] == ["arrears", "lease_end", "other"]
    assert codes["housing.arrears_cause"] == [
        "job_loss", "reduced_hours", "fixed_term_not_renewed", "business_closure", "illness_or_injury",
        "death_in_household", "other"]
    assert codes["housing.problems"] == ["overcrowded", "unfit", "architectural_barriers", "too_expensive", "none"]
    assert codes["housing.registered_lease"] == ["yes", "no", "unknown"]
    assert codes["work.status"] == [
        "employed_permanent", "employed_temporary", "self_employed", "unemployed", "unable_to_work", "retired",
        "student"]
    assert codes["contact.channel"] == ["sms", "whatsapp", "email", "phone_call"]
    assert codes["contact.language"] == list(LANGUAGES)


def test_one_page_per_section_in_order(questionnaire: Questionnaire) -> None:
    assert [s.id for s in questionnaire.sections] == [
        "household", "housing", "income_work", "residence", "potential", "safety", "contact"]
    assert questionnaire.section_of("income.isee").id == "income_work"


def test_the_violence_question_is_sensitive_and_can_be_skipped(questionnaire: Questionnaire) -> None:
    violence = questionnaire.questions["safety.violence"]
    assert violence.sensitive and violence.skippable and not violence.required
    assert [q.id for q in questionnaire.questions.values() if q.sensitive] == ["safety.violence"]


def test_languages_are_offered_in_their_own_names_and_never_translated(questionnaire: Questionnaire) -> None:
    options = questionnaire.questions["contact.language"].options
    assert [(o.code, o.label, o.lang) for o in options] == [(s.code, s.autonym, s.html_lang) for s in SHIPPED]
    assert options[0].label == "Italiano"


# --- branching: every show_if, both ways ------------------------------------------------------------

BRANCHES: list[tuple[str, dict[str, Any], bool]] = [
    ("household.single_parent", {"household.minors": 2}, True),
    ("household.single_parent", {"household.minors": 0}, False),
    ("housing.eviction", {"housing.situation": "private_rent"}, True),
    ("housing.eviction", {"housing.situation": "hosted"}, True),
    ("housing.eviction", {"housing.situation": "homeless"}, False),
    ("housing.eviction", {"housing.situation": "emergency_shelter"}, False),
    ("housing.eviction_date", {"housing.situation": "erp_tenant", "housing.eviction": "notice_received"}, True),
    ("housing.eviction_date", {"housing.situation": "erp_tenant", "housing.eviction": "none"}, False),
    # A stale answer to a question that is itself hidden decides nothing.
    ("housing.eviction_date", {"housing.situation": "homeless", "housing.eviction": "eviction_scheduled"}, False),
    ("housing.eviction_cause", {"housing.situation": "private_rent", "housing.eviction": "eviction_validated"}, True),
    ("housing.eviction_cause", {"housing.situation": "private_rent", "housing.eviction": "none"}, False),
    ("housing.arrears_cause",
     {"housing.situation": "private_rent", "housing.eviction": "notice_received", "housing.eviction_cause": "arrears"},
     True),
    ("housing.arrears_cause",
     {"housing.situation": "private_rent", "housing.eviction": "notice_received",
      "housing.eviction_cause": "lease_end"},
     False),
    ("housing.arrears_cause",
     {"housing.situation": "private_rent", "housing.eviction": "none", "housing.eviction_cause": "arrears"}, False),
    ("housing.problems", {"housing.situation": "hosted"}, True),
    ("housing.problems", {"housing.situation": "homeless"}, False),
    ("housing.registered_lease", {"housing.situation": "private_rent"}, True),
    ("housing.registered_lease", {"housing.situation": "erp_tenant"}, False),
    ("housing.monthly_rent", {"housing.situation": "private_rent"}, True),
    ("housing.monthly_rent", {"housing.situation": "owner"}, False),
    ("income.isee", {"income.isee_unknown": False}, True),
    ("income.isee", {"income.isee_unknown": True}, False),
    ("residence.works_in_comune", {"work.status": "self_employed"}, True),
    ("residence.works_in_comune", {"work.status": "unemployed"}, False),
    ("safety.safe_hours", {"safety.safe_to_contact": True}, True),
    ("safety.safe_hours", {"safety.safe_to_contact": False}, False),
    ("consent.whatsapp", {"contact.channel": "whatsapp"}, True),
    ("consent.whatsapp", {"contact.channel": "email"}, False),
]


@pytest.mark.parametrize(("question_id", "answers", "shown"), BRANCHES)
def test_each_branch_shows_or_hides_its_question(
    questionnaire: Questionnaire, question_id: str, answers: dict[str, Any], shown: bool
) -> None:
    assert questionnaire.visible(question_id, answers) is shown
    page = questionnaire.section_of(question_id).id
    assert (question_id in [q.id for q in questionnaire.visible_questions(page, answers)]) is shown


def test_every_condition_in_the_file_is_tested_both_ways(questionnaire: Questionnaire) -> None:
    conditional = {q.id for q in questionnaire.questions.values() if q.show_if is not None}
    assert {qid for qid, _a, shown in BRANCHES if shown} == conditional
    assert {qid for qid, _a, shown in BRANCHES if not shown} == conditional


def test_follow_up_questions_stay_visible_until_an_answer_rules_them_out(questionnaire: Questionnaire) -> None:
    """Without JavaScript a page shows a follow-up next to the question that decides it."""
    shown = [q.id for q in questionnaire.visible_questions("housing", {})]
    assert shown == [q.id for q in questionnaire.sections[1].questions]
    homeless = [q.id for q in questionnaire.visible_questions("housing", {"housing.situation": "homeless"})]
    assert homeless == ["housing.situation"]


def test_prune_drops_answers_that_no_longer_apply(questionnaire: Questionnaire) -> None:
    answers = {
        "housing.situation": "owner",
        "housing.eviction": "none",
        "housing.eviction_date": date(2026, 5, 1),
        "housing.eviction_cause": "arrears",
        "housing.arrears_cause": "job_loss",
        "housing.monthly_rent": Decimal("500.00"),
        "income.isee_unknown": True,
        "income.isee": Decimal("9000.00"),
        "no.such_question": 1,
    }
    assert questionnaire.prune(answers) == {
        "housing.situation": "owner", "housing.eviction": "none", "income.isee_unknown": True}


# --- what submitting needs --------------------------------------------------------------------------


def _without(*ids: str) -> dict[str, Any]:
    return {k: v for k, v in COMPLETE.items() if k not in ids}


MISSING: list[tuple[str, dict[str, Any], list[str]]] = [
    ("a complete intake", COMPLETE, []),
    ("nothing yet", {}, [
        "household.adults", "household.minors", "housing.situation", "work.status", "residence.in_comune",
        "contact.first_name", "contact.last_name", "contact.phone", "contact.language", "contact.channel",
        "consent.privacy_acknowledged"]),
    ("a renter who has not said about eviction", _without("housing.eviction"), ["housing.eviction"]),
    ("an eviction notice without its date and cause", {**COMPLETE, "housing.eviction": "notice_received"},
     ["housing.eviction_date", "housing.eviction_cause"]),
    ("eviction for arrears without their cause",
     {**COMPLETE, "housing.eviction": "eviction_scheduled", "housing.eviction_date": date(2026, 4, 2),
      "housing.eviction_cause": "arrears"}, ["housing.arrears_cause"]),
    ("eviction at the end of the lease, fully told",
     {**COMPLETE, "housing.eviction": "eviction_validated", "housing.eviction_date": date(2026, 4, 2),
      "housing.eviction_cause": "lease_end"}, []),
    ("someone sleeping rough is not asked about eviction",
     {**_without("housing.eviction"), "housing.situation": "homeless"}, []),
    ("an e-mail address is enough for e-mail",
     {**_without("contact.phone"), "contact.email": "a@example.org", "contact.channel": "email"}, []),
    ("text messages need a phone", {**_without("contact.phone"), "contact.email": "a@example.org"}, ["contact.phone"]),
    ("phone calls need a phone", {**_without("contact.phone"), "contact.channel": "phone_call"}, ["contact.phone"]),
    ("e-mail needs an address", {**COMPLETE, "contact.channel": "email"}, ["contact.email"]),
    ("no phone and no e-mail", _without("contact.phone", "contact.channel"), ["contact.phone", "contact.channel"]),
    ("privacy notice not acknowledged", {**COMPLETE, "consent.privacy_acknowledged": False},
     ["consent.privacy_acknowledged"]),
    ("no first name", _without("contact.first_name"), ["contact.first_name"]),
    ("no children given", _without("household.minors"), ["household.minors"]),
]


@pytest.mark.parametrize(("case", "answers", "missing"), MISSING, ids=[case for case, _a, _m in MISSING])
def test_what_is_still_missing_before_submitting(
    questionnaire: Questionnaire, case: str, answers: dict[str, Any], missing: list[str]
) -> None:
    assert questionnaire.missing_for_submit(answers) == missing


def test_optional_questions_never_block_submitting(questionnaire: Questionnaire) -> None:
    required = {"household.adults", "household.minors", "housing.situation", "housing.eviction",
                "housing.eviction_date", "housing.eviction_cause", "housing.arrears_cause", "work.status",
                "residence.in_comune", "contact.first_name", "contact.last_name", "contact.language",
                "contact.channel", "consent.privacy_acknowledged"}
    assert {q.id for q in questionnaire.questions.values() if q.required} == required


# --- the API's answers (JSON) -----------------------------------------------------------------------


def test_the_api_can_send_every_kind_of_answer(questionnaire: Questionnaire) -> None:
    parsed = questionnaire.parse_json({
        "household.adults": 2,
        "household.members": [{"relation": "child", "age": 4, "disabled": False}],
        "housing.situation": "private_rent",
        "housing.eviction": "notice_received",
        "housing.eviction_date": "2026-06-30",
        "housing.problems": ["unfit", "overcrowded"],
        "housing.monthly_rent": 650.5,
        "income.isee": 0,
        "contact.phone": "+40 712 345 678",
        "contact.codice_fiscale": "rssmra85t10a562s",
        "contact.channel": "whatsapp",
        "consent.whatsapp": True,
        "safety.violence": None,
    })
    assert parsed.errors == {}
    assert parsed.values == {
        "household.adults": 2,
        "household.members": [{"relation": "child", "age": 4, "disabled": False}],
        "housing.situation": "private_rent",
        "housing.eviction": "notice_received",
        "housing.eviction_date": date(2026, 6, 30),
        "housing.problems": ["overcrowded", "unfit"],
        "housing.monthly_rent": Decimal("650.50"),
        "income.isee": Decimal("0.00"),
        "contact.phone": "+40712345678",
        "contact.codice_fiscale": "RSSMRA85T10A562S",
        "contact.channel": "whatsapp",
        "consent.whatsapp": True,
        "safety.violence": None,
    }


def test_the_api_is_told_about_questions_that_do_not_exist(questionnaire: Questionnaire) -> None:
    parsed = questionnaire.parse_json({"household.adults": 2, "household.pets": 3, "housing": "x"})
    assert parsed.errors == {"household.pets": "There is no such question.", "housing": "There is no such question."}
    assert parsed.values == {"household.adults": 2}


def test_the_api_is_told_about_option_codes_that_do_not_exist(questionnaire: Questionnaire) -> None:
    parsed = questionnaire.parse_json({"housing.situation": "tent", "housing.problems": ["unfit", "mould"]})
    assert parsed.errors == {
        "housing.situation": "Choose one of the options.",
        "housing.problems": "Choose only from the options shown.",
    }


@pytest.mark.parametrize(
    ("question_id", "value", "message"),
    [
        ("household.adults", "2", "Enter a whole number, such as 2."),
        ("household.adults", 2.5, "Enter a whole number, such as 2."),
        ("household.adults", True, "Enter a whole number, such as 2."),
        ("housing.monthly_rent", "650", "Enter an amount in euros, such as 1.234,50."),
        ("housing.monthly_rent", -1, "Enter an amount of zero or more."),
        ("housing.eviction_date", "30/06/2026", "Enter a date such as 15/03/2026."),
        ("housing.eviction_date", "2026-02-30", "Enter a date that exists, such as 15/03/2026."),
        ("residence.in_comune", "yes", "Choose yes or no."),
        ("residence.in_comune", 1, "Choose yes or no."),
        ("housing.situation", 3, "Choose one of the options."),
        ("housing.problems", "unfit", "Choose only from the options shown."),
        ("contact.first_name", 12, "Enter your answer as text."),
        ("contact.email", ["a@example.org"], "Enter an e-mail address such as name@example.org."),
        ("household.members", {"relation": "child"}, "Enter a list of people."),
        ("household.members", ["child"], "Enter a list of people."),
    ],
)
def test_the_api_is_told_about_answers_of_the_wrong_json_type(
    questionnaire: Questionnaire, question_id: str, value: Any, message: str
) -> None:
    parsed = questionnaire.parse_json({question_id: value, "household.minors": 1})
    assert parsed.errors == {question_id: message}
    assert parsed.values == {"household.minors": 1}
    assert parsed.raw[question_id] == value


def test_the_api_is_told_about_bad_household_rows_by_row_and_field(questionnaire: Questionnaire) -> None:
    parsed = questionnaire.parse_json(
        {"household.members": [{"relation": "child", "age": 4}, {"relation": "cousin", "age": 30, "pet": "cat"}]}
    )
    assert parsed.errors == {
        "household.members.1.pet": "There is no such question.",
        "household.members.1.relation": "Choose one of the options.",
    }
    assert "household.members" not in parsed.values


def test_the_api_must_give_a_phone_for_text_messages(questionnaire: Questionnaire) -> None:
    parsed = questionnaire.parse_json({"contact.channel": "sms", "contact.email": "a@example.org"})
    assert parsed.errors == {"contact.channel": "To be contacted this way, also give your phone number."}


# --- storage ----------------------------------------------------------------------------------------


def test_answers_survive_a_round_trip_through_json_storage(questionnaire: Questionnaire) -> None:
    answers = {
        **COMPLETE,
        "household.members": [{"relation": "parent", "age": 70, "disabled": True}, {"relation": "child", "age": 3}],
        "housing.eviction": "eviction_scheduled",
        "housing.eviction_date": date(2026, 7, 1),
        "housing.eviction_cause": "arrears",
        "housing.arrears_cause": "reduced_hours",
        "housing.problems": ["overcrowded", "too_expensive"],
        "housing.monthly_rent": Decimal("1234.50"),
        "income.isee": Decimal("8000.00"),
        "contact.codice_fiscale": "RSSMRA85T10A562S",
    }
    stored = json.loads(json.dumps(questionnaire.dump(answers)))
    assert stored["housing.monthly_rent"] == 1234.5
    assert stored["income.isee"] == 8000
    assert stored["housing.eviction_date"] == "2026-07-01"
    loaded = questionnaire.load(stored)
    assert loaded == answers
    assert loaded["housing.monthly_rent"].as_tuple().exponent == -2


def test_stored_answers_are_valid_api_answers(questionnaire: Questionnaire) -> None:
    answers = {
        **COMPLETE,
        "housing.monthly_rent": Decimal("700.10"),
        "housing.eviction": "notice_received",
        "housing.eviction_date": date(2026, 1, 31),
        "housing.eviction_cause": "lease_end",
    }
    parsed = questionnaire.parse_json(questionnaire.dump(answers))
    assert parsed.errors == {} and parsed.values == answers


# --- broken files stop start-up ---------------------------------------------------------------------

BASE = """\
version: "1"
sections:
  - id: first
    title: First
    questions:
      - id: a.count
        type: integer
        label: How many?
      - id: a.kind
        type: single_choice
        label: Which one?
        options:
          - {code: one, label: One}
          - {code: two, label: Two}
#EXTRA
  - id: contact
    title: Contact
    questions:
      - {id: contact.first_name, type: text, label: First name}
      - {id: contact.last_name, type: text, label: Surname}
      - {id: contact.phone, type: phone, label: Phone}
      - {id: contact.email, type: email, label: E-mail address}
      - {id: contact.language, type: single_choice, label: Language, options_from: languages}
      - id: contact.channel
        type: single_choice
        label: Channel
        options:
          - {code: sms, label: SMS}
          - {code: whatsapp, label: WhatsApp}
          - {code: email, label: E-mail}
          - {code: phone_call, label: Phone call}
      - {id: consent.privacy_acknowledged, type: yes_no, label: I have read the notice, agreement: true}
"""


def write(tmp_path: Path, extra: str = "", text: str | None = None, name: str = "v1.yaml") -> tuple[Path, str]:
    content = BASE.replace("#EXTRA\n", extra) if text is None else text
    (tmp_path / name).write_text(content, encoding="utf-8")
    return tmp_path, content


def line_of(content: str, needle: str) -> int:
    return next(n for n, line in enumerate(content.splitlines(), start=1) if needle in line)


def broken(tmp_path: Path, extra: str = "", text: str | None = None) -> tuple[QuestionnaireError, str]:
    directory, content = write(tmp_path, extra, text)
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaires(directory)
    return caught.value, content


def test_the_minimal_file_used_below_is_itself_valid(tmp_path: Path) -> None:
    directory, _content = write(tmp_path)
    assert list(load_questionnaires(directory)) == ["1"]


def test_a_duplicate_question_id_names_its_line(tmp_path: Path) -> None:
    error, content = broken(tmp_path, "      - id: a.count\n        type: integer\n        label: Again\n")
    assert error.line == line_of(content, "label: Again") - 2
    assert str(error) == "{}:{}: duplicate question id 'a.count' (first at line 6)".format(
        tmp_path / "v1.yaml", error.line)


def test_an_unknown_type_names_its_line(tmp_path: Path) -> None:
    error, content = broken(tmp_path, "      - id: a.size\n        type: number\n        label: Size\n")
    assert error.line == line_of(content, "type: number")
    assert "unknown type 'number'" in error.reason


@pytest.mark.parametrize(
    ("show_if", "reason"),
    [
        ("contact.phone != ''", "show_if of 'a.more' refers to 'contact.phone', which is asked later"),
        ("a.colour == 'red'", "show_if of 'a.more' refers to 'a.colour', which is not a question"),
        ("a.more == 1", "show_if of 'a.more' refers to itself"),
        ("a.kind == 'three'",
         "show_if of 'a.more' compares 'a.kind' with 'three', not one of its option codes (one, two)"),
        ("a.kind in ['one', 'tree']", "show_if of 'a.more' compares 'a.kind' with 'tree', not one of its option codes"),
        ("a.count == 'many'",
         "show_if of 'a.more' compares 'a.count' with 'many', which a question of type integer never has"),
        ("__import__('os')", "show_if: unknown function"),
        ("a.count >", "show_if: not a valid expression"),
    ],
)
def test_a_condition_on_a_later_or_unknown_question_or_option_is_refused(
    tmp_path: Path, show_if: str, reason: str
) -> None:
    extra = '      - id: a.more\n        type: integer\n        label: More\n        show_if: "{}"\n'.format(show_if)
    error, content = broken(tmp_path, extra)
    assert reason in error.reason
    assert line_of(content, "id: a.more") <= error.line <= line_of(content, "show_if:")


def test_bad_yaml_names_its_line(tmp_path: Path) -> None:
    error, content = broken(tmp_path, '      - id: a.more\n        type: integer\n        label: "unclosed\n')
    assert error.reason.startswith("not valid YAML")
    assert error.line >= line_of(content, '"unclosed')


@pytest.mark.parametrize(
    ("extra", "needle", "reason"),
    [
        ("      - id: a.x\n        type: integer\n        label: X\n        lable: X\n", "lable:",
         "unknown key 'lable' in a question"),
        ("      - id: a.x\n        type: integer\n        label: X\n        label: Y\n", "label: Y",
         "duplicate key 'label'"),
        ("      - id: a.x\n        type: single_choice\n        label: X\n", "id: a.x",
         "a single_choice question needs 'options'"),
        ("      - id: a.x\n        type: single_choice\n        label: X\n        options:\n"
         "          - {code: no, label: Nope}\n          - {code: si, label: Yes please}\n", "code: no",
         "option code False must be text: put it in quotes"),
        ("      - id: a.x\n        type: single_choice\n        label: X\n        options:\n"
         "          - {code: a, label: A}\n          - {code: a, label: B}\n", "label: B", "duplicate option code 'a'"),
        ("      - id: a.x\n        type: yes_no\n        label: No\n", "label: No", "'label' must be text"),
        ("      - id: a.x\n        type: integer\n        label: X\n        required: yes please\n", "required:",
         "'required' must be true or false"),
        ("      - id: A-X\n        type: integer\n        label: X\n", "id: A-X", "may hold only a-z"),
        ("      - id: a.x\n        type: text\n        label: X\n        options: []\n", "options: []",
         "'options' does not apply to a text question"),
        ("      - id: a.x\n        type: group\n        label: X\n        fields:\n"
         "          - {id: age, type: integer, label: Age}\n", "id: a.x", "a group needs 'max'"),
        ("      - id: a.x\n        type: integer\n        label: X\n        required: true\n        skippable: true\n",
         "skippable:", "cannot be both required and skippable"),
    ],
)
def test_other_mistakes_name_their_line_and_reason(tmp_path: Path, extra: str, needle: str, reason: str) -> None:
    error, content = broken(tmp_path, extra)
    assert reason in error.reason
    assert error.line == line_of(content, needle)


def test_every_version_must_keep_the_questions_the_code_reads(tmp_path: Path) -> None:
    without_email = BASE.replace("      - {id: contact.email, type: email, label: E-mail address}\n", "")
    error, _content = broken(tmp_path, text=without_email)
    assert error.reason == "every version needs the question 'contact.email' (email)"


def test_a_file_must_say_the_version_its_name_says(tmp_path: Path) -> None:
    error, content = broken(tmp_path, text=BASE.replace('version: "1"', 'version: "2"'))
    assert error.line == 1 and "belongs in v2.yaml" in error.reason


def test_every_version_file_is_loaded_and_the_highest_is_current(tmp_path: Path) -> None:
    write(tmp_path)
    write(tmp_path, text=BASE.replace('version: "1"', 'version: "10"'), name="v10.yaml")
    write(tmp_path, text=BASE.replace('version: "1"', 'version: "2"'), name="v2.yaml")
    assert list(load_questionnaires(tmp_path)) == ["1", "2", "10"]


def test_the_shipped_files_are_checked_when_the_app_starts(
    make_app, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    app = make_app("sqlite:///{}".format(tmp_path / "unused.sqlite3"))
    assert app.extensions["intake.questionnaires"]["1"] is get("1")
    assert sorted(p.name for p in QUESTIONNAIRES_DIR.glob("v*.yaml")) == ["v1.yaml"]


def test_a_broken_questionnaire_file_stops_the_app_from_starting(
    make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from portal.intake import questionnaire as module

    directory, _content = write(tmp_path, "      - id: a.more\n        type: slider\n        label: More\n")
    monkeypatch.setattr(module, "QUESTIONNAIRES_DIR", directory)
    module._shipped.cache_clear()
    try:
        with pytest.raises(QuestionnaireError, match=r"v1\.yaml:16: unknown type 'slider'"):
            make_app("sqlite:///{}".format(tmp_path / "unused.sqlite3"))
    finally:
        monkeypatch.undo()
        module._shipped.cache_clear()


# --- texts reach the catalogs -----------------------------------------------------------------------


def _texts(questionnaire: Questionnaire) -> set[str]:
    texts: set[str] = set()
    for section in questionnaire.sections:
        texts.update(t for t in (section.title, section.intro) if t)
        for question in section.questions:
            for q in (question, *question.fields):
                texts.update(t for t in (q.label, q.help) if t)
                texts.update(o.label for o in q.options if o.lang is None)
    return texts


def test_babel_extracts_every_question_text_but_no_ids_codes_or_language_names(questionnaire: Questionnaire) -> None:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    pattern = "portal/intake/questionnaires/*.yaml"
    assert (pattern, "porta_yaml") in method_map
    found = {
        message
        for _f, _l, message, _c, _ctx in extract_from_dir(
            str(ROOT), method_map=[(pattern, "porta_yaml")], options_map=options_map
        )
    }
    assert found == _texts(questionnaire)
    assert "Where are you living now?" in found and "None of these" in found and "Your household" in found
    assert not found & {lang.autonym for lang in SHIPPED}
    assert not found & set(questionnaire.questions)
    assert not found & {o.code for q in questionnaire.questions.values() for o in q.options}

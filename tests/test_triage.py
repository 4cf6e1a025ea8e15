"""Triage: every rule of the shipped rules file, table by table, and the reasons it gives.

The answers are built directly (as the questionnaire would store them: Decimal money,
date dates, option codes). ``HOUSEHOLD`` is an ordinary family with nothing urgent and no
entitlement; each row changes only what the rule under test reads.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask_babel import force_locale

from messaging.babel_extract import extract_yaml
from portal.intake import questionnaire as questionnaires
from portal.intake.triage import (
    Reason,
    RulesError,
    Triage,
    evaluate,
    load_rules,
    localize,
    measure_label,
    pathway_label,
    urgency_label,
)
from portal.intake.triage_rules import DEFAULT_PATH

TODAY = date(2026, 11, 22)
#: The thresholds of the shipped file, so boundary rows follow them when they change each year.
LIMIT = {name: Decimal(str(t["value"])) for name, t in yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))["thresholds"].items()}
CENT = Decimal("0.01")
IMMINENT = int(LIMIT["eviction_imminent_days"])
DROP = object()  # in a row of changes: the question is not answered (or was not asked)

HOUSEHOLD: dict[str, Any] = {
    "household.adults": 2,
    "household.minors": 0,
    "household.members_over_60": 0,
    "household.disabled_members": 0,
    "housing.situation": "private_rent",
    "housing.eviction": "none",
    "housing.problems": ["none"],
    "housing.registered_lease": "yes",
    "housing.monthly_rent": Decimal("650.00"),
    "income.isee_unknown": False,
    "income.isee": Decimal("30000.00"),
    "income.monthly_net": Decimal("2400.00"),
    "work.status": "employed_permanent",
    "residence.in_comune": True,
    "residence.works_in_comune": True,
    "residence.years_in_italy": 20,
    "potential.skills": ["office"],
    "potential.italian_level": "native",
    "potential.support_network": "several",
    "potential.training_interest": False,
    "safety.violence": "no",
}
#: Questions the questionnaire asks only of tenants renting privately, and of people with a home.
NOT_RENTING = {"housing.registered_lease": DROP, "housing.monthly_rent": DROP}
NO_HOME = {**NOT_RENTING, "housing.eviction": DROP, "housing.problems": DROP}


def answers(changes: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    """``HOUSEHOLD`` with ``changes`` (question id → value, or ``DROP``)."""
    result = dict(HOUSEHOLD)
    for key, value in {**(changes or {}), **more}.items():
        if value is DROP:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def scheduled(days: int, cause: str = "lease_end") -> dict[str, Any]:
    return {
        "housing.eviction": "eviction_scheduled",
        "housing.eviction_date": TODAY + timedelta(days=days),
        "housing.eviction_cause": cause,
    }


def triage_of(changes: dict[str, Any] | None = None) -> Triage:
    return evaluate(answers(changes), TODAY)


def measure(result: Triage, code: str) -> Any:
    return next((m for m in result.measures if m.code == code), None)


# --- urgency -------------------------------------------------------------------------------------

URGENCY_ROWS = [
    ("nothing urgent", {}, "standard", ["urgency.standard"]),
    ("homeless with children", {**NO_HOME, "housing.situation": "homeless", "household.minors": 1}, "emergency", ["emergency.homeless_with_minors"]),
    ("shelter with children", {**NO_HOME, "housing.situation": "emergency_shelter", "household.minors": 2}, "emergency", ["emergency.homeless_with_minors"]),
    ("homeless, no children", {**NO_HOME, "housing.situation": "homeless"}, "standard", ["urgency.standard"]),
    ("eviction in exactly the days that make it imminent", scheduled(IMMINENT), "emergency", ["emergency.eviction_imminent"]),
    ("eviction today", scheduled(0), "emergency", ["emergency.eviction_imminent"]),
    ("eviction date already past", scheduled(-3), "emergency", ["emergency.eviction_imminent"]),
    ("eviction a day later", scheduled(IMMINENT + 1), "high", ["high.eviction_scheduled"]),
    ("violence now", {"safety.violence": "now"}, "emergency", ["emergency.violence"]),
    ("violence in the past", {"safety.violence": "past"}, "standard", ["urgency.standard"]),
    ("violence question skipped", {"safety.violence": DROP}, "standard", ["urgency.standard"]),
    ("eviction notice", {"housing.eviction": "notice_received", "housing.eviction_cause": "arrears"}, "high", ["high.eviction_notice"]),
    ("eviction validated", {"housing.eviction": "eviction_validated", "housing.eviction_cause": "other"}, "high", ["high.eviction_validated"]),
    ("hosted with children", {**NOT_RENTING, "housing.situation": "hosted", "household.minors": 1}, "high", ["high.hosted_with_minors"]),
    ("hosted, no children", {**NOT_RENTING, "housing.situation": "hosted"}, "standard", ["urgency.standard"]),
    ("overcrowded with children", {"housing.problems": ["overcrowded"], "household.minors": 3}, "high", ["high.unsuitable_home_vulnerable"]),
    ("unfit with someone over 60", {"housing.problems": ["unfit"], "household.members_over_60": 1}, "high", ["high.unsuitable_home_vulnerable"]),
    ("overcrowded with a disabled member", {"housing.problems": ["overcrowded", "unfit"], "household.disabled_members": 1}, "high", ["high.unsuitable_home_vulnerable"]),
    ("overcrowded, adults only", {"housing.problems": ["overcrowded"]}, "standard", ["urgency.standard"]),
    ("barriers with children", {"housing.problems": ["architectural_barriers"], "household.minors": 1}, "standard", ["urgency.standard"]),
    ("no income, unemployed", {"income.monthly_net": Decimal("0.00"), "work.status": "unemployed"}, "high", ["high.no_income"]),
    ("no income, self-employed", {"income.monthly_net": Decimal("0.00"), "work.status": "self_employed"}, "high", ["high.no_income"]),
    ("no income said by an employee", {"income.monthly_net": Decimal("0.00")}, "standard", ["urgency.standard"]),
    ("income unknown, unemployed", {"income.monthly_net": DROP, "work.status": "unemployed"}, "standard", ["urgency.standard"]),
    ("a little income", {"income.monthly_net": Decimal("0.01"), "work.status": "unemployed"}, "standard", ["urgency.standard"]),
    (
        "every emergency at once",
        {**NO_HOME, "housing.situation": "emergency_shelter", "household.minors": 1, "safety.violence": "now"},
        "emergency",
        ["emergency.homeless_with_minors", "emergency.violence"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "urgency", "rules"), [row[1:] for row in URGENCY_ROWS], ids=[row[0] for row in URGENCY_ROWS])
def test_urgency_follows_the_table_and_names_every_rule_that_applied(changes: dict, urgency: str, rules: list[str]) -> None:
    result = triage_of(changes)
    assert result.urgency == urgency
    assert [reason.rule for reason in result.urgency_reasons] == rules


def test_an_imminent_eviction_says_when_and_which_answers_told_us() -> None:
    reason = triage_of(scheduled(5)).urgency_reasons[0]
    assert reason.params == {"date": "2026-11-27", "days": IMMINENT}
    assert reason.answers == ("housing.eviction", "housing.eviction_date")
    assert reason.text % reason.params == "The eviction is scheduled for 2026-11-27, no more than {} days from today.".format(IMMINENT)


def test_a_reason_lists_only_the_answers_that_made_it_so() -> None:
    """Overcrowded with children: the answers about people over 60 or disabled did not matter."""
    reason = triage_of({"housing.problems": ["overcrowded"], "household.minors": 2}).urgency_reasons[0]
    assert reason.answers == ("housing.problems", "household.minors")


def test_standard_urgency_is_explained_by_the_answers_the_rules_looked_at() -> None:
    reason = triage_of().urgency_reasons[0]
    assert reason.text == "None of the urgent situations applies."
    assert {"housing.situation", "housing.eviction", "safety.violence", "income.monthly_net"} <= set(reason.answers)


def test_an_unanswered_question_that_could_raise_the_urgency_is_reported_missing() -> None:
    result = triage_of({"housing.situation": DROP, "household.minors": DROP})
    assert result.urgency == "standard"
    assert {"housing.situation", "household.minors"} <= set(result.missing)


def test_a_skipped_violence_question_is_never_asked_for_again() -> None:
    assert "safety.violence" not in triage_of({"safety.violence": DROP}).missing


# --- measures ------------------------------------------------------------------------------------

CAUSES = ["job_loss", "reduced_hours", "fixed_term_not_renewed", "business_closure", "illness_or_injury", "death_in_household"]
ARREARS = {**scheduled(40, "arrears"), "housing.arrears_cause": "job_loss"}
POOR_FAMILY = {"household.minors": 1, "income.isee": LIMIT["isee_assegno_inclusione"]}
YEARS = int(LIMIT["years_in_italy_assegno_inclusione"])

MEASURE_ROWS = [
    ("erp at the limit", "erp", {"income.isee": LIMIT["isee_erp"]}, "likely"),
    ("erp a cent above", "erp", {"income.isee": LIMIT["isee_erp"] + CENT}, None),
    ("erp working but not living here", "erp", {"income.isee": Decimal("9000.00"), "residence.in_comune": False}, "likely"),
    ("erp neither living nor working here", "erp", {"income.isee": Decimal("9000.00"), "residence.in_comune": False, "residence.works_in_comune": False}, None),
    (
        "erp not living here, not working",
        "erp",
        {"income.isee": Decimal("9000.00"), "residence.in_comune": False, "work.status": "unemployed", "residence.works_in_comune": DROP},
        None,
    ),
    ("erp owner", "erp", {"income.isee": Decimal("9000.00"), "housing.situation": "owner", **NOT_RENTING}, None),
    ("rent allowance at the limit", "contributo_affitto", {"income.isee": LIMIT["isee_contributo_affitto"]}, "likely"),
    ("rent allowance a cent above", "contributo_affitto", {"income.isee": LIMIT["isee_contributo_affitto"] + CENT}, None),
    ("rent allowance without a registered lease", "contributo_affitto", {"income.isee": Decimal("9000.00"), "housing.registered_lease": "no"}, None),
    ("rent allowance in public housing", "contributo_affitto", {"income.isee": Decimal("9000.00"), "housing.situation": "erp_tenant"}, None),
    ("arrears fund at the limit", "morosita_incolpevole", {**ARREARS, "income.isee": LIMIT["isee_morosita_incolpevole"]}, "likely"),
    ("arrears fund a cent above", "morosita_incolpevole", {**ARREARS, "income.isee": LIMIT["isee_morosita_incolpevole"] + CENT}, None),
    ("arrears fund, notice only", "morosita_incolpevole", {**ARREARS, "housing.eviction": "notice_received", "income.isee": Decimal("20000.00")}, "likely"),
    ("arrears fund, other cause", "morosita_incolpevole", {**ARREARS, "housing.arrears_cause": "other", "income.isee": Decimal("9000.00")}, None),
    ("arrears fund, end of lease", "morosita_incolpevole", {**scheduled(40), "income.isee": Decimal("9000.00")}, None),
    *[
        ("arrears fund, " + cause, "morosita_incolpevole", {**ARREARS, "housing.arrears_cause": cause, "income.isee": Decimal("9000.00")}, "likely")
        for cause in CAUSES
    ],
    ("inclusion allowance at the limit", "assegno_inclusione", POOR_FAMILY, "likely"),
    ("inclusion allowance a cent above", "assegno_inclusione", {**POOR_FAMILY, "income.isee": LIMIT["isee_assegno_inclusione"] + CENT}, None),
    ("inclusion allowance, just enough years in Italy", "assegno_inclusione", {**POOR_FAMILY, "residence.years_in_italy": YEARS}, "likely"),
    ("inclusion allowance, a year short in Italy", "assegno_inclusione", {**POOR_FAMILY, "residence.years_in_italy": YEARS - 1}, None),
    ("inclusion allowance, someone over 60", "assegno_inclusione", {**POOR_FAMILY, "household.minors": 0, "household.members_over_60": 1}, "likely"),
    ("inclusion allowance, a disabled member", "assegno_inclusione", {**POOR_FAMILY, "household.minors": 0, "household.disabled_members": 1}, "likely"),
    ("inclusion allowance, adults under 60 only", "assegno_inclusione", {**POOR_FAMILY, "household.minors": 0}, None),
    ("emergency housing, homeless", "emergenza_abitativa", {**NO_HOME, "housing.situation": "homeless"}, "likely"),
    ("emergency housing, shelter", "emergenza_abitativa", {**NO_HOME, "housing.situation": "emergency_shelter"}, "likely"),
    ("emergency housing, eviction date", "emergenza_abitativa", scheduled(30), "likely"),
    ("emergency housing, hosted", "emergenza_abitativa", {**NOT_RENTING, "housing.situation": "hosted"}, None),
    ("job guidance, unemployed", "orientamento_lavoro", {"work.status": "unemployed"}, "likely"),
    ("job guidance, student", "orientamento_lavoro", {"work.status": "student"}, None),
]  # fmt: skip


@pytest.mark.parametrize(("code", "changes", "status"), [row[1:] for row in MEASURE_ROWS], ids=[row[0] for row in MEASURE_ROWS])
def test_each_measure_holds_just_inside_its_thresholds_and_not_outside(code: str, changes: dict, status: str | None) -> None:
    found = measure(triage_of(changes), code)
    assert (found.status if found else None) == status
    if found:
        assert found.missing == ()


def test_the_ordinary_household_is_entitled_to_nothing() -> None:
    assert triage_of().measures == ()


@pytest.mark.parametrize("isee", [{"income.isee": DROP}, {"income.isee": DROP, "income.isee_unknown": True}], ids=["unanswered", "not known"])
def test_an_unknown_isee_makes_every_measure_whose_other_conditions_hold_possible(isee: dict) -> None:
    result = triage_of({**ARREARS, "household.minors": 1, **isee})
    statuses = {m.code: (m.status, m.missing) for m in result.measures}
    unknown_isee = ("possible", ("income.isee",))
    assert statuses == {
        "erp": unknown_isee,
        "contributo_affitto": unknown_isee,
        "morosita_incolpevole": unknown_isee,
        "assegno_inclusione": unknown_isee,
        "emergenza_abitativa": ("likely", ()),
    }
    assert "income.isee" in result.missing
    # A possible measure explains what already holds, never the condition still unknown.
    assert [r.rule for r in measure(result, "erp").reasons] == ["erp.residence", "erp.not_owner"]


def test_questions_not_asked_do_not_make_a_measure_possible_nor_go_missing() -> None:
    """Someone without a home is not asked about evictions: the arrears fund does not apply."""
    result = triage_of({**NO_HOME, "housing.situation": "homeless", "income.isee": Decimal("5000.00")})
    assert measure(result, "morosita_incolpevole") is None
    assert not {"housing.eviction", "housing.eviction_date", "housing.problems"} & set(result.missing)


def test_a_measure_reason_carries_the_values_and_the_legal_source() -> None:
    reason = measure(triage_of({"income.isee": Decimal("12000.00")}), "erp").reasons[0]
    assert reason.rule == "erp.isee"
    assert reason.params == {"isee": "12000.00", "limit": str(load_rules().thresholds["isee_erp"].value)}
    assert reason.answers == ("income.isee",)
    assert reason.source == "L.R. Toscana 2/2019"


def test_a_condition_with_its_own_source_cites_it() -> None:
    result = triage_of({**ARREARS, "income.isee": Decimal("9000.00")})
    sources = {r.rule: r.source for r in measure(result, "morosita_incolpevole").reasons}
    assert sources["morosita_incolpevole.cause"] == "D.M. 30 marzo 2016 art. 2"
    assert sources["morosita_incolpevole.isee"] == "D.L. 102/2013 art. 6"


def test_living_or_working_here_is_explained_by_the_answer_that_holds() -> None:
    result = triage_of({"income.isee": Decimal("9000.00"), "residence.in_comune": False})
    residence = next(r for r in measure(result, "erp").reasons if r.rule == "erp.residence")
    assert residence.answers == ("residence.works_in_comune",)


# --- quadrant ------------------------------------------------------------------------------------

LOW_POTENTIAL = {
    "work.status": "unemployed",
    "potential.skills": [],
    "potential.italian_level": "none",
    "potential.support_network": "none",
    "potential.training_interest": False,
}
QUADRANT_ROWS = [
    ("high and high", {}, ("high", "high", "housing_autonomy")),
    ("high resources, low potential", {**LOW_POTENTIAL, "work.status": "retired"}, ("high", "low", "supported_housing")),
    ("low resources, high potential", {"income.isee": Decimal("8000.00")}, ("low", "high", "transitional_accompanied")),
    ("low and low", {**LOW_POTENTIAL, "income.monthly_net": Decimal("0.00")}, ("low", "low", "intensive_care")),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "expected"), [row[1:] for row in QUADRANT_ROWS], ids=[row[0] for row in QUADRANT_ROWS])
def test_each_quadrant_suggests_its_pathway(changes: dict, expected: tuple) -> None:
    quadrant = triage_of(changes).quadrant
    assert (quadrant.resources, quadrant.potential, quadrant.pathway) == expected


RESOURCE_ROWS = [
    ("no income", {"income.monthly_net": Decimal("0.00")}, "low", "resources.no_income"),
    ("ISEE at the poverty line", {"income.isee": LIMIT["isee_resources"]}, "low", "resources.isee_low"),
    ("ISEE a cent above it", {"income.isee": LIMIT["isee_resources"] + CENT}, "high", "resources.income_enough"),
    ("income a cent short", {"income.monthly_net": LIMIT["income_resources"] - CENT}, "low", "resources.income_low"),
    ("income just enough", {"income.monthly_net": LIMIT["income_resources"]}, "high", "resources.income_enough"),
    ("enough income but out of work", {"work.status": "unemployed"}, "low", "resources.unemployed"),
    ("ISEE unknown, enough income", {"income.isee": DROP}, "high", "resources.income_enough"),
    ("income unknown", {"income.monthly_net": DROP}, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "resources", "rule"), [row[1:] for row in RESOURCE_ROWS], ids=[row[0] for row in RESOURCE_ROWS])
def test_resources_are_decided_by_the_first_row_that_applies(changes: dict, resources: str | None, rule: str | None) -> None:
    quadrant = triage_of(changes).quadrant
    assert quadrant.resources == resources
    assert [r.rule for r in quadrant.reasons if r.rule.startswith("resources.")] == ([rule] if rule else [])


def test_resources_decided_without_the_isee_still_ask_for_it() -> None:
    assert "income.isee" in triage_of({"income.isee": DROP}).missing


POTENTIAL_ROWS = [
    # work 2 + skills 2 + Italian 2 + network 1 + training 1 = 8 at most; high from 4.
    ("exactly 4 points", {**LOW_POTENTIAL, "potential.skills": ["care"], "potential.italian_level": "good"}, "high", 4),
    ("3 points", {**LOW_POTENTIAL, "potential.skills": ["care"], "potential.italian_level": "basic"}, "low", 3),
    ("student, a little Italian, helped, keen", {**LOW_POTENTIAL, "work.status": "student", "potential.italian_level": "basic", "potential.support_network": "one", "potential.training_interest": True}, "high", 4),
    ("nothing yet", LOW_POTENTIAL, "low", 0),
    ("everything", {"potential.training_interest": True}, "high", 8),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "potential", "points"), [row[1:] for row in POTENTIAL_ROWS], ids=[row[0] for row in POTENTIAL_ROWS])
def test_potential_adds_up_the_points_table(changes: dict, potential: str, points: int) -> None:
    quadrant = triage_of(changes).quadrant
    total = quadrant.reasons[-1]
    assert quadrant.potential == potential
    assert total.rule == "potential.total"
    assert total.params == {"points": points, "max": 8, "threshold": 4}


def test_potential_is_decided_as_soon_as_the_known_answers_are_enough() -> None:
    enough = {"potential.skills": DROP, "potential.support_network": DROP, "potential.training_interest": DROP}
    assert triage_of(enough).quadrant.potential == "high"  # in work + native Italian = 4


def test_potential_that_unknown_answers_could_still_tip_is_unknown_and_says_which() -> None:
    unsure = {**LOW_POTENTIAL, "potential.skills": ["care"], "potential.italian_level": DROP}
    result = triage_of(unsure)
    assert (result.quadrant.potential, result.quadrant.pathway) == (None, None)
    assert "potential.italian_level" in result.missing


def test_each_point_is_explained_with_its_answer() -> None:
    reasons = {r.rule: (r.params["points"], r.answers) for r in triage_of().quadrant.reasons if r.rule.startswith("potential.") and r.rule != "potential.total"}
    assert reasons == {
        "potential.in_work": (2, ("work.status",)),
        "potential.skills": (2, ("potential.skills",)),
        "potential.italian_good": (2, ("potential.italian_level",)),
        "potential.support_network": (1, ("potential.support_network",)),
    }


# --- recommended service -------------------------------------------------------------------------

SERVICE_ROWS = [
    ("an emergency first", {**scheduled(3, "arrears"), "housing.arrears_cause": "job_loss"}, "emergenza_abitativa", "service.emergency"),
    ("then an eviction", {**ARREARS, "income.isee": Decimal("9000.00")}, "sfratto_morosita", "service.eviction"),
    ("an eviction for the end of the lease", scheduled(30), "sfratto_morosita", "service.eviction"),
    ("then no home", {**NO_HOME, "housing.situation": "homeless"}, "emergenza_abitativa", "service.no_home"),
    ("then the rent allowance", {"income.isee": Decimal("9000.00")}, "contributo_affitto", "service.rent_allowance"),
    ("then public housing", {**NOT_RENTING, "housing.situation": "hosted", "income.isee": Decimal("9000.00")}, "domanda_erp", "service.public_housing"),
    ("then job guidance", {"work.status": "unemployed"}, "orientamento_lavoro", "service.job_guidance"),
    ("otherwise a first interview", {}, "primo_colloquio", "service.default"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "service", "rule"), [row[1:] for row in SERVICE_ROWS], ids=[row[0] for row in SERVICE_ROWS])
def test_the_first_service_rule_that_applies_wins(changes: dict, service: str, rule: str) -> None:
    result = triage_of(changes)
    assert result.recommended_service == service
    assert [r.rule for r in result.service_reasons] == [rule]


def test_a_possible_rent_allowance_does_not_send_people_to_its_desk_yet() -> None:
    result = triage_of({"income.isee": DROP})
    assert measure(result, "contributo_affitto").status == "possible"
    assert result.recommended_service == "primo_colloquio"


def test_every_recommended_service_is_one_the_agency_offers() -> None:
    demo = yaml.safe_load((Path(__file__).parent.parent / "portal" / "demo" / "demo.yaml").read_text(encoding="utf-8"))
    offered = {service["code"] for service in demo["services"]}
    rules = load_rules()
    assert {row.outcome for row in rules.services} | {rules.default_service} <= offered


# --- JSON, translation, labels -------------------------------------------------------------------


def test_a_stored_result_comes_back_identical() -> None:
    result = triage_of({**ARREARS, "household.minors": 1, "income.isee": DROP})
    stored = json.loads(json.dumps(result.to_json()))
    assert Triage.from_json(stored) == result
    assert Triage.from_json(stored).to_json() == stored


def test_the_json_shape_is_the_one_the_api_documents() -> None:
    data = triage_of({**ARREARS, "income.isee": DROP}).to_json()
    assert {"urgency", "urgency_reasons", "measures", "quadrant", "recommended_service", "missing", "rules_version"} <= set(data)
    assert data["rules_version"] == load_rules().version
    assert set(data["measures"][0]) == {"code", "status", "reasons", "missing"}
    assert {"resources", "potential", "pathway", "pathway_text", "reasons"} == set(data["quadrant"])
    reason = data["urgency_reasons"][0]
    assert {"rule", "text", "answers", "source"} <= set(reason)
    assert reason["text"] == "The eviction is scheduled for 2027-01-01."


def test_a_translated_result_can_be_read_back_and_translated_again() -> None:
    result = triage_of(scheduled(2))
    shouted = result.to_json(translate=lambda msgid, params: (msgid % params).upper())
    assert shouted["urgency_reasons"][0]["text"].startswith("THE EVICTION IS SCHEDULED FOR 2026-11-24")
    assert shouted["quadrant"]["pathway_text"].isupper()
    assert Triage.from_json(shouted) == result


def test_reasons_are_written_in_the_readers_language_with_its_money_and_dates(make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app("sqlite:///{}".format(tmp_path / "unused.sqlite3"))
    isee = Reason("erp.isee", "The ISEE (%(isee)s) is within the limit of %(limit)s.", {"isee": "12000.00", "limit": "16500.00"}, (), None)
    eviction = Reason("high.eviction_scheduled", "The eviction is scheduled for %(date)s.", {"date": "2026-12-01"}, (), None)
    with app.app_context(), force_locale("it"):
        money = localize(isee.text, isee.params)
        day = localize(eviction.text, eviction.params)
    assert "12.000,00\xa0€" in money and "16.500,00\xa0€" in money
    assert "1 dicembre 2026" in day


def test_labels_for_templates_come_from_the_rules_file() -> None:
    assert str(measure_label("erp")) == "Public housing (case popolari)"
    assert str(urgency_label("emergency")) == "Emergency"
    assert str(pathway_label("transitional_accompanied")) == "Transitional housing with accompaniment"
    assert measure_label("no_such_measure") == "no_such_measure"  # an old result stays readable


def test_every_text_of_the_rules_file_reaches_the_catalogs_and_nothing_else() -> None:
    found = {text for _line, _f, text, _c in extract_yaml(BytesIO(DEFAULT_PATH.read_bytes()), [], [], {"keys": "text, label, pathway_text"})}
    assert "The household has received an eviction notice." in found
    assert "Transitional housing with accompaniment towards autonomy in work, income and a home of one's own." in found
    assert "Public housing (case popolari)" in found
    assert not any(text.startswith(("housing.", "income.", "L.R.", "Agency policy")) for text in found)
    assert "primo_colloquio" not in found


# --- the rules file ------------------------------------------------------------------------------


def test_the_shipped_rules_check_out_against_the_current_questionnaire() -> None:
    rules = load_rules(DEFAULT_PATH, questionnaires.current())
    assert all(t.source and t.note and 2000 <= t.year <= 2100 for t in rules.thresholds.values())
    assert [m.code for m in rules.measures] == [
        "erp", "contributo_affitto", "morosita_incolpevole", "assegno_inclusione", "emergenza_abitativa", "orientamento_lavoro",
    ]  # fmt: skip


SHIPPED = DEFAULT_PATH.read_text(encoding="utf-8")
BROKEN = [
    # (what is wrong, text replaced, replacement, reason expected in the message)
    ("not YAML", "  high:\n    label: High priority", "  high:\n    label: [High priority", "not valid YAML"),
    ("a misspelt key", "        when: housing.eviction == 'notice_received'", "        whn: housing.eviction == 'notice_received'", "unknown key 'whn'"),
    ("an unknown question", "when: income.monthly_net == 0\n      value: low", "when: income.monthly_nett == 0\n      value: low", "'income.monthly_nett' is not a question"),
    ("an option the questionnaire does not offer", "when: housing.situation == 'hosted' and", "when: housing.situation == 'guest' and", "housing.situation is never 'guest'"),
    ("an unknown threshold", "income.isee <= threshold.isee_erp\n", "income.isee <= threshold.isee_epr\n", "unknown threshold 'threshold.isee_epr'"),
    ("a threshold without its source", "    source: Agency policy\n", "", "missing key 'source'"),
    ("a threshold that is not a number", "  potential_high:\n    value: ", "  potential_high:\n    value: lots #", "value must be a number"),
    ("a threshold without a year", "    source: Agency policy\n    year: ", "    source: Agency policy\n    year: twenty #", "year must be a year"),
    ("a repeated rule id", "      - id: high.eviction_validated", "      - id: high.eviction_notice", "duplicate id 'high.eviction_notice'"),
    ("a repeated key", "    label: Ordinary\n", "    label: Ordinary\n    label: Normal\n", "duplicate key 'label'"),
    ("a placeholder without a value", "text: The eviction is scheduled for %(date)s.", "text: The eviction is scheduled for %(day)s.", "placeholder %(day)s has no param"),
    ("code in a condition", "when: work.status == 'unemployed'\n      value: low", "when: __import__('os').system('true')\n      value: low", "unknown function"),
    ("a derived result outside the service rules", "        when: income.isee <= threshold.isee_erp\n", "        when: triage.urgency == 'high'\n", "can only be read by recommended_service rules"),
    ("two pathways for one quadrant", "    - resources: low\n      potential: low\n", "    - resources: low\n      potential: high\n", "a second pathway"),
    ("resources neither high nor low", "      value: high\n", "      value: medium\n", "value must be high or low"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "reason"), [row[1:] for row in BROKEN], ids=[row[0] for row in BROKEN])
def test_a_broken_rules_file_is_refused_naming_the_line_and_the_reason(tmp_path: Path, old: str, new: str, reason: str) -> None:
    assert SHIPPED.count(old) == 1, "the test's anchor must be unique"
    broken = SHIPPED.replace(old, new)
    path = tmp_path / "triage_rules.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path, questionnaires.current())
    assert caught.value.path == str(path)
    assert reason in caught.value.reason, str(caught.value)
    first_changed = next(i for i, (a, b) in enumerate(zip(SHIPPED.splitlines(), broken.splitlines())) if a != b) + 1
    assert abs(caught.value.line - first_changed) <= 1, str(caught.value)
    assert str(caught.value).startswith("{}:{}: ".format(path, caught.value.line))


def test_a_quadrant_left_without_a_pathway_is_refused(tmp_path: Path) -> None:
    last = SHIPPED.index("    - resources: low\n      potential: low\n")
    end = SHIPPED.index("\n\n", last)
    path = tmp_path / "triage_rules.yaml"
    path.write_text(SHIPPED[:last] + SHIPPED[end + 1 :], encoding="utf-8")
    with pytest.raises(RulesError, match="no pathway for resources low and potential low"):
        load_rules(path, questionnaires.current())


def test_rules_naming_a_question_of_another_questionnaire_are_refused(tmp_path: Path) -> None:
    """The start-up cross-check: rules and questionnaire must speak of the same questions."""

    class Shrunk:  # the current questionnaire without the question about violence
        questions = {k: v for k, v in questionnaires.current().questions.items() if k != "safety.violence"}

    with pytest.raises(RulesError, match="'safety.violence' is not a question of the questionnaire"):
        load_rules(DEFAULT_PATH, Shrunk())


def test_a_broken_rules_file_stops_start_up(make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from portal.intake import triage

    path = tmp_path / "triage_rules.yaml"
    path.write_text(SHIPPED.replace("  potential_high:\n    value: ", "  potential_high:\n    value: lots #"), encoding="utf-8")
    monkeypatch.setattr(triage, "DEFAULT_PATH", path)
    triage._default_rules.cache_clear()
    try:
        with pytest.raises(RulesError, match="value must be a number"):
            make_app("sqlite:///{}".format(tmp_path / "unused.sqlite3"))
    finally:
        monkeypatch.undo()
        triage._default_rules.cache_clear()


DOCS = (Path(__file__).parent.parent / "docs" / "triage.md").read_text(encoding="utf-8")


def test_the_coordinators_page_shows_every_rule_and_the_current_thresholds() -> None:
    rules = load_rules()
    ids = [r.id for level in rules.urgency for r in level.rules] + [c.id for m in rules.measures for c in m.conditions]
    ids += [r.id for r in rules.resources] + [c.id for f in rules.potential for c in f.cases] + [r.id for r in rules.services]
    assert [rule for rule in ids if "`{}`".format(rule) not in DOCS] == []
    assert "version **{}**".format(rules.version) in DOCS
    for name, threshold in rules.thresholds.items():
        row = "| `{}` | {} | {} |".format(name, threshold.value, threshold.year)
        assert row in DOCS, "docs/triage.md lacks the current row for {}".format(name)

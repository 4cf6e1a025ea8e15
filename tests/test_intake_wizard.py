"""The citizen's self-screening wizard through the test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.db import utcnow
from portal.intake.models import Intake
from support import CSRF_RE, sign_in

TODAY = utcnow().date()

#: A whole journey, page by page, as a person would type it.
JOURNEY: dict[str, dict[str, Any]] = {
    "household": {
        "household.adults": "2",
        "household.minors": "1",
        "household.single_parent": "no",
        "household.members_over_60": "0",
        "household.disabled_members": "0",
        "household.pregnancy": "no",
        "household.members.0.relation": "child",
        "household.members.0.age": "7",
    },
    "housing": {
        "housing.situation": "private_rent",
        "housing.eviction": "eviction_scheduled",
        "housing.eviction_date": (TODAY + timedelta(days=5)).isoformat(),
        "housing.eviction_cause": "arrears",
        "housing.arrears_cause": "job_loss",
        "housing.problems": ["too_expensive"],
        "housing.registered_lease": "yes",
        "housing.monthly_rent": "650,00",
    },
    "income_work": {
        "income.isee_unknown": "no",
        "income.isee": "9.000",
        "income.monthly_net": "800",
        "income.benefits": ["child_allowance"],
        "work.status": "unemployed",
    },
    "residence": {"residence.in_comune": "yes", "residence.years_in_region": "10", "residence.years_in_italy": "12"},
    "potential": {
        "potential.skills": ["care", "cleaning"],
        "potential.italian_level": "good",
        "potential.support_network": "one",
        "potential.training_interest": "yes",
    },
    "safety": {"safety.violence": "no", "safety.safe_to_contact": "yes", "safety.safe_hours": ["morning"]},
    "contact": {
        "contact.first_name": "Maria",
        "contact.last_name": "Rossi",
        "contact.phone": "333 123 4567",
        "contact.email": "",
        "contact.codice_fiscale": "",
        "contact.language": "it",
        "contact.channel": "sms",
        "consent.privacy_acknowledged": "yes",
    },
}
SECTIONS = list(JOURNEY)


def page_text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def token_of(response: Any) -> str:
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def start_intake(client: FlaskClient, lang: str = "en") -> str:
    """Open the landing page in ``lang``, press Start; returns the CSRF token of the session."""
    landing = client.get("/intake/?lang={}".format(lang))
    assert landing.status_code == 200
    token = token_of(landing)
    response = client.post("/intake/start", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/intake/step/household")
    return token


def post_step(client: FlaskClient, token: str, section: str, data: dict[str, Any], action: str = "next") -> Any:
    return client.post("/intake/step/{}".format(section), data={"csrf_token": token, "action": action, **data})


def answer_everything(client: FlaskClient, token: str) -> None:
    for index, section in enumerate(SECTIONS):
        response = post_step(client, token, section, JOURNEY[section])
        following = SECTIONS[index + 1] if index + 1 < len(SECTIONS) else None
        expected = "/intake/step/{}".format(following) if following else "/intake/review"
        assert response.status_code == 302, (section, page_text(response)[:3000])
        assert response.headers["Location"].endswith(expected)


def the_intake(session: Session) -> Intake:
    session.expire_all()
    return session.scalars(select(Intake).order_by(Intake.id.desc())).first()


def field_value(page: str, name: str) -> str | None:
    """The value attribute of the text field named ``name`` on a page (None: no such field)."""
    pattern = r'<input(?![^>]*type="(?:radio|checkbox|hidden)")[^>]*name="{}"[^>]*value="([^"]*)"'
    match = re.search(pattern.format(re.escape(name)), page)
    return match.group(1) if match else None


def is_checked(page: str, name: str, value: str) -> bool:
    pattern = r'<input[^>]*name="{}"[^>]*value="{}"[^>]*\bchecked'.format(re.escape(name), re.escape(value))
    return re.search(pattern, page) is not None


# --- the whole journey ---------------------------------------------------------------------


def test_a_person_answers_every_page_sends_the_request_and_sees_their_result(
    client: FlaskClient, session: Session
) -> None:
    token = start_intake(client)
    first = page_text(client.get("/intake/step/household"))
    assert "Step 1 of 7" in first
    reference = the_intake(session).reference
    assert reference in first, "the reference code is shown from the first page"

    answer_everything(client, token)
    review = page_text(client.get("/intake/review"))
    assert "Check your answers" in review
    assert "Still to answer" not in review
    assert "Son or daughter" in review and "€650.00" in review
    assert 'href="/intake/step/housing#q-housing.monthly_rent"' in review, "each answer has a change link"

    response = client.post("/intake/submit", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/intake/result")
    intake = the_intake(session)
    assert intake.status == "submitted" and intake.urgency == "emergency"
    assert intake.privacy_notice_version == "2026-11" and intake.privacy_acknowledged_at is not None

    result = page_text(client.get("/intake/result"))
    assert "Emergency" in result
    assert "The eviction is scheduled for" in result
    assert "Fund for tenants in arrears through no fault of their own" in result
    assert "This is an orientation, not a decision" in result
    assert reference in result and " ".join(reference.split("-")[1]) in result, "the code is spelled out"
    assert "800 123 456" in result, "booking goes through the helpline for now"
    assert "/intake/result/print" in result
    printable = page_text(client.get("/intake/result/print"))
    assert reference in printable and "Summary of your request" in printable

    receipts = list(session.scalars(select(Message).where(Message.kind == "intake_receipt")))
    assert len(receipts) == 1
    assert receipts[0].context["reference"] == reference
    assert receipts[0].phone == "+393331234567"
    assert receipts[0].context["link"] == "http://localhost/intake/resume"


def test_the_landing_page_says_what_happens_and_offers_to_start_or_resume(client: FlaskClient) -> None:
    page = page_text(client.get("/intake/?lang=en"))
    assert "It takes about 10 minutes" in page
    assert 'action="/intake/start"' in page
    assert 'href="/intake/resume"' in page
    assert 'href="/privacy"' in page
    home = page_text(client.get("/"))
    assert 'href="/intake/"' in home, "the home page leads to the self-screening"


def test_no_reference_or_answer_ever_appears_in_an_address(client: FlaskClient, session: Session) -> None:
    token = start_intake(client)
    reference = the_intake(session).reference
    response = post_step(client, token, "household", JOURNEY["household"])
    assert reference not in response.headers["Location"]
    assert "Maria" not in response.headers["Location"]


# --- going back and forth ---------------------------------------------------------------------


def test_back_saves_the_page_and_nothing_is_lost_when_coming_forward_again(
    client: FlaskClient, session: Session
) -> None:
    token = start_intake(client)
    post_step(client, token, "household", JOURNEY["household"])
    response = post_step(client, token, "housing", {"housing.situation": "hosted", "housing.eviction": "none"}, "back")
    assert response.status_code == 302 and response.headers["Location"].endswith("/intake/step/household")
    household = page_text(client.get("/intake/step/household"))
    assert field_value(household, "household.adults") == "2"
    assert field_value(household, "household.members.0.age") == "7"
    housing = page_text(client.get("/intake/step/housing"))
    assert is_checked(housing, "housing.situation", "hosted")
    assert is_checked(housing, "housing.eviction", "none")
    assert the_intake(session).answers["housing.situation"] == "hosted"


def test_back_with_a_wrong_answer_keeps_what_was_typed_to_correct_later_but_stores_only_valid_answers(
    client: FlaskClient, session: Session
) -> None:
    token = start_intake(client)
    post_step(client, token, "household", JOURNEY["household"])
    data = {"housing.situation": "private_rent", "housing.monthly_rent": "six hundred"}
    response = post_step(client, token, "housing", data, "back")
    assert response.status_code == 302
    answers = the_intake(session).answers
    assert answers["housing.situation"] == "private_rent"
    assert "housing.monthly_rent" not in answers

    again = page_text(client.get("/intake/step/housing"))
    assert field_value(again, "housing.monthly_rent") == "six hundred"
    assert "Enter an amount in euros, such as 1.234,50." in again
    assert is_checked(again, "housing.situation", "private_rent")
    later = page_text(client.get("/intake/step/housing"))
    assert "six hundred" not in later, "the typed text is kept only until it has been shown again"


def test_back_from_the_first_page_leads_to_the_landing_page(client: FlaskClient) -> None:
    token = start_intake(client)
    response = post_step(client, token, "household", {"household.adults": "1"}, "back")
    assert response.headers["Location"].endswith("/intake/")


def test_a_page_cannot_be_left_forward_with_a_required_question_unanswered(client: FlaskClient) -> None:
    token = start_intake(client)
    response = post_step(client, token, "household", {"household.adults": "2"})
    page = page_text(response)
    assert response.status_code == 400
    assert 'href="#q-household.minors"' in page
    assert "Answer this question to continue." in page
    assert field_value(page, "household.adults") == "2"


def test_a_follow_up_that_appears_on_the_same_page_is_shown_before_moving_on(
    client: FlaskClient, session: Session
) -> None:
    token = start_intake(client)
    no_children = {**JOURNEY["household"], "household.minors": "0", "household.single_parent": ""}
    post_step(client, token, "household", no_children)
    before = page_text(client.get("/intake/step/household"))
    assert 'name="household.single_parent"' not in before, "no children: the question does not apply"
    response = post_step(client, token, "household", {**JOURNEY["household"], "household.single_parent": ""})
    page = page_text(response)
    assert response.status_code == 200
    assert "Your answers opened new questions on this page" in page
    assert 'name="household.single_parent"' in page


def test_the_household_rows_grow_without_javascript(client: FlaskClient, session: Session) -> None:
    token = start_intake(client)
    first = page_text(client.get("/intake/step/household"))
    assert field_value(first, "household.members.1.age") == "" and field_value(first, "household.members.2.age") is None
    response = post_step(client, token, "household", {**JOURNEY["household"], "extra_rows": "0"}, "add_row")
    page = page_text(response)
    assert field_value(page, "household.members.0.age") == "7"
    assert field_value(page, "household.members.2.age") == "", "one more empty row"
    assert the_intake(session).answers["household.members"] == [{"relation": "child", "age": 7}]


# --- wrong answers -------------------------------------------------------------------------------

#: (page, field, what was typed, the message, another field on the page that must stay filled in)
WRONG = [
    ("household", "household.adults", "two", "Enter a whole number, such as 2.", ("household.minors", "1")),
    ("household", "household.minors", "40", "Enter a number from 0 to 20.", ("household.adults", "2")),
    ("household", "household.members.0.age", "old", "Enter a whole number, such as 2.", ("household.adults", "2")),
    ("housing", "housing.monthly_rent", "12,3,4", "Enter an amount in euros, such as 1.234,50.",
     ("housing.eviction_date", None)),
    ("housing", "housing.eviction_date", "31/02/2026", "Enter a date that exists, such as 15/03/2026.",
     ("housing.monthly_rent", "650,00")),
    ("housing", "housing.situation", "castle", "Choose one of the options.", ("housing.monthly_rent", "650,00")),
    ("housing", "housing.problems", ["none", "unfit"], "can't be chosen together with other answers.",
     ("housing.monthly_rent", "650,00")),
    ("income_work", "income.isee_unknown", "maybe", "Choose yes or no.", ("income.monthly_net", "800")),
    ("contact", "contact.phone", "12", "This phone number doesn't look right.", ("contact.last_name", "Rossi")),
    ("contact", "contact.email", "maria@", "Enter an e-mail address such as name@example.org.",
     ("contact.last_name", "Rossi")),
    ("contact", "contact.codice_fiscale", "RSSMRA", "A codice fiscale has 16 letters and numbers",
     ("contact.first_name", "Maria")),
    ("contact", "contact.first_name", "M" * 101, "Use 100 characters or fewer.", ("contact.last_name", "Rossi")),
]


@pytest.mark.parametrize(("section", "name", "typed", "message", "other"), WRONG, ids=[w[1] for w in WRONG])
def test_a_wrong_answer_is_explained_next_to_its_field_and_at_the_top_and_the_page_keeps_everything_typed(
    client: FlaskClient,
    session: Session,
    section: str,
    name: str,
    typed: Any,
    message: str,
    other: tuple[str, str | None],
) -> None:
    token = start_intake(client)
    data = dict(JOURNEY[section])
    data[name] = typed
    response = post_step(client, token, section, data)
    page = page_text(response)
    assert response.status_code == 400
    qid = name.split(".0.")[0] if ".0." in name else name
    error = re.search(r'<p id="e-{}" class="intake-error">(.*?)</p>'.format(re.escape(name)), page, re.S)
    assert error and message in error.group(1), "the message sits next to the field"
    summary = re.search(r'<div class="alert alert-danger intake-error-summary".*?</div>', page, re.S)
    assert summary and 'href="#q-{}"'.format(name) in summary.group(0) and message in summary.group(0)
    if isinstance(typed, list):
        assert all(is_checked(page, name, code) for code in typed), "the boxes ticked stay ticked"
    elif field_value(page, name) is not None:
        assert field_value(page, name) == typed, "what was typed stays"
    else:
        checked = re.search(r'name="{}"[^>]*\bchecked'.format(re.escape(name)), page)
        assert not checked, "an unknown choice is not shown as another"
    other_name, other_value = other
    expected = other_value if other_value is not None else JOURNEY[section][other_name]
    assert field_value(page, other_name) == expected, "every other answer stays filled in"
    stored = the_intake(session).answers
    assert qid not in stored, "nothing invalid is stored"
    assert other_name in stored, "the valid answers of the page are saved"


def test_italian_error_messages_when_the_page_is_in_italian(client: FlaskClient) -> None:
    token = start_intake(client, lang="it")
    page = page_text(post_step(client, token, "household", {"household.adults": "2"}))
    assert '<html lang="it"' in page
    assert "Rispondi a questa domanda per continuare." in page


# --- who may do what --------------------------------------------------------------------------


def test_every_form_needs_its_csrf_token(client: FlaskClient, session: Session) -> None:
    token = start_intake(client)
    response = client.post("/intake/step/household", data={"household.adults": "3", "action": "next"})
    assert response.status_code == 400
    assert "household.adults" not in the_intake(session).answers
    assert client.post("/intake/start").status_code == 400
    assert client.post("/intake/submit").status_code == 400
    assert token


@pytest.mark.parametrize("path", ["/intake/step/household", "/intake/review", "/intake/result"])
def test_without_an_intake_in_the_session_the_wizard_sends_people_to_its_start(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/intake/")


def test_posting_a_page_without_an_intake_in_the_session_changes_nothing(client: FlaskClient, session: Session) -> None:
    landing = client.get("/intake/?lang=en")
    response = client.post(
        "/intake/step/household", data={"csrf_token": token_of(landing), "household.adults": "2", "action": "next"}
    )
    assert response.headers["Location"].endswith("/intake/")
    assert session.scalar(select(Intake.id)) is None


def test_a_sent_request_cannot_be_changed_through_the_wizard(client: FlaskClient, session: Session) -> None:
    token = start_intake(client)
    answer_everything(client, token)
    client.post("/intake/submit", data={"csrf_token": token})
    response = post_step(client, token, "household", {**JOURNEY["household"], "household.adults": "5"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/intake/result")
    assert the_intake(session).answers["household.adults"] == 2
    assert client.get("/intake/step/contact").headers["Location"].endswith("/intake/result")
    assert client.get("/intake/review").headers["Location"].endswith("/intake/result")


def test_an_incomplete_request_is_not_sent_and_the_review_lists_what_is_missing(
    client: FlaskClient, session: Session
) -> None:
    token = start_intake(client)
    post_step(client, token, "household", JOURNEY["household"])
    response = client.post("/intake/submit", data={"csrf_token": token})
    page = page_text(response)
    assert response.status_code == 400
    assert "Before sending, please answer these questions" in page
    assert 'href="/intake/step/housing#q-housing.situation"' in page
    assert the_intake(session).status == "draft"


def test_an_expired_draft_is_gone_for_the_browser_too(client: FlaskClient, session: Session) -> None:
    start_intake(client)
    intake = the_intake(session)
    intake.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    response = client.get("/intake/step/household")
    assert response.headers["Location"].endswith("/intake/")


# --- quick exit and limits ----------------------------------------------------------------------


def test_the_quick_exit_is_on_citizen_pages_and_not_on_staff_pages(  # type: ignore[no-untyped-def]
    client: FlaskClient, create_staff
) -> None:
    start_intake(client)
    for path in ["/", "/intake/", "/intake/step/household", "/intake/resume"]:
        page = client.get(path).get_data(as_text=True)
        link = re.search(r'<a id="quick-exit"[^>]*>', page)
        assert link, path
        assert 'href="https://www.google.com/search?q=meteo"' in link.group(0) and 'rel="noreferrer"' in link.group(0)
        assert "target=" not in link.group(0)
        assert "/static/js/quick-exit.js" in page
    staff = create_staff(email="op@example.org")
    assert staff
    other = client.application.test_client()
    assert 'id="quick-exit"' not in other.get("/staff/login").get_data(as_text=True)
    sign_in(other, "op@example.org")
    assert 'id="quick-exit"' not in other.get("/staff/").get_data(as_text=True)


def test_the_quick_exit_goes_where_the_configuration_says(  # type: ignore[no-untyped-def]
    make_app, database_url: str
) -> None:
    app: Flask = make_app(database_url, quick_exit_url="https://example.org/weather")
    page = app.test_client().get("/intake/").get_data(as_text=True)
    assert 'href="https://example.org/weather"' in page


def test_starting_many_requests_from_one_address_is_refused_after_a_burst(
    client: FlaskClient, session: Session
) -> None:
    token = token_of(client.get("/intake/?lang=en"))
    codes = [client.post("/intake/start", data={"csrf_token": token}).status_code for _ in range(11)]
    assert codes[:10] == [302] * 10
    assert codes[10] == 429
    assert len(list(session.scalars(select(Intake.id)))) == 10

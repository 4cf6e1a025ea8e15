"""The partners' intake API: what another system sees when it submits and reads intakes."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from messaging.models import Message
from portal.api import services as api
from portal.api.views import ANONYMOUS_LIMIT, MAX_BODY_BYTES, WRITE_LIMIT
from portal.db import utcnow
from portal.intake import services as intakes
from portal.intake.models import Intake
from portal.people.models import Person

URL = "/api/v1/intakes"
PROBLEM_JSON = "application/problem+json"

ANSWERS: dict[str, Any] = {
    "household.adults": 2,
    "household.minors": 1,
    "housing.situation": "private_rent",
    "housing.eviction": "none",
    "income.isee_unknown": False,
    "income.isee": 9000,
    "work.status": "unemployed",
    "residence.in_comune": True,
    "contact.first_name": "Ioana",
    "contact.last_name": "Popescu",
    "contact.phone": "+393331234567",
    "contact.language": "ro",
    "contact.channel": "sms",
    "consent.privacy_acknowledged": True,
}


def _body(**answers: Any) -> dict[str, Any]:
    merged = {**ANSWERS, **answers}
    return {"language": "it", "channel": "partner", "answers": {k: v for k, v in merged.items() if v is not None}}


@pytest.fixture
def token(session: Session) -> str:
    """A partner's token that may write and read intakes."""
    _row, plaintext = api.create_token(session, "partner-caritas", ["intakes:write", "intakes:read"], utcnow())
    session.commit()
    return plaintext


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


def _post(client: FlaskClient, token: str | None, body: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
    headers = _auth(token) if token else {}
    headers.update(kwargs.pop("headers", {}))
    return client.post(URL, json=body, headers=headers, **kwargs)


def _stored(session: Session) -> tuple[int, int, int]:
    """Intakes, people and messages in the database, as another transaction sees them."""
    session.expire_all()
    return (
        session.scalar(select(func.count(Intake.id))) or 0,
        session.scalar(select(func.count(Person.id))) or 0,
        session.scalar(select(func.count(Message.id))) or 0,
    )


def _assert_problem(response, status: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    problem = json.loads(response.get_data(as_text=True))
    assert problem["status"] == status
    assert {"type", "title", "status", "detail", "instance"} <= set(problem)
    return problem


def _named(problem: dict[str, Any]) -> dict[str, str]:
    """Question id (or body member) → detail, from a 422's errors list."""
    return {error.get("question") or error["field"]: error["detail"] for error in problem["errors"]}


# --- the contract -----------------------------------------------------------------------------


def test_a_partner_submits_an_intake_and_reads_back_the_same_triage(
    client: FlaskClient, session: Session, token: str
) -> None:
    response = _post(client, token, _body())

    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert created["reference"].startswith("PU-")
    assert created["status"] == "submitted"
    assert created["questionnaire_version"] == "1"
    result = created["triage"]
    assert {"urgency", "measures", "quadrant", "recommended_service"} <= set(result)
    assert set(result["quadrant"]) >= {"resources", "potential", "pathway"}
    assert result["measures"] and all({"code", "reasons"} <= set(m) for m in result["measures"])
    assert response.headers["Location"] == "http://localhost/api/v1/intakes/" + created["reference"]

    again = client.get("/api/v1/intakes/" + created["reference"], headers=_auth(token))
    assert again.status_code == 200
    assert again.get_json() == created
    typed = created["reference"].lower().replace("-", " ")
    assert client.get("/api/v1/intakes/" + typed, headers=_auth(token)).get_json() == created

    intake = session.scalar(select(Intake).where(Intake.reference == created["reference"]))
    assert intake is not None and intake.channel == "partner" and intake.status == "submitted"
    assert intakes.get_answers(intake)["contact.last_name"] == "Popescu"


def test_triage_reasons_are_written_in_the_persons_language(client: FlaskClient, token: str) -> None:
    """Amounts as an Italian reads them for an Italian speaker, as an English reader for English."""
    texts = {}
    for language in ("it", "en"):
        response = _post(client, token, _body(**{"contact.language": language}))
        assert response.status_code == 201
        reasons = [r for m in response.get_json()["triage"]["measures"] for r in m["reasons"]]
        texts[language] = next(r["text"] for r in reasons if r["params"].get("isee") == "9000.00")
    assert "9.000,00" in texts["it"] and "€" in texts["it"]
    assert "€9,000.00" in texts["en"]


def test_the_person_is_sent_the_receipt_in_their_language(client: FlaskClient, session: Session, token: str) -> None:
    response = _post(client, token, _body())
    assert response.status_code == 201

    receipt = session.scalar(select(Message).where(Message.kind == "intake_receipt"))
    assert receipt is not None
    assert receipt.language == "ro"
    assert receipt.phone == "+393331234567"
    assert receipt.context["reference"] == response.get_json()["reference"]
    assert response.get_json()["language"] == "ro"


def test_a_draft_is_not_found_by_the_api(client: FlaskClient, session: Session, token: str) -> None:
    draft = intakes.start(session, "web", "it", utcnow())
    session.commit()

    for reference in (draft.reference, "PU-2222-2222", "nonsense"):
        problem = _assert_problem(client.get("/api/v1/intakes/" + reference, headers=_auth(token)), 404)
        assert problem["type"] == "about:blank"


# --- who may call ----------------------------------------------------------------------------


def test_without_a_token_the_api_asks_for_one(client: FlaskClient, session: Session) -> None:
    for response in (_post(client, None, _body()), client.get("/api/v1/intakes/PU-2222-2222")):
        problem = _assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in problem["detail"]
    assert _stored(session) == (0, 0, 0)


def test_a_wrong_or_revoked_token_is_refused(client: FlaskClient, session: Session, token: str) -> None:
    wrong = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = _post(client, wrong, _body())
    _assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]

    assert api.revoke_by_name(session, "partner-caritas", utcnow())
    session.commit()
    response = _post(client, token, _body())
    _assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _stored(session) == (0, 0, 0)


def test_a_token_without_the_scope_is_forbidden(client: FlaskClient, session: Session) -> None:
    _r, reader = api.create_token(session, "reader", ["intakes:read"], utcnow())
    _w, writer = api.create_token(session, "writer", ["intakes:write"], utcnow())
    session.commit()

    problem = _assert_problem(_post(client, reader, _body()), 403)
    assert "intakes:write" in problem["detail"]
    created = _post(client, writer, _body())
    assert created.status_code == 201
    response = client.get("/api/v1/intakes/" + created.get_json()["reference"], headers=_auth(writer))
    assert "intakes:read" in _assert_problem(response, 403)["detail"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


# --- refusals store nothing --------------------------------------------------------------------------


REFUSED_ANSWERS = [
    pytest.param({"household.pets": 2}, "household.pets", id="unknown-question"),
    pytest.param({"housing.situation": "castle"}, "housing.situation", id="unknown-option-code"),
    pytest.param({"housing.problems": ["overcrowded", "moat"]}, "housing.problems", id="unknown-code-in-list"),
    pytest.param({"household.adults": "2"}, "household.adults", id="string-for-integer"),
    pytest.param({"residence.in_comune": 1}, "residence.in_comune", id="number-for-yes-no"),
    pytest.param({"housing.eviction": "notice_received", "housing.eviction_cause": "lease_end",
                  "housing.eviction_date": "2026-02-30"}, "housing.eviction_date", id="date-that-does-not-exist"),
    pytest.param({"income.isee": -5}, "income.isee", id="negative-money"),
    pytest.param({"household.members": [{"relation": "child", "age": "six"}]}, "household.members", id="bad-row"),
]


@pytest.mark.parametrize(("answers", "question"), REFUSED_ANSWERS)
def test_an_invalid_answer_is_refused_naming_its_question_and_nothing_is_stored(  # type: ignore[no-untyped-def]
    client: FlaskClient, session: Session, token: str, answers, question
) -> None:
    problem = _assert_problem(_post(client, token, _body(**answers)), 422)

    assert problem["type"].endswith("/api/v1/problems/invalid-answers")
    assert list(_named(problem)) == [question]
    assert problem["errors"][0]["pointer"].startswith("/answers/" + question)
    assert _stored(session) == (0, 0, 0)


def test_missing_required_answers_are_all_named(client: FlaskClient, session: Session, token: str) -> None:
    body = _body(**{"household.adults": None, "work.status": None, "consent.privacy_acknowledged": False})
    problem = _assert_problem(_post(client, token, body), 422)

    assert list(_named(problem)) == ["household.adults", "work.status", "consent.privacy_acknowledged"]
    assert _stored(session) == (0, 0, 0)


def test_a_follow_up_question_becomes_required_when_its_condition_holds(client: FlaskClient, token: str) -> None:
    problem = _assert_problem(_post(client, token, _body(**{"housing.eviction": "notice_received"})), 422)
    assert list(_named(problem)) == ["housing.eviction_date", "housing.eviction_cause"]


@pytest.mark.parametrize(("members", "named"), [
    pytest.param({"questionnaire_version": "0"}, ["questionnaire_version"], id="tampered-version"),
    pytest.param({"questionnaire_version": "99"}, ["questionnaire_version"], id="unknown-version"),
    pytest.param({"language": "xx"}, ["language"], id="unknown-language"),
    pytest.param({"channel": "web"}, ["channel"], id="not-the-partner-channel"),
    pytest.param({"answers": ["household.adults", 2]}, ["answers"], id="answers-not-an-object"),
    pytest.param({"comment": "urgent"}, ["comment"], id="unknown-member"),
])
def test_a_wrong_member_of_the_body_is_named(  # type: ignore[no-untyped-def]
    client: FlaskClient, session: Session, token: str, members, named
) -> None:
    problem = _assert_problem(_post(client, token, {**_body(), **members}), 422)
    assert [e["field"] for e in problem["errors"]] == named
    assert _stored(session) == (0, 0, 0)


def test_the_current_questionnaire_version_is_accepted(client: FlaskClient, token: str) -> None:
    assert _post(client, token, {**_body(), "questionnaire_version": "1"}).status_code == 201


def test_malformed_json_and_other_bodies_are_refused_before_anything_is_stored(
    client: FlaskClient, session: Session, token: str
) -> None:
    headers = {**_auth(token), "Content-Type": "application/json"}
    for data in ('{"answers": {', "[1, 2]", '"text"', '{"answers": {"income.isee": NaN}}', "\xff"):
        problem = _assert_problem(client.post(URL, data=data, headers=headers), 400)
        assert problem["type"].endswith("/api/v1/problems/malformed-body")

    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = client.post(URL, data=json.dumps(_body()), headers={**_auth(token), "Content-Type": content_type})
        _assert_problem(response, 415)
    assert _stored(session) == (0, 0, 0)


def test_an_oversized_body_is_refused_whether_announced_or_streamed(
    client: FlaskClient, session: Session, token: str
) -> None:
    big = json.dumps(_body(**{"contact.first_name": "x" * MAX_BODY_BYTES})).encode()
    _assert_problem(_post(client, token, json.loads(big)), 413)

    streamed = client.post(
        URL,
        input_stream=io.BytesIO(big),
        headers={**_auth(token), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert streamed.request.content_length is None, "chunked: no announced length to check"
    _assert_problem(streamed, 413)
    assert _stored(session) == (0, 0, 0)


def test_a_failure_after_the_intake_was_written_leaves_nothing_behind(
    client: FlaskClient, session: Session, token: str
) -> None:
    """Start, answers, person, receipt and submission are one transaction."""

    def _casework_breaks(intake: Intake, **kwargs: Any) -> None:
        raise RuntimeError("the routing rules could not be read")

    intakes.intake_submitted.connect(_casework_breaks)
    try:
        problem = _assert_problem(_post(client, token, _body()), 500)
    finally:
        intakes.intake_submitted.disconnect(_casework_breaks)
    assert "routing" not in problem["detail"], "no internals in the answer"
    assert _stored(session) == (0, 0, 0)


# --- the rest of HTTP ---------------------------------------------------------------------------------


def test_unknown_addresses_and_methods_under_the_api_are_problems_too(client: FlaskClient, token: str) -> None:
    _assert_problem(client.get("/api/v1/nothing-here", headers=_auth(token)), 404)
    response = client.delete(URL, headers=_auth(token))
    _assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]

    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_problem_types_explain_themselves(client: FlaskClient) -> None:
    described = client.get("/api/v1/problems/invalid-answers").get_json()
    assert described["type"] == "http://localhost/api/v1/problems/invalid-answers"
    assert "errors" in described["description"]
    _assert_problem(client.get("/api/v1/problems/no-such-problem"), 404)


def test_error_details_follow_accept_language_and_default_to_english(
    client: FlaskClient, token: str, app: Flask
) -> None:
    from flask_babel import force_locale, gettext

    english = _assert_problem(_post(client, token, _body(**{"household.adults": "two"})), 422)
    assert _named(english)["household.adults"] == "Enter a whole number, such as 2."

    body = _body(**{"household.adults": None})
    italian = _assert_problem(_post(client, token, body, headers={"Accept-Language": "it-IT,it;q=0.9"}), 422)
    with app.test_request_context(), force_locale("it"):
        expected = gettext("Answer this question: it is needed to submit the request.")
    assert _named(italian)["household.adults"] == expected
    assert italian["title"] == english["title"], "titles stay English, for the developers"


# --- rate limits ---------------------------------------------------------------------------------------


def _allowed(limit: str) -> int:
    return int(limit.split()[0])


def test_a_token_that_floods_the_api_is_slowed_down(client: FlaskClient, session: Session, token: str) -> None:
    headers = {**_auth(token), "Content-Type": "application/json"}
    for _ in range(_allowed(WRITE_LIMIT)):
        assert client.post(URL, data="{", headers=headers).status_code == 400
    response = client.post(URL, data="{", headers=headers)
    problem = _assert_problem(response, 429)
    assert "Retry-After" in response.headers
    assert "per 1 minute" in problem["detail"]

    _o, other = api.create_token(session, "other-partner", ["intakes:write"], utcnow())
    session.commit()
    assert client.post(URL, data="{", headers={**_auth(other), "Content-Type": "application/json"}).status_code == 400


def test_requests_without_a_valid_token_are_limited_per_address(client: FlaskClient) -> None:
    for _ in range(_allowed(ANONYMOUS_LIMIT)):
        assert _post(client, "pu_not-a-real-token", _body()).status_code == 401
    _assert_problem(_post(client, "pu_another-made-up-one", _body()), 429)


def test_the_api_needs_no_csrf_token_and_sets_no_cookie(client: FlaskClient, token: str) -> None:
    response = _post(client, token, _body())
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers

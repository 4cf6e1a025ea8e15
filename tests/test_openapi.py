"""The OpenAPI document: valid, generated from the questionnaire, and true to what the API accepts."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from portal.api import services as api
from portal.db import utcnow
from portal.intake import questionnaire as questionnaires
from portal.intake.questionnaire import Question

JSON_TYPES = {
    "integer": "integer",
    "money": "number",
    "date": "string",
    "yes_no": "boolean",
    "single_choice": "string",
    "multiple_choice": "array",
    "text": "string",
    "phone": "string",
    "email": "string",
    "codice_fiscale": "string",
    "group": "array",
}


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    """The document as anyone fetches it: no token needed."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def _validator(document: dict[str, Any], name: str) -> OAS31Validator:
    """A validator for one component schema, its $refs resolved within the document."""
    return OAS31Validator({**document["components"]["schemas"][name], "components": document["components"]})


def _check_question(schema: dict[str, Any], question: Question) -> None:
    assert schema["type"] == JSON_TYPES[question.type], question.id
    assert schema["title"] == question.label
    codes = [option.code for option in question.options]
    if question.type == "single_choice":
        assert schema["enum"] == codes
    if question.type == "multiple_choice":
        assert schema["items"]["enum"] == codes and schema["uniqueItems"] is True
    if question.type == "integer":
        assert schema.get("minimum") == question.min and schema.get("maximum") == question.max
    if question.type == "money":
        assert schema["minimum"] == 0
    if question.type == "date":
        assert schema["format"] == "date"
    if question.type == "text":
        assert schema["maxLength"] >= 1
    if question.type == "group":
        rows = schema["items"]
        assert rows["type"] == "object" and schema["maxItems"] == question.max
        assert set(rows["properties"]) == {f.id for f in question.fields}
        assert rows["required"] == [f.id for f in question.fields if f.required]
        for f in question.fields:
            _check_question(rows["properties"][f.id], f)


def test_the_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_question_is_in_the_answers_schema_with_its_type_and_codes(document: dict[str, Any]) -> None:
    current = questionnaires.current()
    answers = document["components"]["schemas"]["Answers"]

    assert list(answers["properties"]) == list(current.questions)
    assert answers["additionalProperties"] is False
    for question_id, question in current.questions.items():
        _check_question(answers["properties"][question_id], question)
    assert "household.adults" in answers["required"]
    assert "housing.eviction_date" not in answers["required"], "asked only after some answers"


def test_the_paths_and_their_security_are_described(document: dict[str, Any]) -> None:
    paths = document["paths"]
    create, read = paths["/intakes"]["post"], paths["/intakes/{reference}"]["get"]

    assert create["security"] == [{"bearer": []}] and "intakes:write" in create["description"]
    assert read["security"] == [{"bearer": []}] and "intakes:read" in read["description"]
    assert paths["/openapi.json"]["get"]["security"] == []
    assert create["summary"] == "Submit an intake on a person's behalf."
    assert {"201", "400", "401", "403", "413", "415", "422", "429"} <= set(create["responses"])
    assert "application/problem+json" in create["responses"]["422"]["content"]
    assert "WWW-Authenticate" in create["responses"]["401"]["headers"]
    assert document["components"]["securitySchemes"]["bearer"] == {
        **document["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}


def test_a_body_built_from_the_examples_is_valid_and_accepted(
    client: FlaskClient, session: Session, document: dict[str, Any]
) -> None:
    examples = document["components"]["schemas"]["Answers"]["properties"]
    body = {
        "channel": "partner",
        "questionnaire_version": questionnaires.current().version,
        "answers": {question_id: schema["examples"][0] for question_id, schema in examples.items()},
    }
    _validator(document, "IntakeRequest").validate(body)
    content = document["paths"]["/intakes"]["post"]["requestBody"]["content"]["application/json"]
    assert content["examples"]["complete"]["value"]["answers"] == body["answers"]

    _row, token = api.create_token(session, "partner", ["intakes:write"], utcnow())
    session.commit()
    response = client.post("/api/v1/intakes", json=body, headers={"Authorization": "Bearer " + token})
    assert response.status_code == 201, response.get_data(as_text=True)
    _validator(document, "Intake").validate(response.get_json())


@pytest.mark.parametrize("answer", [
    {"household.adults": "2"},
    {"household.adults": 0},
    {"residence.in_comune": 1},
    {"housing.situation": "castle"},
    {"income.benefits": ["moat"]},
    {"income.monthly_net": -1},
    {"contact.first_name": "x" * 101},
    {"household.members": [{"relation": "child"}]},
    {"household.pets": 1},
])
def test_answers_the_schema_refuses_the_api_refuses_too(
    client: FlaskClient, session: Session, document: dict[str, Any], answer: dict[str, Any]
) -> None:
    answers = dict(document["paths"]["/intakes"]["post"]["requestBody"]["content"]["application/json"][
        "examples"]["complete"]["value"]["answers"])
    answers.update(answer)
    assert not _validator(document, "Answers").is_valid(answers)

    _row, token = api.create_token(session, "partner", ["intakes:write"], utcnow())
    session.commit()
    response = client.post("/api/v1/intakes", json={"answers": answers}, headers={"Authorization": "Bearer " + token})
    assert response.status_code == 422
    named = {error["question"] for error in response.get_json()["errors"]}
    assert named == set(answer)

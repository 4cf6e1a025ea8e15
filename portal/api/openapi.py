"""The OpenAPI 3.1 document of the REST API, generated from the code that serves it.

Written by hand, a description drifts from the API the day someone adds a question. So
the paths come from the URL map (every ``api.*`` endpoint that carries an
:func:`operation`), their summaries from the views' docstrings, their security from
``token_required``, and the ``Answers`` schema from the current questionnaire: each
question id with its JSON type, bounds, option codes and an example. The example body
built from those examples is one the API accepts.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus
from typing import Any, Callable, TypeVar

from flask import current_app

from portal.api.auth import SCOPE_ATTRIBUTE
from portal.api.problems import PROBLEM_JSON
from portal.config import LANGUAGES
from portal.intake import fields, triage
from portal.intake.questionnaire import Question, Questionnaire

F = TypeVar("F", bound=Callable[..., Any])
OPENAPI_VERSION = "3.1.0"
API_PREFIX = "/api/v1"
#: Attribute set on a view by :func:`operation`.
OPERATION_ATTRIBUTE = "porta_openapi"
_REF = "#/components/schemas/{}"
_PARAMETERS = {
    "reference": ("The intake's reference, as returned when it was created (PU-XXXX-XXXX).", "PU-4K7M-2X9Q"),
    "slug": ("The last part of a problem type URI.", "invalid-answers"),
    "appointment_id": ("The appointment's id, as returned when it was booked.", "42"),
}
#: Schemas other API modules add (see :func:`register_schemas`).
_EXTRA_SCHEMAS: dict[str, Any] = {}
_EXAMPLE_TEXT = {"phone": "+393331234567", "email": "name@example.org", "codice_fiscale": "RSSMRA85T10A562S"}


@dataclass(frozen=True)
class Operation:
    """What the docstring cannot say: the bodies and the statuses an endpoint answers with."""

    operation_id: str
    status: int
    schema: str
    problems: tuple[int, ...]
    request_schema: str | None = None
    headers: tuple[str, ...] = ()
    #: Query parameters: (name, required, description).
    query: tuple[tuple[str, bool, str], ...] = ()


def operation(operation_id: str, status: int, schema: str, problems: tuple[int, ...] = (),
              request_schema: str | None = None, headers: tuple[str, ...] = (),
              query: tuple[tuple[str, bool, str], ...] = ()) -> Callable[[F], F]:
    """Describe a view for the generated document (put it right under the route)."""

    def decorate(view: F) -> F:
        setattr(view, OPERATION_ATTRIBUTE, Operation(operation_id, status, schema, problems, request_schema, headers,
                                                     query))
        return view

    return decorate


def register_schemas(schemas: dict[str, Any]) -> None:
    """Add the component schemas of another API module's views to the document."""
    _EXTRA_SCHEMAS.update(schemas)


# --- the answers, from the questionnaire ---------------------------------------------------------


def question_schema(question: Question) -> dict[str, Any]:
    """The JSON schema of one answer (or of one field of a group's rows)."""
    kind = question.type
    schema: dict[str, Any]
    if kind == "integer":
        schema = {"type": "integer"}
        schema.update({k: v for k, v in (("minimum", question.min), ("maximum", question.max)) if v is not None})
    elif kind == "money":
        limit = question.max if question.max is not None else fields.DEFAULT_MONEY_MAX
        schema = {"type": "number", "minimum": 0, "maximum": float(limit), "description": "Euros; cents are rounded."}
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    elif kind == "yes_no":
        schema = {"type": "boolean"} if not question.agreement else {"type": "boolean", "const": True}
    elif kind == "single_choice":
        schema = {"type": "string", "enum": [option.code for option in question.options]}
    elif kind == "multiple_choice":
        schema = {"type": "array", "uniqueItems": True,
                  "items": {"type": "string", "enum": [option.code for option in question.options]}}
        exclusive = [option.code for option in question.options if option.exclusive]
        if exclusive:
            schema["description"] = "'{}' cannot be chosen with other codes.".format("', '".join(exclusive))
    elif kind == "group":
        row = {f.id: question_schema(f) for f in question.fields}
        schema = {"type": "array", "maxItems": question.max, "items": {
            "type": "object", "properties": row, "additionalProperties": False,
            "required": [f.id for f in question.fields if f.required]}}
    elif kind == "text":
        schema = {"type": "string", "maxLength": question.max_length or fields.DEFAULT_MAX_LENGTH}
    elif kind == "email":
        schema = {"type": "string", "format": "email"}
    elif kind == "phone":
        schema = {"type": "string", "description": "E.164, or an Italian number without country code."}
    else:  # codice_fiscale
        schema = {"type": "string", "description": "16 characters, or the provisional 11 digits."}
    described = {"title": question.label, **schema}
    notes = [text for text in (question.help, schema.get("description")) if text]
    if question.show_if is not None:
        notes.append("Asked only when: {}.".format(question.show_if.source))
    if notes:
        described["description"] = " ".join(notes)
    described["examples"] = [example(question)]
    return described


def example(question: Question) -> Any:
    """A valid answer to ``question``, for the document's examples."""
    kind = question.type
    if kind == "integer":
        low, high = question.min if question.min is not None else 0, question.max if question.max is not None else 9
        return min(max(1, low), high)
    if kind == "money":
        return min(500, question.max) if question.max is not None else 500
    if kind == "date":
        return date(2026, 3, 15).isoformat()
    if kind == "yes_no":
        return True
    if kind == "single_choice":
        return question.options[0].code
    if kind == "multiple_choice":
        return [question.options[0].code]
    if kind == "group":
        return [{f.id: example(f) for f in question.fields}]
    if kind == "text":
        return "Example"
    return _EXAMPLE_TEXT[kind]


def answers_schema(questionnaire: Questionnaire) -> dict[str, Any]:
    """Question id → schema; always-asked required questions are required."""
    return {
        "type": "object",
        "description": "Question id → answer. A question hidden by other answers is ignored; `null` "
        "is no answer. Required questions that depend on other answers are required only when asked.",
        "properties": {qid: question_schema(q) for qid, q in questionnaire.questions.items()},
        "required": [qid for qid, q in questionnaire.questions.items() if q.required and q.show_if is None],
        "additionalProperties": False,
    }


def example_body(questionnaire: Questionnaire) -> dict[str, Any]:
    """A complete request body made of every question's example."""
    answers = {qid: example(q) for qid, q in questionnaire.questions.items()}
    return {"language": answers.get("contact.language", "it"), "channel": "partner",
            "questionnaire_version": questionnaire.version, "answers": answers}


# --- the document ----------------------------------------------------------------------------------


def document(questionnaire: Questionnaire) -> dict[str, Any]:
    """The whole OpenAPI document for the running app and ``questionnaire``."""
    config = current_app.config["PORTA"]
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        view = current_app.view_functions[rule.endpoint]
        described: Operation | None = getattr(view, OPERATION_ATTRIBUTE, None)
        if not rule.endpoint.startswith("api.") or described is None:
            continue
        path = rule.rule[len(API_PREFIX):].replace("<", "{").replace(">", "}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, described, sorted(rule.arguments),
                                                                    questionnaire)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "{} intake API".format(config.agency_name),
            "version": "1",
            "description": "Partner organisations submit intakes on a person's behalf and read their "
            "triage. Every error is application/problem+json (RFC 9457).",
        },
        "servers": [{"url": config.public_base_url + API_PREFIX}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": (
                "A token created with `flask --app portal api-token create --name NAME --scope SCOPE`.")}},
            "schemas": _schemas(questionnaire),
        },
    }


def _operation(view: Any, described: Operation, arguments: list[str], questionnaire: Questionnaire) -> dict[str, Any]:
    doc = inspect.getdoc(view) or ""
    summary, _, description = doc.partition("\n")
    scope = getattr(view, SCOPE_ATTRIBUTE, None)
    tag = scope.split(":")[0] if scope else "intakes"
    body: dict[str, Any] = {"operationId": described.operation_id, "summary": summary.strip(), "tags": [tag]}
    if description.strip():
        body["description"] = description.strip()
    if scope:
        needs = "Needs a token with the scope `{}`.".format(scope)
        body["description"] = "{}\n\n{}".format(body.get("description", ""), needs).strip()
        body["security"] = [{"bearer": []}]
    else:
        body["security"] = []
        body["tags"] = ["documentation"]
    if arguments:
        body["parameters"] = [
            {"name": name, "in": "path", "required": True, "description": _PARAMETERS[name][0],
             "schema": {"type": "string"}, "example": _PARAMETERS[name][1]}
            for name in arguments
        ]
    if described.query:
        body["parameters"] = body.get("parameters", []) + [
            {"name": name, "in": "query", "required": required, "description": text, "schema": {"type": "string"}}
            for name, required, text in described.query
        ]
    if described.request_schema:
        content: dict[str, Any] = {"schema": {"$ref": _REF.format(described.request_schema)}}
        if described.request_schema == "IntakeRequest":
            content["examples"] = {"complete": {"summary": "Every question's example", "value": example_body(questionnaire)}}
        body["requestBody"] = {"required": True, "content": {"application/json": content}}
    success: dict[str, Any] = {"description": HTTPStatus(described.status).phrase}
    if described.status != 204:
        success["content"] = {"application/json": {"schema": {"$ref": _REF.format(described.schema)}}}
    if described.headers:
        success["headers"] = {name: {"schema": {"type": "string"}} for name in described.headers}
    responses: dict[str, Any] = {str(described.status): success}
    for status in sorted(set(described.problems) | {429, 500}):
        responses[str(status)] = _problem_response(status)
    body["responses"] = responses
    return body


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": HTTPStatus(status).phrase, "content": {
        PROBLEM_JSON: {"schema": {"$ref": _REF.format("Problem")}}}}
    header = {401: "WWW-Authenticate", 403: "WWW-Authenticate", 405: "Allow", 429: "Retry-After"}.get(status)
    if header:
        response["headers"] = {header: {"schema": {"type": "string"}}}
    return response


def _schemas(questionnaire: Questionnaire) -> dict[str, Any]:
    rules = triage.load_rules()
    nullable = {"type": ["string", "null"]}
    reason = {"type": "object", "properties": {
        "rule": {"type": "string"}, "text": {"type": "string", "description": "In the intake's language."},
        "msgid": {"type": "string"}, "params": {"type": "object"},
        "answers": {"type": "array", "items": {"type": "string"}, "description": "Question ids behind it."},
        "source": {**nullable, "description": "The legal source."}}}
    reasons = {"type": "array", "items": {"$ref": _REF.format("Reason")}}
    codes = {"type": "array", "items": {"type": "string"}}
    measure = {"type": "object", "required": ["code", "reasons"], "properties": {
        "code": {"type": "string", "enum": [m.code for m in rules.measures]},
        "status": {"type": "string", "enum": ["likely", "possible"]},
        "reasons": reasons, "missing": codes}}
    error = {"type": "object", "required": ["detail"], "properties": {
        "question": {"type": "string", "description": "The question id (for answers)."},
        "field": {"type": "string", "description": "The member of the body (for the others)."},
        "parameter": {"type": "string", "description": "The query parameter (for a query)."},
        "pointer": {"type": "string", "description": "JSON Pointer (RFC 6901) into the body."},
        "detail": {"type": "string", "description": "In the language of Accept-Language."}}}
    return {
        "Answers": answers_schema(questionnaire),
        "IntakeRequest": {
            "type": "object", "required": ["answers"], "additionalProperties": False,
            "properties": {
                "language": {"type": "string", "enum": list(LANGUAGES),
                             "description": "The language the answers were collected in; messages to the "
                             "person use `contact.language`. Default: `contact.language`."},
                "channel": {"type": "string", "const": "partner", "description": "Default: partner."},
                "questionnaire_version": {"type": "string", "const": questionnaire.version,
                                          "description": "When given, must be the current version."},
                "answers": {"$ref": _REF.format("Answers")},
            },
        },
        "Intake": {
            "type": "object", "required": ["reference", "status", "questionnaire_version", "triage"],
            "properties": {
                "reference": {"type": "string", "examples": ["PU-4K7M-2X9Q"]},
                "status": {"type": "string"},
                "questionnaire_version": {"type": "string"},
                "language": {"type": "string", "enum": list(LANGUAGES)},
                "channel": {"type": "string"},
                "submitted_at": {"type": "string", "format": "date-time"},
                "triage": {"$ref": _REF.format("Triage")},
            },
        },
        "Triage": {
            "type": "object", "required": ["urgency", "measures", "quadrant", "recommended_service"],
            "properties": {
                "urgency": {"type": "string", "enum": [level.code for level in rules.urgency]},
                "urgency_reasons": reasons,
                "measures": {"type": "array", "items": measure},
                "quadrant": {"type": "object", "required": ["resources", "potential", "pathway"], "properties": {
                    "resources": nullable, "potential": nullable,
                    "pathway": {"type": ["string", "null"], "enum": [p.code for p in rules.pathways] + [None]},
                    "pathway_text": {"type": "string"}, "reasons": reasons}},
                "recommended_service": {"type": "string"},
                "service_reasons": reasons,
                "missing": {**codes, "description": "Question ids whose answers would sharpen the result."},
                "rules_version": {"type": "string"},
            },
        },
        "Reason": reason,
        "Problem": {
            "type": "object", "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
                "status": {"type": "integer"}, "detail": {"type": "string"},
                "instance": {"type": "string", "format": "uri-reference"},
                "errors": {"type": "array", "items": error},
                "alternatives": {"type": "array", "items": {"type": "object"},
                                 "description": "On 409 for a slot just taken: the next free slots."},
            },
        },
        "OpenApiDocument": {"type": "object", "description": "This document."},
        "ProblemType": {
            "type": "object", "required": ["type", "title", "description"],
            "properties": {"type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
                           "description": {"type": "string"}},
        },
        **_EXTRA_SCHEMAS,
    }

"""The REST API for partner organisations: submit an intake, read it back, read the contract.

A partner (a charity's help desk, a trade union's housing office) fills in the same
questionnaire as the citizen's wizard, with the person beside it, and sends the answers
in one request. The checks are the wizard's own (``Questionnaire.parse_json`` and
``missing_for_submit``) and the intake is started, answered and submitted in one
transaction: a refused request stores nothing, an accepted one is an intake like any
other, with its triage, its person and the receipt sent to them.

The views parse and answer; the intake services do the work. Error responses are
``application/problem+json`` (see ``problems.py``); the OpenAPI document is generated
from these views (see ``openapi.py``).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from flask import Blueprint, Response, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.api import problems
from portal.api.auth import current_token, rate_limit_key, token_required
from portal.api.openapi import document, operation
from portal.api.problems import PROBLEM_TYPES, Problem, type_uri
from portal.auth.access import public
from portal.config import DEFAULT_LANGUAGE, LANGUAGES
from portal.db import get_session, utcnow
from portal.extensions import limiter
from portal.i18n import BABEL_LOCALES
from portal.intake import questionnaire as questionnaires
from portal.intake import services as intakes
from portal.intake.models import Intake
from portal.intake.questionnaire import Questionnaire
from portal.intake.triage import Triage, localize

bp = Blueprint("api", __name__, url_prefix="/api/v1")
problems.init_blueprint(bp)

#: The largest body the API reads: a complete intake is a few KiB.
MAX_BODY_BYTES = 64 * 1024
#: Requests per token and endpoint; without a valid token, per client address.
WRITE_LIMIT = "60 per minute"
READ_LIMIT = "600 per minute"
ANONYMOUS_LIMIT = "30 per minute"
DOCUMENT_LIMIT = "60 per minute"
#: The only channel open to partners (the others are the citizen's and the operators').
PARTNER_CHANNEL = "partner"
BODY_MEMBERS = ("language", "channel", "questionnaire_version", "answers")


def _per_token(limit: str) -> Any:
    """``limit`` for a valid token; the stricter anonymous one for everyone else."""
    return lambda: limit if current_token() is not None else ANONYMOUS_LIMIT


@bp.before_request
def _small_bodies() -> None:
    """Refuse large bodies with 413 before anything reads them (Content-Length or stream).

    One byte more than allowed may be read: a chunked stream is cut at the limit without
    an error, so only a body longer than the limit tells that the client sent too much.
    """
    request.max_content_length = MAX_BODY_BYTES + 1


@bp.post("/intakes")
@operation("createIntake", 201, "Intake", (400, 401, 403, 413, 415, 422), "IntakeRequest", ("Location",))
@limiter.limit(_per_token(WRITE_LIMIT), key_func=rate_limit_key)
@token_required("intakes:write")
def create_intake():  # type: ignore[no-untyped-def]
    """Submit an intake on a person's behalf.

    The answers are checked exactly as the citizen's wizard checks them; a refused request
    (422, listing every question at fault) stores nothing. The answer is the submitted
    intake, with its triage in the person's language (`contact.language`), and the person
    receives the usual receipt with the reference. `errors[].detail` texts follow
    `Accept-Language` (English by default).
    """
    body = _read_json_object()
    questionnaire = questionnaires.current()
    with force_locale(_errors_locale()):
        language, values = _parse(body, questionnaire)
    intake = _submit(language, values)
    response = _json(_intake_json(intake), 201)
    response.headers["Location"] = "{}/api/v1/intakes/{}".format(
        current_app.config["PORTA"].public_base_url, intake.reference)
    return response


@bp.get("/intakes/<reference>")
@operation("getIntake", 200, "Intake", (401, 403, 404))
@limiter.limit(_per_token(READ_LIMIT), key_func=rate_limit_key)
@token_required("intakes:read")
def get_intake(reference: str):  # type: ignore[no-untyped-def]
    """Read a submitted intake: its status and triage.

    Any token with `intakes:read` reads any submitted intake, whoever created it; drafts
    are not found. Answers and contact details are never returned.
    """
    intake = intakes.find_by_reference(get_session(), reference)
    if intake is None or intake.submitted_at is None:
        raise Problem(404, "There is no submitted intake with this reference.")
    return _json(_intake_json(intake))


@bp.get("/openapi.json")
@operation("getOpenApiDocument", 200, "OpenApiDocument")
@limiter.limit(DOCUMENT_LIMIT)
@public
def openapi_document():  # type: ignore[no-untyped-def]
    """This document: the API's contract, generated from the code and the current questionnaire."""
    return _json(document(questionnaires.current()))


@bp.get("/problems/<slug>")
@operation("getProblemType", 200, "ProblemType", (404,))
@limiter.limit(DOCUMENT_LIMIT)
@public
def problem_type(slug: str):  # type: ignore[no-untyped-def]
    """What one of the API's problem types means (the `type` of an error answers here)."""
    if slug not in PROBLEM_TYPES:
        raise Problem(404, "There is no such problem type.")
    title, description = PROBLEM_TYPES[slug]
    return _json({"type": type_uri(slug), "title": title, "description": description})


def _json(data: Any, status: int = 200) -> Response:
    """JSON in the order it was built (questionnaire order, contract fields first), UTF-8."""
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")


# --- reading the request -----------------------------------------------------------------------------


def _read_json_object() -> dict[str, Any]:
    """The body as a JSON object, or 415 / 413 / 400; the size is checked before parsing."""
    if not request.is_json:
        raise Problem(415, "Send the body as JSON, with 'Content-Type: application/json'.")
    raw = request.get_data(cache=False)  # 413 here when Content-Length says too much
    if len(raw) > MAX_BODY_BYTES:
        raise Problem(413, "The body is larger than {} KiB.".format(MAX_BODY_BYTES // 1024))

    def _refuse_constant(name: str) -> Any:
        raise ValueError("{} is not JSON".format(name))

    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise Problem(400, "The body is not valid JSON (UTF-8).", slug="malformed-body") from None
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a JSON object, such as {\"answers\": {...}}.", slug="malformed-body")
    return body


def _errors_locale() -> str:
    """The language of ``errors[].detail``: Accept-Language among ours, else English."""
    return BABEL_LOCALES[request.accept_languages.best_match(LANGUAGES, default="en") or "en"]


def _parse(body: Mapping[str, Any], questionnaire: Questionnaire) -> tuple[str, dict[str, Any]]:
    """The intake's language and valid answers, or a 422 naming every member at fault."""
    version = body.get("questionnaire_version")
    if version is not None and version != questionnaire.version:
        raise _invalid([_field("questionnaire_version", _(
            "Answer the current questionnaire, version %(version)s.", version=questionnaire.version))])
    errors = [_field(name, _("There is no such field.")) for name in body if name not in BODY_MEMBERS]
    if body.get("channel", PARTNER_CHANNEL) != PARTNER_CHANNEL:
        errors.append(_field("channel", _("Partners send intakes with the channel “partner”.")))
    if "language" in body and body["language"] not in LANGUAGES:
        errors.append(_field("language", _("Choose one of these languages: %(codes)s.", codes=", ".join(LANGUAGES))))
    answers = body.get("answers")
    if not isinstance(answers, dict):
        errors.append(_field("answers", _("Send the answers as an object of question ids and values.")))
        raise _invalid(errors)
    parsed = questionnaire.parse_json(answers)
    values = {qid: value for qid, value in parsed.values.items() if value is not None}
    wrong = [_answer_error(questionnaire, key, detail) for key, detail in parsed.errors.items()]
    missing = [qid for qid in questionnaire.missing_for_submit(values) if qid not in parsed.errors]
    errors += sorted(wrong + _missing(missing), key=lambda e: _order(questionnaire, e["question"]))
    if errors:
        raise _invalid(errors)
    language = body.get("language") or values.get("contact.language") or DEFAULT_LANGUAGE
    return language, values


def _field(name: str, detail: str) -> dict[str, Any]:
    return {"field": name, "pointer": "/" + _escape(name), "detail": detail}


def _answer_error(questionnaire: Questionnaire, key: str, detail: str) -> dict[str, Any]:
    """Name the question; a group row's field (``<id>.<n>.<field>``) is in the pointer."""
    question, path = key, [key]
    if key not in questionnaire.questions:
        for qid, candidate in questionnaire.questions.items():
            if candidate.type == "group" and key.startswith(qid + "."):
                question, path = qid, [qid, *key[len(qid) + 1:].split(".")]
                break
    return {"question": question, "pointer": "/answers/" + "/".join(_escape(p) for p in path), "detail": detail}


def _missing(question_ids: list[str]) -> list[dict[str, Any]]:
    return [{"question": qid, "pointer": "/answers/" + _escape(qid),
             "detail": _("Answer this question: it is needed to submit the request.")} for qid in question_ids]


def _order(questionnaire: Questionnaire, question_id: str) -> int:
    ids = list(questionnaire.questions)
    return ids.index(question_id) if question_id in ids else len(ids)


def _escape(part: str) -> str:
    """One reference token of a JSON Pointer (RFC 6901)."""
    return part.replace("~", "~0").replace("/", "~1")


def _invalid(errors: list[dict[str, Any]]) -> Problem:
    count = len(errors)
    detail = "{} problem{} in the body; nothing was stored.".format(count, "" if count == 1 else "s")
    return Problem(422, detail, slug="invalid-answers", errors=errors)


# --- doing it ---------------------------------------------------------------------------------------


def _submit(language: str, values: Mapping[str, Any]) -> Intake:
    """Start, answer and submit in one transaction: on any error nothing is stored."""
    config = current_app.config["PORTA"]
    session = get_session()
    now = utcnow()
    try:
        intake = intakes.start(session, PARTNER_CHANNEL, language, now, draft_days=config.intake_draft_days)
        intakes.save_answers(session, intake, values, now, draft_days=config.intake_draft_days)
        missing = intakes.submit(
            session, intake, now, config.privacy_notice_version, helpline=config.helpline_number,
            link=intakes.resume_link(config.public_base_url), timezone=config.timezone,
        )
        if missing:
            with force_locale(_errors_locale()):
                raise _invalid(_missing(missing))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return intake


def _intake_json(intake: Intake) -> dict[str, Any]:
    """The contract: reference, status, version and triage (reasons in the intake's language)."""
    result = None
    if intake.triage is not None:
        with force_locale(BABEL_LOCALES.get(intake.language, intake.language)):
            result = Triage.from_json(intake.triage).to_json(localize)
    return {
        "reference": intake.reference,
        "status": intake.status,
        "questionnaire_version": intake.questionnaire_version,
        "language": intake.language,
        "channel": intake.channel,
        "submitted_at": intake.submitted_at.isoformat().replace("+00:00", "Z") if intake.submitted_at else None,
        "triage": result,
    }


# The appointments endpoints live on this blueprint too (their module imports it from here).
from portal.api import appointments as _appointments  # noqa: E402,F401

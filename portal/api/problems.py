"""Errors of the REST API as ``application/problem+json`` (RFC 9457), and only there.

Other systems read our errors with code, not eyes: every refusal under ``/api/`` is a
JSON object with ``type``, ``title``, ``status``, ``detail`` and ``instance``, and a
refused intake adds ``errors``, one entry per answer, naming the question. The rest of
the site keeps its HTML error pages (``portal/errors.py``): the handlers here are the
blueprint's own, plus one hook for what never reaches a blueprint (an unknown address or
method under ``/api/``).

``title`` and the top-level ``detail`` are English, for the developers of the other
system; the ``detail`` of each entry in ``errors`` speaks the language the request asked
for (``Accept-Language``), because a partner may show it to the person it concerns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Mapping

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

PROBLEM_JSON = "application/problem+json"
#: Every API address starts with this; the hook for unrouted requests looks no further.
API_ROOT = "/api/"
#: Problem types of our own (slug → title). Any other problem is ``about:blank``, whose
#: title is the HTTP status phrase. Each slug is documented at ``/api/v1/problems/<slug>``.
PROBLEM_TYPES: Mapping[str, tuple[str, str]] = {
    "invalid-answers": (
        "The intake has invalid or missing answers",
        "Some members of the body or answers to the questionnaire are not acceptable. `errors` "
        "lists each one: `question` (a question id) or `field` (a member of the body), `pointer` "
        "(a JSON Pointer into the body) and `detail` (what to send instead). Nothing was stored.",
    ),
    "malformed-body": (
        "The body is not a JSON object",
        "The body could not be read as JSON, or it is JSON but not an object. Nothing was stored.",
    ),
}


@dataclass(eq=False)
class Problem(Exception):
    """Raised by API code to answer with a problem document; nothing else is needed."""

    status: int
    detail: str | None = None
    slug: str | None = None
    errors: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def type_uri(slug: str) -> str:
    """The absolute URI of one of our problem types (it answers with its description)."""
    base = current_app.config["PORTA"].public_base_url
    return "{}/api/v1/problems/{}".format(base, slug)


def problem_response(
    status: int,
    detail: str | None = None,
    slug: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A ``problem+json`` response for the current request."""
    if slug is not None:
        title, kind = PROBLEM_TYPES[slug][0], type_uri(slug)
    else:
        title, kind = HTTPStatus(status).phrase, "about:blank"
    body: dict[str, Any] = {"type": kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    response.vary.add("Accept-Language")
    return response


def _from_http(error: HTTPException) -> Response:
    """Werkzeug's exceptions (404, 405, 413, 429...) as problems, keeping their headers."""
    status = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return problem_response(status, _DETAILS.get(status), headers=headers)


_DETAILS: Mapping[int, str] = {
    404: "There is nothing at this address, or no submitted intake with this reference.",
    405: "This address does not accept this method; see the Allow header.",
    413: "The body is too large for this API.",
    429: "Too many requests: wait before trying again (see Retry-After).",
    500: "Something went wrong on our side. Nothing was stored; try again later.",
}


def init_blueprint(bp: Blueprint) -> None:
    """Answer the blueprint's errors, and unrouted ``/api/`` requests, with problems."""

    @bp.errorhandler(Problem)
    def _problem(error: Problem) -> Response:
        return problem_response(error.status, error.detail, error.slug, error.errors, error.headers)

    @bp.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        if error.code is None or error.code < 400:
            return error
        if error.code == 429:
            # Flask-Limiter's description is the limit itself ("60 per 1 minute").
            return problem_response(429, "Too many requests: at most {}. {}".format(
                error.description, "Wait before trying again (see Retry-After)."))
        return _from_http(error)

    @bp.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        current_app.logger.exception("unhandled error in the API")
        return problem_response(500, _DETAILS[500])

    @bp.before_app_request
    def _unrouted():  # type: ignore[no-untyped-def]
        """An unknown address or method under /api/ never reaches the blueprint: answer here."""
        error = request.routing_exception
        if (
            isinstance(error, HTTPException)
            and error.code is not None
            and error.code >= 400
            and request.path.startswith(API_ROOT)
        ):
            return _from_http(error)
        return None

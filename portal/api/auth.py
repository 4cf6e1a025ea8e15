"""Bearer tokens on API views, and the key their rate limits count by.

API views are public to the staff sign-in (no cookie, no session, no CSRF): another
system proves who it is with ``Authorization: Bearer <token>`` on every request, and
``token_required(scope)`` admits it only with that scope. Failures follow RFC 6750: 401
with ``WWW-Authenticate: Bearer`` for a missing, unknown or revoked token, 403 with
``error="insufficient_scope"`` for a token that may not do this.

The token is looked up once per request (:func:`current_token`): the rate limiter asks
first, to count the request against the token (or, without a valid one, against the
client's address), then the view's guard asks again and gets the same answer.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from flask import g, request
from flask_limiter.util import get_remote_address

from portal.api import services
from portal.api.models import ApiToken
from portal.api.problems import Problem
from portal.auth.access import public
from portal.db import get_session, utcnow

F = TypeVar("F", bound=Callable[..., Any])

#: Attribute set on a guarded view: the scope it needs (read by the OpenAPI generator).
SCOPE_ATTRIBUTE = "porta_api_scope"
REALM = 'Bearer realm="porta-unica"'
_UNSET = object()


def presented_token() -> str | None:
    """The token in ``Authorization: Bearer ...``, or None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_token() -> ApiToken | None:
    """The active token this request presents, looked up (and committed as used) once."""
    token = g.get("api_token", _UNSET)
    if token is _UNSET:
        plaintext = presented_token()
        token = None
        if plaintext is not None:
            session = get_session()
            token = services.authenticate(session, plaintext, utcnow())
            # last_used_at must survive whatever the request does next, even a rollback.
            session.commit()
        g.api_token = token
    return token  # type: ignore[return-value]


def rate_limit_key() -> str:
    """Count requests per token; requests without a valid token per client address."""
    token = current_token()
    if token is not None:
        return "api-token:{}".format(token.id)
    return "api-address:{}".format(get_remote_address())


def token_required(scope: str) -> Callable[[F], F]:
    """Admit requests bearing an active token granted ``scope``; public to the staff sign-in."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if presented_token() is None:
                raise Problem(401, "Send an API token: 'Authorization: Bearer <token>'.", headers={
                    "WWW-Authenticate": REALM})
            token = current_token()
            if token is None:
                raise Problem(401, "The API token is unknown or has been revoked.", headers={
                    "WWW-Authenticate": '{}, error="invalid_token"'.format(REALM)})
            if not services.has_scope(token, scope):
                raise Problem(403, "This API token does not have the scope '{}'.".format(scope), headers={
                    "WWW-Authenticate": '{}, error="insufficient_scope", scope="{}"'.format(REALM, scope)})
            return view(*args, **kwargs)

        setattr(guarded, SCOPE_ATTRIBUTE, scope)
        return public(guarded)  # type: ignore[return-value]

    return decorate

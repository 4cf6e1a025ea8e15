"""Every view says who may use it.

``@public`` marks a page anyone may open; ``@roles_required(...)`` admits signed-in
staff holding at least one of the roles. A test walks the URL map and fails on any view
that declares neither, so a new staff page cannot ship unprotected by oversight.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort
from flask_login import current_user

from portal.auth.models import Role
from portal.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

#: Attribute set on a view function: ``"public"`` or a frozenset of role names.
ACCESS_ATTRIBUTE = "porta_access"


def public(view: F) -> F:
    """Declare a view open to everyone, signed in or not."""
    setattr(view, ACCESS_ATTRIBUTE, "public")
    return view


def roles_required(*roles: Role | str) -> Callable[[F], F]:
    """Admit signed-in staff holding at least one of ``roles``; others get 401/403."""
    names = frozenset(str(role) for role in roles)
    unknown = names - {role.value for role in Role}
    if not names or unknown:
        raise ValueError("roles_required needs known roles, got {}".format(sorted(names)))

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_any_role(*names):
                abort(403)
            return view(*args, **kwargs)

        setattr(guarded, ACCESS_ATTRIBUTE, names)
        return guarded  # type: ignore[return-value]

    return decorate


def access_of(view: Callable[..., Any]) -> object:
    """The declaration a view carries, or None when it has none."""
    return getattr(view, ACCESS_ATTRIBUTE, None)

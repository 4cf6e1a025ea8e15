"""Every view declares who may open it; staff views admit only their roles."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from portal.auth.access import access_of

from support import sign_in


def test_every_view_declares_who_may_open_it(app: Flask) -> None:
    """A new view without ``@public`` or ``@roles_required`` fails here, by name."""
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if access_of(app.view_functions[rule.endpoint]) is None:
            undeclared.append(rule.endpoint)
    assert undeclared == []


def test_every_staff_view_turns_away_anonymous_visitors(app: Flask, client: FlaskClient) -> None:
    """Walk the URL map: anything not public redirects an anonymous GET to sign-in."""
    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or access_of(view) == "public" or "GET" not in rule.methods or rule.arguments:
            continue
        response = client.get(rule.rule)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"], rule.rule
        checked += 1
    assert checked >= 1


def test_a_signed_in_person_without_the_role_gets_403(app: Flask, client: FlaskClient, create_staff) -> None:  # type: ignore[no-untyped-def]
    """Roles are checked on every request, not just at sign-in."""
    from portal.auth.access import roles_required

    @app.route("/staff/admin-only-probe")
    @roles_required("admin")
    def admin_only_probe():  # type: ignore[no-untyped-def]
        return "secret settings"

    create_staff(email="op@example.org", roles=("operator",))
    create_staff(email="admin@example.org", roles=("admin",))
    sign_in(client, "op@example.org")
    assert client.get("/staff/admin-only-probe").status_code == 403

    other = app.test_client()
    sign_in(other, "admin@example.org")
    assert other.get("/staff/admin-only-probe").get_data(as_text=True) == "secret settings"

"""Staff sign in with a password, are slowed down and locked out on failures, and sign out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.auth import services
from portal.auth.models import StaffMember
from portal.db import utcnow

from support import TEST_PASSWORD, csrf_token, sign_in


def test_staff_sign_in_and_reach_the_console(client: FlaskClient, create_staff) -> None:  # type: ignore[no-untyped-def]
    """The right password opens the staff console and shows who is signed in."""
    create_staff(email="op@example.org", full_name="Operatore Prova")
    response = sign_in(client, "OP@example.org ")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/")
    page = client.get("/staff/?lang=en").get_data(as_text=True)
    assert "Welcome, Operatore Prova" in page
    assert "Operator" in page


def test_a_wrong_password_is_refused_with_a_translated_message(client: FlaskClient, create_staff) -> None:  # type: ignore[no-untyped-def]
    """No hint about whether the e-mail exists; the e-mail stays filled in."""
    create_staff(email="op@example.org")
    client.get("/?lang=it")
    response = sign_in(client, "op@example.org", "not the password")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert 'value="op@example.org"' in page
    unknown = sign_in(client, "nobody@example.org", "not the password")
    assert unknown.status_code == 401
    assert _error_text(page) == _error_text(unknown.get_data(as_text=True))
    assert _error_text(page) != "The e-mail or the password is not right."


def _error_text(page: str) -> str:
    return page.split('role="alert"', 1)[1].split("<li>", 1)[1].split("</li>", 1)[0]


def test_passwords_are_stored_as_argon2_hashes(session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """Never the password itself."""
    staff = create_staff(email="op@example.org")
    assert staff.password_hash.startswith("$argon2id$")
    assert TEST_PASSWORD not in staff.password_hash


def test_repeated_failures_slow_down_then_lock_out_even_the_right_password(session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """After 3 failures each attempt waits; after 10 the account is locked for 15 minutes."""
    create_staff(email="op@example.org")
    now = utcnow()
    for attempt in range(3):
        result = services.sign_in(session, "op@example.org", "wrong", "10.0.0.1", now + timedelta(minutes=attempt))
        assert result.staff is None and result.retry_after is None
    blocked = services.sign_in(session, "op@example.org", TEST_PASSWORD, "10.0.0.1", now + timedelta(minutes=2))
    assert blocked.staff is None and blocked.retry_after is not None

    later = now + timedelta(minutes=5)
    for attempt in range(7):
        services.sign_in(session, "op@example.org", "wrong", "10.0.0.{}".format(attempt + 2), later + timedelta(minutes=attempt))
    locked_at = later + timedelta(minutes=7)
    locked = services.sign_in(session, "op@example.org", TEST_PASSWORD, "10.0.0.99", locked_at)
    assert locked.staff is None
    assert locked.retry_after is not None and locked.retry_after > timedelta(minutes=10)

    after_lock = services.sign_in(session, "op@example.org", TEST_PASSWORD, "10.0.0.99", locked_at + timedelta(minutes=16))
    assert after_lock.staff is not None
    # A success starts the count afresh: the next slip is not punished at once.
    slip = services.sign_in(session, "op@example.org", "wrong", "10.0.0.99", locked_at + timedelta(minutes=17))
    retry = services.sign_in(session, "op@example.org", TEST_PASSWORD, "10.0.0.99", locked_at + timedelta(minutes=17))
    assert slip.retry_after is None and retry.staff is not None


def test_the_sign_in_page_tells_a_locked_out_person_how_long_to_wait(client: FlaskClient, create_staff, app) -> None:  # type: ignore[no-untyped-def]
    """429 with the wait in words, in the page's language."""
    create_staff(email="op@example.org")
    app.config["PORTA"] = app.config["PORTA"].replace(login_lockout_failures=3)  # locked for minutes, not seconds
    client.get("/?lang=en")
    for _ in range(3):
        sign_in(client, "op@example.org", "wrong")
    response = sign_in(client, "op@example.org")
    assert response.status_code == 429
    assert "Too many failed attempts. Try again in" in response.get_data(as_text=True)


def test_unknown_e_mails_are_throttled_like_real_ones(session) -> None:  # type: ignore[no-untyped-def]
    """Throttling cannot be used to find out which accounts exist."""
    now = utcnow()
    for _ in range(3):
        services.sign_in(session, "ghost@example.org", "x", "10.1.1.1", now)
    assert services.sign_in(session, "ghost@example.org", "x", "10.1.1.2", now).retry_after is not None


def test_an_admin_can_unlock_an_account_from_the_command_line(runner, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """``flask --app portal staff unlock EMAIL`` clears the lock."""
    create_staff(email="op@example.org")
    now = utcnow()
    for _ in range(10):
        services.sign_in(session, "op@example.org", "wrong", "10.2.2.2", now)
    session.commit()
    result = runner.invoke(args=["staff", "unlock", "op@example.org"])
    assert result.exit_code == 0 and "Unlocked" in result.output
    session.expire_all()
    assert services.sign_in(session, "op@example.org", TEST_PASSWORD, "10.3.3.3", now).staff is not None


def test_signing_out_needs_a_post_with_a_csrf_token(client: FlaskClient, create_staff) -> None:  # type: ignore[no-untyped-def]
    """A link or an image on another site cannot sign anybody out."""
    create_staff(email="op@example.org")
    sign_in(client, "op@example.org")
    assert client.get("/staff/logout").status_code == 405
    assert client.post("/staff/logout").status_code == 400
    token = csrf_token(client, "/staff/")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/staff/").status_code == 302


def test_a_form_without_its_csrf_token_gets_a_translated_explanation(client: FlaskClient) -> None:
    """Not a bare 400: the person is told what happened and what to do, in their language."""
    client.get("/?lang=en")
    response = client.post("/staff/login", data={"email": "a@example.org", "password": "x"})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    client.get("/?lang=it")
    italian = client.post("/staff/login", data={"email": "a@example.org", "password": "x"}).get_data(as_text=True)
    assert "This form has expired" not in italian


def test_staff_pages_send_anonymous_visitors_to_sign_in(client: FlaskClient) -> None:
    """And bring them back where they were going."""
    response = client.get("/staff/")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]
    assert "next=" in response.headers["Location"]


def test_sign_in_never_redirects_to_another_site(client: FlaskClient, create_staff) -> None:  # type: ignore[no-untyped-def]
    """``next`` pointing elsewhere is ignored (no open redirect)."""
    create_staff(email="op@example.org")
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login?next=//evil.example.com/x",
        data={"csrf_token": token, "email": "op@example.org", "password": TEST_PASSWORD},
    )
    assert response.headers["Location"] == "/staff/"


def test_changing_a_password_ends_the_other_sessions(client: FlaskClient, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """A stolen session stops working as soon as the password is changed."""
    create_staff(email="op@example.org")
    sign_in(client, "op@example.org")
    assert client.get("/staff/").status_code == 200
    create_staff(email="op@example.org", password="a brand new password")
    assert client.get("/staff/").status_code == 302


def test_a_deactivated_account_cannot_sign_in(client: FlaskClient, session, create_staff) -> None:  # type: ignore[no-untyped-def]
    """Leavers are switched off, not deleted (their records keep their author)."""
    staff = create_staff(email="op@example.org")
    staff.active = False
    session.commit()
    assert sign_in(client, "op@example.org").status_code == 401


def test_staff_create_command_creates_an_account_with_roles_teams_and_languages(runner, session) -> None:  # type: ignore[no-untyped-def]
    """``flask --app portal staff create`` as the README shows."""
    result = runner.invoke(
        args=[
            "staff", "create", "--email", "Nuova@Example.org", "--name", "Nuova Collega",
            "--role", "caseworker", "--role", "coordinator", "--team", "centro",
            "--language", "it", "--language", "ar", "--password", "una password lunga",
        ]
    )
    assert result.exit_code == 0, result.output
    staff = session.scalar(select(StaffMember).where(StaffMember.email == "nuova@example.org"))
    assert staff.role_names == {"caseworker", "coordinator"}
    assert sorted(staff.language_codes) == ["ar", "it"]
    assert [team.code for team in staff.teams] == ["centro"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "operator", "--password", "short"], "12 characters"),
        (["--role", "janitor", "--password", "long enough password"], "Invalid value"),
    ],
)
def test_staff_create_refuses_weak_passwords_and_unknown_roles(runner, args, message) -> None:  # type: ignore[no-untyped-def]
    """Bad input is refused with the reason, and nothing is created."""
    result = runner.invoke(args=["staff", "create", "--email", "x@example.org", "--name", "X"] + args)
    assert result.exit_code != 0
    assert message in result.output

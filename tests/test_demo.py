"""The demo agency: loaded once, idempotent, and refused in production."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.agency.models import Office, OfficeHours, Service
from portal.auth.models import StaffMember, StaffRole, Team
from portal.config import LANGUAGES
from portal.demo.services import load_demo_file

from support import sign_in

COUNTED = (Office, OfficeHours, Service, StaffMember, StaffRole, Team)


def _counts(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {model.__name__: session.scalar(select(func.count()).select_from(model)) for model in COUNTED}


def test_seeding_twice_changes_nothing(runner, session) -> None:  # type: ignore[no-untyped-def]
    """``flask --app portal seed-demo`` can be run again safely."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    first = _counts(session)
    hashes = dict(session.execute(select(StaffMember.email, StaffMember.password_hash)).all())
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    session.expire_all()
    assert _counts(session) == first
    assert dict(session.execute(select(StaffMember.email, StaffMember.password_hash)).all()) == hashes
    assert first["Office"] == 2 and first["Team"] == 3


def test_the_demo_has_staff_of_every_role_speaking_several_languages(runner, session) -> None:  # type: ignore[no-untyped-def]
    """So every screen of the demo has somebody to show it to."""
    runner.invoke(args=["seed-demo"])
    roles = set(session.scalars(select(StaffRole.role)))
    assert roles == {"operator", "caseworker", "coordinator", "admin"}
    spoken = {code for staff in session.scalars(select(StaffMember)) for code in staff.language_codes}
    assert len(spoken) >= 8


def test_every_demo_text_a_citizen_reads_exists_in_every_language() -> None:
    """Service names and descriptions, and office notes, in all ten languages."""
    data = load_demo_file()
    for service in data["services"]:
        assert set(service["name"]) == set(LANGUAGES), service["code"]
        assert set(service["description"]) == set(LANGUAGES), service["code"]
    for office in data["offices"]:
        assert set(office["accessibility_notes"]) == set(LANGUAGES), office["code"]


def test_demo_logins_work_and_are_printed(runner, client) -> None:  # type: ignore[no-untyped-def]
    """What ``make run`` prints is what lets people in."""
    runner.invoke(args=["seed-demo"])
    printed = runner.invoke(args=["demo-info"]).output
    data = load_demo_file()
    assert data["password"] in printed
    for person in data["staff"]:
        assert person["email"] in printed
    response = sign_in(client, data["staff"][0]["email"], data["password"])
    assert response.status_code == 302


def test_if_empty_loads_only_the_first_time(runner, session) -> None:  # type: ignore[no-untyped-def]
    """``make run`` loads the demo only into a database that has no offices."""
    assert "loaded" in runner.invoke(args=["seed-demo", "--if-empty"]).output
    session.execute(Office.__table__.update().values(name="Renamed by an admin"))
    session.commit()
    assert "already present" in runner.invoke(args=["seed-demo", "--if-empty"]).output
    assert set(session.scalars(select(Office.name))) == {"Renamed by an admin"}


def test_the_home_page_shows_the_demo_offices_and_services(runner, client) -> None:  # type: ignore[no-untyped-def]
    """Offices with their addresses and hours, services in the visitor's language."""
    runner.invoke(args=["seed-demo"])
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Sportello Casa Centro" in page and "Via Roma 10" in page
    assert "Housing emergency" in page
    italian = client.get("/?lang=it").get_data(as_text=True)
    assert "Emergenza abitativa" in italian


def test_seed_demo_refuses_production(make_app, database_url: str) -> None:  # type: ignore[no-untyped-def]
    """Known demo passwords must never reach a real deployment."""
    app = make_app(database_url, env="production", public_base_url="https://casa.example.org")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output

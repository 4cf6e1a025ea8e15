"""Loading the illustrative agency from ``demo.yaml``, idempotently."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agency.models import Office, OfficeHours, Service
from portal.appointments.models import MODES, WorkingHours
from portal.auth.models import StaffMember
from portal.auth.services import ensure_team, save_staff

DEMO_FILE = Path(__file__).with_name("demo.yaml")


def load_demo_file(path: Path = DEMO_FILE) -> dict[str, Any]:
    """The demo data as plain Python values."""
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def has_offices(session: Session) -> bool:
    """True once any office exists (the demo, or a real agency's data)."""
    return session.scalar(select(Office.id).limit(1)) is not None


def _upsert_service(session: Session, data: dict[str, Any]) -> Service:
    service = session.scalar(select(Service).where(Service.code == data["code"]))
    if service is None:
        service = Service(code=data["code"])
        session.add(service)
    service.name = dict(data["name"])
    service.description = dict(data.get("description", {}))
    service.duration_minutes = int(data["duration_minutes"])
    service.modes = list(data["modes"])
    service.roles = list(data["roles"])
    service.active = True
    return service


def _upsert_office(session: Session, data: dict[str, Any], services: dict[str, Service]) -> Office:
    office = session.scalar(select(Office).where(Office.code == data["code"]))
    if office is None:
        office = Office(code=data["code"])
        session.add(office)
    for attribute in ("name", "address", "postal_code", "city", "phone", "map_url"):
        setattr(office, attribute, data.get(attribute))
    office.accessibility_notes = dict(data.get("accessibility_notes", {}))
    office.services = [services[code] for code in data["services"]]
    wanted = [
        (h["weekday"], time.fromisoformat(h["opens"]), time.fromisoformat(h["closes"])) for h in data["hours"]
    ]
    current = [(h.weekday, h.opens, h.closes) for h in office.hours]
    if sorted(current) != sorted(wanted):
        office.hours = [OfficeHours(weekday=d, opens=o, closes=c) for d, o, c in wanted]
    return office


def _replace_plans(session: Session, plans: list[dict[str, Any]]) -> None:
    """Give each demo staff member the weekly hours the file lists (only when they differ)."""
    wanted: dict[str, list[tuple[str, int, time, time, tuple[str, ...], str]]] = {}
    for entry in plans:
        for hours in entry["hours"]:
            for weekday in hours["weekdays"]:
                wanted.setdefault(entry["staff"], []).append((
                    entry["office"], weekday, time.fromisoformat(hours["starts"]), time.fromisoformat(hours["ends"]),
                    tuple(hours.get("modes", MODES)), entry.get("purpose", "service"),
                ))
    offices = {office.code: office for office in session.scalars(select(Office))}
    for email, periods in wanted.items():
        staff = session.scalar(select(StaffMember).where(StaffMember.email == email))
        current = session.scalars(select(WorkingHours).where(WorkingHours.staff_id == staff.id)).all()
        have = sorted((h.office.code, h.weekday, h.starts, h.ends, tuple(h.modes), h.purpose) for h in current)
        if have == sorted(periods):
            continue
        for hours in current:
            session.delete(hours)
        session.add_all(
            WorkingHours(staff_id=staff.id, office_id=offices[code].id, weekday=weekday, starts=starts, ends=ends,
                         modes=list(modes), purpose=purpose)
            for code, weekday, starts, ends, modes, purpose in periods
        )


def seed(session: Session, data: dict[str, Any] | None = None) -> str:
    """Bring the database to the demo agency's state; a second run changes nothing."""
    data = data or load_demo_file()
    for team in data["teams"]:
        ensure_team(session, team["code"], team["name"])
    services = {s["code"]: _upsert_service(session, s) for s in data["services"]}
    offices = [_upsert_office(session, o, services) for o in data["offices"]]
    for person in data["staff"]:
        save_staff(
            session,
            email=person["email"],
            full_name=person["full_name"],
            roles=person["roles"],
            password=data["password"],
            languages=person["languages"],
            teams=person["teams"],
            preferred_locale=person.get("locale"),
        )
    session.flush()
    _replace_plans(session, data.get("plans", []))
    session.flush()
    return "Demo agency loaded: {} offices, {} services, {} staff accounts.".format(
        len(offices), len(services), len(data["staff"])
    )


def describe(base_url: str, data: dict[str, Any] | None = None) -> str:
    """The text ``make run`` prints: the URL and the demo staff sign-ins."""
    data = data or load_demo_file()
    width = max(len(p["email"]) for p in data["staff"])
    lines = [
        "",
        "Porta Unica is starting on {}/".format(base_url),
        "Staff console: {}/staff/login — demo password for every account: {}".format(base_url, data["password"]),
    ]
    for person in data["staff"]:
        lines.append("  {}  {}".format(person["email"].ljust(width), ", ".join(person["roles"])))
    lines.append("")
    return "\n".join(lines)

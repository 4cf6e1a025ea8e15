"""Waiting-list benchmark: how long the worker's minute job and a cancellation take with a long line.

    python bench/waiting_list_sweep.py --staff 10 --people 1000 [--database URL|postgres]

Not a test. It builds an agency with one service at two offices and ``--staff``
caseworkers receiving on weekday mornings (09:00-13:00, 30-minute slots), books every
time inside the waiting window for someone, and puts ``--people`` people in line (a third
of them asking for one office, a third for a language nobody speaks, the rest for
anything). Then it times, on the real services:

* the job ``appointments.waiting_list`` when nothing is free (the usual minute);
* cancelling one appointment, which offers the freed time to the line in the same
  transaction;
* the job when every offer made so far has expired and is passed on.

The last line is always ``idle_job_ms=<float> cancel_ms=<float> pass_on_job_ms=<float>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))

#: A Wednesday at 08:00 UTC: the window (14 days) covers two full working weeks.
NOW = datetime(2026, 7, 1, 8, tzinfo=timezone.utc)


def build(session, staff_count: int, people: int):  # type: ignore[no-untyped-def]
    """The agency, every time in the window booked, and the line; returns the booked appointments."""
    from datetime import time as clock

    from portal.agency.models import Office, Service
    from portal.appointments.models import Appointment, WaitingListEntry, WorkingHours
    from portal.appointments.policy import BookingPolicy
    from portal.appointments.slots import find_slots
    from portal.auth.models import StaffLanguage, StaffMember, StaffRole
    from portal.people.services import new_person

    service = Service(code="colloquio", name={"it": "Colloquio"}, duration_minutes=30,
                      modes=["in_person", "phone_call"], roles=["caseworker"])
    offices = [Office(code=code, name=code, address="Via Roma 1", postal_code="59100", city="Prato") for code in ("a", "b")]
    for office in offices:
        office.services = [service]
    session.add_all([service, *offices])
    session.flush()
    for n in range(staff_count):
        member = StaffMember(email="s{}@example.org".format(n), full_name="Staff {}".format(n), password_hash="x")
        session.add(member)
        session.flush()
        session.add_all([StaffRole(staff_id=member.id, role="caseworker"), StaffLanguage(staff_id=member.id, language="it")])
        for weekday in range(5):
            session.add(WorkingHours(staff_id=member.id, office_id=offices[n % 2].id, weekday=weekday,
                                     starts=clock(9), ends=clock(13), modes=["in_person", "phone_call"]))
    session.flush()
    rules = BookingPolicy(secret_key="bench", quiet=None)
    someone = new_person(NOW)
    session.add(someone)
    session.flush()
    # A day past the window too, so that the window moving on during the run frees nothing.
    window_end = NOW + rules.waiting_after + timedelta(days=1)
    booked = []
    for slot in find_slots(session, rules, service, NOW, limit=100_000):
        if slot.start > window_end:
            break
        if slot.mode != "in_person":
            continue
        booked.append(Appointment(person_id=someone.id, channel="web", status="booked", manage_token=os.urandom(12).hex(),
                                  created_at=NOW, updated_at=NOW, **slot.columns()))
    session.add_all(booked)
    session.flush()
    for n in range(people):
        person = new_person(NOW)
        person.first_name, person.last_name, person.phone = "P{}".format(n), "Line", "+39333{:07d}".format(n)
        session.add(person)
        session.flush()
        session.add(WaitingListEntry(
            person_id=person.id, service_id=service.id, status="waiting", channel="web",
            office_id=offices[0].id if n % 3 == 0 else None, language="ur" if n % 3 == 1 else None,
            created_at=NOW + timedelta(seconds=n), updated_at=NOW, manage_token=os.urandom(12).hex(),
        ))
    session.commit()
    return rules, booked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=10)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--database", default="", help="a database URL, 'postgres' for a throw-away server, or empty for SQLite")
    args = parser.parse_args()

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from portal.appointments import offers, services
    from portal.appointments.models import WaitingListOffer
    from portal.db import make_engine
    from portal.schema import upgrade

    pg = None
    with tempfile.TemporaryDirectory() as tmpdir:
        if args.database == "postgres":
            from pgserver import PostgresServer

            pg = PostgresServer().start()
            pg.create_database("bench", template="template0")
            url = pg.url("bench")
        else:
            url = args.database or "sqlite:///{}".format(os.path.join(tmpdir, "bench.db"))
        try:
            upgrade(url)
            engine = make_engine(url)
            with Session(engine, expire_on_commit=False) as session:
                rules, booked = build(session, args.staff, args.people)
                print("{} staff, {} appointments booked in the window, {} people in line, {}".format(
                    args.staff, len(booked), args.people, engine.dialect.name))

                started = time.perf_counter()
                made = offers.offer_free_times(session, NOW, rules)
                session.commit()
                idle = (time.perf_counter() - started) * 1000
                print("job with nothing free: {:.1f} ms, {} offers".format(idle, made))

                started = time.perf_counter()
                services.cancel(session, booked[len(booked) // 2], now=NOW, policy=rules)
                session.commit()
                cancel = (time.perf_counter() - started) * 1000
                held = session.scalar(select(func.count()).select_from(WaitingListOffer).where(WaitingListOffer.status == "held"))
                print("cancel with its offer: {:.1f} ms, {} held".format(cancel, held))

                later = NOW + rules.offer_hold + timedelta(minutes=1)
                started = time.perf_counter()
                made = offers.offer_free_times(session, later, rules)
                session.commit()
                pass_on = (time.perf_counter() - started) * 1000
                print("job passing an expired offer on: {:.1f} ms, {} offers".format(pass_on, made))
            engine.dispose()
        finally:
            if pg is not None:
                pg.stop()
    print("idle_job_ms={:.1f} cancel_ms={:.1f} pass_on_job_ms={:.1f}".format(idle, cancel, pass_on))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The worker process: an APScheduler clock and the one table of periodic jobs.

Jobs run only here, never inside the web process (every gunicorn worker would run
them). Each job gets a fresh session and the current time, and commits on success.
Job ids are stable: APScheduler and the logs know a job by them.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy.orm import Session

from portal.auth.services import purge_login_throttle
from portal.db import get_session, utcnow

log = logging.getLogger("portal.worker")


@dataclass(frozen=True)
class Job:
    """A periodic job: what it runs and when (APScheduler trigger arguments)."""

    id: str
    func: Callable[[Session, datetime], object]
    trigger: dict[str, Any] = field(default_factory=dict)


#: Every periodic job of the system. Later domains (messaging dispatch, escalation of
#: overdue intakes, purges of expired drafts) add their rows here.
JOBS: tuple[Job, ...] = (
    Job("auth.purge_login_throttle", purge_login_throttle, {"trigger": "interval", "minutes": 30}),
)


def run_job(app: Flask, job: Job) -> object:
    """Run one job in its own application context and transaction."""
    with app.app_context():
        session = get_session()
        try:
            result = job.func(session, utcnow())
            session.commit()
        except Exception:
            session.rollback()
            log.exception("job %s failed", job.id)
            raise
    log.info("job %s done: %s", job.id, result)
    return result


def build_scheduler(app: Flask, jobs: tuple[Job, ...] = JOBS) -> BlockingScheduler:
    """A blocking scheduler with every job of the table registered under its id."""
    scheduler = BlockingScheduler(
        timezone=app.config["PORTA"].timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    for job in jobs:
        scheduler.add_job(run_job, args=(app, job), id=job.id, name=job.id, replace_existing=True, **job.trigger)
    return scheduler


def run(app: Flask) -> None:
    """Block running the scheduler until SIGTERM or SIGINT, then stop cleanly.

    On a signal the scheduler stops taking new runs and waits for the jobs in flight to
    finish before the process exits, so nothing is left half-done.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler = build_scheduler(app)
    stop_requested = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop_requested.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)

    def _started(_event: object) -> None:
        log.info("worker started with jobs: %s", ", ".join(job.id for job in JOBS))

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    scheduler.add_listener(_started, EVENT_SCHEDULER_STARTED)
    if not stop_requested.is_set():
        scheduler.start()
    log.info("worker stopped")

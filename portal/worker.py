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

from portal.appointments.waiting import waiting_list_job
from portal.auth.services import purge_login_throttle
from portal.db import get_session, utcnow
from portal.intake.services import purge_expired as purge_expired_intakes
from portal.messages.services import dispatch_job

log = logging.getLogger("portal.worker")


@dataclass(frozen=True)
class Job:
    """A periodic job: what it runs and when (APScheduler trigger arguments)."""

    id: str
    func: Callable[[Session, datetime], object]
    trigger: dict[str, Any] = field(default_factory=dict)


#: Every periodic job of the system; a domain that needs one (casework's escalation of
#: overdue intakes, say) adds its row here.
JOBS: tuple[Job, ...] = (
    Job("messaging.dispatch", dispatch_job, {"trigger": "interval", "seconds": 5}),
    Job("auth.purge_login_throttle", purge_login_throttle, {"trigger": "interval", "minutes": 30}),
    Job("intake.purge_expired_drafts", purge_expired_intakes, {"trigger": "interval", "hours": 1}),
    Job("appointments.waiting_list", waiting_list_job, {"trigger": "interval", "minutes": 1}),
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


#: Signals that stop the worker (SIGTERM from a supervisor, SIGINT from a terminal).
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def run(app: Flask) -> None:
    """Block running the scheduler until SIGTERM or SIGINT, then stop cleanly.

    On a signal the scheduler stops taking new runs and waits for the jobs in flight to
    finish before the process exits, so nothing is left half-done.

    The stop signals are blocked in every thread and taken synchronously by one
    "stopper" thread with ``sigwait``. A Python signal handler would not do: the kernel
    may deliver the signal to a pool thread, and the handler then waits until the main
    thread wakes, which the scheduler's main loop may not do for many minutes; and
    stopping the scheduler from inside a handler can deadlock on a lock it interrupted.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler = build_scheduler(app)
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # inherited by every later thread
    main_done = threading.Event()
    signalled = threading.Event()

    def _stopper() -> None:
        signum = signal.sigwait(STOP_SIGNALS)
        if main_done.is_set():
            return
        signalled.set()
        log.info("signal %s: stopping after running jobs finish", signum)
        while not scheduler.running and not main_done.wait(0.05):
            pass  # signalled during start-up: wait until there is something to stop
        dispatcher = app.extensions.get("messaging.dispatcher")
        if dispatcher is not None:
            dispatcher.stopping.set()  # finish the sends in flight, hand back the rest
        if scheduler.running:
            scheduler.shutdown(wait=True)
        if dispatcher is not None:
            dispatcher.close()

    def _started(_event: object) -> None:
        log.info("worker started with jobs: %s", ", ".join(job.id for job in JOBS))

    stopper = threading.Thread(target=_stopper, name="worker-stopper", daemon=True)
    stopper.start()
    scheduler.add_listener(_started, EVENT_SCHEDULER_STARTED)
    try:
        scheduler.start()
    finally:
        main_done.set()
        if not signalled.is_set() and stopper.ident is not None:
            signal.pthread_kill(stopper.ident, signal.SIGTERM)  # release the stopper
        stopper.join(timeout=60)
    log.info("worker stopped")

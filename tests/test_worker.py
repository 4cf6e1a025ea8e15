"""The worker: one table of jobs, run only in its own process, stopped cleanly by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from portal import worker
from portal.auth.models import LoginThrottle
from portal.db import utcnow

ROOT = Path(__file__).resolve().parent.parent


def test_job_ids_are_unique_and_stable() -> None:
    """APScheduler and the logs know a job by its id; two jobs cannot share one."""
    ids = [job.id for job in worker.JOBS]
    assert len(ids) == len(set(ids))
    assert "auth.purge_login_throttle" in ids


def test_the_scheduler_registers_every_job_of_the_table(app) -> None:  # type: ignore[no-untyped-def]
    """Nothing is scheduled that is not in the table, and nothing in it is forgotten."""
    scheduler = worker.build_scheduler(app)
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(job.id for job in worker.JOBS)


def test_creating_the_web_app_starts_no_scheduler(app) -> None:  # type: ignore[no-untyped-def]
    """Every gunicorn worker would otherwise run the jobs again."""
    import threading

    assert not any("APScheduler" in thread.name for thread in threading.enumerate())


def test_the_purge_job_forgets_old_failed_sign_ins_but_keeps_active_locks(app, session) -> None:  # type: ignore[no-untyped-def]
    """Old failures go; a lock still in force stays."""
    now = utcnow()
    session.add_all(
        [
            LoginThrottle(key_digest="old", failures=2, last_failure_at=now - timedelta(days=3)),
            LoginThrottle(key_digest="fresh", failures=2, last_failure_at=now - timedelta(minutes=5)),
            LoginThrottle(
                key_digest="locked", failures=10, last_failure_at=now - timedelta(days=2), blocked_until=now + timedelta(hours=1)
            ),
        ]
    )
    session.commit()
    job = next(job for job in worker.JOBS if job.id == "auth.purge_login_throttle")
    assert worker.run_job(app, job) == 1
    session.expire_all()
    assert set(session.scalars(select(LoginThrottle.key_digest))) == {"fresh", "locked"}


def _flask(database_url: str, *args: str, tmp_path: Path) -> subprocess.Popen:  # type: ignore[type-arg]
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="worker-test-secret", PORTA_ENV="development", PYTHONFAULTHANDLER="1")
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_worker_process_runs_until_sigterm_and_then_exits_cleanly(database_url: str, tmp_path: Path) -> None:
    """``flask --app portal worker`` as the Procfile runs it."""
    process = _flask(database_url, "worker", tmp_path=tmp_path)
    try:
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if "worker started" in line or not line:
                break
        assert any("worker started" in line for line in lines), "".join(lines)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "worker stopped" in output
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            print(process.communicate()[0])


def test_the_worker_refuses_a_database_behind_the_migrations(empty_database_url: str, tmp_path: Path) -> None:
    """It says which command fixes it instead of running jobs on a wrong schema."""
    process = _flask(empty_database_url, "worker", tmp_path=tmp_path)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "flask --app portal db upgrade" in output

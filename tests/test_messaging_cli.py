"""``flask --app portal messaging dispatch --once`` and the worker's job, on the console channel."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from messaging.db import utcnow
from messaging.models import Message, MessageStatus
from messaging.outbox import Recipient, enqueue
from portal import worker


def _due(session, key: str) -> int:  # type: ignore[no-untyped-def]
    message = enqueue(
        session,
        Recipient(key="person:1", language="ar", phone="+393331112222", channels=("sms",)),
        "one_time_pin",
        {"pin": "482913", "minutes": 10},
        utcnow() - timedelta(minutes=1),
        idempotency_key=key,
    )
    session.commit()
    return message.id


def test_with_nothing_configured_the_console_channel_stands_in(runner, session) -> None:  # type: ignore[no-untyped-def]
    """The demo works offline: the message is "sent" to the console and recorded as such."""
    message_id = _due(session, "pin:1")
    result = runner.invoke(args=["messaging", "dispatch", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent=1" in result.output
    session.expire_all()
    message = session.get(Message, message_id)
    assert message.status == MessageStatus.SENT and message.channel == "sms"
    assert message.provider_id.startswith("console-sms-")


def test_the_worker_job_table_dispatches_due_messages(app, session) -> None:  # type: ignore[no-untyped-def]
    """The scheduler's "messaging.dispatch" job sends what is due."""
    _due(session, "pin:2")
    job = next(job for job in worker.JOBS if job.id == "messaging.dispatch")
    report = worker.run_job(app, job)
    assert report.sent == 1
    app.extensions["messaging.dispatcher"].close()
    session.expire_all()
    assert session.scalars(select(Message.status)).one() == MessageStatus.SENT

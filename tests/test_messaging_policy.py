"""Quiet hours, safe hours and the reminder policy, in Europe/Rome clock time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messaging.policy import QuietHours, ReminderPolicy, Window

ROME = ZoneInfo("Europe/Rome")
QUIET = QuietHours.from_quiet("Europe/Rome", {"sms": "20:30-08:00", "whatsapp": "20:30-08:00"})


def rome(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ROME)


@pytest.mark.parametrize(
    "due, expected",
    [
        ("2026-11-23 10:00", "2026-11-23 10:00"),  # allowed: unchanged
        ("2026-11-23 20:29", "2026-11-23 20:29"),
        ("2026-11-23 20:30", "2026-11-24 08:00"),  # quiet starts: next morning
        ("2026-11-23 23:15", "2026-11-24 08:00"),
        ("2026-11-24 06:00", "2026-11-24 08:00"),
        ("2026-03-29 02:30", "2026-03-29 08:00"),  # the night clocks go forward
        ("2026-10-25 02:30", "2026-10-25 08:00"),  # the night clocks go back
    ],
)
def test_an_sms_due_in_quiet_hours_moves_to_the_next_allowed_time(due: str, expected: str) -> None:
    """No SMS between 20:30 and 08:00 Rome time, on either side of a DST change."""
    now = rome(due) - timedelta(days=3)
    assert QUIET.plan("sms", rome(due), now) == rome(expected)


def test_e_mail_has_no_quiet_hours_by_default() -> None:
    """A channel without a quiet window may send at any time."""
    due = rome("2026-11-23 23:15")
    assert QUIET.plan("email", due, due - timedelta(hours=1)) == due


def test_when_the_next_allowed_time_is_after_the_appointment_the_message_moves_earlier() -> None:
    """A reminder due at 06:30 for a 07:45 appointment goes out the evening before."""
    due = rome("2026-11-24 06:30")
    appointment = rome("2026-11-24 07:45")
    planned = QUIET.plan("sms", due, rome("2026-11-22 12:00"), not_after=appointment)
    assert planned == rome("2026-11-23 20:29")


def test_a_message_with_no_useful_allowed_moment_is_not_sent() -> None:
    """If moving earlier would be in the past too, there is nothing sensible to do."""
    now = rome("2026-11-24 06:00")
    assert QUIET.plan("sms", now, now, not_after=rome("2026-11-24 07:30")) is None


def test_a_persons_safe_hours_narrow_the_channels_hours() -> None:
    """Someone who may only be written to 14:00-16:00 gets messages only then."""
    due = rome("2026-11-23 09:00")
    assert QUIET.plan("sms", due, due, safe_hours="14:00-16:00") == rome("2026-11-23 14:00")
    late = rome("2026-11-23 16:30")
    assert QUIET.plan("sms", late, late, safe_hours="14:00-16:00") == rome("2026-11-24 14:00")
    appointment = rome("2026-11-24 10:00")
    assert QUIET.plan("sms", due, due, not_after=appointment, safe_hours="14:00-16:00") == rome("2026-11-23 14:00")


def test_windows_are_parsed_strictly() -> None:
    """A typo in the configuration is an error, not a silent 'always'."""
    assert Window.parse("08:00-20:30").contains(rome("2026-11-23 12:00").time())
    for bad in ("8-20", "08:00", "08:00-08:00", "25:00-08:00"):
        with pytest.raises(ValueError):
            Window.parse(bad)


def test_reminders_two_days_and_two_hours_before() -> None:
    """Booked a week ahead: both reminders, earliest first, labelled for their keys."""
    policy = ReminderPolicy()
    booked = rome("2026-11-20 10:00")
    start = rome("2026-11-27 10:00")
    assert policy.reminder_times(booked, start) == [("2d", rome("2026-11-25 10:00")), ("2h", rome("2026-11-27 08:00"))]


def test_no_reminder_right_after_booking_or_after_the_start() -> None:
    """Booked for this afternoon: the confirmation is enough; no 2-day reminder in the past."""
    policy = ReminderPolicy(min_gap_after_booking=timedelta(minutes=60))
    booked = rome("2026-11-23 09:00")
    assert policy.reminder_times(booked, rome("2026-11-23 12:30")) == [("2h", rome("2026-11-23 10:30"))]
    assert policy.reminder_times(booked, rome("2026-11-23 12:00")) == []
    assert policy.reminder_times(booked, rome("2026-11-23 10:30")) == []


def test_reminder_offsets_come_from_configuration_text() -> None:
    """REMINDER_OFFSETS="2d,2h,30m"."""
    assert ReminderPolicy.parse_offsets("2d, 2h,30m") == (timedelta(days=2), timedelta(hours=2), timedelta(minutes=30))
    with pytest.raises(ValueError):
        ReminderPolicy.parse_offsets("2 days")

"""The deployment's booking rules, as one value the services take.

Services never read ``current_app``: a view, a CLI command or a test builds a
:class:`BookingPolicy` (usually with :meth:`BookingPolicy.from_config`) and passes it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from messaging.policy import QuietHours, ReminderPolicy
from portal.config import Config
from portal.messages.services import quiet_hours


@dataclass(frozen=True)
class BookingPolicy:
    """What may be booked and which messages a booking sends."""

    #: Signs slot ids, so a slot cannot be forged or altered between search and booking.
    secret_key: str
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Rome"))
    min_notice: timedelta = timedelta(hours=24)
    horizon: timedelta = timedelta(days=60)
    #: (month, day) of the local patron's day, or None.
    patron_day: tuple[int, int] | None = None
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    helpline: str = ""
    public_base_url: str = "http://127.0.0.1:5000"
    #: Nothing free sooner than this: the person may join the waiting list instead.
    waiting_after: timedelta = timedelta(days=14)
    #: How long a freed time offered from the waiting list is kept for the person.
    offer_hold: timedelta = timedelta(minutes=30)
    #: When messages may arrive; an offer is made only when its message can go out at once.
    quiet: QuietHours | None = None

    @classmethod
    def from_config(cls, config: Config) -> "BookingPolicy":
        """The policy a running deployment's settings describe."""
        return cls(
            secret_key=config.secret_key,
            timezone=ZoneInfo(config.timezone),
            min_notice=timedelta(hours=config.booking_min_notice_hours),
            horizon=timedelta(days=config.booking_horizon_days),
            patron_day=parse_month_day(config.patron_saint_day),
            reminders=ReminderPolicy(
                offsets=ReminderPolicy.parse_offsets(config.reminder_offsets),
                min_gap_after_booking=timedelta(minutes=config.reminder_min_gap_minutes),
            ),
            helpline=config.helpline_number,
            public_base_url=config.public_base_url,
            waiting_after=timedelta(days=config.waiting_list_after_days),
            offer_hold=timedelta(minutes=config.waiting_list_hold_minutes),
            quiet=quiet_hours(config),
        )

    def manage_link(self, token: str) -> str:
        """Where a person changes or cancels their appointment (the page comes with the web part)."""
        return "{}/appointments/{}".format(self.public_base_url, token)

    def waiting_link(self, token: str) -> str:
        """Where a person on a waiting list sees their place, accepts an offer or leaves the list."""
        return "{}/appointments/waiting/{}".format(self.public_base_url, token)

    def booking_link(self) -> str:
        """Where a person books a new appointment."""
        return "{}/".format(self.public_base_url)


def parse_month_day(text: str) -> tuple[int, int] | None:
    """``"06-24"`` → (6, 24); ``""`` → None (the configuration has checked the form)."""
    if not text:
        return None
    month, day = text.split("-")
    return int(month), int(day)

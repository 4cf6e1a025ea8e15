"""When a message may go out: quiet hours per channel, a person's safe hours, reminders.

Times are reasoned about in the agency's time zone (Europe/Rome by default), so "no SMS
after 20:30" means 20:30 on the clock people in the Comune read, on either side of a
daylight-saving change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

ONE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Window:
    """A daily stretch of clock time, ``start`` included, ``end`` excluded; may wrap midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "Window":
        """``"08:00-20:30"`` → Window; raises ValueError naming the expected form."""
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise ValueError("expected HH:MM-HH:MM, got {!r}".format(text)) from exc
        if start == end:
            raise ValueError("a window needs two different times, got {!r}".format(text))
        return cls(start, end)

    def contains(self, clock: time) -> bool:
        """True when ``clock`` falls inside the window."""
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def complement(self) -> "Window":
        """The rest of the day: the allowed hours of a quiet window."""
        return Window(self.end, self.start)


@dataclass(frozen=True)
class QuietHours:
    """Allowed sending hours per channel; a channel absent from the map may send any time."""

    timezone: ZoneInfo
    allowed: dict[str, Window] = field(default_factory=dict)
    #: Kinds a person asks for and waits for at that moment (a one-time PIN): held until
    #: morning they would only expire, so neither quiet nor safe hours apply to them.
    exempt_kinds: frozenset[str] = frozenset()

    @classmethod
    def from_quiet(cls, timezone: str, quiet: dict[str, str], exempt_kinds: Iterable[str] = ()) -> "QuietHours":
        """Build from quiet windows as people state them: {"sms": "20:30-08:00"}."""
        allowed = {channel: Window.parse(text).complement() for channel, text in quiet.items()}
        return cls(ZoneInfo(timezone), allowed, frozenset(exempt_kinds))

    def _windows(self, channel: str, safe_hours: str | None) -> list[Window]:
        windows = [self.allowed[channel]] if channel in self.allowed else []
        if safe_hours:
            windows.append(Window.parse(safe_hours))
        return windows

    def is_allowed(self, channel: str, at: datetime, safe_hours: str | None = None) -> bool:
        """True when a message on ``channel`` may arrive at ``at``."""
        clock = at.astimezone(self.timezone).time()
        return all(window.contains(clock) for window in self._windows(channel, safe_hours))

    def _local(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.timezone)

    def next_allowed(self, channel: str, at: datetime, safe_hours: str | None = None) -> datetime | None:
        """The earliest allowed moment at or after ``at`` (None if the windows never meet)."""
        if self.is_allowed(channel, at, safe_hours):
            return at
        windows = self._windows(channel, safe_hours)
        day = at.astimezone(self.timezone).date()
        candidates = sorted(
            self._local(day + timedelta(days=offset), window.start)
            for offset in range(3)
            for window in windows
        )
        return next((c for c in candidates if c > at and self.is_allowed(channel, c, safe_hours)), None)

    def last_allowed_before(self, channel: str, at: datetime, safe_hours: str | None = None) -> datetime | None:
        """The latest allowed minute strictly before ``at``."""
        probe = at - ONE_MINUTE
        if self.is_allowed(channel, probe, safe_hours):
            return probe
        windows = self._windows(channel, safe_hours)
        day = at.astimezone(self.timezone).date()
        candidates = sorted(
            (
                self._local(day - timedelta(days=offset), window.end) - ONE_MINUTE
                for offset in range(3)
                for window in windows
            ),
            reverse=True,
        )
        return next((c for c in candidates if c < at and self.is_allowed(channel, c, safe_hours)), None)

    def plan(
        self,
        channel: str,
        due: datetime,
        now: datetime,
        not_after: datetime | None = None,
        safe_hours: str | None = None,
    ) -> datetime | None:
        """When to send a message due at ``due``, or None when no moment is both allowed and useful.

        A message due inside quiet hours moves to the next allowed time, unless that
        falls at or after ``not_after`` (the appointment): then it moves earlier, to the
        last allowed minute before it was due, provided that is not already past.
        """
        due = max(due, now)
        later = self.next_allowed(channel, due, safe_hours)
        if later is not None and (not_after is None or later < not_after):
            return later
        earlier = self.last_allowed_before(channel, due, safe_hours)
        if earlier is not None and earlier >= now - ONE_MINUTE and (not_after is None or earlier < not_after):
            return max(earlier, now)
        return None


@dataclass(frozen=True)
class ReminderPolicy:
    """Confirmation at once; reminders some time before; none that would be pointless."""

    offsets: tuple[timedelta, ...] = (timedelta(days=2), timedelta(hours=2))
    #: No reminder this close to the booking: the confirmation has just said it all.
    min_gap_after_booking: timedelta = timedelta(minutes=60)

    @staticmethod
    def parse_offsets(text: str) -> tuple[timedelta, ...]:
        """``"2d,2h,30m"`` → timedeltas, as the REMINDER_OFFSETS variable gives them."""
        units = {"d": "days", "h": "hours", "m": "minutes"}
        offsets = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            number, unit = part[:-1], part[-1:]
            if unit not in units or not number.isdigit():
                raise ValueError("expected offsets like 2d,2h,30m, got {!r}".format(part))
            offsets.append(timedelta(**{units[unit]: int(number)}))
        return tuple(offsets)

    def reminder_times(self, booked_at: datetime, starts_at: datetime) -> list[tuple[str, datetime]]:
        """(label, when) for each reminder worth sending, earliest first.

        The label ("2d", "2h"...) goes into the idempotency key, so moving an
        appointment yields new reminders while booking twice never doubles them.
        """
        planned = []
        for offset in self.offsets:
            when = starts_at - offset
            if when <= booked_at + self.min_gap_after_booking or when >= starts_at:
                continue
            planned.append((_label(offset), when))
        return sorted(planned, key=lambda item: item[1])


def _label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return "{}d".format(minutes // (24 * 60))
    if minutes % 60 == 0:
        return "{}h".format(minutes // 60)
    return "{}m".format(minutes)

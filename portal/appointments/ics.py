"""An appointment as an iCalendar file, for a person's own calendar.

The event says only "Appointment", where and when: a calendar is often shared or shown
on a locked screen, so the service (which may reveal an eviction or a shelter) is never
named. The UID stays the same when the appointment moves and SEQUENCE counts the moves,
so calendars update the event instead of adding a second one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import icalendar

from portal.appointments.models import CANCELLED, Appointment
from portal.appointments.notices import address, catalog
from portal.appointments.policy import BookingPolicy


def appointment_ics(appointment: Appointment, policy: BookingPolicy, language: str) -> bytes:
    """The .ics file of ``appointment``, its texts in ``language``."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Porta Unica//Appointments//IT")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", "appointment-{}@{}".format(appointment.id, urlsplit(policy.public_base_url).hostname or "localhost"))
    event.add("sequence", appointment.revision)
    event.add("dtstamp", appointment.updated_at)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", catalog(language).gettext("Appointment"))
    event.add("location", address(appointment, language))
    event.add("url", policy.manage_link(appointment.manage_token))
    event.add("status", "CANCELLED" if appointment.status == CANCELLED else "CONFIRMED")
    calendar.add_component(event)
    return bytes(calendar.to_ical())

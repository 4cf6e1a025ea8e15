"""Words staff read for messaging's codes: kinds, statuses, channels, provider errors.

Messaging stores short English codes ("appointment_reminder", "failed", "21610"); the
staff pages show them in the staff member's language, with a line of explanation for
the provider errors an operator can act on (a wrong number, a STOP, a landline...).
Registered as template globals so any page, such as a caller's record, can include
``messages/_history.html`` without passing them along.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KINDS = {
    "appointment_confirmation": _l("Appointment confirmation"),
    "appointment_reminder": _l("Appointment reminder"),
    "appointment_rescheduled": _l("Appointment moved"),
    "appointment_cancelled": _l("Appointment cancelled"),
    "waiting_list_offer": _l("Waiting-list offer"),
    "waiting_list_joined": _l("Waiting-list place"),
    "one_time_pin": _l("One-time code"),
    "intake_receipt": _l("Request receipt"),
    "no_show_followup": _l("Missed appointment follow-up"),
    "staff_notification": _l("Staff notification"),
}

CHANNELS = {
    "sms": _l("SMS"),
    "whatsapp": _l("WhatsApp"),
    "email": _l("E-mail"),
    "webhook": _l("Other system (webhook)"),
    "console": _l("Screen only (not sent)"),
}

#: A message's status in our outbox, and the Bootstrap Italia badge colour it wears.
STATUSES = {
    "pending": (_l("Waiting"), "bg-secondary"),
    "sending": (_l("Being sent"), "bg-primary"),
    "sent": (_l("Sent"), "bg-success"),
    "failed": (_l("Failed"), "bg-danger"),
    "cancelled": (_l("Cancelled"), "bg-secondary"),
    "expired": (_l("Expired"), "bg-warning"),
}

#: What an event in a message's history says (our steps and the provider's callbacks).
EVENTS = {
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
    "retry": _l("Will be tried again"),
    "requeued": _l("Put back in the queue"),
    "deferred": _l("Postponed until the end of quiet hours"),
    "fallback": _l("Moved on to the next channel"),
    "accepted": _l("Queued at the provider"),
    "scheduled": _l("Queued at the provider"),
    "queued": _l("Queued at the provider"),
    "sending": _l("Being sent"),
    "delivered": _l("Delivered"),
    "undelivered": _l("Not delivered"),
    "read": _l("Read by the person"),
}

#: What one hand-over to the provider came to.
OUTCOMES = {
    "sent": _l("Accepted by the provider"),
    "transient": _l("Temporary error"),
    "permanent": _l("Permanent error"),
    "unknown": _l("No answer: it may have been sent"),
    "recovered": _l("Found already sent"),
}

#: Provider errors an operator can act on, and our own reasons for not sending.
ERRORS = {
    "21211": _l("Not a valid phone number"),
    "21408": _l("Sending to this country is not enabled"),
    "21610": _l("The person replied STOP: no more messages to this number"),
    "21614": _l("Not a mobile number"),
    "30003": _l("Phone unreachable (switched off or out of coverage)"),
    "30005": _l("Unknown number, or no longer in service"),
    "30006": _l("Landline, or a network that cannot receive messages"),
    "30007": _l("Filtered by the phone network as unwanted"),
    "30008": _l("Not delivered, for an unknown reason"),
    "63014": _l("The person blocked our WhatsApp number"),
    "63016": _l("Outside the 24-hour WhatsApp window and no approved template"),
    "20003": _l("The provider refused our credentials: tell the IT office"),
    "20429": _l("Too many messages at once: the provider asked us to slow down"),
    "no-channel": _l("No channel left to try (all failed or blocked)"),
    "too-late": _l("It would have arrived too late"),
    "quiet-hours": _l("Quiet hours"),
    "render-error": _l("The text could not be prepared: tell the IT office"),
    "connect-timeout": _l("The provider could not be reached"),
    "connection-refused": _l("The provider could not be reached"),
    "no-answer": _l("No answer from the provider: it may have been sent"),
}

INTENTS = {
    "opt_out": _l("Stop messages"),
    "opt_in": _l("Resume messages"),
    "confirm": _l("Confirms"),
    "cancel": _l("Cancels"),
    "other": _l("Other"),
}

SOURCES = {
    "dispatcher": _l("Sending service"),
    "callback": _l("Provider"),
    "portal": _l("Porta Unica"),
    "staff": _l("Staff"),
}


def kind_label(kind: str) -> str:
    """The kind as staff call it; an unknown kind shows as stored."""
    return str(KINDS.get(kind, kind))


def channel_label(channel: str | None) -> str:
    """The channel's name, or a dash when no channel was tried yet."""
    return str(CHANNELS.get(channel, channel)) if channel else "—"


def status_label(status: str) -> str:
    """The outbox status in words."""
    return str(STATUSES[status][0]) if status in STATUSES else status


def status_badge(status: str) -> str:
    """The badge colour class of an outbox status."""
    return STATUSES[status][1] if status in STATUSES else "bg-secondary"


def event_label(status: str) -> str:
    """One step in a message's history, in words."""
    return str(EVENTS.get(status) or STATUSES.get(status, (status,))[0])


def outcome_label(outcome: str) -> str:
    """What one attempt came to."""
    return str(OUTCOMES.get(outcome, outcome))


def error_explanation(code: str | None) -> str:
    """A line a person can act on for an error code; "" when we have none."""
    if not code:
        return ""
    if code.startswith("http-5") or code in ("20500", "20503"):
        return str(_l("The provider had a temporary fault"))
    return str(ERRORS.get(code, ""))


def intent_label(intent: str) -> str:
    """What a reply was understood to mean."""
    return str(INTENTS.get(intent, intent))


def source_label(source: str, actors: dict[str, str] | None = None) -> str:
    """Who caused an event: a staff member by name when known."""
    if source in (actors or {}):
        return (actors or {})[source]
    return str(SOURCES.get(source.split(":", 1)[0], source))


#: Template globals (registered by the blueprint on the whole app).
TEMPLATE_GLOBALS = {
    "message_kind_label": kind_label,
    "message_channel_label": channel_label,
    "message_status_label": status_label,
    "message_status_badge": status_badge,
    "message_event_label": event_label,
    "message_outcome_label": outcome_label,
    "message_error_explanation": error_explanation,
    "message_intent_label": intent_label,
    "message_source_label": source_label,
}

"""The console channel: what would have gone out, shown instead of sent.

It stands in for every channel whose settings are absent, so the demo works offline and
an operator can still see each message in its history. It keeps the rendered messages
in memory (the newest few hundred) and logs one line per message: the body only in
development, because in production a log is no place for what we write to people.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from datetime import datetime

from messaging.channels.base import Outgoing, SendResult

log = logging.getLogger("messaging.console")


def mask(address: str) -> str:
    """Keep just enough of a phone number or e-mail to tell two apart in a log."""
    if "@" in address:
        name, _, domain = address.partition("@")
        return "{}…@{}".format(name[:1], domain)
    return "…{}".format(address[-3:]) if len(address) > 3 else "…"


class ConsoleChannel:
    """Accepts everything, sends nothing; used for any channel that is not configured."""

    def __init__(self, name: str, show_bodies: bool = True, keep: int = 500) -> None:
        self.name = name
        self.show_bodies = show_bodies
        self.sent: deque[Outgoing] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, outgoing: Outgoing) -> SendResult:
        """Record the message and log it; always "sent"."""
        with self._lock:
            self.sent.append(outgoing)
            provider_id = "console-{}-{}".format(self.name, next(self._ids))
        if self.show_bodies:
            log.info("[%s → %s] message %s: %s", self.name, mask(outgoing.to), outgoing.message_id, outgoing.body)
        else:
            log.info("[%s → %s] message %s (%s characters)", self.name, mask(outgoing.to), outgoing.message_id, len(outgoing.body))
        return SendResult("sent", provider_id=provider_id)

    def find_previous(self, outgoing: Outgoing, since: datetime) -> str | None:
        """The console forgets across restarts; resending to it harms nobody."""
        return None

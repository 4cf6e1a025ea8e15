"""The waiting lists as staff see them: each service's line in order, and who left it lately.

Operators and coordinators watch the lines here: who is first, what each person asked for,
which time is held for whom and until when, and who keeps missing offers (a call may help
more than another message). The rules of the line are in ``waiting.py``; this page only
reads. A person's own record (``console.person``) is where an operator acts for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.agency.models import Service
from portal.agency.services import MODE_LABELS, active_services
from portal.appointments.models import HELD, WAITING, WaitingListEntry, WaitingListOffer
from portal.auth.access import roles_required
from portal.console.labels import language_name
from portal.db import get_session, utcnow
from portal.i18n import localized

bp = Blueprint("waiting_list", __name__, url_prefix="/staff/waiting-list", template_folder="templates")

#: Who looks after the lines: the helpline and front desk, and those who run them.
WAITING_LIST_ROLES = ("operator", "coordinator", "admin")
#: How many entries no longer waiting the page lists below the lines.
CLOSED_SHOWN = 50
CLOSED_LABELS = {
    "booked": _l("Booked"),
    "left": _l("Left the list"),
    "lapsed": _l("Lapsed: offers went unanswered"),
}


@dataclass
class Row:
    """One person in a line: their place, and the time held for them if any."""

    position: int
    entry: WaitingListEntry
    offer: WaitingListOffer | None


@dataclass
class Line:
    """A service's line, first in line first."""

    service: Service
    rows: list[Row]


# --- services ------------------------------------------------------------------------------


def lines(session: Session, now: datetime, service_id: int | None = None) -> list[Line]:
    """Every service's line (or one service's), in the order offers are made.

    Places are counted as ``waiting.position`` counts them: by joining time, then id.
    """
    query = (
        select(WaitingListEntry)
        .where(WaitingListEntry.status == WAITING)
        .options(selectinload(WaitingListEntry.person), selectinload(WaitingListEntry.office))
        .order_by(WaitingListEntry.service_id, WaitingListEntry.created_at, WaitingListEntry.id)
    )
    if service_id is not None:
        query = query.where(WaitingListEntry.service_id == service_id)
    entries = list(session.scalars(query))
    held = _held_offers(session, [entry.id for entry in entries], now)
    found: dict[int, Line] = {}
    for entry in entries:
        line = found.setdefault(entry.service_id, Line(entry.service, []))
        line.rows.append(Row(len(line.rows) + 1, entry, held.get(entry.id)))
    return list(found.values())


def _held_offers(session: Session, entry_ids: list[int], now: datetime) -> dict[int, WaitingListOffer]:
    """The offer held right now for each of these entries (at most one each)."""
    if not entry_ids:
        return {}
    offers = session.scalars(
        select(WaitingListOffer).where(
            WaitingListOffer.entry_id.in_(entry_ids),
            WaitingListOffer.status == HELD,
            WaitingListOffer.expires_at > now,
        )
    )
    return {offer.entry_id: offer for offer in offers}


def closed_entries(session: Session, service_id: int | None = None, limit: int = CLOSED_SHOWN) -> list[WaitingListEntry]:
    """The entries that left the line most recently (booked, left or lapsed), latest first."""
    query = (
        select(WaitingListEntry)
        .where(WaitingListEntry.status != WAITING)
        .options(selectinload(WaitingListEntry.person))
        .order_by(WaitingListEntry.updated_at.desc(), WaitingListEntry.id.desc())
        .limit(limit)
    )
    if service_id is not None:
        query = query.where(WaitingListEntry.service_id == service_id)
    return list(session.scalars(query))


# --- views ---------------------------------------------------------------------------------


@bp.route("")
@roles_required(*WAITING_LIST_ROLES)
def index():  # type: ignore[no-untyped-def]
    """Each service's line (``?service=CODE`` for one), then who left a line lately."""
    session = get_session()
    services = active_services(session)
    code = request.args.get("service", "")
    chosen = next((service for service in services if service.code == code), None)
    service_id = chosen.id if chosen is not None else None
    return render_template(
        "appointments/staff_waiting.html",
        lines=lines(session, utcnow(), service_id),
        closed=closed_entries(session, service_id),
        services=services,
        chosen=chosen,
        **_helpers(),
    )


def _helpers() -> dict[str, Any]:
    return {
        "service_name": lambda service: localized(service.name) or service.code,
        "mode_label": lambda code: str(MODE_LABELS.get(code, code)),
        "language_name": language_name,
        "closed_label": lambda code: str(CLOSED_LABELS.get(code, code)),
    }

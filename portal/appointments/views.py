"""The citizen's booking: four pages, then the appointment at once (or a place in line).

The booking is four pages that work without JavaScript: what and where, the time, the
person's details, a review; then it completes at once. The choices wait in the session
(service, office, mode, language, slot id, details) so *Back* and errors lose nothing;
no address carries any of them. Coming from a self-screening result, the recommended
service and the language are chosen already and the person's details filled in.

When nothing is free soon enough, the time page offers the waiting list instead, and
the same details and review lead to a place in line. After booking, the person lands on
the appointment's own page (``manage_views.py``); after joining, on their place in line
(``waiting_views.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.agency.models import Office, Service
from portal.agency.services import active_service, active_services, public_offices
from portal.appointments import services, waiting
from portal.appointments.forms import BOOKING_CHANNELS, REASON_MAX, ChooseForm, DetailsForm, SlotForm
from portal.appointments.models import MODES
from portal.appointments.policy import BookingPolicy
from portal.appointments.slots import InvalidSlot, Slot, SlotQuery, candidate_slots, decode_slot, encode_slot
from portal.auth.access import public
from portal.db import get_session, utcnow
from portal.extensions import limiter
from portal.i18n import SHIPPED, current_language, localized
from portal.intake.models import Intake
from portal.intake.views import INTAKE_KEY
from portal.people import services as people

bp = Blueprint("appointments", __name__, url_prefix="/appointments", template_folder="templates")

STATE_KEY = "booking"
#: Per client address: moving between steps is cheap, booking and changing are not.
STEP_LIMIT = "60 per minute"
CHANGE_LIMIT = "10 per minute;60 per hour"
SLOTS_PER_PAGE = 12
STEPS = (_l("Service and office"), _l("Date and time"), _l("Your details"), _l("Check and confirm"))
#: What to bring, per service code; every service gets the common list first.
BRING_ALWAYS = (_l("An identity document or residence permit"), _l("Your codice fiscale (health card)"))
BRING = {
    "sfratto_morosita": (_l("The eviction notice and any letter from the court"), _l("Your rental contract")),
    "contributo_affitto": (_l("Your rental contract"), _l("Your latest ISEE certificate")),
    "domanda_erp": (_l("Your latest ISEE certificate"),),
    "emergenza_abitativa": (_l("Any letter about losing your home"),),
}
MODE_CHOICES = {"in_person": _l("In person, at the office"), "phone_call": _l("By phone: we call you")}
CHANNEL_CHOICES = {"sms": _l("Text message (SMS)"), "email": _l("E-mail")}
TAKEN = _l("Sorry: someone booked that time just before you. Here are the next free times.")
GONE = _l("That time can no longer be booked. Please choose another one.")


@bp.context_processor
def _booking_context() -> dict[str, Any]:
    return {"booking_steps": STEPS, "language_names": {lang.code: lang.autonym for lang in SHIPPED}}


def _policy() -> BookingPolicy:
    return BookingPolicy.from_config(current_app.config["PORTA"])


def _state() -> dict[str, Any]:
    state = web_session.get(STATE_KEY)
    return dict(state) if isinstance(state, dict) else {}


def _save(state: dict[str, Any]) -> None:
    web_session[STATE_KEY] = state


def _intake() -> Intake | None:
    """The self-screening this browser sent, if any (the wizard keeps its id in the session)."""
    intake_id = web_session.get(INTAKE_KEY)
    intake = get_session().get(Intake, intake_id) if isinstance(intake_id, int) else None
    return intake if intake is not None and intake.status == "submitted" else None


def _chosen(state: dict[str, Any]) -> tuple[Service, Office] | None:
    service = active_service(get_session(), state.get("service"))
    office = next((o for o in public_offices(get_session()) if o.code == state.get("office")), None)
    if service is None or office is None or office not in service.offices or state.get("mode") not in MODES:
        return None
    return service, office


def _local_day(slot: Slot, policy: BookingPolicy) -> date:
    return slot.start.astimezone(policy.timezone).date()


@dataclass
class SlotPage:
    """Free times grouped by local day, where the next page starts, and what went wrong."""

    days: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    later: date | None = None
    message: str | None = None
    error: str | None = None
    #: When the first time shown starts (None: nothing free at all).
    first: datetime | None = None
    #: Nothing is free soon enough: the person may join the waiting list instead.
    waitable: bool = False


def _slot_page(service: Service, office: Office, mode: str, language: str | None, after: date | None) -> SlotPage:
    """Up to a page of free times from ``after``; a day cut by the page's end starts the next page."""
    policy = _policy()
    query = SlotQuery(service=service, office=office, mode=mode, first_day=after,
                      language=language)
    found = candidate_slots(get_session(), policy, query, utcnow(), limit=SLOTS_PER_PAGE + 1)
    page = SlotPage(first=found[0].start if found else None)
    if len(found) > SLOTS_PER_PAGE:
        shown, last_day = found[:SLOTS_PER_PAGE], _local_day(found[SLOTS_PER_PAGE - 1], policy)
        if _local_day(found[SLOTS_PER_PAGE], policy) == last_day and _local_day(shown[0], policy) != last_day:
            shown = [slot for slot in shown if _local_day(slot, policy) != last_day]
            page.later = last_day
        else:
            page.later = last_day + timedelta(days=1)
        found = shown
    for slot in found:
        day = format_date(_local_day(slot, policy), format="full")
        item = {"id": encode_slot(slot, policy.secret_key), "start": format_time(slot.start, format="short"),
                "end": format_time(slot.end, format="short"), "mediator": slot.mediator_id is not None}
        if page.days and page.days[-1][0] == day:
            page.days[-1][1].append(item)
        else:
            page.days.append((day, [item]))
    return page


def _after() -> tuple[date | None, str | None]:
    """The ``after`` day asked for ("show later dates"), or a message when it is no date at all."""
    text = request.values.get("after", "")
    if not text:
        return None, None
    try:
        return date.fromisoformat(text), None
    except ValueError:
        return None, _("That date does not exist. Here are the first free times.")


def _offered_now(slot: Slot, language: str | None) -> bool:
    """The plans still offer ``slot`` and nobody has booked it (booking checks again, under lock)."""
    policy, db = _policy(), get_session()
    service, office = db.get(Service, slot.service_id), db.get(Office, slot.office_id)
    if service is None or office is None:
        return False
    day = _local_day(slot, policy)
    query = SlotQuery(service=service, office=office, mode=slot.mode, staff_id=slot.staff_id, first_day=day,
                      last_day=day, language=language)
    return slot in candidate_slots(db, policy, query, utcnow(), limit=None)


# --- the booking ------------------------------------------------------------------------------


@bp.route("/book", methods=["GET", "POST"])
@public
@limiter.limit(STEP_LIMIT, methods=["POST"])
def book():  # type: ignore[no-untyped-def]
    """Step 1: service (chosen already after a self-screening), office, mode and language."""
    db, state = get_session(), _state()
    intake = _intake()
    if not state and intake is not None:
        state = {"service": intake.recommended_service, "language": intake.language, "mode": "in_person"}
    form = ChooseForm(active_services(db), public_offices(db), data={"language": current_language(), **state})
    if form.validate_on_submit():
        changed = any(state.get(name) != getattr(form, name).data for name in ("service", "office", "mode", "language"))
        state.update({name: getattr(form, name).data for name in ("service", "office", "mode", "language")})
        if changed:
            state.pop("slot", None)
        _save(state)
        return redirect(url_for(".slot"))
    status = 400 if request.method == "POST" else 200
    back = url_for("intake.result") if intake is not None else url_for("core.home")
    return render_template(
        "appointments/choose.html", form=form, back=back, number=1,
        service_options=[(s.code, localized(s.name), None) for s in form.services.values()],
        office_options=[(o.code, "{} – {}, {}".format(o.name, o.address, o.city), None) for o in form.offices.values()],
        mode_options=[(mode, str(MODE_CHOICES[mode]), None) for mode in MODES],
        language_options=[(lang.code, lang.autonym, lang.code) for lang in SHIPPED],
    ), status


@bp.route("/book/slot", methods=["GET", "POST"])
@public
@limiter.limit(STEP_LIMIT, methods=["POST"])
def slot():  # type: ignore[no-untyped-def]
    """Step 2: the next free times, by day; "show later dates" pages on with ``?after=``."""
    state = _state()
    chosen = _chosen(state)
    if chosen is None:
        return redirect(url_for(".book"))
    form = SlotForm(data={"slot": state.get("slot", "")})
    error = None
    if request.method == "POST":
        if request.form.get("action") == "back":
            return redirect(url_for(".book"))
        if form.validate_on_submit() and request.form.get("action") == "wait":
            state.pop("slot", None)
            state["waiting"] = True
            _save(state)
            return redirect(url_for(".details"))
        if form.validate_on_submit():
            error = _check_slot(form.slot.data or "", chosen, state)
            if error is None:
                state["slot"] = form.slot.data
                state.pop("waiting", None)
                _save(state)
                return redirect(url_for(".details"))
    return _render_slots(state, form, error=error, status=400 if error or request.method == "POST" else 200)


def _check_slot(slot_id: str, chosen: tuple[Service, Office], state: dict[str, Any]) -> str | None:
    """What is wrong with the chosen time, or None."""
    if not slot_id:
        return _("Choose a date and time.")
    try:
        slot = decode_slot(slot_id, _policy().secret_key)
    except InvalidSlot:
        return _("Choose one of the times shown.")
    service, office = chosen
    if (slot.service_id, slot.office_id, slot.mode) != (service.id, office.id, state["mode"]):
        return _("Choose one of the times shown.")
    if not _offered_now(slot, state.get("language")):
        return str(GONE)
    return None


def _render_slots(state: dict[str, Any], form: SlotForm, error: str | None = None, message: str | None = None,
                  status: int = 200):  # type: ignore[no-untyped-def]
    chosen = _chosen(state)
    assert chosen is not None
    service, office = chosen
    after, bad_date = _after()
    page = _slot_page(service, office, state["mode"], state.get("language"), after)
    page.error, page.message = error, message or bad_date
    policy = _policy()
    page.waitable = after is None and waiting.nothing_soon(page.first, utcnow(), policy)
    return render_template("appointments/slot.html", form=form, page=page, service=service, office=office,
                           state=state, number=2, waiting_days=policy.waiting_after.days,
                           hold_minutes=int(policy.offer_hold.total_seconds() // 60)), 400 if bad_date and status == 200 else status


@bp.route("/book/details", methods=["GET", "POST"])
@public
@limiter.limit(STEP_LIMIT, methods=["POST"])
def details():  # type: ignore[no-untyped-def]
    """Step 3: the reason and the person's details, filled in from their self-screening if any."""
    state = _state()
    if _chosen(state) is None or not (state.get("slot") or state.get("waiting")):
        return redirect(url_for(".slot"))
    form = DetailsForm(data=state.get("details") or _prefill(state))
    if request.method == "POST" and request.form.get("action") == "back":
        state["details"] = {name: request.form.get(name, "") for name in _DETAIL_FIELDS}
        state["details_ok"] = False
        _save(state)
        return redirect(url_for(".slot"))
    if form.validate_on_submit():
        state["details"] = {name: getattr(form, name).data or "" for name in _DETAIL_FIELDS}
        state["details_ok"] = True
        _save(state)
        return redirect(url_for(".review"))
    return render_template(
        "appointments/details.html", form=form, number=3, reason_max=REASON_MAX,
        language_options=[(lang.code, lang.autonym, lang.code) for lang in SHIPPED],
        channel_options=[(code, str(CHANNEL_CHOICES[code]), None) for code in BOOKING_CHANNELS],
    ), 400 if request.method == "POST" else 200


_DETAIL_FIELDS = ("reason", "first_name", "last_name", "phone", "email", "language", "channel")


def _prefill(state: dict[str, Any]) -> dict[str, Any]:
    """The self-screening's person, else the language chosen for the appointment."""
    intake = _intake()
    person = intake.person if intake is not None else None
    if person is None:
        return {"language": state.get("language") or current_language(), "channel": "sms"}
    return {
        "first_name": person.first_name, "last_name": person.last_name, "phone": person.phone or "",
        "email": person.email or "", "language": person.language,
        "channel": person.preferred_channel if person.preferred_channel in BOOKING_CHANNELS else "sms",
    }


@bp.route("/book/review")
@public
def review():  # type: ignore[no-untyped-def]
    """Step 4: everything chosen, each with a link to change it, and the button that books."""
    state = _state()
    chosen = _chosen(state)
    if chosen is None or not (state.get("slot") or state.get("waiting")):
        return redirect(url_for(".slot"))
    if not state.get("details_ok"):
        return redirect(url_for(".details"))
    if state.get("waiting") and not state.get("slot"):
        return render_template("appointments/review.html", service=chosen[0], office=chosen[1], slot=None,
                               state=state, details=state["details"], number=4)
    try:
        slot = decode_slot(state["slot"], _policy().secret_key)
    except InvalidSlot:
        return redirect(url_for(".slot"))
    return render_template("appointments/review.html", service=chosen[0], office=chosen[1], slot=slot,
                           state=state, details=state["details"], number=4)


@bp.route("/book/confirm", methods=["POST"])
@public
@limiter.limit(CHANGE_LIMIT)
def confirm():  # type: ignore[no-untyped-def]
    """Book at once: the person, the appointment, its confirmation and reminders in one commit."""
    state = _state()
    if _chosen(state) is None or not (state.get("slot") or state.get("waiting")) or not state.get("details_ok"):
        return redirect(url_for(".review"))
    if state.get("waiting") and not state.get("slot"):
        return _join_waiting_list(state)
    form = DetailsForm(formdata=None, data=state["details"])
    db, now, intake = get_session(), utcnow(), _intake()
    try:
        person = people.upsert_from_answers(db, form.answers(), now, person=intake.person if intake else None)
        appointment = services.book(db, state["slot"], person, now=now, policy=_policy(), intake=intake, channel="web")
        appointment.reason = (state["details"].get("reason") or "").strip()[:REASON_MAX] or None
    except (services.SlotTaken, services.SlotUnavailable, InvalidSlot) as exc:
        db.rollback()
        state.pop("slot", None)
        _save(state)
        message = TAKEN if isinstance(exc, services.SlotTaken) else GONE
        return _render_slots(state, SlotForm(formdata=None), message=str(message), status=409)
    db.commit()
    web_session.pop(STATE_KEY, None)
    if people.recipient(person) is None:  # messages could put this person at risk: none are sent
        flash(_("Your appointment is booked."), "success")
    else:
        flash(_("Your appointment is booked. We have sent you a confirmation."), "success")
    return redirect(url_for(".manage", token=appointment.manage_token))


def _join_waiting_list(state: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The review's button when nothing was free soon enough: a place in line, not a booking."""
    chosen = _chosen(state)
    assert chosen is not None
    service, office = chosen
    form = DetailsForm(formdata=None, data=state["details"])
    db, now, intake, policy = get_session(), utcnow(), _intake(), _policy()
    language = state.get("language")
    try:
        person = people.upsert_from_answers(db, form.answers(), now, person=intake.person if intake else None)
        entry = waiting.join(
            db, person, service, now=now, policy=policy, office=office, mode=state["mode"],
            language=language, channel="web",
            intake=intake if intake is not None and intake.recommended_service == service.code else None,
            reason=state["details"].get("reason"),
        )
    except waiting.NotReachable:
        db.rollback()
        flash(_("We cannot put you on the waiting list, because we may not send you messages. "
                "Please call the free helpline %(number)s.", number=policy.helpline), "warning")
        return redirect(url_for(".review"))
    db.commit()
    web_session.pop(STATE_KEY, None)
    flash(_("You are on the waiting list. We have sent you a message with the link to this page."), "success")
    return redirect(url_for("appointments.waiting_place", token=entry.manage_token))


# The manage link and the waiting-list page register their routes on this blueprint.
from portal.appointments import manage_views as _manage_views  # noqa: E402,F401
from portal.appointments import waiting_views as _waiting_views  # noqa: E402,F401

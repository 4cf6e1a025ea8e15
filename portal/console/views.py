"""The operator console (helpline and front desk): find a caller, their record, intakes, calls.

Thin views: each parses its input, calls the people, intake or console services and
renders or redirects. Addresses carry ids only; what an operator types to find someone is
POSTed, never put in a URL. Nothing here logs personal data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from portal.auth.access import roles_required
from portal.auth.models import Role
from portal.config import LANGUAGES, RTL_LANGUAGES
from portal.console import labels, pages, services
from portal.console.forms import ActionForm, CallForm, NewIntakeForm, SearchForm, to_local
from portal.db import get_session, utcnow
from portal.i18n import HTML_LANG, current_language
from portal.intake import questionnaire as questionnaires
from portal.intake import services as intakes
from portal.intake import triage
from portal.intake.models import CALL_NOTES_MAX, CallLog, Intake
from portal.messages import services as messages
from portal.people import services as people
from portal.people.models import Person

bp = Blueprint("console", __name__, url_prefix="/staff/console", template_folder="templates")

#: The helpline and front desk, and those who run them.
CONSOLE_ROLES = (Role.OPERATOR, Role.COORDINATOR, Role.ADMIN)
#: Caseworkers read intakes (they receive them) but do not take calls.
READ_ROLES = (*CONSOLE_ROLES, Role.CASEWORKER)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return labels.TEMPLATE_HELPERS | {
        "urgency_label": lambda code: str(triage.urgency_label(code)) if code else "—",
        "html_id": pages.html_id,
        "restricted_text": pages.restricted_text,
        "notes_max": CALL_NOTES_MAX,
    }


def _config():  # type: ignore[no-untyped-def]
    return current_app.config["PORTA"]


def _language_choices() -> list[tuple[str, str]]:
    """Shipped languages, named in the operator's language."""
    return [(code, labels.language_name(code)) for code in LANGUAGES]


def _get_or_404(model: type, ident: int) -> Any:
    found = get_session().get(model, ident)
    if found is None:
        abort(404)
    return found


def _optional(model: type, raw: Any) -> Any:
    """A record named by an id in a form or query string, or None (a wrong id is a 404)."""
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        abort(404)
    return _get_or_404(model, int(raw))


# --- search and the caller's record --------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
@roles_required(*CONSOLE_ROLES)
def search():  # type: ignore[no-untyped-def]
    """Find a caller; results are rendered in answer to the POST, never behind a redirect."""
    form = SearchForm()
    found, duplicates, intake = None, {}, None
    if form.validate_on_submit():
        session = get_session()
        found = people.search(session, form.q.data or "")
        duplicates = services.duplicates_of(session, found)
        match = intakes.find_by_reference(session, form.q.data or "")
        intake = match if match is not None and match.person_id is None else None
    return render_template("console/search.html", form=form, found=found, duplicates=duplicates, intake=intake)


@bp.get("/people/<int:person_id>")
@roles_required(*CONSOLE_ROLES)
def person(person_id: int):  # type: ignore[no-untyped-def]
    """A caller's record: details, possible duplicates, intakes, messages, calls."""
    session = get_session()
    caller = _get_or_404(Person, person_id)
    history = messages.history(session, recipient_key="person:{}".format(caller.id))
    calls = services.calls_for(session, caller)
    return render_template(
        "console/person.html",
        person=caller,
        duplicates=people.likely_duplicates(session, caller),
        intakes=services.intakes_of(session, caller),
        messages=history,
        actors=messages.actor_names(session, history),
        calls=calls,
        operators=services.staff_names(session, (call.operator_id for call in calls)),
    )


# --- intakes ----------------------------------------------------------------------------------


@bp.route("/intakes/new", methods=["GET", "POST"])
@roles_required(*CONSOLE_ROLES)
def new_intake():  # type: ignore[no-untyped-def]
    """Start an intake for a caller (known or not), on the phone or at the desk."""
    source = request.form if request.method == "POST" else MultiDict(
        {"person_id": request.args.get("person", ""), "call_id": request.args.get("call", "")}
    )
    caller = _optional(Person, source.get("person_id"))
    from_call = _optional(CallLog, source.get("call_id"))
    form = NewIntakeForm(formdata=request.form if request.method == "POST" else None)
    form.language.choices = _language_choices()
    if request.method == "GET":
        form.person_id.data = str(caller.id) if caller else ""
        form.call_id.data = str(from_call.id) if from_call else ""
        form.language.data = caller.language if caller else current_language()
    if form.validate_on_submit():
        session = get_session()
        intake = services.start_for_caller(
            session,
            form.channel.data,
            form.language.data,
            utcnow(),
            staff=current_user,
            person=caller,
            call=from_call if from_call is not None and services.may_change_call(current_user, from_call) else None,
            draft_days=_config().intake_draft_days,
        )
        session.commit()
        return redirect(url_for("console.intake", intake_id=intake.id))
    return render_template("console/intake_new.html", form=form, person=caller), 400 if request.method == "POST" else 200


def _render_compact(intake: Intake, answers: dict[str, Any], raw: Any = None, errors: Any = None, status: int = 200):  # type: ignore[no-untyped-def]
    questionnaire = questionnaires.get(intake.questionnaire_version)
    allowed = services.may_see_sensitive(current_user, intake)
    errors = dict(errors or {})
    caller_language = (raw or {}).get(pages.LANGUAGE_QUESTION) or answers.get(pages.LANGUAGE_QUESTION) or intake.language
    if caller_language not in LANGUAGES:
        caller_language = intake.language
    operator_language = current_language()
    agency = _config().agency_name
    return (
        render_template(
            "console/intake_form.html",
            intake=intake,
            questionnaire=questionnaire,
            sections=pages.compact_sections(questionnaire, answers, allowed, raw, errors),
            errors=errors,
            error_summary=pages.error_summary(questionnaire, errors),
            answers=answers,
            caller_language=caller_language,
            caller_dir="rtl" if caller_language in RTL_LANGUAGES else "ltr",
            caller_html_lang=HTML_LANG.get(caller_language, caller_language),
            language_choices=_language_choices(),
            notice_caller=pages.privacy_notice(caller_language, agency) if caller_language != operator_language else None,
            notice_operator=pages.privacy_notice(operator_language, agency),
            privacy_checked=(raw or {}).get(pages.PRIVACY_QUESTION, "yes" if answers.get(pages.PRIVACY_QUESTION) else ""),
        ),
        status,
    )


@bp.get("/intakes/<int:intake_id>")
@roles_required(*READ_ROLES)
def intake(intake_id: int):  # type: ignore[no-untyped-def]
    """A draft opens as the compact form (for those who take calls); anything else is read."""
    record = _get_or_404(Intake, intake_id)
    answers = intakes.get_answers(record)
    if record.status == "draft" and current_user.has_any_role(*CONSOLE_ROLES):
        return _render_compact(record, answers)
    session = get_session()
    questionnaire = questionnaires.get(record.questionnaire_version)
    allowed = services.may_see_sensitive(current_user, record)
    calls = services.calls_about(session, record)
    return render_template(
        "console/intake_view.html",
        intake=record,
        questionnaire=questionnaire,
        answers=answers,
        sensitive_allowed=allowed,
        triage=pages.triage_view(record.triage, questionnaire, allowed) if record.triage else None,
        service_names=services.service_names(session, record.recommended_service),
        changes=services.changes_of(session, record),
        calls=calls,
        staff=services.staff_names(session, [record.created_by_id, *(c.operator_id for c in calls)]),
        duplicates=people.likely_duplicates(session, record.person) if record.person else [],
    )


@bp.post("/intakes/<int:intake_id>")
@roles_required(*CONSOLE_ROLES)
def save_intake(intake_id: int):  # type: ignore[no-untyped-def]
    """Save the compact form; with "submit", submit it and show the triage."""
    session = get_session()
    record = _get_or_404(Intake, intake_id)
    if record.status != "draft":
        flash(_("This request was already submitted: its answers are shown below."), "info")
        return redirect(url_for("console.intake", intake_id=record.id))
    config = _config()
    questionnaire = questionnaires.get(record.questionnaire_version)
    ids = pages.editable_ids(questionnaire, services.may_see_sensitive(current_user, record))
    parsed = questionnaire.parse_form(request.form, ids, intakes.get_answers(record))
    now = utcnow()
    services.save_for_caller(session, record, parsed.values, now, current_user, draft_days=config.intake_draft_days,
                             timezone=config.timezone)
    session.commit()
    answers = intakes.get_answers(record)
    if parsed.errors:
        return _render_compact(record, answers, parsed.raw, parsed.errors, 400)
    if request.form.get("action") != "submit":
        flash(_("The answers are saved."), "success")
        return redirect(url_for("console.intake", intake_id=record.id))
    missing = intakes.submit(
        session,
        record,
        now,
        config.privacy_notice_version,
        helpline=config.helpline_number,
        link=intakes.resume_link(config.public_base_url),
        staff=current_user,
        timezone=config.timezone,
    )
    if missing:
        return _render_compact(record, intakes.get_answers(record), errors=pages.missing_errors(missing), status=400)
    session.commit()
    flash(_("The request is submitted. The caller will receive its reference."), "success")
    return redirect(url_for("console.intake", intake_id=record.id))


# --- calls ------------------------------------------------------------------------------------


def _call_form(formdata: Any = None, call: CallLog | None = None) -> CallForm:
    form = CallForm(formdata=formdata)
    form.set_choices(_language_choices())
    if formdata is None and call is not None:
        form.load(call, _config().timezone)
    return form


@bp.route("/calls/new", methods=["GET", "POST"])
@roles_required(*CONSOLE_ROLES)
def new_call():  # type: ignore[no-untyped-def]
    """Log a call (``?person=<id>&intake=<id>``): it starts now unless the operator says otherwise."""
    posted = request.method == "POST"
    caller = _optional(Person, request.form.get("person_id") if posted else request.args.get("person"))
    about = _optional(Intake, request.form.get("intake_id") if posted else request.args.get("intake"))
    form = _call_form(request.form if posted else None)
    if not posted:
        form.started_at.data = to_local(utcnow(), _config().timezone)
        form.person_id.data = str(caller.id) if caller else ""
        form.intake_id.data = str(about.id) if about else ""
    if form.validate_on_submit():
        session = get_session()
        call = services.start_call(
            session, current_user, person=caller, intake=about, **form.values(_config().timezone, utcnow())
        )
        session.commit()
        flash(_("The call is logged."), "success")
        return redirect(url_for("console.call", call_id=call.id))
    known = caller or (about.person if about is not None else None)
    return render_template("console/call_form.html", form=form, call=None, person=known, intake=about), 400 if posted else 200


@bp.route("/calls/<int:call_id>", methods=["GET", "POST"])
@roles_required(*CONSOLE_ROLES)
def call(call_id: int):  # type: ignore[no-untyped-def]
    """One call; its own operator edits it (notes, outcome, end), others read it."""
    session = get_session()
    record = _get_or_404(CallLog, call_id)
    mine = services.may_change_call(current_user, record)
    if request.method == "POST" and not mine:
        abort(403)
    form = _call_form(request.form if request.method == "POST" else None, record)
    if form.validate_on_submit():
        services.update_call(session, record, current_user, **form.values(_config().timezone, utcnow()))
        session.commit()
        flash(_("The call is saved."), "success")
        return redirect(url_for("console.call", call_id=record.id))
    about = session.get(Intake, record.intake_id) if record.intake_id else None
    return render_template(
        "console/call_form.html",
        form=form,
        call=record,
        mine=mine,
        person=record.person,
        intake=about,
        operator=services.staff_names(session, [record.operator_id]).get(record.operator_id or 0),
        action_form=ActionForm(),
    ), 400 if request.method == "POST" else 200


@bp.post("/calls/<int:call_id>/end")
@roles_required(*CONSOLE_ROLES)
def end_call(call_id: int):  # type: ignore[no-untyped-def]
    """The "end call now" button: the end is the moment it is pressed."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session = get_session()
    record = _get_or_404(CallLog, call_id)
    if not services.may_change_call(current_user, record):
        abort(403)
    if services.end_call(session, record, current_user, utcnow()):
        flash(_("The call is ended."), "success")
    session.commit()
    return redirect(url_for("console.call", call_id=record.id))


# Booking for a caller registers its routes on this blueprint (it imports ``bp`` from here).
from portal.console import booking as _booking  # noqa: E402,F401
from portal.console import waiting_list as _waiting_list  # noqa: E402,F401

"""The citizen's self-screening: a wizard over the questionnaire, its result, and resuming a draft.

The draft is in the database from the first page on (every page is saved with
``services.save_answers``); the browser's session holds only the intake's id, never its
reference or an answer, and no address carries either. The one exception is the text of
answers that were wrong when the person pressed *Back*: it waits in the (signed, not
encrypted) session until that page is shown again, so nothing typed is lost and nothing
invalid reaches the database. Errors on *Continue* re-render the page in the same request.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask_babel import gettext as _

from portal.agency.services import active_service
from portal.auth.access import public
from portal.db import get_session, utcnow
from portal.extensions import limiter
from portal.i18n import current_language
from portal.intake import questionnaire as questionnaires
from portal.intake import services, triage
from portal.intake.forms import ResumeCodeForm, ResumePinForm, StepPage
from portal.intake.models import Intake
from portal.intake.questionnaire import Questionnaire, Section
from portal.intake.references import normalise_reference

bp = Blueprint("intake", __name__, url_prefix="/intake", template_folder="templates")

#: The session keys: the intake being filled in on this device, and wrong answers left by "Back".
INTAKE_KEY = "intake_id"
PENDING_KEY = "intake_pending"
#: Per client address. Starting creates rows; codes and PINs must not be guessable by brute force.
START_LIMIT = "10 per hour"
CODE_LIMIT = "5 per minute;30 per hour"


def _config() -> Any:
    return current_app.config["PORTA"]


def _questionnaire(intake: Intake) -> Questionnaire:
    return questionnaires.get(intake.questionnaire_version)


def _own_intake() -> Intake | None:
    """The intake this browser is working on, unless it has gone (expired or purged)."""
    intake_id = web_session.get(INTAKE_KEY)
    intake = get_session().get(Intake, intake_id) if isinstance(intake_id, int) else None
    if intake is not None and services.expired_draft(intake, utcnow()):
        intake = None
    if intake is None and intake_id is not None:
        web_session.pop(INTAKE_KEY, None)
        web_session.pop(PENDING_KEY, None)
    return intake


def _draft_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pass the browser's draft to ``view``; without one, go to the start; once sent, to the result."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        intake = _own_intake()
        if intake is None:
            flash(_("Start the self-screening here, or continue one with your reference code."), "info")
            return redirect(url_for("intake.start_page"))
        if intake.status != "draft":
            flash(
                _(
                    "Your request has been sent and can no longer be changed here. "
                    "To correct something, call the free helpline."
                ),
                "info",
            )
            return redirect(url_for("intake.result"))
        return view(intake, *args, **kwargs)

    return wrapper


def _pages(questionnaire: Questionnaire, answers: dict[str, Any]) -> list[Section]:
    """The sections that ask something, given the answers: the wizard's pages in order."""
    return [s for s in questionnaire.sections if questionnaire.visible_questions(s.id, answers)] or [
        questionnaire.sections[0]
    ]


def _where_left(intake: Intake) -> Section:
    """The page the person last saved, where they pick up again."""
    questionnaire = _questionnaire(intake)
    return next((s for s in questionnaire.sections if s.id == intake.current_section), questionnaire.sections[0])


def _step_url(section: Section | None) -> str:
    return url_for("intake.step", section_id=section.id) if section else url_for("intake.review")


@bp.route("/")
@public
def start_page():  # type: ignore[no-untyped-def]
    """What the self-screening is, how long it takes, what happens to the answers."""
    intake = _own_intake()
    continue_url = _step_url(_where_left(intake)) if intake is not None and intake.status == "draft" else None
    return render_template(
        "intake/start.html", intake=intake, continue_url=continue_url, draft_days=_config().intake_draft_days
    )


@bp.route("/start", methods=["POST"])
@public
@limiter.limit(START_LIMIT)
def start():  # type: ignore[no-untyped-def]
    """Open a new draft in the page's language and remember it in this browser only."""
    db = get_session()
    intake = services.start(db, "web", current_language(), utcnow(), draft_days=_config().intake_draft_days)
    db.commit()
    web_session[INTAKE_KEY] = intake.id
    web_session.pop(PENDING_KEY, None)
    return redirect(_step_url(_questionnaire(intake).sections[0]))


@bp.route("/step/<section_id>", methods=["GET", "POST"])
@public
@_draft_required
def step(intake: Intake, section_id: str):  # type: ignore[no-untyped-def]
    """One page: saves what is valid on every button, and moves only when the page is complete."""
    questionnaire = _questionnaire(intake)
    section = next((s for s in questionnaire.sections if s.id == section_id), None)
    if section is None:
        abort(404)
    page = StepPage(questionnaire, section, services.get_answers(intake))
    if request.method == "GET":
        pending = web_session.get(PENDING_KEY)
        if isinstance(pending, dict) and pending.get("section") == section.id:
            web_session.pop(PENDING_KEY, None)
            page.restore(pending.get("raw") or {})
        return _render_step(intake, page)

    parsed = page.parse(request.form)
    db = get_session()
    config = _config()
    services.save_answers(db, intake, parsed.values, utcnow(), section=section.id, draft_days=config.intake_draft_days)
    db.commit()
    saved = StepPage(questionnaire, section, services.get_answers(intake), raw=parsed.raw, errors=dict(parsed.errors))
    pages = _pages(questionnaire, saved.answers)
    index = next((i for i, s in enumerate(pages) if s.id == section.id), None)
    action = request.form.get("action", "next")
    if action == "back":
        if saved.errors:
            web_session[PENDING_KEY] = {"section": section.id, "raw": saved.invalid_raw()}
        if index is None or index == 0:
            return redirect(url_for("intake.start_page"))
        return redirect(_step_url(pages[index - 1]))
    if action == "add_row":
        saved.extra_rows = request.form.get("extra_rows", 0, type=int) + 1
        return _render_step(intake, saved)
    saved.require_answers()
    appeared = set(saved.question_ids) - set(page.question_ids)
    if saved.errors or appeared:
        if appeared and not saved.errors:
            saved.notice = _("Your answers opened new questions on this page. Please look at them, then continue.")
        return _render_step(intake, saved, status=400 if saved.errors else 200)
    following = pages[index + 1] if index is not None and index + 1 < len(pages) else None
    return redirect(_step_url(following))


def _render_step(intake: Intake, page: StepPage, status: int = 200):  # type: ignore[no-untyped-def]
    pages = _pages(_questionnaire(intake), page.answers)
    number = next((i for i, s in enumerate(pages) if s.id == page.section.id), 0) + 1
    return render_template("intake/step.html", intake=intake, page=page, pages=pages, number=number), status


@bp.route("/review")
@public
@_draft_required
def review(intake: Intake):  # type: ignore[no-untyped-def]
    """Every answer, each with a link to change it, and what is still missing."""
    return _render_review(intake)


def _render_review(intake: Intake, status: int = 200):  # type: ignore[no-untyped-def]
    questionnaire = _questionnaire(intake)
    answers = services.get_answers(intake)
    return render_template(
        "intake/review.html",
        intake=intake,
        questionnaire=questionnaire,
        pages=_pages(questionnaire, answers),
        answers=answers,
        missing=questionnaire.missing_for_submit(answers),
    ), status


@bp.route("/submit", methods=["POST"])
@public
@_draft_required
def submit(intake: Intake):  # type: ignore[no-untyped-def]
    """Send the request: triage, the person's record and a receipt (services.submit)."""
    config = _config()
    db = get_session()
    missing = services.submit(
        db,
        intake,
        utcnow(),
        privacy_notice_version=config.privacy_notice_version,
        helpline=config.helpline_number,
        link=services.resume_link(config.public_base_url),
        timezone=config.timezone,
    )
    if missing:
        db.rollback()
        return _render_review(intake, status=400)
    db.commit()
    web_session.pop(PENDING_KEY, None)
    return redirect(url_for("intake.result"))


@bp.route("/result")
@public
def result():  # type: ignore[no-untyped-def]
    """What the answers suggest, in plain words: orientation, not a decision."""
    return _render_result("intake/result.html")


@bp.route("/result/print")
@public
def result_print():  # type: ignore[no-untyped-def]
    """The result as a page to print or save, without the site around it."""
    return _render_result("intake/result_print.html")


def _render_result(template: str):  # type: ignore[no-untyped-def]
    intake = _own_intake()
    if intake is None:
        return redirect(url_for("intake.start_page"))
    if intake.status == "draft" or not intake.triage:
        return redirect(url_for("intake.review"))
    outcome = triage.Triage.from_json(intake.triage).to_json(triage.localize)
    service = active_service(get_session(), outcome["recommended_service"])
    return render_template(
        template, intake=intake, outcome=outcome, service=service, questionnaire=_questionnaire(intake),
        measure_label=triage.measure_label, urgency_label=triage.urgency_label, pathway_label=triage.pathway_label,
    )


@bp.route("/resume", methods=["GET", "POST"])
@public
@limiter.limit(CODE_LIMIT, methods=["POST"])
def resume():  # type: ignore[no-untyped-def]
    """Ask for a PIN for a reference code; the answer never says whether the code exists."""
    form = ResumeCodeForm()
    if form.validate_on_submit():
        config = _config()
        db = get_session()
        services.request_resume_pin(
            db, form.code.data or "", utcnow(), config.secret_key.encode(), config.resume_pin_minutes
        )
        db.commit()
        pin_form = ResumePinForm(formdata=None, code=normalise_reference(form.code.data or ""))
        return render_template("intake/resume_pin.html", form=pin_form, minutes=config.resume_pin_minutes)
    return render_template("intake/resume.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/resume/pin", methods=["POST"])
@public
@limiter.limit(CODE_LIMIT)
def resume_pin():  # type: ignore[no-untyped-def]
    """Code and PIN open the draft in this browser, where the person left it."""
    form = ResumePinForm()
    config = _config()
    if form.validate_on_submit():
        db = get_session()
        intake = services.resume(db, form.code.data or "", form.pin.data or "", utcnow(), config.secret_key.encode())
        db.commit()
        if intake is not None:
            web_session[INTAKE_KEY] = intake.id
            web_session.pop(PENDING_KEY, None)
            flash(_("Welcome back. Your answers are as you left them."), "success")
            return redirect(_step_url(_where_left(intake)))
        form.pin.errors.append(
            _(
                "This PIN did not work. It may be mistyped, or no longer valid: a PIN works once, "
                "for %(minutes)s minutes. Check it, or ask for a new one.",
                minutes=config.resume_pin_minutes,
            )
        )
    return render_template("intake/resume_pin.html", form=form, minutes=config.resume_pin_minutes), 400

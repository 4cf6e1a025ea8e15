"""Staff pages for messaging: a person's message history, failed messages, the replies inbox.

Thin views: each parses its input, calls one service and renders or redirects. Pages
never show a message's text or context (rendered at send time, and possibly personal);
the inbox shows what people wrote, because an operator must read it to answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from messaging.outbox import CHANNELS
from portal.auth.access import roles_required
from portal.auth.models import Role
from portal.db import get_session, utcnow
from portal.messages import labels, services
from portal.messages.forms import ActionForm, BulkRetryForm, HistoryForm, QueueFilterForm

bp = Blueprint("messages", __name__, url_prefix="/staff/messages", template_folder="templates")
for _name, _function in labels.TEMPLATE_GLOBALS.items():
    bp.add_app_template_global(_function, _name)


@bp.app_template_global("open_replies_count")
def open_replies_count() -> int:
    """For the staff console's home: how many replies wait for a person."""
    return services.open_inbox_count(get_session())


#: Anyone on the staff may look up what was sent to a person; the queues are the helpline's.
HISTORY_ROLES = tuple(Role)
QUEUE_ROLES = (Role.OPERATOR, Role.COORDINATOR, Role.ADMIN)
PER_PAGE = 50


def _kinds() -> list[str]:
    return list(current_app.extensions["messaging.renderer"].templates.kinds)


def _queue_filters(args: Any) -> dict[str, Any]:
    """The queue's filters from a query string, keeping only values we know."""
    filters: dict[str, Any] = {}
    if args.get("channel") in CHANNELS:
        filters["channel"] = args["channel"]
    if args.get("kind") in _kinds():
        filters["kind"] = args["kind"]
    page = args.get("page", type=int)
    if page and page > 1:
        filters["page"] = page
    return filters


def _back_to_queue():  # type: ignore[no-untyped-def]
    return redirect(url_for("messages.failed", **_queue_filters(request.args)))


@bp.get("/")
@roles_required(*HISTORY_ROLES)
def history():  # type: ignore[no-untyped-def]
    """The messages to one person (``?recipient=person:7``) or about one subject (``?subject=``)."""
    form = HistoryForm(formdata=request.args)
    messages, actors = None, {}
    if (form.recipient.data or form.subject.data) and form.validate():
        session = get_session()
        messages = services.history(session, recipient_key=form.recipient.data or None, subject_key=form.subject.data or None)
        actors = services.actor_names(session, messages)
    return render_template("messages/history.html", form=form, messages=messages, actors=actors)


@bp.get("/failed")
@roles_required(*QUEUE_ROLES)
def failed():  # type: ignore[no-untyped-def]
    """Failed and stuck messages, newest first, with retry and cancel buttons."""
    form = QueueFilterForm(formdata=request.args)
    form.channel.choices = [("", _("All channels"))] + [(name, labels.channel_label(name)) for name in CHANNELS]
    form.kind.choices = [("", _("All kinds"))] + [(kind, labels.kind_label(kind)) for kind in _kinds()]
    filters = _queue_filters(request.args) if form.validate() else {}
    session = get_session()
    page = services.attention_queue(
        session,
        utcnow(),
        channel=filters.get("channel"),
        kind=filters.get("kind"),
        page=filters.get("page", 1),
        per_page=PER_PAGE,
    )
    filters.pop("page", None)
    return render_template(
        "messages/failed.html",
        form=form,
        page=page,
        filters=filters,
        actors=services.actor_names(session, page.items),
        action_form=ActionForm(),
    )


@bp.post("/<int:message_id>/retry")
@roles_required(*QUEUE_ROLES)
def retry(message_id: int):  # type: ignore[no-untyped-def]
    """Put one failed or stuck message back in the queue, due now."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session = get_session()
    done = services.retry_messages(session, [message_id], utcnow(), current_user.id)
    session.commit()
    if done:
        flash(_("The message is back in the queue and will be sent shortly."), "success")
    else:
        flash(_("This message can no longer be retried: someone may have dealt with it already."), "warning")
    return _back_to_queue()


@bp.post("/failed/retry")
@roles_required(*QUEUE_ROLES)
def retry_shown():  # type: ignore[no-untyped-def]
    """Put every message that was shown on the page back in the queue."""
    form = BulkRetryForm()
    if not form.validate_on_submit():
        abort(400)
    session = get_session()
    count = services.retry_messages(session, form.message_ids.data or [], utcnow(), current_user.id)
    session.commit()
    flash(_("Messages put back in the queue: %(count)s", count=count), "success")
    return _back_to_queue()


@bp.post("/<int:message_id>/cancel")
@roles_required(*QUEUE_ROLES)
def cancel(message_id: int):  # type: ignore[no-untyped-def]
    """Give up on one failed or stuck message."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session = get_session()
    done = services.cancel_message(session, message_id, utcnow(), current_user.id)
    session.commit()
    if done:
        flash(_("The message is cancelled and will not be sent."), "success")
    else:
        flash(_("This message can no longer be cancelled: someone may have dealt with it already."), "warning")
    return _back_to_queue()


@bp.get("/inbox")
@roles_required(*QUEUE_ROLES)
def inbox():  # type: ignore[no-untyped-def]
    """Replies that no rule could act on, oldest first, for a person to read and answer."""
    session = get_session()
    return render_template(
        "messages/inbox.html",
        replies=services.open_inbox(session),
        open_count=services.open_inbox_count(session),
        action_form=ActionForm(),
    )


@bp.post("/inbox/<int:inbound_id>/handled")
@roles_required(*QUEUE_ROLES)
def mark_handled(inbound_id: int):  # type: ignore[no-untyped-def]
    """Close one reply, recording who dealt with it and when."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session = get_session()
    done = services.mark_handled(session, inbound_id, utcnow(), current_user.id)
    session.commit()
    if done:
        flash(_("The reply is marked as handled."), "success")
    else:
        flash(_("This reply was already handled."), "info")
    return redirect(url_for("messages.inbox"))

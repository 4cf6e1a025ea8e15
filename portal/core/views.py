"""Home, privacy notice, accessibility statement and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.agency.services import active_services, public_offices
from portal.auth.access import public
from portal.db import get_engine, get_session

bp = Blueprint("core", __name__, template_folder="templates")


@bp.route("/")
@public
def home():  # type: ignore[no-untyped-def]
    """The front door: what the agency does, where it is, when it is open."""
    session = get_session()
    return render_template("core/home.html", offices=public_offices(session), services=active_services(session))


@bp.route("/privacy")
@public
def privacy():  # type: ignore[no-untyped-def]
    """The privacy notice (informativa) in the page's language."""
    return render_template("core/privacy.html")


@bp.route("/accessibility")
@public
def accessibility():  # type: ignore[no-untyped-def]
    """The accessibility statement."""
    return render_template("core/accessibility.html")


@bp.route("/healthz")
@public
def healthz():  # type: ignore[no-untyped-def]
    """200 when the database answers, 503 when it does not; for load balancers."""
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.warning("health check: database unreachable")
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200


@bp.app_context_processor
def _template_helpers() -> dict[str, object]:
    """Formatting helpers every template may use, all in the page's locale."""
    from flask_babel import format_currency, format_decimal, format_timedelta, get_locale

    from portal.agency.services import MODE_LABELS, opening_hours

    return {
        "format_timedelta": format_timedelta,
        "format_decimal": format_decimal,
        "format_money": lambda amount: format_currency(amount, "EUR"),
        "mode_labels": MODE_LABELS,
        "opening_hours": lambda office: opening_hours(office, get_locale()),
    }

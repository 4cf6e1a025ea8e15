"""Sign-in, sign-out and the staff home page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from portal.auth import services
from portal.auth.access import public, roles_required
from portal.auth.forms import LoginForm
from portal.auth.models import Role
from portal.db import get_session, utcnow
from portal.extensions import login_manager

bp = Blueprint("auth", __name__, template_folder="templates")

ALL_STAFF = tuple(Role)

#: Role names as staff read them.
ROLE_LABELS = {
    Role.OPERATOR.value: _l("Operator"),
    Role.CASEWORKER.value: _l("Caseworker"),
    Role.COORDINATOR.value: _l("Coordinator"),
    Role.ADMIN.value: _l("Administrator"),
}


@login_manager.user_loader
def _load_user(user_id: str):  # type: ignore[no-untyped-def]
    return services.load_staff(get_session(), user_id)


def _safe_next(target: str | None) -> str:
    """Only follow ``next`` to a path on this site, never to another host."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("auth.staff_home")


@bp.route("/staff/login", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    """Show the sign-in form; on success go where the person was heading."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        config = current_app.config["PORTA"]
        session = get_session()
        result = services.sign_in(
            session,
            form.email.data or "",
            form.password.data or "",
            client_address=request.remote_addr or "unknown",
            now=utcnow(),
            lockout_failures=config.login_lockout_failures,
            lockout_minutes=config.login_lockout_minutes,
        )
        session.commit()
        if result.staff is not None:
            login_user(result.staff)
            return redirect(_safe_next(request.args.get("next")))
        if result.retry_after is not None:
            form.form_errors.append(
                _("Too many failed attempts. Try again in %(wait)s.", wait=format_timedelta(result.retry_after, threshold=1.1))
            )
            status = 429
        else:
            form.form_errors.append(_("The e-mail or the password is not right."))
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/staff/logout", methods=["POST"])
@public
def logout():  # type: ignore[no-untyped-def]
    """Sign out (a POST, so a link elsewhere cannot sign anybody out)."""
    logout_user()
    flash(_("You are signed out."), "success")
    return redirect(url_for("core.home"))


@bp.route("/staff/")
@roles_required(*ALL_STAFF)
def staff_home():  # type: ignore[no-untyped-def]
    """The staff console's landing page: who you are and what you can do here."""
    return render_template("auth/staff_home.html", role_labels=ROLE_LABELS)

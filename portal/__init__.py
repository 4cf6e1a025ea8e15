"""Porta Unica: the Flask application factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from portal.config import Config, load_dotenv_if_present

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | None = None) -> Flask:
    """Build the web app. Starts no scheduler and runs no migration (see ARCHITECTURE.md)."""
    app = Flask(__name__, instance_path=str(ROOT / "instance"), instance_relative_config=False)
    if config is None:
        load_dotenv_if_present(ROOT)
        config = Config.from_env(os.environ, app.instance_path)
    app.config["PORTA"] = config
    if config.proxy_count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = config.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.config.update(config.flask_settings())

    from portal import db, errors, i18n, security
    from portal.extensions import csrf, limiter, login_manager

    db.init_app(app, config.database_url)
    i18n.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"

    security.init_app(app)
    errors.init_app(app)
    from portal.intake import questionnaire

    questionnaire.init_app(app)  # a broken questionnaire file stops start-up here
    from portal.intake import triage

    triage.init_app(app)  # so do triage rules that are broken or name unknown questions

    from portal.appointments.staff import bp as calendar_bp
    from portal.appointments.staff_waiting import bp as waiting_list_bp
    from portal.appointments.views import bp as appointments_bp
    from portal.auth.views import bp as auth_bp
    from portal.console.views import bp as console_bp
    from portal.core.views import bp as core_bp
    from portal.intake.views import bp as intake_bp
    from portal.messages.views import bp as messages_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(intake_bp)
    app.register_blueprint(messages_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(appointments_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(waiting_list_bp)
    _mount_messaging(app, config)
    from portal.appointments import replies

    replies.init_app(app)  # "1" confirms, "2" cancels an appointment by replying to its messages
    from portal.api.views import bp as api_bp

    csrf.exempt(api_bp)  # token auth on every request, no cookies: nothing to forge
    app.register_blueprint(api_bp)

    from portal import cli

    cli.init_app(app)

    @app.context_processor
    def _agency() -> dict[str, object]:
        return {"agency_name": config.agency_name, "helpline_number": config.helpline_number}

    return app


def _mount_messaging(app: Flask, config: Config) -> None:
    """Twilio's webhooks: signed by Twilio instead of logged in, and exempt from CSRF."""
    from messaging.webhooks import WebhookSettings
    from messaging.webhooks import bp as webhooks_bp
    from portal.auth.access import public
    from portal.db import get_session
    from portal.extensions import csrf
    from portal.messages import services as messages

    messages.init_app(app)  # validates templates and settings now: a mistake stops start-up
    app.extensions["messaging.webhooks"] = WebhookSettings(
        auth_token=config.twilio_auth_token, public_base_url=config.public_base_url, session=get_session
    )
    csrf.exempt(webhooks_bp)
    app.register_blueprint(webhooks_bp)
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(webhooks_bp.name + "."):
            public(view)  # anyone may call; only a valid X-Twilio-Signature changes anything

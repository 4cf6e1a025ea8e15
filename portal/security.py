"""Headers every response carries, and the guard against a database behind migrations."""

from __future__ import annotations

from flask import Flask, render_template, request

from portal import schema
from portal.db import get_engine

#: Only our own origin: no CDN, no external fonts, no third-party scripts, ever.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def init_app(app: Flask) -> None:
    """Register the response headers and the schema guard."""
    state = {"schema_ok": False}

    @app.before_request
    def _refuse_outdated_schema():  # type: ignore[no-untyped-def]
        if state["schema_ok"] or request.endpoint in {"static", "core.healthz"}:
            return None
        if schema.is_up_to_date(get_engine()):
            state["schema_ok"] = True
            return None
        app.logger.error("database schema is behind the code; run: %s", schema.UPGRADE_COMMAND)
        return render_template("errors/outdated_schema.html", command=schema.UPGRADE_COMMAND), 503

    @app.after_request
    def _headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["PORTA"].production:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

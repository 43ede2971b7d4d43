"""The Flask web app: ``create_app`` builds it over the ``wbl`` services.

One blueprint per audience (``coordinator``, ``host``, ``student``) plus ``auth`` and the
JSON ``api``; each audience's blueprint is guarded by role as a whole (:func:`web.auth.guard`)
and each view checks that the row it shows belongs to the signed-in account.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from wbl.db import database_url
from web.db import MAX_ID

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DAY = 24 * 3600

csrf = CSRFProtect()


class RowId(IntegerConverter):
    """``<int:...>`` in every route: a whole number a row id can be. A larger one names no
    row, so the router answers 404, where PostgreSQL would refuse the query ("integer out of
    range") and the page would fail."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    production = os.environ.get("WBL_ENV", "").lower() == "production"
    app.config.from_mapping(
        PRODUCTION=production,
        SECRET_KEY=os.environ.get("WBL_SECRET_KEY"),
        DATABASE_URL=database_url(None),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production or _flag("WBL_SECURE_COOKIES"),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=production or _flag("WBL_SECURE_COOKIES"),
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,  # a term bundle upload
        PASSWORD_HASH_METHOD="scrypt",
        LINK_MAX_AGE_S={"invite": 14 * DAY, "reset": 2 * 3600},
        LOGIN_RATE_LIMIT="10 per minute",
        RESET_RATE_LIMIT="5 per minute",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        SMTP_HOST=os.environ.get("WBL_SMTP_HOST"),
        SMTP_PORT=os.environ.get("WBL_SMTP_PORT"),
        SMTP_USER=os.environ.get("WBL_SMTP_USER"),
        SMTP_PASSWORD=os.environ.get("WBL_SMTP_PASSWORD"),
        SMTP_STARTTLS=_flag("WBL_SMTP_STARTTLS"),
        MAIL_FROM=os.environ.get("WBL_MAIL_FROM", "placements@localhost"),
    )
    if test_config:
        app.config.update(test_config)
    if not app.config["SECRET_KEY"]:
        if app.config["PRODUCTION"]:
            raise RuntimeError("WBL_SECRET_KEY must be set when WBL_ENV=production")
        # Development: a key for this process only (sessions end when the server restarts).
        app.config["SECRET_KEY"] = secrets.token_hex(32)

    app.url_map.converters["int"] = RowId  # before any route is added
    from web import api, coordinator, feeds, host, placements, student
    from web.auth import home_url, init_auth
    from web.db import init_db

    init_db(app)
    csrf.init_app(app)
    init_auth(app)
    for module in (coordinator, placements, host, student, api, feeds):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)  # JSON with the session cookie and SameSite; see web/api.py

    @app.get("/")
    def index() -> ResponseReturnValue:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return redirect(home_url(current_user.user))

    @app.before_request
    def refuse_nul_characters() -> None:
        # No text a person types holds NUL, and PostgreSQL refuses to store it: stop it here
        # with a 400 rather than fail deep inside a query.
        for values in (request.args, request.form):
            for value in values.values():
                if "\x00" in value:
                    abort(400, "The form held a NUL character; please type the text again.")

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # Invite and reset links carry a token in the path: never send it on as a referrer.
        response.headers["Referrer-Policy"] = "no-referrer"
        if current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        message = "The form had expired or was sent from elsewhere. Reload the page and try again."
        return _error_page(400, "Please try again", message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        return _error_page(error.code or 500, error.name, error.description or "")

    return app


def _error_page(code: int, title: str, message: str) -> ResponseReturnValue:
    if request.blueprint == "api":
        return {"error": message}, code
    return render_template("error.html", code=code, title=title, message=message), code

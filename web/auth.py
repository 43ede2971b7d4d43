"""Signing in and out, invitations and password resets, and the role guard every area uses.

Flask-Login keeps the session; its user id is ``"<account id>:<nonce>"``, so a password
change signs out every other session. Flask-WTF puts a CSRF token on every form. Login and
reset requests are rate-limited per address (Flask-Limiter).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from wbl.models import Role, User
from web.accounts import (
    LINK_MAIL,
    MIN_PASSWORD,
    AccountError,
    Purpose,
    authenticate,
    find_user,
    make_token,
    read_token,
    set_password,
)
from web.db import db
from web.mail import send_link

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class Account(UserMixin):
    """The signed-in account as Flask-Login sees it (a thin wrapper over the row)."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.nonce}"

    @property
    def role(self) -> Role:
        return self.user.role


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.session_protection = "strong"
    limiter.init_app(app)
    app.register_blueprint(bp)


@login_manager.user_loader
def load_account(user_id: str) -> Account | None:
    number, _, nonce = user_id.partition(":")
    if not number.isdigit():
        return None
    user = db().get(User, int(number))
    if user is None or not user.active or user.nonce != nonce:
        return None
    return Account(user)


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    if request.blueprint == "api":
        return jsonify(error="sign in first"), 401
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def signed_in_user() -> User:
    """The signed-in account's row (only inside a guarded view)."""
    return current_user.user  # type: ignore[no-any-return]


def guard(bp: Blueprint, *roles: Role) -> None:
    """Every view of ``bp`` needs a signed-in account with one of ``roles``: anonymous
    visitors are sent to sign in, other roles get 403."""

    @bp.before_request
    def check_role() -> ResponseReturnValue | None:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined,no-any-return]
        if current_user.role not in roles:
            abort(403)
        return None


def roles_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The per-view form of :func:`guard`, for blueprints shared by several roles."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return checked

    return wrap


def home_url(user: User) -> str:
    return url_for(
        {
            Role.COORDINATOR: "coordinator.terms",
            Role.HOST: "host.home",
            Role.STUDENT: "student.home",
        }[user.role]
    )


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host): never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class PasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=1000)],
        description=f"At least {MIN_PASSWORD} characters.",
    )
    confirm = PasswordField(
        "Repeat it", validators=[DataRequired(), EqualTo("password", "The two do not match.")]
    )


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


def _limit(limit: str) -> Callable[[Any], Any]:
    return limiter.limit(lambda: current_app.config[limit], methods=["POST"])


@bp.route("/login", methods=["GET", "POST"])
@_limit("LOGIN_RATE_LIMIT")
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db(), form.email.data or "", form.password.data or "")
        if user is not None:
            db().commit()
            login_user(Account(user))
            return redirect(safe_next(request.args.get("next")) or home_url(user))
        form.password.errors = ["Wrong email or password."]
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    # A POST with the CSRF token (CSRFProtect checks it): a link elsewhere cannot sign you out.
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _link_page(token: str, purpose: Purpose, template: str) -> ResponseReturnValue:
    try:
        user = read_token(db(), token, purpose)
    except AccountError as error:
        return render_template("auth/bad_link.html", message=str(error)), 400
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            set_password(user, form.password.data or "")
        except AccountError as error:
            form.password.errors = [str(error)]
        else:
            db().commit()
            logout_user()
            login_user(Account(user))
            flash("Your password is set.", "success")
            return redirect(home_url(user))
    return render_template(template, form=form, user=user), 400 if form.errors else 200


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str) -> ResponseReturnValue:
    return _link_page(token, Purpose.INVITE, "auth/invite.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    return _link_page(token, Purpose.RESET, "auth/reset.html")


def link_url(user: User, purpose: Purpose) -> str:
    endpoint = "auth.accept_invite" if purpose is Purpose.INVITE else "auth.reset_password"
    return url_for(endpoint, token=make_token(user, purpose), _external=True)


@bp.route("/reset", methods=["GET", "POST"])
@_limit("RESET_RATE_LIMIT")
def request_reset() -> ResponseReturnValue:
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = find_user(db(), form.email.data or "")
        if user is not None and user.active and user.password_hash:
            send_link(user, *LINK_MAIL[Purpose.RESET], link_url(user, Purpose.RESET))
        # The same answer whether or not the account exists.
        flash("If that address has an account, a reset link is on its way.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/request_reset.html", form=form), 400 if form.errors else 200

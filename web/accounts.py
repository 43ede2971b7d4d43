"""Accounts: creating them, passwords, and the signed one-time links that invite and reset.

A link carries the account id, what it is for and the account's ``nonce``, signed with the
app's secret key and timed. Setting a password changes the nonce, so a link works once, and
every other session of that account (their cookies carry the nonce too) is signed out.
Passwords are hashed with scrypt (Werkzeug's default; ``PASSWORD_HASH_METHOD`` lets the
tests use a cheap setting).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from wbl.models import Host, Role, Student, User

MIN_PASSWORD = 10
# A hash to compare against when the account does not exist, so a wrong email takes as long
# as a wrong password and does not tell which accounts exist.
_DUMMY_HASH = generate_password_hash("not a password")


class Purpose(StrEnum):
    INVITE = "invite"
    RESET = "reset"


# The email that carries a link: subject, and the text above the link (the ages match
# LINK_MAX_AGE_S in web/__init__.py).
LINK_MAIL = {
    Purpose.INVITE: (
        "You are invited to WBL placements",
        "Follow this link to choose your password (it works once, for 14 days):",
    ),
    Purpose.RESET: (
        "Reset your WBL placements password",
        "Follow this link to choose a new password (it works once, for two hours):",
    ),
}


class AccountError(ValueError):
    """Something about an account a user asked for that cannot be (shown at the form)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normal_email(email: str) -> str:
    return email.strip().lower()


def new_nonce() -> str:
    return secrets.token_hex(16)


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == normal_email(email)))


def create_user(
    session: Session,
    email: str,
    role: Role,
    *,
    name: str = "",
    host: Host | None = None,
    student: Student | None = None,
) -> User:
    """A new account without a password (the invite link sets it)."""
    email = normal_email(email)
    if find_user(session, email) is not None:
        raise AccountError("email", "An account with this email already exists.")
    user = User(
        email=email,
        name=name,
        role=role,
        host_id=host.id if host else None,
        student_id=student.id if student else None,
        nonce=new_nonce(),
        password_hash="",
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"Use at least {MIN_PASSWORD} characters.")
    user.password_hash = generate_password_hash(
        password, method=current_app.config["PASSWORD_HASH_METHOD"]
    )
    user.nonce = new_nonce()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The account these credentials open, or None (same work either way)."""
    user = find_user(session, email)
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = datetime.now(UTC)
    return user


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="wbl-account-link")


def make_token(user: User, purpose: Purpose) -> str:
    return _serializer().dumps({"u": user.id, "n": user.nonce, "p": purpose.value})


def read_token(session: Session, token: str, purpose: Purpose) -> User:
    """The account a link is for; raises :class:`AccountError` when the link is expired,
    used, altered or for something else."""
    max_age = current_app.config["LINK_MAX_AGE_S"][purpose.value]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise AccountError("token", "This link has expired; ask for a new one.") from None
    except BadSignature:
        raise AccountError("token", "This link is not valid.") from None
    if not isinstance(data, dict) or data.get("p") != purpose.value:
        raise AccountError("token", "This link is not valid.")
    user = session.get(User, data.get("u"))
    if user is None or not user.active or data.get("n") != user.nonce:
        raise AccountError("token", "This link has been used already; ask for a new one.")
    return user


def rotate_feed_token(user: User) -> str:
    """A new calendar-feed secret; the old feed URL stops working."""
    user.feed_token = secrets.token_urlsafe(32)
    return user.feed_token


def feed_user(session: Session, token: str) -> User | None:
    if not token:
        return None
    user = session.scalar(select(User).where(User.feed_token == token))
    return user if user is not None and user.active else None

"""Sending mail: sign-in links and notices, by SMTP when ``WBL_SMTP_HOST`` is set, else to the
server log.

The log line names the account by its id only, never by name or address (no personal data
in logs); the coordinator who made a link also sees it on the page, to copy.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app

from wbl.models import User


def _message(user: User, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = user.email
    message["Subject"] = subject
    message.set_content(body)
    return message


@contextmanager
def _smtp() -> Iterator[smtplib.SMTP]:
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=10) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        yield smtp


def send_link(user: User, subject: str, text: str, link: str) -> bool:
    """Deliver ``link`` to ``user``; True when it went out by email."""
    if not current_app.config.get("SMTP_HOST"):
        current_app.logger.warning("%s link for account %d: %s", subject, user.id, link)
        return False
    try:
        with _smtp() as smtp:
            smtp.send_message(_message(user, subject, f"{text}\n\n{link}\n"))
    except (OSError, smtplib.SMTPException) as error:
        current_app.logger.error("mail to account %d failed: %s", user.id, type(error).__name__)
        current_app.logger.warning("%s link for account %d: %s", subject, user.id, link)
        return False
    return True


@dataclass(frozen=True)
class Sent:
    """How notices went out: by email, to the server log (no SMTP configured), or not at all
    (the mail server refused or could not be reached; each failure is logged)."""

    mailed: int = 0
    logged: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.mailed + self.logged + self.failed


def send_notices(notices: Iterable[tuple[User, str, str]]) -> Sent:
    """Send each ``(user, subject, text)``, over one SMTP connection when SMTP is configured;
    otherwise log one line per account (its id and the subject, which must hold no personal
    data)."""
    notices = list(notices)
    if not notices:
        return Sent()
    if not current_app.config.get("SMTP_HOST"):
        for user, subject, _ in notices:
            current_app.logger.warning("notice for account %d (no SMTP): %s", user.id, subject)
        return Sent(logged=len(notices))
    mailed = failed = 0
    try:
        with _smtp() as smtp:
            for user, subject, text in notices:
                try:
                    smtp.send_message(_message(user, subject, f"{text}\n"))
                    mailed += 1
                except smtplib.SMTPRecipientsRefused as error:
                    # One bad address must not stop the others.
                    failed += 1
                    _log_failure(user, error)
    except (OSError, smtplib.SMTPException) as error:
        rest = notices[mailed + failed :]
        for user, _, _ in rest:
            _log_failure(user, error)
        failed += len(rest)
    return Sent(mailed=mailed, failed=failed)


def _log_failure(user: User, error: BaseException) -> None:
    current_app.logger.error("notice to account %d failed: %s", user.id, type(error).__name__)


def send_notice(user: User, subject: str, text: str) -> bool:
    """Send one notice (see :func:`send_notices`); True when it went out by email."""
    return send_notices([(user, subject, text)]).mailed == 1

"""Sending a sign-in link: by SMTP when ``WBL_SMTP_HOST`` is set, else to the server log.

The log line names the account by its id only, never by name or address (no personal data
in logs); the coordinator who made the link also sees it on the page, to copy.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app

from wbl.models import User


def send_link(user: User, subject: str, text: str, link: str) -> bool:
    """Deliver ``link`` to ``user``; True when it went out by email."""
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        current_app.logger.warning("%s link for account %d: %s", subject, user.id, link)
        return False
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = user.email
    message["Subject"] = subject
    message.set_content(f"{text}\n\n{link}\n")
    try:
        with smtplib.SMTP(host, int(config.get("SMTP_PORT") or 25), timeout=10) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        current_app.logger.error("mail to account %d failed: %s", user.id, type(error).__name__)
        current_app.logger.warning("%s link for account %d: %s", subject, user.id, link)
        return False
    return True

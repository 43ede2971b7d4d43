"""Calendar subscription feeds: ``/feeds/<secret>.ics``, no sign-in (calendar apps cannot).

The secret is the account's ``feed_token``; the owner sees the URL on their calendar page and
can revoke it there (a new secret; the old URL then answers 404). A feed holds the sessions
of the owner's published and confirmed placements.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, url_for

from wbl.models import Role, User
from wbl.services.exports import feed_calendar
from web.accounts import feed_user
from web.db import db

bp = Blueprint("feeds", __name__, url_prefix="/feeds")


@bp.get("/<token>.ics")
def calendar(token: str) -> Response:
    user = feed_user(db(), token)
    if user is None or user.role is Role.COORDINATOR:
        abort(404)
    owner = user.host if user.role is Role.HOST else user.student
    if owner is None:
        abort(404)
    response = Response(feed_calendar(db(), owner), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="placements.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def feed_url(user: User) -> str | None:
    """The account's feed URL (absolute, for pasting into a calendar app), if it has one."""
    if not user.feed_token:
        return None
    return url_for("feeds.calendar", token=user.feed_token, _external=True)

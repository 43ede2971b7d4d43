"""Host pages: a host's own opportunities (and, as they grow, rosters and calendar).

Every view is for the signed-in host account only, and shows only that host's rows.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wbl.models import Host, Opportunity, Role
from web.auth import guard, signed_in_user
from web.db import db

bp = Blueprint("host", __name__, url_prefix="/host")
guard(bp, Role.HOST)


def my_host() -> Host:
    host = db().get(Host, signed_in_user().host_id)
    assert host is not None  # the account's CHECK constraint and FK keep it there
    return host


@bp.get("/")
def home() -> ResponseReturnValue:
    host = my_host()
    opportunities = (
        db()
        .scalars(
            select(Opportunity)
            .where(Opportunity.host_id == host.id)
            .options(selectinload(Opportunity.slots))
            .order_by(Opportunity.closed, Opportunity.title)
        )
        .all()
    )
    return render_template("host/home.html", host=host, opportunities=opportunities)

"""Coordinator pages for a term's placements: the results of a solve and what a coordinator
does with them (coordinators only, behind :func:`web.auth.guard`)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from wbl.models import Role, Term
from wbl.services.outcome import live_placements
from web.auth import guard
from web.db import db

bp = Blueprint("placements", __name__, url_prefix="/coordinator/terms/<int:term_id>")
guard(bp, Role.COORDINATOR)


@bp.get("/placements")
def table(term_id: int) -> ResponseReturnValue:
    term = db().get(Term, term_id)
    if term is None:
        abort(404)
    rows = live_placements(db(), term)
    return render_template("placements/table.html", term=term, placements=rows)

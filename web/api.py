"""The JSON API, for the pages' progressive enhancements (live solve progress, saving
rankings without a reload). Signed-in only, with the session cookie (SameSite=Lax); views
that change data accept JSON bodies only, which a cross-site form cannot send."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue

from wbl.models import Role, SolveRun
from wbl.services.choices import ChoiceError, choice_limit, save_ranking
from web.auth import roles_required
from web.db import MAX_ID, db
from web.student import my_student

bp = Blueprint("api", __name__, url_prefix="/api")


def run_json(run: SolveRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status.value,
        "progress": run.progress or {},
        "objective": run.objective,
        "bound": run.best_bound,
        "gap": run.gap,
        "wall_time_s": run.wall_time_s,
        "message": run.message,
    }


@bp.get("/runs/<int:run_id>")
@roles_required(Role.COORDINATOR)
def run_progress(run_id: int) -> ResponseReturnValue:
    run = db().get(SolveRun, run_id)
    if run is None:
        abort(404)
    return run_json(run)


RANKING_SHAPE = 'Send {"opportunities": [id, ...]}: the opportunity ids, best first.'


@bp.put("/rankings")
@roles_required(Role.STUDENT)
def save_rankings() -> ResponseReturnValue:
    """Replace the signed-in student's ranking with ``opportunities`` (ids, best first).
    200 with the saved order; 400 with ``error`` naming every problem, nothing saved."""
    body = request.get_json(silent=True)
    ids = body.get("opportunities") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(type(i) is int for i in ids):  # no bools, floats
        return {"error": RANKING_SHAPE}, 400
    if unknown := [i for i in ids if not 1 <= i <= MAX_ID]:
        return {"error": f"There is no opportunity {unknown[0]} in your term."}, 400
    student = my_student()
    try:
        saved = save_ranking(db(), student, ids)
    except ChoiceError as error:
        return {"error": str(error)}, 400
    db().commit()
    return {"opportunities": [p.opportunity_id for p in saved], "limit": choice_limit(student)}


@bp.before_request
def json_only_for_changes() -> ResponseReturnValue | None:
    # The API is exempt from form CSRF tokens; a request that changes data must be JSON,
    # which a page on another site cannot send here without a CORS preflight we never allow.
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.is_json:
        abort(415, "Send JSON (Content-Type: application/json).")
    return None

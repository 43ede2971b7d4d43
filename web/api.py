"""The JSON API, for the pages' progressive enhancements (live solve progress, saving
rankings without a reload). Signed-in only, with the session cookie (SameSite=Lax); views
that change data accept JSON bodies only, which a cross-site form cannot send."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue

from wbl.models import Role, SolveRun
from web.auth import roles_required
from web.db import db

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


@bp.before_request
def json_only_for_changes() -> ResponseReturnValue | None:
    # The API is exempt from form CSRF tokens; a request that changes data must be JSON,
    # which a page on another site cannot send here without a CORS preflight we never allow.
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.is_json:
        abort(415, "Send JSON (Content-Type: application/json).")
    return None

"""Coordinator pages for a term's placements: the results of a solve and what a coordinator
does with them (coordinators only, behind :func:`web.auth.guard`).

Results (the figures and charts of the HTML report, the latest solve run, who is unplaced and
why, which extra seats would help), the sortable placements table, pin and unpin, move a
student by hand (checked against every hard rule first), withdraw, publish with notices, and
the exports. Every action is a plain form; ``static/sort.js`` only sorts the table in place.
The logic is in :mod:`wbl.services.placements`; views parse, call it, commit, then redirect
or render.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.utils import secure_filename
from wtforms import BooleanField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from wbl.bundle import bundle_files
from wbl.models import Kind, Placement, PlacementStatus, Role, Student, Term, User
from wbl.report import (
    # The report's sections, so this page and report.html show the same figures and charts;
    # none carries a style attribute or a script, so they pass the page's CSP as they are.
    flag_chart,
    flag_table,
    headline,
    kinds_table,
    map_figure,
    rank_chart,
    solve_block,
    suggestions_table,
    travel_chart,
)
from wbl.services.bundles import bundle_from_term
from wbl.services.exports import outcome_files
from wbl.services.outcome import (
    KIND_LABELS,
    LIVE,
    REASON_LABELS,
    compute_outcome,
    finished_run,
    map_points,
)
from wbl.services.placements import (
    SORTS,
    Mover,
    OverCapacity,
    PlacementError,
    RulesBroken,
    SlotChoice,
    SolveRunning,
    accounts_of,
    count_proposals,
    list_placements,
    placement_in_term,
    publish_term,
    set_pinned,
    solve_running,
    student_ids_by_code,
    student_in_term,
    withdraw_placement,
)
from web.auth import guard, safe_next
from web.db import MAX_ID, db, term_or_404
from web.mail import Sent, send_notices

bp = Blueprint("placements", __name__, url_prefix="/coordinator/terms/<int:term_id>")
guard(bp, Role.COORDINATOR)

PAGE_SIZE = 100
"""Placements per page of the table; one page (up to this) is sorted in place by script."""
UNPLACED_ON_RESULTS = 10
STATUS_FILTERS = {
    "live": "Current (proposed, published, confirmed)",
    "all": "All, ended ones too",
    **{s.value: s.value.capitalize() for s in PlacementStatus},
}
ANNOUNCED = (PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)
"""Statuses the student and host have been told about (so a withdrawal is news to them)."""
EXPORTS = {
    "placements.csv": (
        "text/csv; charset=utf-8",
        "one row per current placement (student, opportunity, host, kind, start, rank, travel, "
        "pinned)",
    ),
    "unplaced.csv": ("text/csv; charset=utf-8", "every student with no placement, and why"),
    "calendars.zip": ("application/zip", "an .ics calendar per student and per host"),
    "report.html": ("text/html; charset=utf-8", "this outcome as one page to print or mail"),
    "bundle.zip": (
        "application/zip",
        "the term bundle (term.toml and its CSV files), to edit in a spreadsheet or import again",
    ),
}
"""The downloads: name -> (content type, what it holds)."""


def search_text(value: str) -> str:
    """A search box's text as it can be searched for: control characters (which PostgreSQL
    refuses in text, NUL above all) become spaces, and it is cut to 200 characters."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", value)[:200].strip()


def _placement_or_404(term: Term, placement_id: int) -> Placement:
    try:
        return placement_in_term(db(), term, placement_id)
    except LookupError:
        abort(404)


def _student_or_404(term: Term, student_id: int) -> Student:
    try:
        return student_in_term(db(), term, student_id)
    except LookupError:
        abort(404)


@bp.context_processor
def helpers() -> dict[str, Any]:
    def when(start: datetime, flexible: bool) -> str:
        return f"flexible, from {start:%a %Y-%m-%d}" if flexible else f"{start:%a %Y-%m-%d %H:%M}"

    def kind_name(kind: Kind) -> str:
        return KIND_LABELS[kind.value][:-1]  # "job shadows" -> "job shadow"

    return {
        "when": when,
        "kind_name": kind_name,
        "reason_label": lambda code: REASON_LABELS.get(code, code),
    }


# --- results ----------------------------------------------------------------------------------


@bp.get("/results")
def results(term_id: int) -> ResponseReturnValue:
    term = term_or_404(term_id)
    outcome = compute_outcome(db(), term)
    sections = {
        "headline": headline(outcome),
        "kinds": kinds_table(outcome),
        "ranks": rank_chart(outcome),
        "travel": travel_chart(outcome),
        "flags": flag_chart(outcome) + flag_table(outcome),
        "map": map_figure(map_points(db(), term)),
        "suggestions": suggestions_table(outcome),
        "solve": solve_block(outcome),
    }
    run = finished_run(db(), term)
    warnings = [str(w) for w in (run.metrics or {}).get("warnings", [])] if run else []
    return render_template(
        "placements/results.html",
        term=term,
        o=outcome,
        s={name: Markup(html) for name, html in sections.items()},  # escaped by wbl.report
        warnings=warnings,
        ids=student_ids_by_code(db(), term),
        shown=UNPLACED_ON_RESULTS,
        proposals=count_proposals(db(), term).placements,
        running=solve_running(db(), term),
        exports=EXPORTS,
    )


@bp.get("/unplaced")
def unplaced(term_id: int) -> ResponseReturnValue:
    term = term_or_404(term_id)
    outcome = compute_outcome(db(), term)
    reason = request.args.get("reason", "")
    rows = [u for u in outcome.unplaced if not reason or u.reason == reason]
    return render_template(
        "placements/unplaced.html",
        term=term,
        o=outcome,
        rows=rows,
        reason=reason if reason in outcome.unplaced_reasons else "",
        ids=student_ids_by_code(db(), term),
    )


# --- the table --------------------------------------------------------------------------------


def _table_args() -> dict[str, str]:
    """The table's filters and sort, as given (bounded); unknown values mean the default."""
    args = request.args
    status = args.get("status", "live")
    kind = args.get("kind", "")
    sort = args.get("sort", "student")
    return {
        "status": status if status in STATUS_FILTERS else "live",
        "kind": kind if kind in {k.value for k in Kind} else "",
        "q": search_text(args.get("q", "")),
        "sort": sort if sort in SORTS else "student",
        "dir": "desc" if args.get("dir") == "desc" else "asc",
    }


@bp.get("/placements")
def table(term_id: int) -> ResponseReturnValue:
    term = term_or_404(term_id)
    args = _table_args()
    rows = list_placements(
        db(),
        term,
        status=args["status"],
        kind=args["kind"],
        query=args["q"],
        sort=args["sort"],
        descending=args["dir"] == "desc",
    )
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    try:
        page = min(max(1, int(request.args.get("page", "1"))), pages)
    except ValueError:
        page = 1
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]

    def link(**changes: Any) -> str:
        query = {k: v for k, v in {**args, **changes}.items() if v not in ("", None)}
        return url_for("placements.table", term_id=term.id) + "?" + urlencode(query)

    return render_template(
        "placements/table.html",
        term=term,
        rows=shown,
        total=len(rows),
        first=(page - 1) * PAGE_SIZE + 1,
        page=page,
        pages=pages,
        args=args,
        link=link,
        statuses=STATUS_FILTERS,
        kinds=list(Kind),
        here=request.full_path.rstrip("?"),
        S=PlacementStatus,
    )


def _back(term: Term) -> ResponseReturnValue:
    return redirect(
        safe_next(request.form.get("next")) or url_for("placements.table", term_id=term.id)
    )


@bp.post("/placements/<int:placement_id>/pin")
def pin(term_id: int, placement_id: int) -> ResponseReturnValue:
    """Pin (``pinned=1``) or unpin (``pinned=0``) a placement."""
    term = term_or_404(term_id)
    placement = _placement_or_404(term, placement_id)
    value = request.form.get("pinned")
    if value not in ("0", "1"):
        abort(400, "Say whether to pin (1) or unpin (0) the placement.")
    try:
        set_pinned(db(), term, placement, value == "1")
    except PlacementError as error:
        flash(str(error), "error")
        return _back(term)
    db().commit()
    what = f"{placement.student.name}'s placement in {placement.slot.opportunity.title}"
    flash(
        f"{what} is pinned: a re-solve keeps it."
        if placement.pinned
        else f"{what} is unpinned: a re-solve may change it.",
        "success",
    )
    return _back(term)


# --- moving a student -------------------------------------------------------------------------


class MoveForm(FlaskForm):
    slot = IntegerField(
        "Slot",
        validators=[
            InputRequired("Choose a slot."),
            NumberRange(1, MAX_ID, "Choose one of the slots listed."),
        ],
    )
    confirm = BooleanField("Save anyway, as a pinned override")


@bp.route("/placements/<int:placement_id>/move", methods=["GET", "POST"])
def move(term_id: int, placement_id: int) -> ResponseReturnValue:
    term = term_or_404(term_id)
    placement = _placement_or_404(term, placement_id)
    if placement.status not in LIVE:
        flash(f"A {placement.status.value} placement cannot be moved.", "error")
        return redirect(url_for("placements.table", term_id=term.id))
    return _move_page(term, placement.student, placement)


@bp.route("/students/<int:student_id>/place", methods=["GET", "POST"])
def place(term_id: int, student_id: int) -> ResponseReturnValue:
    """Give a student a placement by hand (in addition to any they hold)."""
    term = term_or_404(term_id)
    return _move_page(term, _student_or_404(term, student_id), None)


def _move_page(term: Term, student: Student, replacing: Placement | None) -> ResponseReturnValue:
    """Choose a slot; a slot that breaks a hard rule asks for an explicit "save anyway"; a
    full one cannot be saved."""
    form = MoveForm()
    warning: SlotChoice | None = None
    status = 200
    announced = replacing is not None and replacing.status in ANNOUNCED
    mover = Mover(db(), term, student, replacing)  # the student's rules, loaded once
    if form.validate_on_submit():
        assert form.slot.data is not None  # InputRequired
        try:
            _, choice = mover.move(form.slot.data, override=bool(form.confirm.data))
        except LookupError:
            form.slot.errors = ["Choose one of the slots listed."]
        except OverCapacity as error:
            form.slot.errors = [f"Cannot be saved: {p}." for p in error.problems]
        except RulesBroken as error:
            warning = error.choice
        except SolveRunning as error:
            form.slot.errors = [str(error)]
            status = 409
        except PlacementError as error:
            form.slot.errors = [str(error)]
        else:
            db().commit()
            where = f"{choice.title} ({choice.opportunity_code})"
            if choice.broken:
                flash(
                    f"{student.name} is placed in {where} as a pinned override, breaking: "
                    f"{'; '.join(choice.broken)}.",
                    "warning",
                )
            else:
                flash(f"{student.name} is placed in {where}, pinned.", "success")
            if announced and replacing is not None:
                sent = _notify_withdrawn(term, replacing)
                flash(f"Their earlier placement is withdrawn. {_sent_text(sent)}", "info")
            return redirect(url_for("placements.table", term_id=term.id, q=student.code))
        db().rollback()
        if status == 200 and form.slot.errors:
            status = 400
    elif form.errors:
        status = 400
    query = search_text(request.args.get("q", ""))
    options = mover.options(query)
    held = list_placements(db(), term, query=student.code)
    held = [p for p in held if p.student_id == student.id]
    # Why the last solve left them out (an unplaced student's entry in its metrics).
    run = finished_run(db(), term)
    why = (run.metrics or {}).get("unplaced") if run is not None and not held else None
    reason = why.get(str(student.id)) if isinstance(why, dict) else None
    return render_template(
        "placements/move.html",
        term=term,
        student=student,
        replacing=replacing,
        form=form,
        options=options,
        warning=warning,
        query=query,
        held=held,
        reason=reason,
        action=request.path,
    ), status


# --- withdrawing and publishing ---------------------------------------------------------------


def _notice_text(term: Term, user: User, published: bool) -> tuple[str, str]:
    if user.role is Role.HOST:
        home = url_for("host.home", _external=True)
        if published:
            return (
                f"Students are placed with you for {term.name}",
                f"The placements for {term.name} are published. Sign in to see your roster "
                f"and accept or decline each student:\n\n{home}",
            )
        return (
            f"A placement with you for {term.name} was withdrawn",
            f"The coordinator withdrew a student's placement with you for {term.name}. "
            f"Sign in to see your roster:\n\n{home}",
        )
    home = url_for("student.home", _external=True)
    if published:
        return (
            f"Your placement for {term.name} is published",
            f"Your work-based learning placement for {term.name} is published. Sign in to "
            f"see where and when, and to accept or decline it:\n\n{home}",
        )
    return (
        f"Your placement for {term.name} was withdrawn",
        f"The coordinator withdrew one of your placements for {term.name}. Sign in to see "
        f"your placements:\n\n{home}",
    )


def _notify(term: Term, users: list[User], published: bool) -> Sent:
    return send_notices((user, *_notice_text(term, user, published)) for user in users)


def _notify_withdrawn(term: Term, placement: Placement) -> Sent:
    """Tell the student and the host (those with an account) that a placement they had been
    told about is withdrawn."""
    users = accounts_of(db(), [placement.student_id], [placement.slot.opportunity.host_id])
    return _notify(term, users, published=False)


@bp.route("/placements/<int:placement_id>/withdraw", methods=["GET", "POST"])
def withdraw(term_id: int, placement_id: int) -> ResponseReturnValue:
    """GET asks for confirmation; POST withdraws the student from the placement."""
    term = term_or_404(term_id)
    placement = _placement_or_404(term, placement_id)
    if request.method == "GET":
        return render_template(
            "placements/withdraw.html",
            term=term,
            p=placement,
            next=safe_next(request.args.get("next")),
            S=PlacementStatus,
        )
    announced = placement.status in ANNOUNCED
    try:
        withdraw_placement(db(), term, placement)
    except PlacementError as error:
        flash(str(error), "error")
        return _back(term)
    db().commit()
    sent = _notify_withdrawn(term, placement) if announced else Sent()
    flash(
        f"{placement.student.name} is withdrawn from {placement.slot.opportunity.title}. "
        "A re-solve keeping published placements can fill the seat."
        + (f" {_sent_text(sent)}" if sent.total else ""),
        "success",
    )
    return _back(term)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _sent_text(sent: Sent) -> str:
    parts = []
    if sent.mailed:
        parts.append(f"{sent.mailed} emailed")
    if sent.logged:
        parts.append(f"{sent.logged} written to the server log (no mail server is set up)")
    if sent.failed:
        parts.append(f"{sent.failed} could not be sent (see the server log)")
    if not parts:
        return "No one to notify (no account among them)."
    return f"{_count(sent.total, 'notice')}: {', '.join(parts)}."


@bp.route("/publish", methods=["GET", "POST"])
def publish(term_id: int) -> ResponseReturnValue:
    """GET shows what publishing would change; POST (from that page) publishes and notifies.

    The page posts the number of proposals it showed; if that changed meanwhile (a solve
    finished, someone moved a student), the page is shown again instead of publishing."""
    term = term_or_404(term_id)
    pending = count_proposals(db(), term)
    accounts = accounts_of(db(), pending.student_ids, pending.host_ids)
    status = 200
    changed = False
    if request.method == "POST":
        expected = request.form.get("expected", "")
        if not re.fullmatch(r"[0-9]{1,9}", expected):
            abort(400, "Publish from the publish page, which shows what will change.")
        if int(expected) != pending.placements:
            changed = True
            status = 409
        else:
            try:
                done = publish_term(db(), term)
            except SolveRunning as error:
                flash(str(error), "error")
                return redirect(url_for("placements.publish", term_id=term.id))
            if not done.placements:
                flash("There was nothing to publish.", "info")
                return redirect(url_for("placements.results", term_id=term.id))
            db().commit()
            users = accounts_of(db(), done.student_ids, done.host_ids)
            sent = _notify(term, users, published=True)
            flash(
                f"Published {_count(done.placements, 'placement')} for "
                f"{_count(len(done.student_ids), 'student')} at "
                f"{_count(len(done.host_ids), 'host')}. {_sent_text(sent)}",
                "success",
            )
            return redirect(url_for("placements.results", term_id=term.id))
    return render_template(
        "placements/publish.html",
        term=term,
        pending=pending,
        accounts=accounts,
        changed=changed,
        running=solve_running(db(), term),
        smtp=bool(current_app.config.get("SMTP_HOST")),
    ), status


# --- exports ----------------------------------------------------------------------------------


def _zip(files: dict[str, bytes], folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(f"{folder}/{path}", data)
    return buffer.getvalue()


@bp.get("/export/<name>")
def export(term_id: int, name: str) -> ResponseReturnValue:
    """One export file, as a download: see :data:`EXPORTS`."""
    term = term_or_404(term_id)
    if name not in EXPORTS:
        abort(404)
    stem = secure_filename(term.name) or f"term-{term.id}"
    if name == "bundle.zip":
        files = {
            k: v.encode("utf-8") for k, v in bundle_files(bundle_from_term(db(), term)).items()
        }
        data = _zip(files, stem)
    else:
        outcome = outcome_files(db(), term)
        if name == "calendars.zip":
            calendars = {k: v for k, v in outcome.items() if k.startswith("calendars/")}
            data = _zip(calendars, f"{stem}-calendars")
        else:
            data = outcome[name]
    response = Response(data, mimetype=EXPORTS[name][0])
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}-{name}"'
    return response

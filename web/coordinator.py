"""Coordinator pages: terms, the term dashboard with its readiness checks, uploading a term
bundle, starting a solve and following it live, and the people of a term with their accounts.

Coordinators see everything; every view here is behind :func:`web.auth.guard`. The solve
itself runs in the background (:mod:`web.solves`); its results pages are the ``placements``
blueprint's.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from email_validator import EmailNotValidError, validate_email
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
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange

from wbl.bundle import TERM_FILE, BundleError
from wbl.geocode import AddressLocator
from wbl.models import (
    Host,
    Opportunity,
    Placement,
    PlacementStatus,
    Preference,
    Role,
    SolveRun,
    SolveStatus,
    Student,
    Term,
    User,
)
from wbl.services.bundles import ImportReport, prepare_import, store_bundle
from wbl.services.candidates import build_problem
from wbl.services.outcome import blocking_note, latest_run
from wbl.services.solving import LIVE, MODES, SolveOptions, SolveOptionsError
from wbl.services.summary import summarize_term
from web.accounts import (
    LINK_MAIL,
    AccountError,
    Purpose,
    create_user,
    find_user,
    normal_email,
)
from web.auth import guard, link_url, safe_next, signed_in_user
from web.db import db, term_or_404
from web.mail import send_link, send_notices
from web.solves import (
    LEVELS,
    SolveBusy,
    clear_stale_runs,
    gap_of,
    is_stale,
    running_run,
    start_solve,
)

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")
guard(bp, Role.COORDINATOR)

KINDS = {"host": Host, "student": Student}
# The reachability check builds the solver's candidate list: about 0.3 s per 1,000 students
# here (1.2 s at 2,000, 7 s at 10,000). Up to this many students the dashboard runs it on
# every view; above, the coordinator asks for it with the "Run checks" button.
INLINE_CHECKS_MAX_STUDENTS = 1000
LIST_LIMIT = 200  # rows shown per readiness list; the count always covers them all
# An uploaded bundle: the request body is capped by MAX_CONTENT_LENGTH; these cap what the
# zip unpacks to (a small zip can hold gigabytes of zeros).
BUNDLE_MAX_BYTES = 256 * 1024 * 1024
BUNDLE_MAX_FILES = 5000
PROBLEMS_SHOWN = 500


# ---------------------------------------------------------------------------------------------
# Terms and the dashboard


@bp.get("/")
def terms() -> ResponseReturnValue:
    rows = db().scalars(select(Term).order_by(Term.start.desc(), Term.name)).all()
    counts: dict[int, dict[str, int]] = {t.id: {} for t in rows}
    for model, key in ((Student, "students"), (Host, "hosts"), (Opportunity, "opportunities")):
        for term_id, n in db().execute(
            select(model.term_id, func.count(model.id)).group_by(model.term_id)
        ):
            counts.setdefault(term_id, {})[key] = n
    latest = {
        run.term_id: run
        for run in db().scalars(
            select(SolveRun).where(
                SolveRun.id.in_(select(func.max(SolveRun.id)).group_by(SolveRun.term_id))
            )
        )
    }
    return render_template("coordinator/terms.html", terms=rows, counts=counts, latest=latest)


@dataclass
class Unreachable:
    """A student no opportunity is open to, and why their ranked choices were ruled out."""

    student: Student
    reasons: list[str]


@dataclass
class Readiness:
    """What a coordinator fixes before solving. ``unreachable`` is None when not computed."""

    unreachable: list[Unreachable] | None
    unchecked_hosts: list[tuple[Host, int]]  # host, its open opportunities
    unranked_opportunities: list[Opportunity]
    closed_opportunities: int
    students_without_account: int
    hosts_without_account: int
    unranked_students: int
    checks_inline: bool
    notes: list[str] = field(default_factory=list)


def _unreachable(term: Term) -> list[Unreachable]:
    built = build_problem(db(), term)
    nobody = [sid for sid, n in built.reachable.items() if n == 0]
    if not nobody:
        return []
    students = {
        s.id: s
        for s in db().scalars(select(Student).where(Student.id.in_(nobody)).order_by(Student.name))
    }
    titles = dict(
        db()
        .execute(select(Opportunity.id, Opportunity.title).where(Opportunity.term_id == term.id))
        .all()
    )
    found = []
    for sid in nobody:
        cuts = sorted(built.ranked_cuts.get(sid, []), key=lambda c: c.rank)
        reasons = [
            f"choice #{cut.rank} {titles.get(cut.opportunity_id, '?')}: {'; '.join(cut.reasons)}"
            for cut in cuts
        ] or ["ranked nothing, and no opportunity passes every rule for this student"]
        found.append(Unreachable(students[sid], reasons))
    return sorted(found, key=lambda u: (u.student.name.casefold(), u.student.code))


def check_readiness(term: Term, *, run_checks: bool) -> Readiness:
    """The term's readiness lists; the reachability check only for a small term or when
    ``run_checks``."""
    session = db()
    in_term = select(Student.id).where(Student.term_id == term.id)
    students = session.scalar(select(func.count()).select_from(in_term.subquery())) or 0
    inline = students <= INLINE_CHECKS_MAX_STUDENTS
    opportunities_of = dict(
        session.execute(
            select(Opportunity.host_id, func.count(Opportunity.id))
            .where(Opportunity.term_id == term.id, Opportunity.closed.is_(False))
            .group_by(Opportunity.host_id)
        ).all()
    )
    unchecked = session.scalars(
        select(Host)
        .where(Host.term_id == term.id, Host.mentor_background_checked.is_(False))
        .order_by(Host.name)
    ).all()
    unranked = session.scalars(
        select(Opportunity)
        .where(
            Opportunity.term_id == term.id,
            Opportunity.closed.is_(False),
            Opportunity.id.not_in(select(Preference.opportunity_id)),
        )
        .options(selectinload(Opportunity.host))
        .order_by(Opportunity.title, Opportunity.code)
    ).all()
    closed = session.scalar(
        select(func.count(Opportunity.id)).where(
            Opportunity.term_id == term.id, Opportunity.closed.is_(True)
        )
    )
    student_accounts = session.scalar(
        select(func.count(User.id)).where(User.student_id.in_(in_term))
    )
    host_accounts = session.scalar(
        select(func.count(User.id)).where(
            User.host_id.in_(select(Host.id).where(Host.term_id == term.id))
        )
    )
    hosts = session.scalar(select(func.count(Host.id)).where(Host.term_id == term.id)) or 0
    ranked = session.scalar(
        select(func.count(func.distinct(Preference.student_id))).where(
            Preference.student_id.in_(in_term)
        )
    )
    return Readiness(
        unreachable=_unreachable(term) if inline or run_checks else None,
        unchecked_hosts=[(h, opportunities_of.get(h.id, 0)) for h in unchecked],
        unranked_opportunities=list(unranked),
        closed_opportunities=closed or 0,
        students_without_account=students - (student_accounts or 0),
        hosts_without_account=hosts - (host_accounts or 0),
        unranked_students=students - (ranked or 0),
        checks_inline=inline,
    )


@bp.get("/terms/<int:term_id>")
def dashboard(term_id: int) -> ResponseReturnValue:
    term = term_or_404(term_id)
    if clear_stale_runs(db(), term):
        db().commit()
    readiness = check_readiness(term, run_checks=request.args.get("checks") == "1")
    latest = latest_run(db(), term)
    return render_template(
        "coordinator/dashboard.html",
        term=term,
        s=summarize_term(db(), term),
        r=readiness,
        latest=latest,
        running=running_run(db(), term),
        list_limit=LIST_LIMIT,
        inline_limit=INLINE_CHECKS_MAX_STUDENTS,
    )


@bp.get("/terms/<int:term_id>/people")
def people(term_id: int) -> ResponseReturnValue:
    term = term_or_404(term_id)
    accounts = db().scalars(select(User).where(User.role != Role.COORDINATOR)).all()
    by_host = {u.host_id: u for u in accounts if u.host_id is not None}
    by_student = {u.student_id: u for u in accounts if u.student_id is not None}
    hosts = db().scalars(select(Host).where(Host.term_id == term.id).order_by(Host.name)).all()
    students = (
        db().scalars(select(Student).where(Student.term_id == term.id).order_by(Student.name)).all()
    )
    return render_template(
        "coordinator/people.html",
        term=term,
        hosts=[(h, by_host.get(h.id)) for h in hosts],
        students=[(s, by_student.get(s.id)) for s in students],
    )


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[Length(max=200)])


def _show_link(user: User, purpose: Purpose) -> ResponseReturnValue:
    link = link_url(user, purpose)
    mailed = send_link(user, *LINK_MAIL[purpose], link)
    return render_template("coordinator/link.html", user=user, link=link, mailed=mailed)


def _cell(value: str) -> str:
    # A spreadsheet runs a cell that starts like a formula: keep names such as "=1+1" text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.post("/terms/<int:term_id>/invite-students")
def invite_students(term_id: int) -> ResponseReturnValue:
    """Accounts for every student of the term who has an email and no account yet, all at
    once. The answer is a CSV of every student with what happened and the invitation link,
    for a mail merge when the server sends no email (with SMTP they are emailed too)."""
    term = term_or_404(term_id)
    taken = set(db().scalars(select(User.email)))
    have = set(db().scalars(select(User.student_id).where(User.student_id.is_not(None))))
    students = (
        db().scalars(select(Student).where(Student.term_id == term.id).order_by(Student.code)).all()
    )
    outcome: list[tuple[Student, str, User | None]] = []
    for student in students:
        if student.id in have:
            outcome.append((student, "has an account already", None))
            continue
        email = normal_email(student.email or "")
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            outcome.append((student, "skipped: no valid email in the student's record", None))
            continue
        if email in taken:
            outcome.append((student, "skipped: another account uses this email", None))
            continue
        user = create_user(db(), email, Role.STUDENT, name=student.name, student=student)
        taken.add(email)
        outcome.append((student, "invited", user))
    db().commit()
    links = {u.id: link_url(u, Purpose.INVITE) for _, _, u in outcome if u is not None}
    subject, text = LINK_MAIL[Purpose.INVITE]
    sent = send_notices((u, subject, f"{text}\n\n{links[u.id]}") for _, _, u in outcome if u)
    how = " (emailed)" if sent.mailed else " (send the link yourself)"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_id", "name", "email", "result", "link"])
    for student, result, user in outcome:
        link = links[user.id] if user else ""
        writer.writerow(
            [_cell(student.code), _cell(student.name), _cell(student.email or ""),
             result + (how if user else ""), link]
        )  # fmt: skip
    response = Response(buffer.getvalue(), mimetype="text/csv")
    filename = f"invitations-{term.id}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/terms/<int:term_id>/invite/<kind>/<int:ref_id>", methods=["GET", "POST"])
def invite(term_id: int, kind: str, ref_id: int) -> ResponseReturnValue:
    """An account for one host or student of the term, and its one-time invite link."""
    term = term_or_404(term_id)
    model = KINDS.get(kind)
    row = db().get(model, ref_id) if model else None
    if row is None or row.term_id != term.id:
        abort(404)
    form = InviteForm(data={"email": getattr(row, "email", ""), "name": row.name})
    if kind == "student" and request.method == "POST":
        # A host may have several accounts (several mentors); a student has one.
        existing = db().scalars(select(User).where(User.student_id == row.id)).first()
        if existing is not None:
            flash(f"{row.name} already has an account ({existing.email}).", "error")
            return redirect(url_for(".people", term_id=term.id) + f"#student-{row.id}")
    if form.validate_on_submit():
        try:
            user = create_user(
                db(),
                form.email.data or "",
                Role.HOST if kind == "host" else Role.STUDENT,
                name=(form.name.data or row.name).strip(),
                host=row if kind == "host" else None,
                student=row if kind == "student" else None,
            )
        except AccountError as error:
            returning = _returning(form.email.data or "", kind, term)
            if returning is None:
                form.email.errors = [str(error)]
            else:
                # Someone from an earlier term (a host that takes students every year): their
                # account moves to this term's row, password and calendar link unchanged.
                returning.host_id = row.id if kind == "host" else None
                returning.student_id = row.id if kind == "student" else None
                db().commit()
                if not returning.password_hash:
                    return _show_link(returning, Purpose.INVITE)
                flash(
                    f"{returning.email} already had an account (from an earlier term); it now "
                    f"belongs to {row.name} in {term.name}. They sign in as before.",
                    "success",
                )
                return redirect(url_for(".people", term_id=term.id))
        else:
            db().commit()
            return _show_link(user, Purpose.INVITE)
    return render_template(
        "coordinator/invite.html", term=term, form=form, who=row, kind=kind
    ), 400 if form.errors else 200


def _returning(email: str, kind: str, term: Term) -> User | None:
    """The account with ``email`` if it is a ``kind`` account tied to another term's row
    (which it may move to this term); None otherwise."""
    user = find_user(db(), email)
    if user is None or user.role.value != kind:
        return None
    linked = user.host if kind == "host" else user.student
    return user if linked is not None and linked.term_id != term.id else None


@bp.route("/invite", methods=["GET", "POST"])
def invite_coordinator() -> ResponseReturnValue:
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                db(), form.email.data or "", Role.COORDINATOR, name=(form.name.data or "").strip()
            )
        except AccountError as error:
            form.email.errors = [str(error)]
        else:
            db().commit()
            return _show_link(user, Purpose.INVITE)
    return render_template(
        "coordinator/invite.html", term=None, form=form, who=None, kind="coordinator"
    ), 400 if form.errors else 200


@bp.post("/users/<int:user_id>/link")
def new_link(user_id: int) -> ResponseReturnValue:
    """A fresh link for an account: an invite if no password is set yet, else a reset."""
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    return _show_link(user, Purpose.RESET if user.password_hash else Purpose.INVITE)


@bp.post("/users/<int:user_id>/active")
def set_active(user_id: int) -> ResponseReturnValue:
    """Switch an account off (it is signed out at once) or on again."""
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    if user.id == signed_in_user().id:
        abort(400, "You cannot switch off your own account.")
    user.active = request.form.get("active") == "1"
    db().commit()
    flash(f"{user.email} is {'active' if user.active else 'switched off'}.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for("coordinator.terms"))


# ---------------------------------------------------------------------------------------------
# Uploading a term bundle


class UploadError(ValueError):
    """An upload that cannot be a term bundle (not a zip, unsafe, too big, no term.toml)."""


class UploadForm(FlaskForm):
    bundle = FileField(
        "Term bundle (.zip)",
        validators=[FileRequired("Choose the .zip file of a term bundle folder.")],
        description="The bundle folder zipped: term.toml, students.csv, hosts.csv, "
        "opportunities.csv, preferences.csv, and optionally host_reviews.csv and calendars/.",
    )
    force = BooleanField(
        "Import even if it deletes published or confirmed placements",
        description="Like wbl import --force. Without it, such an import is refused and "
        "names each placement it would delete.",
    )


_IGNORED_PARTS = {"__MACOSX"}
_IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path inside the bundle, refused when it could land outside it."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or ".." in path.parts or re.match(r"[A-Za-z]:", name):
        raise UploadError(
            f"The zip holds {info.filename!r}, a path outside the bundle folder. "
            "Zip the bundle folder itself (right-click it, then compress) and upload that."
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UploadError(f"The zip holds {info.filename!r}, a link; a bundle holds plain files.")
    return path


def _bundle_root(paths: list[PurePosixPath]) -> tuple[str, ...]:
    """The folder inside the zip that holds term.toml: the top, or one folder."""
    folders = sorted({p.parts[:-1] for p in paths if p.name == TERM_FILE}, key=len)
    if not folders:
        raise UploadError(
            f"The zip has no {TERM_FILE}. A term bundle is a folder with {TERM_FILE}, "
            "students.csv, hosts.csv, opportunities.csv and preferences.csv: zip that folder."
        )
    top = [f for f in folders if len(f) == len(folders[0])]
    if len(top) > 1:
        where = ", ".join("/".join(f) or "(top)" for f in top)
        raise UploadError(f"The zip holds several bundles ({where}); upload one at a time.")
    return folders[0]


@contextmanager
def unpacked_bundle(upload: FileStorage, max_bytes: int, max_files: int) -> Iterator[Path]:
    """The uploaded zip unpacked into a temporary folder (removed afterwards): the folder
    that holds term.toml. Raises :class:`UploadError` with a message for the coordinator."""
    try:
        archive = zipfile.ZipFile(upload.stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise UploadError(
            "That file is not a .zip archive. Zip the bundle folder and upload the .zip file."
        ) from None
    with archive, tempfile.TemporaryDirectory(prefix="wbl-bundle-") as tmp:
        members = []
        for info in archive.infolist():
            path = _member_path(info)
            if info.is_dir() or not path.parts:
                continue
            if _IGNORED_PARTS & set(path.parts) or path.name in _IGNORED_NAMES:
                continue
            members.append((info, path))
        too_big = UploadError(
            f"The bundle is too big: it unpacks to more than {max_bytes // (1024 * 1024)} MB "
            f"or {max_files} files. Split the term, or import it with `wbl import`."
        )
        if len(members) > max_files or sum(i.file_size for i, _ in members) > max_bytes:
            raise too_big
        root = _bundle_root([path for _, path in members])
        written = 0
        for info, path in members:
            if path.parts[: len(root)] != root:
                continue  # beside the bundle folder: not part of the bundle
            target = Path(tmp, *path.parts[len(root) :])
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as source, target.open("wb") as out:
                    # Counted as read: a member's declared size may lie.
                    while chunk := source.read(1024 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            raise too_big
                        out.write(chunk)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, EOFError):
                raise UploadError(
                    f"{info.filename} cannot be unpacked: the zip is damaged, encrypted or "
                    "uses an unusual compression. Zip the folder again and upload it."
                ) from None
        yield Path(tmp)


def _import_folder(folder: Path, *, force: bool) -> ImportReport:
    """Validate and import the bundle in ``folder`` into this request's session (uncommitted).

    Addresses are located offline only (ZIP-code centroids, as ``wbl import`` without a
    geocoder): a web request never waits on a rate-limited geocoding service.
    """
    session = db()
    prepared = prepare_import(folder, AddressLocator(session, None))
    name = prepared.bundle.term.name
    existing = session.scalar(select(Term).where(Term.name == name))
    if existing is not None:
        busy = running_run(session, existing)
        if busy is not None and not is_stale(busy):
            raise UploadError(f"A solve of {name!r} is running; import again once it has finished.")
    return store_bundle(session, prepared, force=force)


@bp.route("/upload", methods=["GET", "POST"])
def upload() -> ResponseReturnValue:
    """Import a term bundle uploaded as a zip: all or nothing, every problem listed."""
    form = UploadForm()
    problems: list[str] = []
    if form.validate_on_submit():
        limits = (
            current_app.config.get("BUNDLE_MAX_BYTES", BUNDLE_MAX_BYTES),
            current_app.config.get("BUNDLE_MAX_FILES", BUNDLE_MAX_FILES),
        )
        try:
            with unpacked_bundle(form.bundle.data, *limits) as folder:
                report = _import_folder(folder, force=form.force.data)
        except UploadError as error:
            db().rollback()
            form.bundle.errors = [str(error)]
        except BundleError as error:
            db().rollback()
            problems = [str(p) for p in error.problems]
        else:
            db().commit()
            term = db().scalars(select(Term).where(Term.name == report.term)).one()
            return render_template("coordinator/imported.html", report=report, term=term)
    failed = bool(form.errors or problems)
    return render_template(
        "coordinator/upload.html",
        form=form,
        problems=problems[:PROBLEMS_SHOWN],
        more_problems=max(0, len(problems) - PROBLEMS_SHOWN),
        problem_count=len(problems),
    ), 400 if failed else 200


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A body over MAX_CONTENT_LENGTH: the upload page again, with the limit in words."""
    if request.endpoint != "coordinator.upload":
        message = error.description or ""
        return render_template("error.html", code=413, title=error.name, message=message), 413
    form = UploadForm(formdata=None)
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    form.bundle.errors = [
        f"The file is too big to upload (the limit is {limit / (1024 * 1024):.0f} MB). "
        "Remove files the bundle does not need, or import it with `wbl import`."
    ]
    page = render_template(
        "coordinator/upload.html", form=form, problems=[], more_problems=0, problem_count=0
    )
    return page, 413


# ---------------------------------------------------------------------------------------------
# Solving


MAX_TIME_LIMIT_S = 3600
MAX_WORKERS = 64


class SolveForm(FlaskForm):
    time_limit = IntegerField(
        "Time limit (seconds)",
        validators=[InputRequired(), NumberRange(1, MAX_TIME_LIMIT_S)],
        description="The solve stops at this limit with the best placement found so far.",
    )
    workers = IntegerField(
        "Solver threads",
        validators=[InputRequired(), NumberRange(1, MAX_WORKERS)],
        description=f"This server has {os.cpu_count() or 1} processor cores.",
    )
    mode = SelectField(
        "Mode",
        choices=[
            SelectChoice("welfare", "Welfare: the best placement for everyone"),
            SelectChoice("stable", "Stable: no blocking pairs"),
        ],
        validators=[InputRequired()],
        description="Welfare places the most students (equity priority first), then meets "
        "their choices best, then keeps travel short. Stable leaves no student and host who "
        "would both rather have each other.",
    )
    keep_published = BooleanField(
        "Keep the current proposals where possible",
        description="For a re-solve after a withdrawal or new students: moves as few students "
        "as it can. Published, confirmed and pinned placements are always kept.",
    )


def _solve_defaults(term: Term) -> dict[str, Any]:
    kept = db().scalar(
        select(func.count(Placement.id)).where(
            Placement.term_id == term.id,
            Placement.status.in_((PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)),
        )
    )
    rules = term.rules
    return {
        "time_limit": max(1, min(MAX_TIME_LIMIT_S, round(rules.time_limit_s))),
        "workers": 2,
        "mode": rules.mode if rules.mode in MODES else "welfare",
        "keep_published": bool(kept),
    }


@bp.route("/terms/<int:term_id>/solve", methods=["GET", "POST"])
def solve(term_id: int) -> ResponseReturnValue:
    """The solve form and the term's earlier runs; a valid form starts a solve."""
    term = term_or_404(term_id)
    form = SolveForm(data=_solve_defaults(term))
    refused: SolveRun | None = None
    if form.validate_on_submit():
        options = SolveOptions(
            time_limit_s=float(form.time_limit.data or 0),
            workers=form.workers.data or 0,
            mode=form.mode.data,
            keep_published=bool(form.keep_published.data),
        )
        try:
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            started = start_solve(app, db(), term, options)
        except SolveOptionsError as error:
            form.time_limit.errors = [str(error)]
        except SolveBusy as busy:
            refused = busy.run
        else:
            if started.cleared:
                flash(
                    f"{len(started.cleared)} earlier run(s) left unfinished by a server stop "
                    "were marked failed.",
                    "info",
                )
            return redirect(url_for(".run", term_id=term.id, run_id=started.run.id))
    elif request.method == "GET" and clear_stale_runs(db(), term):
        db().commit()
    runs = (
        db()
        .scalars(
            select(SolveRun)
            .where(SolveRun.term_id == term.id)
            .order_by(SolveRun.id.desc())
            .limit(20)
        )
        .all()
    )
    status = 409 if refused else 400 if form.errors else 200
    return render_template(
        "coordinator/solve.html",
        term=term,
        form=form,
        runs=runs,
        running=refused or running_run(db(), term),
        refused=refused,
    ), status


@dataclass
class RunFigures:
    """What a finished run achieved, for its page."""

    students: int
    unplaced: int
    proposals: int
    blocking_pairs: int | None
    blocking_note: str  # what they mean, in welfare mode
    moved: int | None
    warnings: list[str]

    @property
    def placed(self) -> int:
        return self.students - self.unplaced


def _run_figures(run: SolveRun, term: Term) -> RunFigures:
    metrics = run.metrics or {}
    students = db().scalar(select(func.count(Student.id)).where(Student.term_id == term.id)) or 0
    proposals = db().scalar(
        select(func.count(Placement.id)).where(
            Placement.solve_run_id == run.id, Placement.status.in_(LIVE)
        )
    )
    return RunFigures(
        students=students,
        unplaced=min(students, len(metrics.get("unplaced") or {})),
        proposals=proposals or 0,
        blocking_pairs=metrics.get("blocking_pairs"),
        blocking_note=blocking_note(run.mode, metrics.get("blocking_pairs")),
        moved=metrics.get("moved"),
        warnings=list(metrics.get("warnings") or []),
    )


@bp.get("/terms/<int:term_id>/runs/<int:run_id>")
def run(term_id: int, run_id: int) -> ResponseReturnValue:
    """One solve run: live figures while it runs (the page polls the API), then its outcome."""
    term = term_or_404(term_id)
    found = db().get(SolveRun, run_id)
    if found is None or found.term_id != term.id:
        abort(404)
    if clear_stale_runs(db(), term):
        db().commit()
    done = found.status not in (SolveStatus.RUNNING, SolveStatus.FAILED)
    return render_template(
        "coordinator/run.html",
        term=term,
        run=found,
        p=found.progress or {},
        figures=_run_figures(found, term) if done else None,
        level_rows=_level_rows(found),
        levels=LEVELS,
    )


def _level_rows(run: SolveRun) -> list[dict[str, Any]]:
    """Each objective level's best value and bound: the final ones once the run has stored
    them, else the latest the live progress reported."""
    metrics = run.metrics or {}
    names, values, bounds = (metrics.get(k) or [] for k in ("levels", "objective", "bound"))
    if names and len(names) == len(values) == len(bounds):
        rows = [
            {"level": n, "objective": v, "bound": b}
            for n, v, b in zip(names, values, bounds, strict=True)
        ]
    else:
        rows = [r for r in (run.progress or {}).get("levels") or [] if isinstance(r, dict)]
    return [{**r, "gap": gap_of(r.get("objective"), r.get("bound"))} for r in rows]

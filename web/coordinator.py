"""Coordinator pages: terms, the term dashboard, and the people of a term with their accounts.

Coordinators see everything; every view here is behind :func:`web.auth.guard`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

from wbl.models import Host, Role, Student, Term, User
from wbl.services.summary import summarize_term
from web.accounts import AccountError, Purpose, create_user
from web.auth import guard, link_url, safe_next, signed_in_user
from web.db import db
from web.mail import send_link

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")
guard(bp, Role.COORDINATOR)

KINDS = {"host": Host, "student": Student}


def term_or_404(term_id: int) -> Term:
    term = db().get(Term, term_id)
    if term is None:
        abort(404)
    return term


@bp.get("/")
def terms() -> ResponseReturnValue:
    rows = db().scalars(select(Term).order_by(Term.start.desc(), Term.name)).all()
    return render_template("coordinator/terms.html", terms=rows)


@bp.get("/terms/<int:term_id>")
def dashboard(term_id: int) -> ResponseReturnValue:
    term = term_or_404(term_id)
    return render_template("coordinator/dashboard.html", term=term, s=summarize_term(db(), term))


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
    if purpose is Purpose.INVITE:
        subject, text = (
            "You are invited to WBL placements",
            "Follow this link to choose your password (it works once, for 14 days):",
        )
    else:
        subject, text = (
            "Reset your WBL placements password",
            "Follow this link to choose a new password (it works once, for two hours):",
        )
    mailed = send_link(user, subject, text, link)
    return render_template("coordinator/link.html", user=user, link=link, mailed=mailed)


@bp.route("/terms/<int:term_id>/invite/<kind>/<int:ref_id>", methods=["GET", "POST"])
def invite(term_id: int, kind: str, ref_id: int) -> ResponseReturnValue:
    """An account for one host or student of the term, and its one-time invite link."""
    term = term_or_404(term_id)
    model = KINDS.get(kind)
    row = db().get(model, ref_id) if model else None
    if row is None or row.term_id != term.id:
        abort(404)
    form = InviteForm(data={"email": getattr(row, "email", ""), "name": row.name})
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
            form.email.errors = [str(error)]
        else:
            db().commit()
            return _show_link(user, Purpose.INVITE)
    return render_template(
        "coordinator/invite.html", term=term, form=form, who=row, kind=kind
    ), 400 if form.errors else 200


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

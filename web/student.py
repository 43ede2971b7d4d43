"""Student pages: the signed-in student's placements (accept or decline), the opportunities
they can take (and, on request, the ones they cannot, with why), their ranking, and their
calendar link. Every view shows and changes only the signed-in student's own rows; another
student's row answers 404.

Everything works with plain forms; ``static/rank.js`` adds drag-and-drop and in-place moves
on the ranking page, saving through ``PUT /api/rankings`` (see :mod:`web.api`).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import AnyOf, InputRequired, NumberRange, Optional

from wbl.models import Kind, Opportunity, Placement, PlacementStatus, Role, Student
from wbl.services import choices
from wbl.services.choices import ChoiceError, NotYours
from web.accounts import rotate_feed_token
from web.auth import guard, safe_next, signed_in_user
from web.db import MAX_ID, db
from web.feeds import feed_url

bp = Blueprint("student", __name__, url_prefix="/student")
guard(bp, Role.STUDENT)

ACTIONS = ("add", "up", "down", "remove")


def my_student() -> Student:
    student = db().get(Student, signed_in_user().student_id)
    assert student is not None  # the account's CHECK constraint and FK keep it there
    return student


def _zone(student: Student) -> ZoneInfo:
    return ZoneInfo(student.term.timezone)


# ---------------------------------------------------------------------------------------------
# Home: placements and a glance at the ranking


@bp.get("/")
def home() -> ResponseReturnValue:
    student = my_student()
    placements = choices.visible_placements(db(), student)
    ranked = choices.ranking(db(), student)
    return render_template(
        "student/home.html",
        student=student,
        placements=[_placement_view(p, student) for p in placements],
        ranked=ranked,
        limit=choices.choice_limit(student),
    )


def _placement_view(placement: Placement, student: Student) -> dict[str, Any]:
    zone = _zone(student)
    return {
        "placement": placement,
        "opportunity": placement.slot.opportunity,
        "host": placement.slot.opportunity.host,
        "kind": choices.KIND_NAMES[placement.slot.opportunity.kind],
        "schedule": choices.describe_slot(placement.slot, zone),
        "sessions": choices.session_lines(placement.slot, zone),
        "travel": choices.placement_travel(placement, student),
    }


# ---------------------------------------------------------------------------------------------
# Opportunities


PAGE_SIZE = 30


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that only filters what is shown

    kind = SelectField(
        "Kind",
        choices=[SelectChoice("", "All kinds")]
        + [SelectChoice(k.value, choices.KIND_NAMES[k]) for k in Kind],
        default="",
    )
    cluster = SelectField("Career cluster", choices=[SelectChoice("", "All clusters")], default="")
    sort = SelectField(
        "Order",
        choices=[SelectChoice("near", "Nearest first"), SelectChoice("title", "By title")],
        default="near",
    )
    ruled_out = BooleanField("Also show the ones I can't take, and why")


@bp.get("/opportunities")
def opportunities() -> ResponseReturnValue:
    student = my_student()
    form = FilterForm(request.args)
    rows = choices.list_options(db(), student)
    clusters = sorted({r.cluster for r in rows if r.cluster}, key=str.casefold)
    form.cluster.choices = [SelectChoice("", "All clusters")] + [SelectChoice(c) for c in clusters]
    valid = form.validate()
    kind = Kind(form.kind.data) if valid and form.kind.data else None
    cluster = form.cluster.data if valid else None
    show_ruled_out = bool(valid and form.ruled_out.data)
    if valid and form.sort.data == "title":
        rows = choices.sort_options(rows, "title")
    shown = choices.filter_options(rows, kind=kind, cluster=cluster, show_ruled_out=show_ruled_out)
    matching = choices.filter_options(rows, kind=kind, cluster=cluster, show_ruled_out=True)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    # A page number out of range (an old link) shows the nearest page that exists.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    on_page = shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    query = {
        "kind": form.kind.data or None,
        "cluster": form.cluster.data or None,
        "sort": form.sort.data if form.sort.data != "near" else None,
        "ruled_out": "y" if show_ruled_out else None,
    } if valid else {}  # fmt: skip
    return render_template(
        "student/opportunities.html",
        student=student,
        form=form,
        rows=on_page,
        loaded=choices.load_shown(db(), on_page),
        first=(page - 1) * PAGE_SIZE + 1,
        total=len(shown),
        page=page,
        pages=pages,
        PAGE_SIZE=PAGE_SIZE,
        query=query,
        can_take=sum(1 for r in matching if r.ok),
        ruled_out_count=sum(1 for r in matching if not r.ok),
        show_ruled_out=show_ruled_out,
        zone=_zone(student),
        describe_slot=choices.describe_slot,
        limit=choices.choice_limit(student),
        ranked_count=sum(1 for r in rows if r.rank is not None),
        here=request.full_path.rstrip("?"),
    ), (400 if form.errors else 200)


# ---------------------------------------------------------------------------------------------
# Ranking


class RankingForm(FlaskForm):
    """One change to the ranking, from a button: add, up, down or remove an opportunity."""

    opportunity_id = IntegerField(
        "Opportunity", validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)]
    )
    action = HiddenField("Action", validators=[InputRequired(), AnyOf(ACTIONS, "Unknown action.")])
    next = HiddenField("Next", validators=[Optional()])


def _ranking_page(student: Student, error: str | None = None, status: int = 200) -> Any:
    ranked = choices.ranking(db(), student)
    options = choices.student_options(db(), student.term, student.id) if ranked else {}
    return render_template(
        "student/ranking.html",
        student=student,
        ranked=[
            {
                "preference": p,
                "opportunity": p.opportunity,
                "kind": choices.KIND_NAMES[p.opportunity.kind],
                "travel": choices.describe_travel(
                    options[p.opportunity_id].travel_min,
                    options[p.opportunity_id].mode,
                    options[p.opportunity_id].remote,
                ),
                "reasons": options[p.opportunity_id].reasons,
            }
            for p in ranked
        ],
        limit=choices.choice_limit(student),
        error=error,
    ), status


@bp.get("/ranking")
def ranking() -> ResponseReturnValue:
    return _ranking_page(my_student())


@bp.post("/ranking")
def change_ranking() -> ResponseReturnValue:
    student = my_student()
    form = RankingForm()
    if not form.validate():
        problems = [e for errors in form.errors.values() for e in errors]
        return _ranking_page(student, "That change could not be made: " + " ".join(problems), 400)
    opportunity_id = form.opportunity_id.data
    assert opportunity_id is not None  # InputRequired
    opportunity = db().get(Opportunity, opportunity_id)
    if opportunity is None or opportunity.term_id != student.term_id:
        abort(404)
    action = form.action.data
    try:
        if action == "add":
            rows = choices.add_choice(db(), student, opportunity_id)
        elif action == "remove":
            rows = choices.remove_choice(db(), student, opportunity_id)
        else:
            offset = -1 if action == "up" else 1
            rows = choices.move_choice(db(), student, opportunity_id, offset)
    except NotYours:
        abort(404)
    except ChoiceError as error:
        return _ranking_page(student, str(error), 400)
    db().commit()
    position = next((k for k, p in enumerate(rows, 1) if p.opportunity_id == opportunity_id), None)
    title = f"“{opportunity.title}”"
    if action == "remove":
        flash(f"Removed {title} from your ranking.", "success")
        return redirect(url_for("student.ranking", _anchor="ranking"))
    if action == "add":
        flash(f"{title} is number {position} in your ranking.", "success")
        back = safe_next(form.next.data)
        if back:
            return redirect(back)
    else:
        flash(f"Moved {title} to number {position}.", "success")
    return redirect(url_for("student.ranking", _anchor=f"choice-{opportunity_id}"))


# ---------------------------------------------------------------------------------------------
# Placements


def _placement_or_404(student: Student, placement_id: int) -> Placement:
    try:
        return choices.placement_for(db(), student, placement_id)
    except NotYours:
        abort(404)


@bp.post("/placements/<int:placement_id>/accept")
def accept(placement_id: int) -> ResponseReturnValue:
    # CSRFProtect has checked the form's token before the view runs.
    student = my_student()
    _placement_or_404(student, placement_id)
    try:
        placement = choices.accept_placement(db(), student, placement_id)
    except ChoiceError as error:
        return render_template(
            "error.html", code=400, title="Not accepted", message=str(error)
        ), 400
    db().commit()
    flash(
        f"You accepted {placement.slot.opportunity.title} at "
        f"{placement.slot.opportunity.host.name}. It is in your calendar.",
        "success",
    )
    return redirect(url_for("student.home", _anchor=f"placement-{placement_id}"))


@bp.route("/placements/<int:placement_id>/decline", methods=["GET", "POST"])
def decline(placement_id: int) -> ResponseReturnValue:
    student = my_student()
    placement = _placement_or_404(student, placement_id)
    if request.method == "POST":  # confirmed on the page below; CSRFProtect checked the token
        try:
            choices.decline_placement(db(), student, placement_id)
        except ChoiceError as error:
            return render_template(
                "error.html", code=400, title="Not declined", message=str(error)
            ), 400
        db().commit()
        flash(
            f"You declined {placement.slot.opportunity.title}. Your coordinator will see it.",
            "info",
        )
        return redirect(url_for("student.home"))
    if placement.status is PlacementStatus.DECLINED:
        flash("You have already declined this placement.", "info")
        return redirect(url_for("student.home", _anchor=f"placement-{placement_id}"))
    return render_template(
        "student/decline.html", student=student, view=_placement_view(placement, student)
    )


# ---------------------------------------------------------------------------------------------
# Calendar


@bp.get("/calendar")
def calendar() -> ResponseReturnValue:
    user = signed_in_user()
    return render_template("student/calendar.html", student=my_student(), url=feed_url(user))


@bp.post("/calendar")
def new_calendar_link() -> ResponseReturnValue:
    user = signed_in_user()
    had_one = user.feed_token is not None
    rotate_feed_token(user)
    db().commit()
    flash(
        "Here is your new calendar link. The old one no longer works."
        if had_one
        else "Your calendar link is ready.",
        "success",
    )
    return redirect(url_for("student.calendar"))


@bp.post("/calendar/revoke")
def revoke_calendar_link() -> ResponseReturnValue:
    user = signed_in_user()
    user.feed_token = None
    db().commit()
    flash("Your calendar link is turned off. Calendars using it stop updating.", "info")
    return redirect(url_for("student.calendar"))

"""Host pages: a host's own opportunities, their schedule builder, rosters and calendar.

Every view is for the signed-in host account only (:func:`web.auth.guard`) and shows only
that host's rows: another host's opportunity or placement is a 404. The pages work without
JavaScript; ``static/host.js`` only hides the schedule shapes not in use and adds rows.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from wbl.models import Host, Kind, Opportunity, Placement, PlacementStatus, Role, Term
from wbl.schedule import DAY_ABBREVIATIONS, ScheduleError, SlotPlan
from wbl.services.bundles import plan_content, slot_content
from wbl.services.opportunities import (
    MAX_CAPACITY,
    MAX_CLUSTER,
    MAX_HOURS,
    MAX_TITLE,
    OpportunityError,
    OpportunitySpec,
    ResponseError,
    accept_placement,
    check_spec,
    compose_dated,
    compose_flexible,
    compose_weekly,
    create_opportunity,
    decline_placement,
    format_problem,
    has_control_characters,
    host_placement,
    live_placements,
    placement_counts,
    plan_schedule,
    roster,
    same_sessions,
    set_closed,
    split_schedule,
    update_opportunity,
)
from web.accounts import rotate_feed_token
from web.auth import guard, safe_next, signed_in_user
from web.db import db
from web.feeds import feed_url

bp = Blueprint("host", __name__, url_prefix="/host")
guard(bp, Role.HOST)

KIND_NAMES = {
    Kind.JOB_SHADOW: "Job shadow",
    Kind.INTERNSHIP: "Internship",
    Kind.MICRO_INTERNSHIP: "Micro-internship",
}
SHAPES = {
    "dated": "Dated sessions (each date is its own slot)",
    "weekly": "Weekly pattern over a span of dates",
    "flexible": "Flexible hours over a span of dates",
}
KEEP = "current"
"""The shape for a schedule the builder cannot show (a calendar file): leave it as it is."""
SHAPE_FIELDS = {
    "dated": ("sessions",),
    "weekly": ("weekly_first", "weekly_last", "weekly_days", "weekly_start", "weekly_end"),
    "flexible": ("flexible_first", "flexible_last", "hours"),
}
"""The builder's fields for each shape; only the chosen shape's are read."""
MAX_ROWS = 60
"""Dated sessions a form can carry; a longer series is a weekly pattern."""
BLANK_ROWS = 2
"""Empty session rows kept at the end of the list, so a host can add dates without script."""
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]  # browsers send seconds when a step asks for them


def my_host() -> Host:
    host = db().get(Host, signed_in_user().host_id)
    assert host is not None  # the account's CHECK constraint and FK keep it there
    return host


def my_opportunity(opportunity_id: int) -> Opportunity:
    """The signed-in host's opportunity ``opportunity_id``; anyone else's is a 404."""
    opportunity = db().get(Opportunity, opportunity_id)
    if opportunity is None or opportunity.host_id != signed_in_user().host_id:
        abort(404)
    return opportunity


def _day(d: date) -> str:
    return f"{DAY_ABBREVIATIONS[d.weekday()]} {d.day} {d:%b %Y}"


@bp.context_processor
def helpers() -> dict[str, Any]:
    """Date formatting for the host templates, in the host's term's timezone."""

    def when(start: datetime, end: datetime) -> str:
        zone = ZoneInfo(my_host().term.timezone)
        begins, ends = start.astimezone(zone), end.astimezone(zone)
        return f"{_day(begins.date())}, {begins:%H:%M}–{ends:%H:%M}"

    return {"when": when, "day": _day}


# --- forms ------------------------------------------------------------------------------------


def plain_text(form: Any, field: Any) -> None:
    if field.data and has_control_characters(field.data):
        raise ValidationError("Remove the control characters (tabs, line breaks and the like).")


def finite(form: Any, field: Any) -> None:
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError("Give a number.")


class SessionRow(Form):
    """One dated session of the builder: a date, a start and an end time."""

    day = DateField("Date", validators=[Optional()])
    start = TimeField("Start", format=TIME_FORMATS, validators=[Optional()])
    end = TimeField("End", format=TIME_FORMATS, validators=[Optional()])

    def filled(self) -> bool:
        return any(f.raw_data and f.raw_data[0].strip() for f in (self.day, self.start, self.end))


class OpportunityForm(FlaskForm):
    kind = SelectField(
        "Kind", choices=[SelectChoice(k.value, name) for k, name in KIND_NAMES.items()]
    )
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give it a name students will recognise."),
            Length(max=MAX_TITLE),
            plain_text,
        ],
    )
    career_cluster = StringField(
        "Career cluster",
        validators=[Length(max=MAX_CLUSTER), plain_text],
        description="For example Health Science or Manufacturing.",
    )
    capacity = IntegerField(
        "Seats per slot",
        validators=[
            InputRequired("How many students can come to each slot?"),
            NumberRange(1, MAX_CAPACITY, f"A whole number from 1 to {MAX_CAPACITY}."),
        ],
        description="How many students take part in each slot (each date, or the weekly series).",
    )
    min_age = IntegerField(
        "Minimum age",
        validators=[Optional(), NumberRange(0, 120, "An age from 0 to 120, or leave it blank.")],
        description="On the first day. Leave blank for no minimum.",
    )
    min_grade = IntegerField(
        "Minimum grade",
        validators=[Optional(), NumberRange(0, 13, "A grade from 0 to 13, or leave it blank.")],
        description="Leave blank for no minimum.",
    )
    requires_consent = BooleanField("Students under 18 need a guardian's consent")
    requires_work_permit = BooleanField("Students under 18 need a work permit")
    hazardous = BooleanField("Hazardous work (students 18 and over only)")
    remote = BooleanField("Remote (students work from where they are; no travel)")
    shape = RadioField(
        "Schedule", choices=[SelectChoice(*c) for c in SHAPES.items()], default="dated"
    )
    sessions = FieldList(FormField(SessionRow), max_entries=MAX_ROWS + BLANK_ROWS)
    weekly_first = DateField("First day", validators=[Optional()])
    weekly_last = DateField("Last day", validators=[Optional()])
    weekly_days = SelectMultipleField(
        "Days of the week",
        choices=[SelectChoice(str(n), day) for n, day in enumerate(DAY_ABBREVIATIONS)],
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    weekly_start = TimeField("Start time", format=TIME_FORMATS, validators=[Optional()])
    weekly_end = TimeField("End time", format=TIME_FORMATS, validators=[Optional()])
    flexible_first = DateField("First day", validators=[Optional()])
    flexible_last = DateField("Last day", validators=[Optional()])
    hours = FloatField(
        "Hours in all",
        validators=[
            Optional(),
            finite,
            NumberRange(0.25, MAX_HOURS, f"Hours from 0.25 to {MAX_HOURS:g}."),
        ],
        description="The hours a student puts in over the whole span.",
    )

    # Problems with the schedule as a whole (from the bundle's parser), shown in the fieldset.
    schedule_errors: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedule_errors = []

    def schedule_text(self, term: Term, current: str | None) -> str | None:
        """The schedule the builder's fields describe, in the bundle's syntax; None (with the
        errors at the fields) if they do not describe one."""
        shape = self.shape.data
        if shape == KEEP and current is not None:
            return current
        if shape == "dated":
            return self._dated(term)
        if shape == "weekly":
            return self._weekly()
        if shape == "flexible":
            return self._flexible()
        return None  # not a choice: the field already says so

    def _dated(self, term: Term) -> str | None:
        rows: list[tuple[date, Any, Any]] = []
        ok = True
        seen: dict[tuple[date, Any, Any], int] = {}
        for number, entry in enumerate(self.sessions.entries, start=1):
            row: SessionRow = entry.form
            if not row.filled():
                continue
            for f, what in ((row.day, "a date"), (row.start, "a start"), (row.end, "an end")):
                if f.data is None and not f.errors:
                    f.errors = [*f.errors, f"Give {what}, or clear the row."]
            if row.errors or None in (row.day.data, row.start.data, row.end.data):
                ok = False
                continue
            if row.end.data <= row.start.data:
                row.end.errors = ["The session must end after it starts."]
                ok = False
                continue
            key = (row.day.data, row.start.data, row.end.data)
            if key in seen:
                row.day.errors = [f"The same session as row {seen[key]}; list it once."]
                ok = False
                continue
            seen[key] = number
            # Each row through the bundle's parser on its own, so its problem shows at it.
            try:
                plan_schedule(term, compose_dated([key]), None)
            except ScheduleError as error:
                row.day.errors = [format_problem(p) for p in error.problems]
                ok = False
                continue
            rows.append(key)
        if ok and not rows:
            self.schedule_errors.append("Give at least one session: a date, a start and an end.")
        return compose_dated(sorted(rows)) if ok and rows else None

    def _span(self, first: Any, last: Any) -> bool:
        ok = True
        for f in (first, last):
            if f.data is None and not f.errors:
                f.errors = [*f.errors, "Give a date."]
            ok = ok and f.data is not None
        if ok and last.data < first.data:
            last.errors = [*last.errors, "The last day must not be before the first day."]
            ok = False
        return ok

    def _weekly(self) -> str | None:
        ok = self._span(self.weekly_first, self.weekly_last)
        if not self.weekly_days.data:
            self.weekly_days.errors = [*self.weekly_days.errors, "Tick at least one day."]
            ok = False
        for f in (self.weekly_start, self.weekly_end):
            if f.data is None and not f.errors:
                f.errors = [*f.errors, "Give a time."]
                ok = False
        start, end = self.weekly_start.data, self.weekly_end.data
        if start is not None and end is not None and end <= start:
            self.weekly_end.errors = [*self.weekly_end.errors, "The end must be after the start."]
            ok = False
        if not ok or self.weekly_days.errors or start is None or end is None:
            return None
        return compose_weekly(
            self.weekly_first.data, self.weekly_last.data, self.weekly_days.data, start, end
        )

    def _flexible(self) -> str | None:
        ok = self._span(self.flexible_first, self.flexible_last)
        if self.hours.data is None and not self.hours.errors:
            self.hours.errors = [*self.hours.errors, "Give the hours a student puts in."]
        if not ok or self.hours.errors:
            return None
        return compose_flexible(self.flexible_first.data, self.flexible_last.data)

    def spec(self, schedule: str) -> OpportunitySpec:
        flexible = self.shape.data == "flexible"
        return OpportunitySpec(
            kind=Kind(self.kind.data),
            title=(self.title.data or "").strip(),
            career_cluster=(self.career_cluster.data or "").strip(),
            capacity=self.capacity.data or 0,
            schedule=schedule,
            min_age=self.min_age.data,
            min_grade=self.min_grade.data,
            requires_consent=self.requires_consent.data,
            requires_work_permit=self.requires_work_permit.data,
            hazardous=self.hazardous.data,
            remote=self.remote.data,
            hours=self.hours.data if flexible else None,
        )

    def ignore_other_shapes(self) -> None:
        """Drop the errors of the shapes not chosen: their fields are not used (and, with
        script on, not even shown)."""
        chosen = self.shape.data
        for shape, fields in SHAPE_FIELDS.items():
            if shape == chosen:
                continue
            for name in fields:
                f = getattr(self, name)
                if isinstance(f, FieldList):
                    for entry in f.entries:
                        for sub in entry.form:
                            sub.errors = []
                else:
                    f.errors = []

    def has_errors(self) -> bool:
        """Any error on any field, the session rows included (read fresh: WTForms caches
        ``errors`` at validation, and the builder adds its own afterwards)."""
        for f in self:
            if isinstance(f, FieldList):
                if any(sub.errors for entry in f.entries for sub in entry.form):
                    return True
            elif f.errors:
                return True
        return bool(self.schedule_errors)

    def attach(self, error: OpportunityError) -> None:
        """Put a service's problems at the fields they are about."""
        for name, messages in error.problems.items():
            field = None if name == "schedule" else getattr(self, name, None)
            if field is None:
                self.schedule_errors.extend(messages)
            else:
                field.errors = [*field.errors, *messages]

    def pad_rows(self) -> None:
        """Keep ``BLANK_ROWS`` empty session rows at the end (up to :data:`MAX_ROWS`)."""
        entries = self.sessions.entries
        blank = 0
        for entry in reversed(entries):
            if entry.form.filled() or entry.form.day.data:
                break
            blank += 1
        while blank < BLANK_ROWS and len(entries) < MAX_ROWS + BLANK_ROWS:
            self.sessions.append_entry()
            blank += 1


def _form_for(host: Host, opportunity: Opportunity | None) -> OpportunityForm:
    """The form: as posted, else filled from ``opportunity`` (or fresh for a new one)."""
    if request.method == "POST":
        form = OpportunityForm()
    elif opportunity is None:
        term = host.term
        form = OpportunityForm(
            data={
                "career_cluster": host.career_cluster,
                "capacity": 1,
                "weekly_first": term.start,
                "weekly_last": term.end,
                "flexible_first": term.start,
                "flexible_last": term.end,
            }
        )
    else:
        form = OpportunityForm(data=_data_of(opportunity))
    if (
        opportunity is not None
        and split_schedule(opportunity.term, opportunity.schedule, opportunity.hours).shape
        == "other"
    ):
        form.shape.choices = [
            SelectChoice(KEEP, f"Keep the current schedule ({opportunity.schedule})"),
            *(SelectChoice(*c) for c in SHAPES.items()),
        ]
        if request.method == "GET":
            form.shape.data = KEEP
    return form


def _data_of(opportunity: Opportunity) -> dict[str, Any]:
    term = opportunity.term
    parts = split_schedule(term, opportunity.schedule, opportunity.hours)
    data: dict[str, Any] = {
        "kind": opportunity.kind.value,
        "title": opportunity.title,
        "career_cluster": opportunity.career_cluster,
        "capacity": opportunity.capacity,
        "min_age": opportunity.min_age,
        "min_grade": opportunity.min_grade,
        "requires_consent": opportunity.requires_consent,
        "requires_work_permit": opportunity.requires_work_permit,
        "hazardous": opportunity.hazardous,
        "remote": opportunity.remote,
        "hours": opportunity.hours,
        "shape": parts.shape,
        "weekly_first": term.start,
        "weekly_last": term.end,
        "flexible_first": term.start,
        "flexible_last": term.end,
        "sessions": [SimpleNamespace(day=d, start=s, end=e) for d, s, e in parts.sessions],
    }
    if parts.shape == "weekly":
        data.update(
            weekly_first=parts.first,
            weekly_last=parts.last,
            weekly_days=list(parts.weekdays),
            weekly_start=parts.start,
            weekly_end=parts.end,
        )
    elif parts.shape == "flexible":
        data.update(flexible_first=parts.first, flexible_last=parts.last)
    return data


# --- pages ------------------------------------------------------------------------------------


@bp.get("/")
def home() -> ResponseReturnValue:
    host = my_host()
    opportunities = (
        db()
        .scalars(
            select(Opportunity)
            .where(Opportunity.host_id == host.id)
            .options(selectinload(Opportunity.slots))
            .order_by(Opportunity.closed, Opportunity.title, Opportunity.id)
        )
        .all()
    )
    return render_template(
        "host/home.html",
        host=host,
        opportunities=opportunities,
        counts=placement_counts(db(), host),
        kinds=KIND_NAMES,
        S=PlacementStatus,
    )


@bp.get("/opportunities/<int:opportunity_id>")
def opportunity(opportunity_id: int) -> ResponseReturnValue:
    host = my_host()
    opp = my_opportunity(opportunity_id)
    return render_template(
        "host/opportunity.html",
        host=host,
        opportunity=opp,
        kinds=KIND_NAMES,
        slots=roster(db(), host, opp),
        S=PlacementStatus,
    )


@bp.route("/opportunities/new", methods=["GET", "POST"])
def new_opportunity() -> ResponseReturnValue:
    return _edit(my_host(), None)


@bp.route("/opportunities/<int:opportunity_id>/edit", methods=["GET", "POST"])
def edit_opportunity(opportunity_id: int) -> ResponseReturnValue:
    return _edit(my_host(), my_opportunity(opportunity_id))


def _edit(host: Host, opp: Opportunity | None) -> ResponseReturnValue:
    """The create and edit page: Preview shows the slots and sessions; Save stores them."""
    term = host.term
    form = _form_for(host, opp)
    preview: tuple[SlotPlan, ...] | None = None
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "save")
        form.validate()
        form.ignore_other_shapes()
        schedule = form.schedule_text(term, opp.schedule if opp else None)
        if schedule is not None and not form.has_errors():
            spec = form.spec(schedule)
            ics = opp.schedule_ics if opp is not None and schedule == opp.schedule else None
            try:
                plans = check_spec(term, spec, ics)
                if action != "preview":
                    saved = _save(host, opp, spec)
                    flash(
                        f"Saved {saved.title}: {len(plans)} slot(s)."
                        if opp
                        else f"{saved.title} is posted: {len(plans)} slot(s), open to students.",
                        "success",
                    )
                    return redirect(url_for("host.opportunity", opportunity_id=saved.id))
                preview = plans
            except OpportunityError as error:
                db().rollback()
                form.attach(error)
            except IntegrityError:
                # Another save took the same new code at the same moment; nothing was written.
                db().rollback()
                form.schedule_errors.append("Someone saved at the same moment; save again.")
        if form.has_errors():
            status = 400
    form.pad_rows()
    placed = live_placements(db(), opp) if opp is not None else []
    # Warn before saving if the previewed schedule drops a slot that holds students.
    moves_students = bool(
        preview is not None
        and opp is not None
        and placed
        and not _same_as_stored(opp, preview)
        and _drops_a_placed_slot(placed, preview)
    )
    return render_template(
        "host/edit.html",
        host=host,
        term=term,
        opportunity=opp,
        form=form,
        preview=preview,
        placed=placed,
        moves_students=moves_students,
        keep=KEEP,
        shapes=SHAPES,
    ), status


def _drops_a_placed_slot(placed: list[Placement], plans: tuple[SlotPlan, ...]) -> bool:
    """Whether some placement's slot has no equal among ``plans`` (saving keeps a slot only
    when a plan has the same content: see ``sync_slots``)."""
    wanted = {plan_content(p) for p in plans}
    return any(slot_content(p.slot) not in wanted for p in placed)


def _same_as_stored(opp: Opportunity, plans: tuple[SlotPlan, ...]) -> bool:
    try:
        current = plan_schedule(opp.term, opp.schedule, opp.hours, opp.schedule_ics)
    except ScheduleError:
        return False
    return same_sessions(current, plans)


def _save(host: Host, opp: Opportunity | None, spec: OpportunitySpec) -> Opportunity:
    saved = (
        create_opportunity(db(), host, spec) if opp is None else update_opportunity(db(), opp, spec)
    )
    db().commit()
    return saved


@bp.post("/opportunities/<int:opportunity_id>/close")
def close_opportunity(opportunity_id: int) -> ResponseReturnValue:
    return _set_closed(opportunity_id, True)


@bp.post("/opportunities/<int:opportunity_id>/reopen")
def reopen_opportunity(opportunity_id: int) -> ResponseReturnValue:
    return _set_closed(opportunity_id, False)


def _set_closed(opportunity_id: int, closed: bool) -> ResponseReturnValue:
    opp = my_opportunity(opportunity_id)
    set_closed(opp, closed)
    db().commit()
    flash(
        f"{opp.title} is closed: it takes no new students. Students already placed keep "
        "their places."
        if closed
        else f"{opp.title} is open again: the next placement run can place students in it.",
        "success",
    )
    return redirect(url_for("host.opportunity", opportunity_id=opp.id))


@bp.get("/roster")
def roster_page() -> ResponseReturnValue:
    host = my_host()
    return render_template(
        "host/roster.html", host=host, slots=roster(db(), host), S=PlacementStatus
    )


def _my_placement(placement_id: int) -> Placement:
    placement = host_placement(db(), my_host(), placement_id)
    if placement is None:
        abort(404)
    return placement


def _back(placement: Placement) -> ResponseReturnValue:
    target = safe_next(request.form.get("next")) or url_for(
        "host.opportunity", opportunity_id=placement.slot.opportunity_id
    )
    return redirect(target)


@bp.post("/placements/<int:placement_id>/accept")
def accept(placement_id: int) -> ResponseReturnValue:
    placement = _my_placement(placement_id)
    try:
        accept_placement(placement)
    except ResponseError as error:
        flash(str(error), "error")
    else:
        db().commit()
        flash(f"You accepted {placement.student.name}.", "success")
    return _back(placement)


@bp.route("/placements/<int:placement_id>/decline", methods=["GET", "POST"])
def decline(placement_id: int) -> ResponseReturnValue:
    """GET asks for confirmation (declining cannot be undone here); POST declines."""
    placement = _my_placement(placement_id)
    if request.method == "GET":
        return render_template(
            "host/decline.html",
            placement=placement,
            next=safe_next(request.args.get("next")),
            S=PlacementStatus,
        )
    try:
        decline_placement(db(), placement)
    except ResponseError as error:
        flash(str(error), "error")
    else:
        db().commit()
        flash(
            f"You declined {placement.student.name}. The coordinator will see it, and "
            "they will not be proposed for this opportunity again.",
            "success",
        )
    return _back(placement)


@bp.route("/calendar", methods=["GET", "POST"])
def calendar() -> ResponseReturnValue:
    """The host's calendar subscription link: make one, or replace it (the old one dies)."""
    user = signed_in_user()
    if request.method == "POST":
        had = bool(user.feed_token)
        rotate_feed_token(user)
        db().commit()
        flash(
            "Here is a new link. The old one no longer works: subscribe again with this one."
            if had
            else "Your calendar link is ready.",
            "success",
        )
        return redirect(url_for("host.calendar"))
    url = feed_url(user)
    webcal = "webcal://" + url.split("://", 1)[1] if url else None
    return render_template("host/calendar.html", host=my_host(), url=url, webcal=webcal)

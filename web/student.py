"""Student pages: a student's own choices and placements (and, as they grow, ranking and
the calendar). Every view shows only the signed-in student's rows."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wbl.models import Opportunity, Placement, Preference, Role, Slot, Student
from web.auth import guard, signed_in_user
from web.db import db

bp = Blueprint("student", __name__, url_prefix="/student")
guard(bp, Role.STUDENT)


def my_student() -> Student:
    student = db().get(Student, signed_in_user().student_id)
    assert student is not None  # the account's CHECK constraint and FK keep it there
    return student


@bp.get("/")
def home() -> ResponseReturnValue:
    student = my_student()
    choices = (
        db()
        .scalars(
            select(Preference)
            .where(Preference.student_id == student.id)
            .options(selectinload(Preference.opportunity).selectinload(Opportunity.host))
            .order_by(Preference.rank)
        )
        .all()
    )
    placements = (
        db()
        .scalars(
            select(Placement)
            .where(Placement.student_id == student.id)
            .options(
                selectinload(Placement.slot)
                .selectinload(Slot.opportunity)
                .selectinload(Opportunity.host)
            )
            .order_by(Placement.id)
        )
        .all()
    )
    return render_template(
        "student/home.html", student=student, choices=choices, placements=placements
    )

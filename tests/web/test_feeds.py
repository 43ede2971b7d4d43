"""Calendar feeds parse with icalendar and hold the owner's published sessions only."""

from __future__ import annotations

from collections.abc import Callable

import icalendar
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.web.conftest import Ids
from wbl.models import Placement, PlacementStatus, Slot, User
from web.accounts import rotate_feed_token


def _place(
    app: Flask, ids: Ids, student: str, opportunity_slot: int, status: PlacementStatus
) -> None:
    from web.db import db

    with app.app_context():
        db().add(
            Placement(
                term_id=ids.term,
                student_id=ids.students[student],
                slot_id=opportunity_slot,
                status=status,
            )
        )
        db().commit()


def _slots(app: Flask) -> dict[str, list[int]]:
    from web.db import db

    with app.app_context():
        out: dict[str, list[int]] = {}
        for slot in db().scalars(select(Slot).order_by(Slot.opportunity_id, Slot.position)):
            out.setdefault(slot.opportunity.code, []).append(slot.id)
        return out


def _feed_token(app: Flask, email: str) -> str:
    from web.db import db

    with app.app_context():
        user = db().scalars(select(User).where(User.email == email)).one()
        token = rotate_feed_token(user)
        db().commit()
        return token


def test_feeds_hold_published_sessions_of_their_owner(
    app: Flask, ids: Ids, client_as: Callable[[str], FlaskClient]
) -> None:
    slots = _slots(app)
    _place(app, ids, "S2", slots["O2"][0], PlacementStatus.PUBLISHED)  # weekly internship, H2
    _place(app, ids, "S1", slots["O1"][0], PlacementStatus.PROPOSED)  # not published yet
    student = _feed_token(app, "ben@example.org")
    host = _feed_token(app, "h2@example.org")
    visitor = client_as("anonymous")

    answer = visitor.get(f"/feeds/{student}.ics")
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    events = icalendar.Calendar.from_ical(answer.data).walk("VEVENT")
    # Tue and Thu 13:30-16:30 from 2027-02-01 to 2027-04-30: 26 sessions.
    assert len(events) == 26
    assert all(
        str(e["SUMMARY"]) == "Robotics Assembly Intern at Front Range Robotics, Inc."
        for e in events
    )
    first = min(e.decoded("DTSTART") for e in events)
    assert first.isoformat() == "2027-02-02T13:30:00-07:00"

    host_events = icalendar.Calendar.from_ical(visitor.get(f"/feeds/{host}.ics").data).walk(
        "VEVENT"
    )
    assert len(host_events) == 26 and "Ben Okafor" in str(host_events[0]["SUMMARY"])

    ana = _feed_token(app, "ana@example.org")
    assert icalendar.Calendar.from_ical(visitor.get(f"/feeds/{ana}.ics").data).walk("VEVENT") == []


def test_feeds_revoked_secret_stops_working(
    app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    old = _feed_token(app, "h1@example.org")
    visitor = client_as("anonymous")
    assert visitor.get(f"/feeds/{old}.ics").status_code == 200
    new = _feed_token(app, "h1@example.org")
    assert visitor.get(f"/feeds/{old}.ics").status_code == 404
    assert visitor.get(f"/feeds/{new}.ics").status_code == 200

"""Student pages on the tiny term: the opportunities a student can take (filters, the ruled-out
ones with their reasons on request), ranking by plain forms and by the JSON API with all its
refusals, accepting and declining a published placement, the calendar link, and that student A
never sees or changes student B's rows.

Ana (student_a, S1) can take nothing in the tiny term: she is 16, has no work permit, and her
release windows are Tue and Thu afternoons; her imported ranking is O1 then O2. Ben (student_b,
S2) can take all three opportunities and ranked O2 and O3 (both 1).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.web.conftest import Ids, csrf_of
from wbl.models import (
    Opportunity,
    Party,
    Placement,
    PlacementStatus,
    Preference,
    Slot,
    Term,
    User,
)

Client = Callable[[str], FlaskClient]


# --- helpers ------------------------------------------------------------------------------------


def _opps(app: Flask) -> dict[str, int]:
    from web.db import db

    with app.app_context():
        return {o.code: o.id for o in db().scalars(select(Opportunity))}


def _ranking(app: Flask, ids: Ids, student: str) -> list[tuple[str, int]]:
    from web.db import db

    with app.app_context():
        rows = db().scalars(
            select(Preference)
            .where(Preference.student_id == ids.students[student])
            .order_by(Preference.rank, Preference.opportunity_id)
        )
        return [(p.opportunity.code, p.rank) for p in rows]


def _place(app: Flask, ids: Ids, student: str, opp: str, status: PlacementStatus) -> int:
    from web.db import db

    with app.app_context():
        slot = (
            db().scalars(select(Slot).join(Slot.opportunity).where(Opportunity.code == opp)).first()
        )
        assert slot is not None
        placement = Placement(
            term_id=ids.term, student_id=ids.students[student], slot_id=slot.id, status=status
        )
        db().add(placement)
        db().commit()
        return placement.id


def _placement(app: Flask, placement_id: int) -> tuple[PlacementStatus, Party | None]:
    from web.db import db

    with app.app_context():
        placement = db().get(Placement, placement_id)
        assert placement is not None
        return placement.status, placement.declined_by


def _set_rules(app: Flask, **changes: Any) -> None:
    import dataclasses

    from web.db import db

    with app.app_context():
        term = db().scalars(select(Term)).one()
        term.rules = dataclasses.replace(term.rules, **changes)
        db().commit()


def _items(page: str, css_class: str) -> list[str]:
    """The ``data-opportunity-id`` of every ``<li>`` carrying ``css_class``, in page order."""
    pattern = rf'<li class="[^"]*\b{css_class}\b[^"]*"[^>]*data-opportunity-id="(\d+)"'
    return re.findall(pattern, page)


BLOCK = re.compile(r"</?(?:p|div|li|ul|ol|h\d|dl|dt|dd|details|summary|nav|form|option)\b[^>]*>")


def _text(page: str) -> str:
    """The page's text as read: block tags become spaces, inline tags vanish, whitespace is
    squeezed."""
    text = re.sub(r"<[^>]+>", "", BLOCK.sub(" ", page))
    return " ".join(html.unescape(text).split())


def _post(client: FlaskClient, url: str, **data: Any) -> Any:
    token = csrf_of(client.get("/student/ranking").text)
    return client.post(url, data={**data, "csrf_token": token})


def _no_inline_code(page: str) -> None:
    # The CSP forbids inline script and style: nothing on the page may rely on them.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\s(style|on[a-z]+)=", page)


# --- opportunities ------------------------------------------------------------------------------


def test_student_opportunities_lists_what_the_student_can_take(
    app: Flask, client_as: Client
) -> None:
    opps = _opps(app)
    page = client_as("student_b").get("/student/opportunities")
    assert page.status_code == 200
    _no_inline_code(page.text)
    # Nearest first: the remote project, the dental office (9 min by car), the robotics shop.
    assert _items(page.text, "can-take") == [str(opps[c]) for c in ("O3", "O1", "O2")]
    text = _text(page.text)
    assert "3 you can take." in text
    assert "Dental Office Shadow Job shadow · Platte River Dental Group · Health Science" in text
    assert "Travel 9 min by car" in text and "Travel 13 min by car" in text
    assert "Travel remote" in text
    assert "Tue, Thu 13:30–16:30, Tue 2 Feb to Thu 29 Apr 2027 (26 sessions)" in text
    assert "Pick one of 2 dates: Wed 10 Feb 2027, 09:00–12:00 Wed 17 Feb 2027, 09:00–12:00" in text
    # Ben ranked O2 and O3; O1 can be added.
    assert "In your ranking: number 1." in text
    assert text.count("Add to my ranking") == 1


def test_student_opportunities_hides_the_ruled_out_ones_until_asked(
    app: Flask, client_as: Client
) -> None:
    opps = _opps(app)
    ana = client_as("student_a")
    page = ana.get("/student/opportunities")
    assert page.status_code == 200
    assert _items(page.text, "opportunity") == []
    text = _text(page.text)
    assert "0 you can take, 3 you can't (show them, and why)." in text
    assert "None of these fit you right now." in text
    assert 'href="/student/opportunities?ruled_out=y"' in page.text

    shown = ana.get("/student/opportunities?ruled_out=y")
    assert shown.status_code == 200
    assert sorted(_items(shown.text, "ruled-out")) == sorted(str(v) for v in opps.values())
    assert '<input checked id="ruled_out" name="ruled_out" type="checkbox" value="y">' in shown.text
    text = _text(shown.text)
    assert (
        "Robotics Assembly Intern Internship · Front Range Robotics, Inc. · Manufacturing" in text
    )
    assert (
        "You can't take this: no work permit host mentor not background-checked (student is a "
        "minor) It is number 2 in your ranking." in text
    )
    assert "session Wed 2027-02-10 09:00 (with 12 min travel from 08:48) outside release" in text
    assert "Add to my ranking" not in text


def test_student_opportunities_filter_by_kind_and_cluster(app: Flask, client_as: Client) -> None:
    opps = _opps(app)
    ben = client_as("student_b")
    page = ben.get("/student/opportunities?kind=internship")
    assert _items(page.text, "opportunity") == [str(opps["O2"])]
    assert '<option selected value="internship">Internship</option>' in page.text
    page = ben.get("/student/opportunities?cluster=Health+Science")
    assert _items(page.text, "opportunity") == [str(opps["O1"])]
    page = ben.get("/student/opportunities?kind=job_shadow&cluster=Manufacturing")
    assert _items(page.text, "opportunity") == []
    assert "Nothing matches these filters." in _text(page.text)
    # The cluster list holds the term's clusters.
    assert '<option value="Health Science">Health Science</option>' in page.text


def test_student_opportunities_sorted_by_title(app: Flask, client_as: Client) -> None:
    opps = _opps(app)
    page = client_as("student_b").get("/student/opportunities?sort=title")
    assert _items(page.text, "opportunity") == [str(opps[c]) for c in ("O3", "O1", "O2")]
    assert '<option selected value="title">By title</option>' in page.text


def test_student_opportunities_pages(
    app: Flask, client_as: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import web.student

    monkeypatch.setattr(web.student, "PAGE_SIZE", 2)
    opps = _opps(app)
    ben = client_as("student_b")
    first = ben.get("/student/opportunities?sort=title")
    assert _items(first.text, "opportunity") == [str(opps["O3"]), str(opps["O1"])]
    assert "Showing 1 to 2 of 3." in _text(first.text)
    # The next page keeps the filters.
    assert 'href="/student/opportunities?page=2&amp;sort=title" rel="next"' in first.text
    second = ben.get("/student/opportunities?page=2&sort=title")
    assert _items(second.text, "opportunity") == [str(opps["O2"])]
    assert "Page 2 of 2" in _text(second.text) and 'rel="prev"' in second.text
    # An old or made-up page number shows the nearest page there is.
    assert _items(ben.get("/student/opportunities?page=99&sort=title").text, "opportunity") == [
        str(opps["O2"])
    ]
    assert _items(ben.get("/student/opportunities?page=x&sort=title").text, "opportunity") == [
        str(opps["O3"]),
        str(opps["O1"]),
    ]


def test_student_opportunities_bad_filter_is_a_400_at_the_field(client_as: Client) -> None:
    page = client_as("student_b").get("/student/opportunities?kind=apprenticeship&cluster=x")
    assert page.status_code == 400
    assert page.text.count("Not a valid choice.") == 2
    assert 'aria-invalid="true"' in page.text


# --- ranking by plain forms ---------------------------------------------------------------------


def test_student_ranking_by_plain_forms(app: Flask, ids: Ids, client_as: Client) -> None:
    opps = _opps(app)
    ben = client_as("student_b")
    page = ben.get("/student/ranking")
    _no_inline_code(page.text)
    assert '<script src="/static/rank.js" defer>' in page.text
    assert _items(page.text, "choice") == [str(opps["O3"]), str(opps["O2"])]

    back = "/student/opportunities?kind=job_shadow#opportunity-1"
    added = _post(ben, "/student/ranking", opportunity_id=opps["O1"], action="add", next=back)
    assert added.status_code == 302 and added.location == back
    assert _ranking(app, ids, "S2") == [("O3", 1), ("O2", 2), ("O1", 3)]
    assert "“Dental Office Shadow” is number 3 in your ranking." in _text(ben.get(back).text)

    up = _post(ben, "/student/ranking", opportunity_id=opps["O1"], action="up")
    assert up.status_code == 302 and up.location == f"/student/ranking#choice-{opps['O1']}"
    assert _ranking(app, ids, "S2") == [("O3", 1), ("O1", 2), ("O2", 3)]
    assert "Moved “Dental Office Shadow” to number 2." in _text(ben.get("/student/ranking").text)
    _post(ben, "/student/ranking", opportunity_id=opps["O3"], action="down")
    assert _ranking(app, ids, "S2") == [("O1", 1), ("O3", 2), ("O2", 3)]
    removed = _post(ben, "/student/ranking", opportunity_id=opps["O3"], action="remove")
    assert removed.status_code == 302
    assert _ranking(app, ids, "S2") == [("O1", 1), ("O2", 2)]
    page = ben.get("/student/ranking")
    assert "Removed “CAD Cleanup Project” from your ranking." in _text(page.text)
    # The ends: the first item cannot move up, the last cannot move down.
    assert re.search(r'aria-label="Move Dental Office Shadow up" disabled', page.text)
    assert re.search(r'aria-label="Move Robotics Assembly Intern down" disabled', page.text)
    assert not re.search(r'aria-label="Move Dental Office Shadow down" disabled', page.text)


def test_student_ranking_form_refusals_change_nothing(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    opps = _opps(app)
    ana = client_as("student_a")
    before = _ranking(app, ids, "S1")
    # She cannot take O3 (a minor and an unchecked mentor): refused, with the reason.
    page = _post(ana, "/student/ranking", opportunity_id=opps["O3"], action="add")
    assert page.status_code == 400
    assert (
        "You cannot take “CAD Cleanup Project”: host mentor not background-checked "
        "(student is a minor)." in _text(page.text)
    )
    # Not in her ranking, no such opportunity, no such action, nothing at all.
    assert _post(ana, "/student/ranking", opportunity_id=opps["O3"], action="up").status_code == 404
    assert _post(ana, "/student/ranking", opportunity_id=2**31 - 1, action="add").status_code == 404
    assert _post(ana, "/student/ranking", opportunity_id=2**40, action="add").status_code == 400
    bad = _post(ana, "/student/ranking", opportunity_id=opps["O1"], action="delete-all")
    assert bad.status_code == 400 and "Unknown action." in bad.text
    assert _post(ana, "/student/ranking").status_code == 400
    assert _ranking(app, ids, "S1") == before


def test_student_ranking_limit(app: Flask, ids: Ids, client_as: Client) -> None:
    _set_rules(app, max_choices=2)
    opps = _opps(app)
    ben = client_as("student_b")
    page = ben.get("/student/opportunities")
    assert "Your ranking is full (2)." in _text(page.text) and "Add to my ranking" not in page.text
    refused = _post(ben, "/student/ranking", opportunity_id=opps["O1"], action="add")
    assert refused.status_code == 400
    assert "You can rank at most 2 opportunities." in refused.text
    assert _ranking(app, ids, "S2") == [("O2", 1), ("O3", 1)]


def test_student_ranking_page_shows_ranked_ones_now_ruled_out(client_as: Client) -> None:
    text = _text(client_as("student_a").get("/student/ranking").text)
    assert (
        "1 Dental Office Shadow Job shadow · Platte River Dental Group · 12 min by transit" in text
    )
    assert (
        "Internship · Front Range Robotics, Inc. · 21 min by transit You can't take this any "
        "more: no work permit; host mentor not background-checked (student is a minor). It "
        "stays in your list until you remove it." in text
    )


# --- ranking through the JSON API ---------------------------------------------------------------


def test_student_api_saves_the_order(app: Flask, ids: Ids, client_as: Client) -> None:
    opps = _opps(app)
    ben = client_as("student_b")
    order = [opps["O1"], opps["O3"], opps["O2"]]
    answer = ben.put("/api/rankings", json={"opportunities": order})
    assert answer.status_code == 200
    assert answer.json == {"opportunities": order, "limit": 10}
    assert _ranking(app, ids, "S2") == [("O1", 1), ("O3", 2), ("O2", 3)]
    page = ben.get("/student/ranking")
    assert f'data-order="{",".join(map(str, order))}"' in page.text
    assert _ranking(app, ids, "S1") == [("O1", 1), ("O2", 2)]  # Ana's untouched


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"opportunities": "1,2"}, 'Send {"opportunities": [id, ...]}'),
        ({"opportunities": [1.0]}, 'Send {"opportunities": [id, ...]}'),
        ({"opportunities": [True]}, 'Send {"opportunities": [id, ...]}'),
        ({"order": []}, 'Send {"opportunities": [id, ...]}'),
        ([1, 2], 'Send {"opportunities": [id, ...]}'),
        ({"opportunities": [0]}, "There is no opportunity 0 in your term."),
        ({"opportunities": [10**30]}, f"There is no opportunity {10**30} in your term."),
        ({"opportunities": [999999]}, "There is no opportunity 999999 in your term."),
        ({"opportunities": list(range(1, 10_000))}, "You can rank at most 10 opportunities."),
    ],
)
def test_student_api_refuses_bad_bodies(
    app: Flask, ids: Ids, client_as: Client, body: Any, message: str
) -> None:
    answer = client_as("student_b").put("/api/rankings", json=body)
    assert answer.status_code == 400
    assert answer.json is not None and answer.json["error"].startswith(message)
    assert _ranking(app, ids, "S2") == [("O2", 1), ("O3", 1)]


def test_student_api_refuses_what_breaks_the_rules(app: Flask, ids: Ids, client_as: Client) -> None:
    opps = _opps(app)
    ben, ana = client_as("student_b"), client_as("student_a")
    dupes = ben.put("/api/rankings", json={"opportunities": [opps["O2"], opps["O2"]]})
    assert dupes.status_code == 400
    assert dupes.json == {"error": "“Robotics Assembly Intern” is in the list twice."}
    cannot = ana.put("/api/rankings", json={"opportunities": [opps["O3"]]})
    assert cannot.status_code == 400
    assert cannot.json == {
        "error": "You cannot take “CAD Cleanup Project”: host mentor not background-checked "
        "(student is a minor)."
    }
    _set_rules(app, max_choices=2)
    full = ben.put("/api/rankings", json={"opportunities": [opps["O1"], opps["O2"], opps["O3"]]})
    assert full.status_code == 400
    assert full.json == {"error": "You can rank at most 2 opportunities."}
    # A form post, not JSON: a page elsewhere could send that, so it is refused.
    form = ben.put("/api/rankings", data={"opportunities": str(opps["O1"])})
    assert form.status_code == 415
    assert _ranking(app, ids, "S2") == [("O2", 1), ("O3", 1)]
    assert _ranking(app, ids, "S1") == [("O1", 1), ("O2", 2)]


def test_student_api_other_visitors(client_as: Client) -> None:
    body = {"opportunities": []}
    answer = client_as("anonymous").put("/api/rankings", json=body)
    assert answer.status_code == 401 and answer.json == {"error": "sign in first"}
    for role in ("coordinator", "host_a"):
        assert client_as(role).put("/api/rankings", json=body).status_code == 403


def test_student_api_keeps_a_ranked_one_that_is_now_ruled_out(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    # Ana may reorder her imported ranking, though she cannot take either: it is hers, and
    # the coordinator's explanation of the solve names the reason.
    opps = _opps(app)
    answer = client_as("student_a").put(
        "/api/rankings", json={"opportunities": [opps["O2"], opps["O1"]]}
    )
    assert answer.status_code == 200
    assert _ranking(app, ids, "S1") == [("O2", 1), ("O1", 2)]


# --- placements ---------------------------------------------------------------------------------


def test_student_home_before_anything_is_published(app: Flask, ids: Ids, client_as: Client) -> None:
    _place(app, ids, "S2", "O2", PlacementStatus.PROPOSED)
    page = client_as("student_b").get("/student/")
    assert page.status_code == 200
    _no_inline_code(page.text)
    text = _text(page.text)
    assert "Your coordinator is still working on placements." in text
    assert "data-placement-id" not in page.text and "Offered to you" not in text
    assert "You ranked 2 of up to 10 opportunities." in text


def test_student_sees_and_accepts_a_published_placement(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    pid = _place(app, ids, "S2", "O1", PlacementStatus.PUBLISHED)
    ben = client_as("student_b")
    page = ben.get("/student/")
    assert f'data-placement-id="{pid}" data-status="published"' in page.text
    text = _text(page.text)
    assert "Dental Office Shadow Offered to you. Please accept it" in text
    assert (
        "Host Platte River Dental Group Where 1701 Wynkoop St, Denver, CO 80202 Kind Job shadow "
        "When Wed 10 Feb 2027, 09:00–12:00 Travel 9 min by car" in text
    )
    assert "Times are America/Denver time." in text
    accepted = _post(ben, f"/student/placements/{pid}/accept")
    assert accepted.status_code == 302 and accepted.location == f"/student/#placement-{pid}"
    assert _placement(app, pid) == (PlacementStatus.CONFIRMED, None)
    text = _text(ben.get("/student/").text)
    assert "You accepted Dental Office Shadow at Platte River Dental Group." in text
    assert "Accepted. It is in your calendar." in text


def test_student_declines_after_confirming_on_a_page(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    pid = _place(app, ids, "S2", "O2", PlacementStatus.PUBLISHED)
    ben = client_as("student_b")
    confirm = ben.get(f"/student/placements/{pid}/decline")
    assert confirm.status_code == 200
    text = _text(confirm.text)
    assert "Decline this placement?" in text and "Yes, decline it" in text
    assert "Tue, Thu 13:30–16:30, Tue 2 Feb to Thu 29 Apr 2027 (26 sessions)" in text
    assert "All 26 sessions" in text and "Thu 29 Apr 2027, 13:30–16:30" in text
    assert _placement(app, pid) == (PlacementStatus.PUBLISHED, None)  # looking changes nothing
    declined = ben.post(
        f"/student/placements/{pid}/decline", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert declined.status_code == 302
    assert _placement(app, pid) == (PlacementStatus.DECLINED, Party.STUDENT)
    page = ben.get("/student/")
    assert "You declined this placement." in _text(page.text)
    assert "Your coordinator is still working on placements." in _text(page.text)
    # Declined already: the confirmation page sends him back, and accepting is refused.
    back = ben.get(f"/student/placements/{pid}/decline")
    assert back.status_code == 302 and back.location == f"/student/#placement-{pid}"
    again = _post(ben, f"/student/placements/{pid}/accept")
    assert again.status_code == 400 and "ask your coordinator" in again.text
    assert _placement(app, pid) == (PlacementStatus.DECLINED, Party.STUDENT)


def test_student_placement_actions_need_the_csrf_token(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    pid = _place(app, ids, "S2", "O2", PlacementStatus.PUBLISHED)
    ben = client_as("student_b")
    assert ben.post(f"/student/placements/{pid}/accept").status_code == 400
    assert ben.post(f"/student/placements/{pid}/decline").status_code == 400
    assert _placement(app, pid) == (PlacementStatus.PUBLISHED, None)


def test_student_cannot_see_or_change_another_students_rows(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    published = _place(app, ids, "S2", "O2", PlacementStatus.PUBLISHED)
    proposed = _place(app, ids, "S2", "O1", PlacementStatus.PROPOSED)
    ana, ben = client_as("student_a"), client_as("student_b")
    for pid in (published, proposed):
        assert ana.get(f"/student/placements/{pid}/decline").status_code == 404
        assert _post(ana, f"/student/placements/{pid}/accept").status_code == 404
        assert _post(ana, f"/student/placements/{pid}/decline").status_code == 404
    # Ben's own proposed placement is not his to act on yet either.
    assert _post(ben, f"/student/placements/{proposed}/accept").status_code == 404
    assert _placement(app, published) == (PlacementStatus.PUBLISHED, None)
    assert _placement(app, proposed) == (PlacementStatus.PROPOSED, None)
    # Nothing of Ben's shows on Ana's pages: his placement, his ranking, his name.
    for url in ("/student/", "/student/ranking", "/student/opportunities?ruled_out=y"):
        page = ana.get(url).text
        assert f"placement-{published}" not in page and "Ben" not in page
    opps = _opps(app)
    ranking = ana.get("/student/ranking").text
    assert _items(ranking, "choice") == [str(opps["O1"]), str(opps["O2"])]  # hers, not his
    # Moving an opportunity that is only in Ben's ranking: not hers, so 404, and his stays.
    theirs = _post(ana, "/student/ranking", opportunity_id=opps["O3"], action="remove")
    assert theirs.status_code == 404
    assert _ranking(app, ids, "S2") == [("O2", 1), ("O3", 1)]


# --- calendar -----------------------------------------------------------------------------------


def _token(app: Flask, email: str) -> str | None:
    from web.db import db

    with app.app_context():
        return db().scalars(select(User.feed_token).where(User.email == email)).one()


def test_student_calendar_link_create_replace_revoke(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    _place(app, ids, "S2", "O2", PlacementStatus.CONFIRMED)
    ben, visitor = client_as("student_b"), client_as("anonymous")
    page = ben.get("/student/calendar")
    assert page.status_code == 200 and 'id="no-feed"' in page.text
    _no_inline_code(page.text)

    created = ben.post("/student/calendar", data={"csrf_token": csrf_of(page.text)})
    assert created.status_code == 302
    first = _token(app, "ben@example.org")
    assert first
    page = ben.get("/student/calendar")
    assert f'value="http://localhost/feeds/{first}.ics"' in page.text
    assert "Add Subscribed Calendar" in page.text and "Your calendar link is ready." in page.text
    feed = visitor.get(f"/feeds/{first}.ics")
    assert feed.status_code == 200
    assert len(icalendar.Calendar.from_ical(feed.data).walk("VEVENT")) == 26

    ben.post("/student/calendar", data={"csrf_token": csrf_of(page.text)})
    second = _token(app, "ben@example.org")
    assert second and second != first
    assert visitor.get(f"/feeds/{first}.ics").status_code == 404
    assert visitor.get(f"/feeds/{second}.ics").status_code == 200

    revoked = ben.post("/student/calendar/revoke", data={"csrf_token": csrf_of(page.text)})
    assert revoked.status_code == 302
    assert _token(app, "ben@example.org") is None
    assert visitor.get(f"/feeds/{second}.ics").status_code == 404
    assert "Your calendar link is turned off." in _text(ben.get("/student/calendar").text)
    assert _token(app, "ana@example.org") is None  # Ana's account untouched throughout

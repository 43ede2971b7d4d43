"""A term's results and placements: coordinators only. The placement routes are asked about
Ben's published placement of the fixture (test_placements.py checks a placement of another
term answers 404)."""

from __future__ import annotations

from tests.web.routes import Route, only

C = "coordinator"
T = "/coordinator/terms/<int:term_id>"


def _term(path: str):  # type: ignore[no-untyped-def]
    return lambda i: f"/coordinator/terms/{i.term}{path}"


def _term_placement(action: str):  # type: ignore[no-untyped-def]
    return lambda i: f"/coordinator/terms/{i.term}/placements/{i.placement}{action}"


ROUTES = [
    Route(f"{T}/results", "GET", _term("/results"), only({C: 200})),
    Route(f"{T}/placements", "GET", _term("/placements?sort=travel&dir=desc"), only({C: 200})),
    Route(f"{T}/unplaced", "GET", _term("/unplaced"), only({C: 200})),
    Route(f"{T}/placements/<int:placement_id>/pin", "POST",
          _term_placement("/pin"), only({C: 302}), data={"pinned": "1"}),
    Route(f"{T}/placements/<int:placement_id>/move", "GET",
          _term_placement("/move"), only({C: 200})),
    Route(f"{T}/placements/<int:placement_id>/move", "POST",
          _term_placement("/move"), only({C: 302}), data={"slot": "1"}),
    Route(f"{T}/placements/<int:placement_id>/withdraw", "GET",
          _term_placement("/withdraw"), only({C: 200})),
    Route(f"{T}/placements/<int:placement_id>/withdraw", "POST",
          _term_placement("/withdraw"), only({C: 302})),
    Route(f"{T}/students/<int:student_id>/place", "GET",
          lambda i: f"/coordinator/terms/{i.term}/students/{i.students['S3']}/place",
          only({C: 200})),
    # No slot chosen: the form comes back with the error at the field.
    Route(f"{T}/students/<int:student_id>/place", "POST",
          lambda i: f"/coordinator/terms/{i.term}/students/{i.students['S3']}/place",
          only({C: 400})),
    Route(f"{T}/publish", "GET", _term("/publish"), only({C: 200})),
    # Without the count the publish page shows, nothing is published.
    Route(f"{T}/publish", "POST", _term("/publish"), only({C: 400})),
    Route(f"{T}/export/<name>", "GET", _term("/export/placements.csv"), only({C: 200})),
    Route(f"{T}/export/<name>", "GET", _term("/export/unplaced.csv"), only({C: 200})),
    Route(f"{T}/export/<name>", "GET", _term("/export/calendars.zip"), only({C: 200})),
    Route(f"{T}/export/<name>", "GET", _term("/export/report.html"), only({C: 200})),
    Route(f"{T}/export/<name>", "GET", _term("/export/bundle.zip"), only({C: 200})),
    Route(f"{T}/export/<name>", "GET", _term("/export/secrets.txt"), only({C: 404})),
]  # fmt: skip

"""Student pages: student accounts only (hosts and the coordinator get 403); each student sees
and changes only their own rows. The placement rows ask about Ben's (student_b's)
published placement: student_a gets 404."""

from __future__ import annotations

from tests.web.routes import Route, only

BOTH = ("student_a", "student_b")


def students(answer: int) -> dict:
    return only(dict.fromkeys(BOTH, answer))


ROUTES = [
    Route("/student/", "GET", lambda i: "/student/", students(200)),
    Route("/student/opportunities", "GET", lambda i: "/student/opportunities", students(200)),
    Route("/student/ranking", "GET", lambda i: "/student/ranking", students(200)),
    # No opportunity and action: the form is refused.
    Route("/student/ranking", "POST", lambda i: "/student/ranking", students(400)),
    Route("/student/placements/<int:placement_id>/accept", "POST",
          lambda i: f"/student/placements/{i.placement}/accept",
          only({"student_a": 404, "student_b": 302})),
    Route("/student/placements/<int:placement_id>/decline", "GET",
          lambda i: f"/student/placements/{i.placement}/decline",
          only({"student_a": 404, "student_b": 200})),
    Route("/student/placements/<int:placement_id>/decline", "POST",
          lambda i: f"/student/placements/{i.placement}/decline",
          only({"student_a": 404, "student_b": 302})),
    Route("/student/calendar", "GET", lambda i: "/student/calendar", students(200)),
    Route("/student/calendar", "POST", lambda i: "/student/calendar", students(302)),
    Route("/student/calendar/revoke", "POST", lambda i: "/student/calendar/revoke",
          students(302)),
]  # fmt: skip

"""The JSON API: 401 rather than a redirect for a visitor who is not signed in."""

from __future__ import annotations

from tests.web.routes import Route, only

ROUTES = [
    Route("/api/runs/<int:run_id>", "GET", lambda i: f"/api/runs/{i.run}",
          only({"coordinator": 200}, anonymous=401)),
    # An empty ranking is a valid one: each student clears their own.
    Route("/api/rankings", "PUT", lambda i: "/api/rankings",
          only({"student_a": 200, "student_b": 200}, anonymous=401),
          data={"opportunities": []}, json=True),
]  # fmt: skip

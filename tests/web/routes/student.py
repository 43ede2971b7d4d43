"""Student pages: student accounts only; each sees their own rows."""

from __future__ import annotations

from tests.web.routes import Route, only

ROUTES = [
    Route("/student/", "GET", lambda i: "/student/", only({"student_a": 200, "student_b": 200})),
]

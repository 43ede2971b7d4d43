"""The JSON API: 401 rather than a redirect for a visitor who is not signed in."""

from __future__ import annotations

from tests.web.routes import Route, only

ROUTES = [
    Route("/api/runs/<int:run_id>", "GET", lambda i: f"/api/runs/{i.run}",
          only({"coordinator": 200}, anonymous=401)),
]  # fmt: skip

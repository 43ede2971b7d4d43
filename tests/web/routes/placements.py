"""A term's placements: coordinators only."""

from __future__ import annotations

from tests.web.routes import Route, only

ROUTES = [
    Route("/coordinator/terms/<int:term_id>/placements", "GET",
          lambda i: f"/coordinator/terms/{i.term}/placements", only({"coordinator": 200})),
]  # fmt: skip

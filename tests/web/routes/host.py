"""Host pages: host accounts only; each sees and changes only its own rows.

host_a is H1 (O1, a dated job shadow) and host_b is H2 (O2, O3), so host_b asking for O1 gets
404. POSTs run for each visitor in turn on one database: host_a closes O1 before host_b tries.
The placement routes ask about Ben's published placement in host_b's O3: host_a gets 404.
"""

from __future__ import annotations

from tests.web.conftest import Ids
from tests.web.routes import Route, only


def opp(i: Ids, code: str) -> int:
    """The id of the tiny term's opportunity ``code``."""
    return i.opportunities[code]


A = {"host_a": 200, "host_b": 200}

ROUTES = [
    Route("/host/", "GET", lambda i: "/host/", only(A)),
    Route("/host/opportunities/new", "GET", lambda i: "/host/opportunities/new", only(A)),
    # An empty form: the hosts get it back with the errors at the fields.
    Route("/host/opportunities/new", "POST", lambda i: "/host/opportunities/new",
          only({"host_a": 400, "host_b": 400})),
    Route("/host/opportunities/<int:opportunity_id>", "GET",
          lambda i: f"/host/opportunities/{opp(i, 'O1')}", only({"host_a": 200, "host_b": 404})),
    Route("/host/opportunities/<int:opportunity_id>/edit", "GET",
          lambda i: f"/host/opportunities/{opp(i, 'O2')}/edit",
          only({"host_a": 404, "host_b": 200})),
    Route("/host/opportunities/<int:opportunity_id>/edit", "POST",
          lambda i: f"/host/opportunities/{opp(i, 'O1')}/edit",
          only({"host_a": 400, "host_b": 404})),
    Route("/host/opportunities/<int:opportunity_id>/close", "POST",
          lambda i: f"/host/opportunities/{opp(i, 'O1')}/close",
          only({"host_a": 302, "host_b": 404})),
    Route("/host/opportunities/<int:opportunity_id>/reopen", "POST",
          lambda i: f"/host/opportunities/{opp(i, 'O3')}/reopen",
          only({"host_a": 404, "host_b": 302})),
    Route("/host/roster", "GET", lambda i: "/host/roster", only(A)),
    Route("/host/placements/<int:placement_id>/accept", "POST",
          lambda i: f"/host/placements/{i.placement}/accept",
          only({"host_a": 404, "host_b": 302})),
    Route("/host/placements/<int:placement_id>/decline", "GET",
          lambda i: f"/host/placements/{i.placement}/decline",
          only({"host_a": 404, "host_b": 200})),
    Route("/host/placements/<int:placement_id>/decline", "POST",
          lambda i: f"/host/placements/{i.placement}/decline",
          only({"host_a": 404, "host_b": 302})),
    Route("/host/calendar", "GET", lambda i: "/host/calendar", only(A)),
    Route("/host/calendar", "POST", lambda i: "/host/calendar",
          only({"host_a": 302, "host_b": 302})),
]  # fmt: skip

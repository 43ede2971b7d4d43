"""Host pages: host accounts only; each sees its own rows."""

from __future__ import annotations

from tests.web.routes import Route, only

ROUTES = [
    Route("/host/", "GET", lambda i: "/host/", only({"host_a": 200, "host_b": 200})),
]

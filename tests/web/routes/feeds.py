"""Calendar feeds: no sign-in; the secret in the URL is the key (a wrong one is 404)."""

from __future__ import annotations

from tests.web.routes import Route, everyone

ROUTES = [
    Route("/feeds/<token>.ics", "GET", lambda i: "/feeds/not-a-secret.ics", everyone(404)),
]

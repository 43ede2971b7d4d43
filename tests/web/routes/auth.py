"""Sign-in pages: open to everyone (a signed-in visitor may still switch accounts)."""

from __future__ import annotations

from tests.web.routes import Route, everyone

ROUTES = [
    Route("/", "GET", lambda i: "/", {
        "anonymous": 302, "coordinator": 302, "host_a": 302, "host_b": 302,
        "student_a": 302, "student_b": 302,
    }),
    Route("/login", "GET", lambda i: "/login", everyone(200)),
    Route("/login", "POST", lambda i: "/login", everyone(400)),  # no credentials
    Route("/logout", "POST", lambda i: "/logout", everyone(302)),
    Route("/reset", "GET", lambda i: "/reset", everyone(200)),
    Route("/reset", "POST", lambda i: "/reset", everyone(400)),  # no email
    Route("/invite/<token>", "GET", lambda i: "/invite/forged", everyone(400)),
    Route("/invite/<token>", "POST", lambda i: "/invite/forged", everyone(400)),
    Route("/reset/<token>", "GET", lambda i: "/reset/forged", everyone(400)),
    Route("/reset/<token>", "POST", lambda i: "/reset/forged", everyone(400)),
    Route("/static/<path:filename>", "GET", lambda i: "/static/site.css", everyone(200)),
]  # fmt: skip

"""Coordinator pages: coordinators only; hosts and students get 403."""

from __future__ import annotations

from tests.web.routes import Route, only

C = "coordinator"

ROUTES = [
    Route("/coordinator/", "GET", lambda i: "/coordinator/", only({C: 200})),
    Route("/coordinator/terms/<int:term_id>", "GET",
          lambda i: f"/coordinator/terms/{i.term}", only({C: 200})),
    Route("/coordinator/terms/<int:term_id>/people", "GET",
          lambda i: f"/coordinator/terms/{i.term}/people", only({C: 200})),
    Route("/coordinator/terms/<int:term_id>/invite/<kind>/<int:ref_id>", "GET",
          lambda i: f"/coordinator/terms/{i.term}/invite/student/{i.students['S3']}",
          only({C: 200})),
    Route("/coordinator/terms/<int:term_id>/invite/<kind>/<int:ref_id>", "POST",
          lambda i: f"/coordinator/terms/{i.term}/invite/student/{i.students['S3']}",
          only({C: 200}), data={"email": "cai@example.org"}),
    Route("/coordinator/invite", "GET", lambda i: "/coordinator/invite", only({C: 200})),
    Route("/coordinator/invite", "POST", lambda i: "/coordinator/invite", only({C: 400})),
    Route("/coordinator/users/<int:user_id>/link", "POST",
          lambda i: f"/coordinator/users/{i.users['host_b']}/link", only({C: 200})),
    Route("/coordinator/users/<int:user_id>/active", "POST",
          lambda i: f"/coordinator/users/{i.users['host_b']}/active", only({C: 302}),
          data={"active": "1"}),
]  # fmt: skip

"""Coordinator pages (terms, dashboard, upload, solve, people): coordinators only; hosts and
students get 403."""

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
    # No file: the form's 400 (a real upload is in test_coordinator.py).
    Route("/coordinator/upload", "GET", lambda i: "/coordinator/upload", only({C: 200})),
    Route("/coordinator/upload", "POST", lambda i: "/coordinator/upload", only({C: 400})),
    # An empty form: its 400, so the matrix starts no background solve (see test_solves.py).
    Route("/coordinator/terms/<int:term_id>/solve", "GET",
          lambda i: f"/coordinator/terms/{i.term}/solve", only({C: 200})),
    Route("/coordinator/terms/<int:term_id>/solve", "POST",
          lambda i: f"/coordinator/terms/{i.term}/solve", only({C: 400})),
    Route("/coordinator/terms/<int:term_id>/runs/<int:run_id>", "GET",
          lambda i: f"/coordinator/terms/{i.term}/runs/{i.run}", only({C: 200})),
    Route("/coordinator/terms/<int:term_id>/invite-students", "POST",
          lambda i: f"/coordinator/terms/{i.term}/invite-students", only({C: 200})),
]  # fmt: skip

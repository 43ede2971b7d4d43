"""Every route x every kind of visitor gets exactly the answer the matrix says
(tests/web/routes), and every route of the app is in the matrix."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

import tests.web.routes as routes_package
from tests.web.conftest import Ids, csrf_of
from tests.web.routes import LOGIN, ROLES, Route

ROUTES: list[Route] = [
    route
    for info in pkgutil.iter_modules(routes_package.__path__)
    for route in importlib.import_module(f"tests.web.routes.{info.name}").ROUTES
]
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def test_access_matrix_covers_every_route(app: Flask) -> None:
    in_app = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in IGNORED_METHODS
    }
    in_matrix = {(r.rule, r.method) for r in ROUTES}
    assert in_app - in_matrix == set(), "routes with no row in tests/web/routes"
    assert in_matrix - in_app == set(), "rows in tests/web/routes for routes that do not exist"


def _token(client: FlaskClient) -> str:
    page = client.get("/login")
    if page.status_code == 200:
        return csrf_of(page.text)
    raise AssertionError("no page with a CSRF token")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.rule}")
def test_access_route_answers_each_role(
    route: Route, client_as: Callable[[str], FlaskClient], placed_ids: Ids
) -> None:
    ids = placed_ids
    got: dict[str, object] = {}
    for role in ROLES:
        client = client_as(role)
        url = route.url(ids)
        if route.method == "GET":
            answer = client.get(url)
        else:
            data = route.data(ids) if callable(route.data) else dict(route.data)
            if route.json:
                answer = client.open(url, method=route.method, json=data)
            else:
                data["csrf_token"] = _token(client)
                answer = client.open(url, method=route.method, data=data)
        login = answer.status_code == 302 and answer.location.split("?")[0].endswith("/login")
        got[role] = LOGIN if login and route.answers[role] == LOGIN else answer.status_code
        answer.close()
    assert got == route.answers

"""No form answers 500: every POST route of the matrix gets random and hostile values
(empty, huge, unicode, script tags, SQL quotes, negative and absurd numbers, impossible dates
and times) from the role allowed to use it, and must answer 200, a redirect or a 4xx; when it
refuses (4xx), nothing in the database has changed."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, select

from tests.web.conftest import Ids, csrf_of
from tests.web.routes import LOGIN, Route
from tests.web.test_access import ROUTES
from web.solves import wait_for_all_solves

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "-999999999999999999999",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "3.5",
    "2027-02-30",
    "2027-13-01",
    "0000-00-00",
    "25:61",
    "17:00",
    "09:00",
    "2027-03-01",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "Robert'); DROP TABLE student;--",
    "😀" * 40,
    "ｆｕｌｌ ｗｉｄｔｈ",
    "\u202etxt.exe",
    "\x00",
    "../../etc/passwd",
    "x" * 20_000,
    "on",
    "1",
    "true",
    "job_shadow",
    "internship",
    "weekly",
    "dated",
    "flexible",
    "a@b.c",
]
VALUES = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60))
OK = {200, 302, 303, 400, 404, 409, 413, 415, 422}
FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', re.I)


def _fields(page_text: str) -> set[str]:
    return {name for name in FIELD.findall(page_text) if name != "csrf_token"}


def _snapshot(app: Flask, metadata: MetaData) -> str:
    """A digest of every row of every table."""
    digest = hashlib.sha256()
    with app.extensions["wbl_engine"].connect() as connection:
        for table in sorted(metadata.sorted_tables, key=lambda t: t.name):
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name}:{[tuple(map(str, r)) for r in rows]}".encode())
    return digest.hexdigest()


def _allowed_role(route: Route) -> str | None:
    for role, answer in route.answers.items():
        if answer not in (LOGIN, 401, 403, 404):
            return role
    return None


FORMS = [r for r in ROUTES if r.method == "POST" and not r.json and _allowed_role(r)]


@pytest.mark.parametrize("route", FORMS, ids=lambda r: r.rule)
def test_fuzz_form_never_fails(
    route: Route, app: Flask, placed_ids: Ids, client_as: Callable[[str], FlaskClient]
) -> None:
    ids = placed_ids
    role = _allowed_role(route)
    assert role is not None
    client = client_as(role)
    url = route.url(ids)
    page = client.get(url)
    names = _fields(page.text) if page.status_code == 200 else set()
    base = route.data(ids) if callable(route.data) else dict(route.data)
    names |= set(base) | {"unexpected"}
    token = csrf_of(page.text if page.status_code == 200 else client.get("/login").text)
    metadata = MetaData()
    metadata.reflect(app.extensions["wbl_engine"])

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.fixed_dictionaries(dict.fromkeys(sorted(names), VALUES)))
    def check(values: dict[str, str]) -> None:
        # An earlier example may have started a background solve (its form accepted the
        # values): let it end, or its progress writes would look like changes made here.
        assert wait_for_all_solves(120)
        before = _snapshot(app, metadata)
        answer = client.post(url, data={**values, "csrf_token": token})
        answer.close()
        assert answer.status_code in OK, (answer.status_code, values)
        if 400 <= answer.status_code < 500:
            assert _snapshot(app, metadata) == before, ("refused, yet the data changed", values)

    check()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
API_BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries({"opportunities": st.lists(JSON, max_size=12)}),
    st.fixed_dictionaries(
        {"opportunities": st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=12)}
    ),
)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.json], ids=lambda r: r.rule)
def test_fuzz_json_api_never_fails(
    route: Route, app: Flask, placed_ids: Ids, client_as: Callable[[str], FlaskClient]
) -> None:
    role = _allowed_role(route)
    assert role is not None
    client = client_as(role)
    url = route.url(placed_ids)
    metadata = MetaData()
    metadata.reflect(app.extensions["wbl_engine"])

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(API_BODIES)
    def check(body: object) -> None:
        before = _snapshot(app, metadata)
        answer = client.open(url, method=route.method, json=body)
        assert answer.status_code in (200, 400, 415), (answer.status_code, body)  # 415: no body
        assert isinstance(answer.get_json(), dict)
        if answer.status_code != 200:
            assert "error" in answer.get_json()
            assert _snapshot(app, metadata) == before, ("refused, yet the data changed", body)

    check()

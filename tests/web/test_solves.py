"""Solves started from the web: they run in the background, report live progress through
the API, refuse a second start per term, end FAILED on an error, and stale RUNNING rows left
by a stopped server are cleared."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from werkzeug.test import TestResponse

from solver.solve import Progress
from tests.web.conftest import Ids, csrf_of
from wbl.models import Placement, SolveRun, SolveStatus, Term, utcnow
from wbl.services.solving import SolveOptions
from web import solves
from web.db import db

Client = Callable[[str], FlaskClient]
WAIT_S = 60.0


@pytest.fixture(autouse=True)
def _solves_end_before_the_app(app: Flask) -> Iterator[None]:
    """No background solve outlives its test's database."""
    yield
    assert solves.wait_for_all_solves(WAIT_S), "a background solve did not finish"


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Background solves report one progress line, then wait here until the test opens it."""
    opened = threading.Event()
    real = solves.solve_term

    def held(session: Any, term: Any, options: Any, progress: Any = None, *, run: Any = None):
        if progress is not None:
            progress(Progress("placed", 0.25, 4.0, 5.0))
        opened.wait(WAIT_S)
        return real(session, term, options, progress, run=run)

    monkeypatch.setattr(solves, "solve_term", held)
    yield opened
    opened.set()


def _start(client: FlaskClient, term_id: int, **fields: str) -> TestResponse:
    url = f"/coordinator/terms/{term_id}/solve"
    page = client.get(url)
    data = {"time_limit": "5", "workers": "1", "mode": "welfare", **fields}
    return client.post(url, data={**data, "csrf_token": csrf_of(page.text)})


def _run_id(answer: TestResponse) -> int:
    assert answer.status_code == 302, answer.text
    match = re.search(r"/runs/(\d+)$", answer.location)
    assert match, answer.location
    return int(match.group(1))


def _poll(client: FlaskClient, run_id: int, until: Callable[[dict[str, Any]], bool]) -> dict:
    """The API's answer for the run once ``until`` holds (the page's script does the same)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        answer = client.get(f"/api/runs/{run_id}")
        assert answer.status_code == 200
        data = answer.get_json()
        if until(data):
            return data
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never got there: {data}")


def _finished(data: dict[str, Any]) -> bool:
    return data["status"] != "running"


def _runs(app: Flask, status: SolveStatus | None = None) -> list[SolveRun]:
    with app.app_context():
        query = select(SolveRun).order_by(SolveRun.id)
        if status is not None:
            query = query.where(SolveRun.status == status)
        return list(db().scalars(query))


def _add_run(app: Flask, term_id: int, **values: Any) -> int:
    with app.app_context():
        run = SolveRun(term_id=term_id, **values)
        db().add(run)
        db().commit()
        return run.id


def test_solves_start_runs_in_the_background_and_the_page_shows_the_outcome(
    app: Flask, client_as: Client, ids: Ids
) -> None:
    client = client_as("coordinator")
    run_id = _run_id(_start(client, ids.term, time_limit="10"))
    assert run_id != ids.run
    data = _poll(client, run_id, _finished)
    assert data["status"] == "optimal"
    progress = data["progress"]
    for key in ("elapsed_s", "level", "objective", "bound", "gap", "levels", "time_limit_s"):
        assert key in progress
    assert progress["phase"] == "done" and progress["time_limit_s"] == 10
    assert progress["elapsed_s"] > 0 and progress["level"] in solves.LEVELS
    page = client.get(f"/coordinator/terms/{ids.term}/runs/{run_id}")
    assert page.status_code == 200
    assert "Finished: best placement proven" in page.text
    assert re.search(r"<strong>\d</strong> of 3 students placed", page.text)
    assert f'href="/coordinator/terms/{ids.term}/placements"' in page.text
    assert "progress.js" not in page.text  # nothing left to follow
    with app.app_context():
        proposed = db().scalar(select(func.count()).where(Placement.solve_run_id == run_id))
    assert proposed and f"<strong>{proposed}</strong> placements proposed" in page.text


def test_solves_stable_mode_reports_blocking_pairs(app: Flask, client_as: Client, ids: Ids) -> None:
    client = client_as("coordinator")
    run_id = _run_id(_start(client, ids.term, mode="stable"))
    data = _poll(client, run_id, _finished)
    assert data["status"] == "feasible"
    page = client.get(f"/coordinator/terms/{ids.term}/runs/{run_id}")
    assert "blocking pairs" in page.text
    assert _runs(app)[-1].mode == "stable"


def test_solves_request_returns_while_the_solve_runs_and_progress_is_live(
    app: Flask, client_as: Client, ids: Ids, gate: threading.Event
) -> None:
    client = client_as("coordinator")
    run_id = _run_id(_start(client, ids.term, keep_published="y"))
    page = client.get(f"/coordinator/terms/{ids.term}/runs/{run_id}")
    assert page.status_code == 200
    assert "Running" in page.text and ">Refresh</a>" in page.text
    assert '<script src="/static/progress.js" defer></script>' in page.text
    assert f'data-api="/api/runs/{run_id}"' in page.text
    live = _poll(client, run_id, lambda d: d["progress"].get("level") == "placed")
    assert live["status"] == "running"
    progress = live["progress"]
    assert progress["objective"] == 4.0 and progress["bound"] == 5.0
    assert progress["gap"] == pytest.approx(0.2)
    assert progress["phase"] == "solving" and progress["keep_published"] is True
    assert progress["levels"] == [{"level": "placed", "objective": 4.0, "bound": 5.0}]
    # Without JavaScript, the refreshed page shows the same figures.
    refreshed = client.get(f"/coordinator/terms/{ids.term}/runs/{run_id}").text
    assert re.search(r'data-field="objective">4<', refreshed)
    assert re.search(r'data-field="gap">20.00%<', refreshed)
    gate.set()
    assert _poll(client, run_id, _finished)["status"] == "optimal"


def test_solves_second_start_is_refused_while_one_runs(
    app: Flask, client_as: Client, ids: Ids, gate: threading.Event
) -> None:
    client = client_as("coordinator")
    first = _run_id(_start(client, ids.term))
    second = _start(client, ids.term)
    assert second.status_code == 409
    assert "already running" in second.text
    assert f'href="/coordinator/terms/{ids.term}/runs/{first}"' in second.text
    assert [r.id for r in _runs(app, SolveStatus.RUNNING)] == [first]
    assert len(_runs(app)) == 2  # the fixture's finished run and this one
    gate.set()
    _poll(client, first, _finished)
    assert _run_id(_start(client, ids.term)) > first  # free again once it has finished


def test_solves_running_row_of_another_server_blocks_a_start(
    app: Flask, client_as: Client, ids: Ids
) -> None:
    # A solve another server process is running: its heartbeat is fresh.
    other = _add_run(
        app,
        ids.term,
        status=SolveStatus.RUNNING,
        started_at=utcnow(),
        progress={"time_limit_s": 60, "updated_at": utcnow().isoformat()},
    )
    answer = _start(client_as("coordinator"), ids.term)
    assert answer.status_code == 409
    assert f"run {other}" in answer.text
    assert [r.id for r in _runs(app, SolveStatus.RUNNING)] == [other]


def test_solves_stale_running_row_is_marked_failed_and_a_new_solve_starts(
    app: Flask, client_as: Client, ids: Ids
) -> None:
    long_ago = utcnow() - timedelta(hours=2)
    stale = _add_run(
        app,
        ids.term,
        status=SolveStatus.RUNNING,
        started_at=long_ago,
        progress={"time_limit_s": 60, "updated_at": long_ago.isoformat()},
    )
    client = client_as("coordinator")
    run_id = _run_id(_start(client, ids.term))
    _poll(client, run_id, _finished)
    with app.app_context():
        old = db().get(SolveRun, stale)
        assert old.status is SolveStatus.FAILED
        assert "server stopped before this solve finished" in old.message
    page = client.get(f"/coordinator/terms/{ids.term}/runs/{stale}")
    assert "Failed" in page.text and "Start a new solve" in page.text


def test_solves_staleness_needs_time_limit_margin_and_a_silent_heartbeat() -> None:
    started = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
    run = SolveRun(
        id=10**9,
        status=SolveStatus.RUNNING,
        started_at=started,
        progress={"time_limit_s": 60, "updated_at": (started + timedelta(seconds=30)).isoformat()},
    )
    limit = timedelta(seconds=60 + solves.STALE_MARGIN_S)
    assert not solves.is_stale(run, started + limit - timedelta(seconds=1))
    assert solves.is_stale(run, started + limit + timedelta(seconds=1))
    # Past its time: but its heartbeat says a server is still storing its placements.
    run.progress = {**run.progress, "updated_at": (started + limit).isoformat()}
    assert not solves.is_stale(run, started + limit + timedelta(seconds=5))
    run.status = SolveStatus.OPTIMAL
    assert not solves.is_stale(run, started + timedelta(days=1))


def test_solves_error_ends_the_run_failed_with_a_message(
    app: Flask, client_as: Client, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> SolveRun:
        raise RuntimeError("the solver fell over")

    monkeypatch.setattr(solves, "solve_term", broken)
    client = client_as("coordinator")
    run_id = _run_id(_start(client, ids.term))
    data = _poll(client, run_id, _finished)
    assert data["status"] == "failed"
    assert "RuntimeError: the solver fell over" in data["message"]
    assert data["progress"]["phase"] == "failed"
    assert _runs(app, SolveStatus.RUNNING) == []
    page = client.get(f"/coordinator/terms/{ids.term}/runs/{run_id}")
    assert "Failed" in page.text and "the solver fell over" in page.text


def test_solves_race_loser_withdraws_its_row(
    app: Flask, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two starts at once both insert a row; the newer one sees the older and withdraws."""
    older = _add_run(app, ids.term, status=SolveStatus.RUNNING, started_at=utcnow())
    real = solves.running_run
    calls = []

    def racing(session: Any, term: Term) -> SolveRun | None:
        calls.append(1)
        return None if len(calls) == 1 else real(session, term)  # the first check missed it

    monkeypatch.setattr(solves, "running_run", racing)
    with app.app_context():
        term = db().get(Term, ids.term)
        with pytest.raises(solves.SolveBusy) as refused:
            solves.start_solve(app, db(), term, SolveOptions(time_limit_s=5, workers=1))
    assert refused.value.run.id == older
    assert [r.id for r in _runs(app, SolveStatus.RUNNING)] == [older]
    assert len(_runs(app)) == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time_limit": "0"}, "Number must be between 1 and 3600."),
        ({"time_limit": "99999"}, "Number must be between 1 and 3600."),
        ({"time_limit": "ten"}, "Not a valid integer value."),
        ({"time_limit": "nan"}, "Not a valid integer value."),
        ({"workers": "0"}, "Number must be between 1 and 64."),
        ({"mode": "fastest"}, "Not a valid choice."),
        ({"time_limit": ""}, "This field is required."),
    ],
)
def test_solves_form_rejects_bad_options_at_the_field(
    app: Flask, client_as: Client, ids: Ids, fields: dict[str, str], message: str
) -> None:
    answer = _start(client_as("coordinator"), ids.term, **fields)
    assert answer.status_code == 400
    assert message in answer.text
    assert len(_runs(app)) == 1  # only the fixture's


def test_solves_form_defaults_come_from_the_term(client_as: Client, ids: Ids) -> None:
    page = client_as("coordinator").get(f"/coordinator/terms/{ids.term}/solve")
    assert page.status_code == 200
    assert re.search(r'name="time_limit"[^>]*value="60"', page.text)  # the rules' default
    assert re.search(r'<option selected value="welfare">', page.text)
    assert f'href="/coordinator/terms/{ids.term}/runs/{ids.run}"' in page.text  # earlier run


def test_solves_run_of_another_term_is_404(app: Flask, client_as: Client, ids: Ids) -> None:
    with app.app_context():
        other = Term(
            name="Other", start=date(2027, 1, 4), end=date(2027, 2, 26), timezone="America/Denver"
        )
        db().add(other)
        db().commit()
        other_id = other.id
    run = _add_run(app, other_id, status=SolveStatus.OPTIMAL)
    client = client_as("coordinator")
    assert client.get(f"/coordinator/terms/{ids.term}/runs/{run}").status_code == 404
    assert client.get(f"/coordinator/terms/{other_id}/runs/{run}").status_code == 200
    assert client.get(f"/coordinator/terms/{ids.term}/runs/{run + 1}").status_code == 404


def test_solves_progress_is_written_at_most_twice_a_second(app: Flask, ids: Ids) -> None:
    run_id = _add_run(app, ids.term, status=SolveStatus.RUNNING, started_at=utcnow(), progress={})
    engine = app.extensions["wbl_engine"]
    writes: list[float] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE solve_run"):
            writes.append(time.monotonic())

    event.listen(engine, "before_cursor_execute", count)
    try:
        recorder = solves.ProgressRecorder(
            app.extensions["wbl_sessions"],
            run_id,
            {"time_limit_s": 5, "workers": 1, "keep_published": False},
        )
        recorder.start()
        began = time.monotonic()
        while time.monotonic() - began < 1.2:  # a chatty solver: a report every millisecond
            recorder.record(Progress("preference", time.monotonic() - began, 7.0, 9.0))
            time.sleep(0.001)
        recorder.stop()
        recorder.join()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # One write at the start, then one per half second: never one per report.
    assert 2 <= len(writes) <= 4
    assert all(b - a >= 0.45 for a, b in pairwise(writes))
    with app.app_context():
        progress = db().get(SolveRun, run_id).progress
    assert progress["level"] == "preference" and progress["objective"] == 7.0
    assert progress["gap"] == pytest.approx(2 / 9)


def test_solves_run_page_explains_welfare_blocking_pairs(
    app: Flask, client_as: Client, ids: Ids
) -> None:
    with app.app_context():
        run = db().get(SolveRun, ids.run)
        assert run is not None and run.mode == "welfare"
        run.metrics = {**(run.metrics or {}), "blocking_pairs": 2}
        db().commit()
    page = client_as("coordinator").get(f"/coordinator/terms/{ids.term}/runs/{ids.run}")
    assert page.status_code == 200
    assert "<strong>2</strong> blocking pairs" in page.text
    assert "welfare mode goes by priority and the students&#39; choices instead" in page.text

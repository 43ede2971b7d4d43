"""Ranking in a real browser survives a network blip: the order is kept and saved once the
connection is back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import LiveServer
from tests.e2e.test_term_flow import _db, _ranked
from wbl.models import Preference, Student


def _ranks(live: LiveServer) -> dict[str, int]:
    with _db(live) as session:
        ben = session.scalars(select(Student).where(Student.code == "S2")).one()
        rows = session.scalars(select(Preference).where(Preference.student_id == ben.id))
        return {p.opportunity.title: p.rank for p in rows}


def test_ranking_saves_after_the_connection_comes_back(
    page_as: Callable[..., Any], live: LiveServer
) -> None:
    page = page_as("student_b")
    page.goto("/student/ranking")
    before = page.locator("li.choice .choice-title").all_inner_texts()
    assert sorted(before) == sorted(_ranked(live, "S2")) and len(before) == 2
    status = page.locator("#ranking-save-status")

    page.context.set_offline(True)
    page.get_by_role("button", name=f"Move {before[0]} down").click()
    expect(status).to_have_attribute("data-state", "retrying")
    assert "no connection" in status.inner_text()
    assert _ranks(live) == {before[0]: 1, before[1]: 1}  # still the imported tie: not saved
    # The page shows the new order meanwhile.
    titles = page.locator("li.choice .choice-title").all_inner_texts()
    assert titles == [before[1], before[0]]

    page.context.set_offline(False)
    expected = {before[1]: 1, before[0]: 2}
    deadline = time.monotonic() + 15  # the script retries with a back-off, or when online
    while _ranks(live) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ranks(live) == expected
    expect(status).to_have_attribute("data-state", "saved")

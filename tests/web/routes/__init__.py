"""The route x role matrix, one module per blueprint: every URL rule of the app, with the
exact answer each kind of visitor gets. ``tests/web/test_access.py`` walks it and fails on a
rule that is in the app but not here, so a new route cannot go unchecked.

Answers: a status code, or ``LOGIN`` (a redirect to the sign-in page). A POST is sent with a
valid CSRF token and the ``data`` of its :class:`Route` (usually nothing, so an allowed
visitor gets the form's 400, or the action's redirect).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.web.conftest import Ids

LOGIN = "login"
ROLES = ("anonymous", "coordinator", "host_a", "host_b", "student_a", "student_b")
Answer = int | str


@dataclass(frozen=True)
class Route:
    rule: str  # as in app.url_map, e.g. "/coordinator/terms/<int:term_id>"
    method: str
    url: Callable[[Ids], str]
    answers: dict[str, Answer]  # one per role in ROLES
    data: dict[str, Any] | Callable[[Ids], dict[str, Any]] = field(default_factory=dict)
    json: bool = False  # send ``data`` as a JSON body

    def __post_init__(self) -> None:
        assert set(self.answers) == set(ROLES), f"{self.rule}: answer every role"


def only(allowed: dict[str, Answer], denied: Answer = 403, anonymous: Answer = LOGIN) -> dict:
    """Answers for a route: the given roles' answers, ``denied`` for every other signed-in
    role, and ``anonymous`` for a visitor who is not signed in."""
    answers: dict[str, Answer] = dict.fromkeys(ROLES, denied)
    answers["anonymous"] = anonymous
    answers.update(allowed)
    return answers


def everyone(answer: Answer) -> dict[str, Answer]:
    return dict.fromkeys(ROLES, answer)

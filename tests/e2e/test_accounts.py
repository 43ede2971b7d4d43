"""In a real browser: signing in, the start pages of each role, and no console errors
(a CSP violation or a script error shows there)."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.conftest import LiveServer, screenshot


def test_accounts_each_role_signs_in_to_its_start_page(
    page_as: Callable[..., object], live: LiveServer
) -> None:
    for who, heading in (
        ("coordinator", "Terms"),
        ("host_b", "Front Range Robotics, Inc."),
        ("student_a", "Hello, Ana Ruiz"),
    ):
        page = page_as(who)
        errors: list[str] = []
        page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
        page.reload()  # type: ignore[attr-defined]
        assert page.get_by_role("heading", level=1).inner_text() == heading  # type: ignore[attr-defined]
        screenshot(page, f"{who}-home")
        assert errors == []


def test_accounts_wrong_password_shows_the_message_at_the_field(
    page_as: Callable[..., object],
) -> None:
    page = page_as("anonymous", phone=True)
    page.goto("/login")  # type: ignore[attr-defined]
    page.get_by_label("Email").fill("coord@example.org")  # type: ignore[attr-defined]
    page.get_by_label("Password").fill("not the password")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    error = page.locator("#password-error")  # type: ignore[attr-defined]
    assert error.inner_text() == "Wrong email or password."
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"  # type: ignore[attr-defined]
    screenshot(page, "login-error-phone")

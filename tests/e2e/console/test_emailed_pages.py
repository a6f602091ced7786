"""The pages behind emailed links, in the console's look: each one's screenshots
(desktop and phone) and an axe-core check, as for the console's own pages.

They are rendered by the functions (they work without JavaScript); the flows through
them are tested in test_auth.py, test_team.py and tests/e2e/test_browser_e2e.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.console.conftest import assert_accessible, shoot
from tests.e2e.console.flows import access_token, create_org
from tests.e2e.helpers import (
    bearer,
    reset_link,
    sign_up,
    strong_password,
    unique_email,
    verification_link,
    wait_for_emails,
)

OpenConsole = Callable[..., Any]
INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/[A-Za-z0-9_\-]+")


def looks_like_the_console(page: Any) -> None:
    """The console's stylesheet answered and applies: its top bar is drawn."""
    expect(page.locator("header.topbar")).to_be_visible()
    background = page.evaluate("() => getComputedStyle(document.querySelector('header.topbar')).backgroundColor")
    assert background == "rgb(36, 41, 47)", background


def test_confirm_email_and_its_answer(open_console: OpenConsole, console_api: httpx.Client) -> None:
    email, password = unique_email("Mail"), strong_password()
    sign_up(console_api, email, password, "Mae")
    link = verification_link(wait_for_emails(console_api, email, 1)[-1])

    page = open_console(link)
    looks_like_the_console(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email")
    shoot(page, "emailed-verify-email")
    assert_accessible(page)

    page.get_by_role("button", name="Confirm email address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email confirmed")
    expect(page.get_by_role("link", name="Sign in")).to_have_attribute("href", "/#/sign-in")
    shoot(page, "emailed-email-confirmed")
    assert_accessible(page)


def test_choose_a_new_password(
    open_console: OpenConsole, console_api: httpx.Client, verified_account: Callable[[str], tuple[str, str]]
) -> None:
    email, _ = verified_account("Reset")
    assert console_api.post("/auth/password/forgot", json={"email": email}).status_code == 202
    emails = wait_for_emails(console_api, email, 2)
    link = reset_link(emails[-1])

    page = open_console(link)
    looks_like_the_console(page)
    expect(page.get_by_label("New password")).to_be_visible()
    shoot(page, "emailed-reset-password")
    assert_accessible(page)


def test_unlock_page(open_console: OpenConsole) -> None:
    # A GET changes nothing, whatever the token: the page is what the emailed link opens.
    page = open_console("/unlock?token=not-a-real-token")
    looks_like_the_console(page)
    expect(page.get_by_role("button", name="Unlock password sign-in")).to_be_visible()
    shoot(page, "emailed-unlock")
    assert_accessible(page)


def test_invitation_page(
    open_console: OpenConsole, console_api: httpx.Client, verified_account: Callable[[str], tuple[str, str]]
) -> None:
    owner_email, owner_password = verified_account("Owner")
    token = access_token(console_api, owner_email, owner_password)
    org_id = create_org(console_api, token, "Emailed Pages Ltd")
    invitee = unique_email("Invitee")
    created = console_api.post(
        f"/orgs/{org_id}/invitations", json={"email": invitee, "role": "member"}, headers=bearer(token)
    )
    assert created.status_code == 201, created.text
    link = INVITATION_LINK.findall(wait_for_emails(console_api, invitee, 1)[-1]["text"])[0]

    page = open_console(link)
    looks_like_the_console(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Join Emailed Pages Ltd")
    shoot(page, "emailed-invitation")
    assert_accessible(page)

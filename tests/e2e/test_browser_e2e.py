"""A person in a real browser (Debian's Chromium through Playwright) confirms their
email, and resets a forgotten password.

The pages must render under their own CSP (styles allowed by hash, no scripts), and
their buttons must submit the forms that verify the address or set the password.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.helpers import (
    DevServer,
    emails_to,
    log_in,
    reset_emails_to,
    reset_link,
    sign_up,
    signed_up_and_verified,
    strong_password,
    unique_email,
    verification_link,
)

pytestmark = pytest.mark.e2e


def test_a_person_confirms_their_email_with_the_button(browser: Any, server: DevServer, client: httpx.Client) -> None:
    email, password = unique_email("Browser"), strong_password()
    sign_up(client, email, password)
    link = verification_link(emails_to(client, email.lower())[-1])

    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert page.title().startswith("Confirm your email")
    # The stylesheet applied: CSP allowed it by its hash.
    color = page.eval_on_selector("button", "b => getComputedStyle(b).backgroundColor")
    assert color == "rgb(31, 111, 235)"
    assert log_in(client, email, password).status_code == 403  # opening the page changed nothing

    page.click("button")
    page.wait_for_load_state()
    assert page.title().startswith("Email confirmed")
    assert "You can sign in now" in page.inner_text("body")
    assert not [v for v in violations if "Content Security Policy" in v], violations
    assert log_in(client, email, password).status_code == 200

    # The same link again: the page still shows, the button now explains it was used.
    page.goto(link)
    page.click("button")
    page.wait_for_load_state()
    assert "already used" in page.inner_text("body")
    page.close()


def test_a_person_resets_their_password_in_the_browser(browser: Any, server: DevServer, client: httpx.Client) -> None:
    email, old_password = signed_up_and_verified(client)
    session = log_in(client, email, old_password).json()
    assert client.post("/auth/password/forgot", json={"email": email}).status_code == 202
    link = reset_link(reset_emails_to(client, email)[-1])

    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert page.title().startswith("Choose a new password")
    field = page.locator("input[name=password]")
    assert field.get_attribute("type") == "password"
    assert field.get_attribute("autocomplete") == "new-password"
    # The stylesheet applied (CSP allowed it by its hash): the page's own padding and colour.
    assert page.eval_on_selector("input[name=password]", "i => getComputedStyle(i).paddingTop") == "8px"
    color = page.eval_on_selector("button[type=submit]", "b => getComputedStyle(b).backgroundColor")
    assert color == "rgb(31, 111, 235)"
    # Opening the page changed nothing: the session still refreshes.
    refreshed = client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text

    new_password = strong_password()
    field.fill(new_password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.title().startswith("Password changed"), page.content()
    assert "Password changed" in page.inner_text("body")
    assert not [line for line in console if "Content Security Policy" in line], console
    page.close()

    assert log_in(client, email, new_password).status_code == 200
    assert log_in(client, email, old_password).status_code == 401
    refused = client.post("/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert refused.status_code == 401, refused.text

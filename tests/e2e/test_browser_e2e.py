"""A person in a real browser (Debian's Chromium through Playwright) confirms their
email, and resets a forgotten password.

The pages must render under their own CSP with the console's stylesheet (styles from
this origin only, no scripts), and their buttons must submit the forms that verify the
address or set the password.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.console_look import assert_console_stylesheet_applied, watch_stylesheet
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
    stylesheet = watch_stylesheet(page)
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert page.title().startswith("Confirm your email")
    assert_console_stylesheet_applied(page, stylesheet)
    assert log_in(client, email, password).status_code == 403  # opening the page changed nothing

    page.click("button")
    page.wait_for_load_state()
    assert page.title().startswith("Email confirmed")
    assert "You can sign in now" in page.inner_text("body")
    # The way on is the console's sign-in page.
    sign_in = page.get_by_role("link", name="Sign in")
    assert sign_in.get_attribute("href") == "/#/sign-in"
    assert_console_stylesheet_applied(page, stylesheet)
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
    stylesheet = watch_stylesheet(page)
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert page.title().startswith("Choose a new password")
    field = page.locator("input[name=password]")
    assert field.get_attribute("type") == "password"
    assert field.get_attribute("autocomplete") == "new-password"
    assert_console_stylesheet_applied(page, stylesheet)
    assert page.get_attribute("button[type=submit]", "class") == "button primary"
    # Opening the page changed nothing: the session still refreshes.
    refreshed = client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text

    new_password = strong_password()
    field.fill(new_password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.title().startswith("Password changed"), page.content()
    assert "Password changed" in page.inner_text("body")
    assert page.get_by_role("link", name="Sign in").get_attribute("href") == "/#/sign-in"
    assert not [line for line in console if "Content Security Policy" in line], console
    page.close()

    assert log_in(client, email, new_password).status_code == 200
    assert log_in(client, email, old_password).status_code == 401
    refused = client.post("/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert refused.status_code == 401, refused.text

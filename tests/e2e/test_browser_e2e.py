"""A person in a real browser (Debian's Chromium through Playwright) confirms their email.

The page must render under its own CSP (styles allowed by hash, no scripts), and its
button must submit the form that verifies the address.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import (
    DevServer,
    emails_to,
    log_in,
    sign_up,
    strong_password,
    unique_email,
    verification_link,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


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

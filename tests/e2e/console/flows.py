"""Steps the console's tests share: signing in through the sign-in page, and setting
up accounts and organizations over HTTP when a test is about something else.

The sign-in page's names are the contract here: "Email", "Password", the "Sign in"
button; the 2FA step's "Authentication code" and "Verify"; "Use a recovery code" then
"Recovery code". The top bar's "Sign out" button shows once someone is signed in.
"""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.helpers import bearer, log_in


def sign_in(page: Any, email: str, password: str, code: str | None = None, recovery_code: str | None = None) -> None:
    page.goto("/#/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    if code is not None:
        page.get_by_label("Authentication code").fill(code)
        page.get_by_role("button", name="Verify").click()
    elif recovery_code is not None:
        page.get_by_role("button", name="Use a recovery code").click()
        page.get_by_label("Recovery code").fill(recovery_code)
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def access_token(api: httpx.Client, email: str, password: str) -> str:
    response = log_in(api, email, password)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def create_org(api: httpx.Client, token: str, name: str) -> str:
    response = api.post("/orgs", json={"name": name}, headers=bearer(token))
    assert response.status_code == 201, response.text
    org_id: str = response.json()["id"]
    return org_id

"""An invitee with no account, in a real browser (Debian's Chromium through Playwright):
the invitation link, the sign-up form on it, the confirmation email's link and button,
the way back to the invitation, and "Sign in and accept".

The pages must render under their own CSP (the console's stylesheet, no scripts) and
work with plain form posts.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.console_look import assert_console_stylesheet_applied, watch_stylesheet
from tests.e2e.helpers import (
    DevServer,
    bearer,
    emails_to,
    log_in,
    logged_in,
    strong_password,
    tokens_of,
    unique_email,
)

pytestmark = pytest.mark.e2e

INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/[A-Za-z0-9_-]+")
VERIFY_LINK = re.compile(r"https?://[^\s\"'<>]+/verify-email\?[^\s\"'<>]+")


def _only_link(pattern: re.Pattern[str], email: dict[str, str]) -> str:
    links = set(pattern.findall(email["text"]))
    assert len(links) == 1, email["text"]
    return str(links.pop())


def test_an_invitee_without_an_account_signs_up_confirms_and_accepts_in_the_browser(
    browser: Any, server: DevServer, client: httpx.Client
) -> None:
    # Ada (through the API) owns an organization and invites Grace, who has no account.
    _, ada_tokens = logged_in(client, "Ada")
    ada = ada_tokens["access_token"]
    org_name = f"Difference Engines {uuid.uuid4().hex[:6]}"
    created = client.post("/orgs", json={"name": org_name}, headers=bearer(ada))
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    grace_email, grace_password = unique_email("Grace").lower(), strong_password()
    invited = client.post(
        f"/orgs/{org_id}/invitations", json={"email": grace_email, "role": "member"}, headers=bearer(ada)
    )
    assert invited.status_code == 201, invited.text
    invitation_mail = [m for m in emails_to(client, grace_email) if INVITATION_LINK.search(m["text"])]
    assert len(invitation_mail) == 1, invitation_mail
    invitation_link = _only_link(INVITATION_LINK, invitation_mail[0])
    invitation_path = urlsplit(invitation_link).path

    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    stylesheet = watch_stylesheet(page)

    # The invitation: who, where, which role.
    response = page.goto(invitation_link)
    assert response is not None and response.status == 200
    assert page.title().startswith(f"Join {org_name}"), page.title()
    details = page.inner_text("dl")
    assert org_name in details and "Ada" in details and "member" in details, details
    assert_console_stylesheet_applied(page, stylesheet)
    # Someone signed in to the console as another account can open it there instead.
    token = invitation_path.rsplit("/", 1)[1]
    elsewhere = page.get_by_role("link", name="this invitation in Kuploy")
    assert elsewhere.get_attribute("href") == f"/#/invitations/{token}"

    # The sign-up form, with the invited address already in it.
    assert page.input_value("#new-email") == grace_email
    page.fill("#new-name", "Grace")
    page.fill("#new-password", grace_password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()
    assert page.title().startswith("Check your inbox"), page.content()
    assert grace_email in page.inner_text("body")
    assert log_in(client, grace_email, grace_password).status_code == 403  # not confirmed yet

    # The confirmation email's link opens a page; its button confirms.
    verification_mail = [m for m in emails_to(client, grace_email) if VERIFY_LINK.search(m["text"])]
    assert len(verification_mail) == 1, verification_mail
    verify_link = _only_link(VERIFY_LINK, verification_mail[0])
    assert parse_qs(urlsplit(verify_link).query)["next"] == [invitation_path], verify_link
    response = page.goto(verify_link)
    assert response is not None and response.status == 200
    assert page.title().startswith("Confirm your email"), page.title()
    page.get_by_role("button", name="Confirm email address").click()
    page.wait_for_load_state()
    assert page.title().startswith("Email confirmed"), page.content()

    # Back to the invitation, sign in and accept.
    page.get_by_role("link", name="Continue to your invitation").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == invitation_path, page.url
    assert page.title().startswith(f"Join {org_name}"), page.content()
    assert page.input_value("#email") == grace_email
    page.fill("#password", grace_password)
    page.get_by_role("button", name="Sign in and accept").click()
    page.wait_for_load_state()
    assert page.title().startswith(f"Welcome to {org_name}"), page.content()
    assert f"You joined {org_name} as member" in page.inner_text("body")
    assert page.get_by_role("link", name="Open Kuploy").get_attribute("href") == f"/#/orgs/{org_id}/general"
    assert not [line for line in console if "Content Security Policy" in line], console
    page.close()

    # Through the API: Grace is a member, and the link is used up.
    grace = tokens_of(log_in(client, grace_email, grace_password))["access_token"]
    members = client.get(f"/orgs/{org_id}/members", headers=bearer(ada))
    assert members.status_code == 200, members.text
    roles = {m["email"]: (m["role"], m["name"]) for m in members.json()["items"]}
    assert roles[grace_email] == ("member", "Grace"), roles
    seen = client.get(f"/orgs/{org_id}", headers=bearer(grace))
    assert seen.status_code == 200 and seen.json()["name"] == org_name, seen.text
    used = client.get(invitation_path, headers={"Accept": "application/json"})
    assert used.status_code == 410 and used.json()["code"] == "invitation_used", used.text

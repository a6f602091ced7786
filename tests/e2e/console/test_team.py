"""Organizations and their team in the console, in Chromium: creating an organization,
inviting someone who signs up from the emailed link and joins, changing their role and
removing them, pending invitations (resend, revoke), what a member does not see (and
the API refuses them), requiring two-factor authentication with its preview, transfer
of ownership, leaving, and deleting with a typed confirmation.

Each test makes its own accounts and organizations. What the browser shows is checked
with role and label locators (the accessibility contract); what the API decided is
checked over plain HTTP.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.console.conftest import assert_accessible, shoot
from tests.e2e.console.flows import access_token, create_org, sign_in
from tests.e2e.helpers import (
    assert_problem,
    bearer,
    emails_to,
    strong_password,
    unique_email,
    wait_for_emails,
)

pytestmark = pytest.mark.e2e

INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/[A-Za-z0-9_-]+")
VERIFY_LINK = re.compile(r"https?://[^\s\"'<>]+/verify-email\?[^\s\"'<>]+")
GENERAL_URL = re.compile(r"#/orgs/([^/?#]+)/general$")
TOTP_STEP_SECONDS = 30

Account = Callable[[str], tuple[str, str]]
Opener = Callable[..., Any]


# --- steps over HTTP ---------------------------------------------------------------------------


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


def _invitation_links(api: httpx.Client, email: str) -> list[str]:
    """The invitation links emailed to `email`, oldest first, as paths on the console's server."""
    links = [INVITATION_LINK.search(m["text"]) for m in emails_to(api, email)]
    return [urlsplit(found.group(0)).path for found in links if found]


def _invite_and_join(api: httpx.Client, owner_token: str, org_id: str, email: str, password: str) -> str:
    """Invite `email` as a member and accept with its account; answers its user id."""
    invited = api.post(
        f"/orgs/{org_id}/invitations", json={"email": email, "role": "member"}, headers=bearer(owner_token)
    )
    assert invited.status_code == 201, invited.text
    token = access_token(api, email, password)
    accepted = api.post(f"{_invitation_links(api, email)[-1]}/accept", headers=bearer(token))
    assert accepted.status_code == 200, accepted.text
    return _user_id(api, token)


def _user_id(api: httpx.Client, token: str) -> str:
    me = api.get("/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    user_id: str = me.json()["id"]
    return user_id


def _roles(api: httpx.Client, token: str, org_id: str) -> dict[str, str]:
    members = api.get(f"/orgs/{org_id}/members", headers=bearer(token))
    assert members.status_code == 200, members.text
    return {m["email"]: m["role"] for m in members.json()["items"]}


def _step_now() -> int:
    return int(time.time()) // TOTP_STEP_SECONDS


def _enable_two_factor(api: httpx.Client, token: str) -> tuple[str, int]:
    """2FA on for the token's account (tests/e2e/test_two_factor_e2e.py reads the QR
    code; here the secret field is enough). Answers the secret and the step spent."""
    setup = api.post("/me/2fa/setup", headers=bearer(token))
    assert setup.status_code == 200, setup.text
    secret: str = setup.json()["secret"]
    step = _step_now()
    enabled = api.post(
        "/me/2fa/enable", json={"code": pyotp.TOTP(secret).at(step * TOTP_STEP_SECONDS)}, headers=bearer(token)
    )
    assert enabled.status_code == 200, enabled.text
    return secret, step


def _unused_code(secret: str, spent_step: int) -> str:
    """A code the server takes now: a step after the one spent, within its one-step drift."""
    step = max(_step_now(), spent_step + 1)
    return str(pyotp.TOTP(secret).at(step * TOTP_STEP_SECONDS))


# --- steps in the browser ----------------------------------------------------------------------


def _open_team(page: Any, org_id: str) -> None:
    page.goto(f"/#/orgs/{org_id}/team")
    expect(page.get_by_role("heading", level=1, name="Team")).to_be_visible()
    expect(page.get_by_role("table", name="Members").get_by_role("row")).not_to_have_count(1)


def _open_general(page: Any, org_id: str) -> None:
    page.goto(f"/#/orgs/{org_id}/general")
    expect(page.get_by_role("heading", level=1, name="General")).to_be_visible()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def _member_row(page: Any, email: str) -> Any:
    return page.get_by_role("table", name="Members").get_by_role("row").filter(has_text=email)


def _invitation_row(page: Any, email: str) -> Any:
    return page.get_by_role("table", name="Pending invitations").get_by_role("row").filter(has_text=email)


def _confirm(page: Any, button: str) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button, exact=True).click()
    expect(dialog).to_have_count(0)


# --- the flows ---------------------------------------------------------------------------------


def test_an_owner_creates_an_organization_invites_someone_who_signs_up_and_joins_then_changes_and_removes_them(
    open_console: Opener, console_api: httpx.Client, verified_account: Account
) -> None:
    owner_email, owner_password = verified_account("Ada")
    page = open_console()
    sign_in(page, owner_email, owner_password)

    # Create an organization from the switcher.
    page.get_by_label("Organization", exact=True).select_option("new")
    expect(page.get_by_role("heading", level=1, name="Create an organization")).to_be_visible()
    shoot(page, "org-new")
    assert_accessible(page)
    org_name = f"Analytical Engines {_suffix()}"
    page.get_by_label("Organization name").fill(org_name)
    page.get_by_role("button", name="Create organization").click()
    expect(page).to_have_url(GENERAL_URL)
    org_id = GENERAL_URL.search(page.url).group(1)  # type: ignore[union-attr]
    expect(page.get_by_role("heading", level=1, name="General")).to_be_visible()
    expect(page.get_by_role("definition").filter(has_text=org_name)).to_be_visible()
    expect(page.get_by_role("navigation", name="Organization settings")).to_contain_text(org_name)
    expect(page.get_by_role("button", name="Delete organization")).to_be_visible()
    shoot(page, "org-general")
    assert_accessible(page)

    # Team: a refused invitation shows its message next to the email field.
    page.get_by_role("navigation", name="Organization settings").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", level=1, name="Team")).to_be_visible()
    expect(_member_row(page, owner_email.lower())).to_contain_text("Owner")
    page.get_by_role("button", name="Invite member").click()
    email_field = page.get_by_label("Email address")
    expect(email_field).to_be_focused()
    email_field.fill("grace at example")
    page.get_by_role("button", name="Send invitation").click()
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(email_field).to_be_focused()
    refused = console_api.post(
        f"/orgs/{org_id}/invitations",
        json={"email": "grace at example", "role": "member"},
        headers=bearer(access_token(console_api, owner_email, owner_password)),
    )
    message = assert_problem(refused, 422, "invalid_email")["detail"]
    expect(page.locator(".field").filter(has=email_field)).to_contain_text(message)
    shoot(page, "team-invite-error")
    assert_accessible(page)

    # The invitation goes out; it is pending.
    invitee = unique_email("Grace").lower()
    email_field.fill(invitee)
    expect(page.get_by_label("Role", exact=True)).to_have_value("member")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invitation sent to {invitee}.")).to_be_visible()
    expect(_invitation_row(page, invitee)).to_contain_text("Member")
    expect(_invitation_row(page, invitee)).to_contain_text("You")
    link = _invitation_links(console_api, invitee)
    assert len(link) == 1, link

    # The invitee, in a browser of their own: signs up on the invitation page, confirms
    # from the email (which leads back to the invitation), signs in and accepts.
    invitee_password = strong_password()
    guest = open_console(link[0])
    expect(guest).to_have_title(re.compile(f"^Join {re.escape(org_name)}"))
    guest.get_by_label("Your name").fill("Grace")
    guest.get_by_label("Choose a password").fill(invitee_password)
    guest.get_by_role("button", name="Create account").click()
    expect(guest).to_have_title(re.compile("^Check your inbox"))
    found = VERIFY_LINK.search(wait_for_emails(console_api, invitee, 2)[-1]["text"])
    assert found, "no confirmation link"
    confirm = urlsplit(found.group(0))
    guest.goto(f"{confirm.path}?{confirm.query}")
    guest.get_by_role("button", name="Confirm email address").click()
    guest.get_by_role("link", name="Continue to your invitation").click()
    expect(guest).to_have_title(re.compile(f"^Join {re.escape(org_name)}"))
    guest.get_by_label("Password", exact=True).fill(invitee_password)
    guest.get_by_role("button", name="Sign in and accept").click()
    expect(guest).to_have_title(re.compile(f"^Welcome to {re.escape(org_name)}"))
    invitee_token = access_token(console_api, invitee, invitee_password)
    assert console_api.get(f"/orgs/{org_id}", headers=bearer(invitee_token)).status_code == 200

    # The owner sees them in Team, with their 2FA status; the invitation is gone.
    _open_general(page, org_id)
    _open_team(page, org_id)
    row = _member_row(page, invitee)
    expect(row).to_contain_text("Grace")
    expect(row).to_contain_text("No 2FA")
    expect(page.get_by_role("table", name="Pending invitations")).to_contain_text("No pending invitations.")
    shoot(page, "team-owner")
    assert_accessible(page)

    # Change the role to admin.
    row.get_by_role("combobox", name=f"Role of {invitee}").select_option("admin")
    expect(row.get_by_text("Saved")).to_be_visible()
    owner_token = access_token(console_api, owner_email, owner_password)
    assert _roles(console_api, owner_token, org_id)[invitee] == "admin"

    # Remove, after a confirmation; from then on the API refuses the removed person.
    row.get_by_role("button", name="Remove").click()
    _confirm(page, "Remove")
    expect(page.get_by_text(f"Grace was removed from {org_name}.")).to_be_visible()
    expect(_member_row(page, invitee)).to_have_count(0)
    assert_problem(console_api.get(f"/orgs/{org_id}", headers=bearer(invitee_token)), 404, "not_found")
    assert invitee not in _roles(console_api, owner_token, org_id)


def test_pending_invitations_are_resent_and_revoked(
    open_console: Opener, console_api: httpx.Client, verified_account: Account
) -> None:
    owner_email, owner_password = verified_account("Ada")
    owner_token = access_token(console_api, owner_email, owner_password)
    org_id = create_org(console_api, owner_token, "Difference Engines")
    invitee = unique_email("Grace").lower()
    invited = console_api.post(
        f"/orgs/{org_id}/invitations", json={"email": invitee, "role": "admin"}, headers=bearer(owner_token)
    )
    assert invited.status_code == 201, invited.text
    [first_link] = _invitation_links(console_api, invitee)

    page = open_console()
    sign_in(page, owner_email, owner_password)
    _open_team(page, org_id)
    row = _invitation_row(page, invitee)
    expect(row).to_contain_text("Admin")

    # Resend: a new link; the first one stops working.
    row.get_by_role("button", name="Resend").click()
    expect(page.get_by_text(f"Invitation sent again to {invitee}.")).to_be_visible()
    links = _invitation_links(console_api, invitee)
    assert len(links) == 2 and links[0] == first_link, links
    second_link = links[1]
    stale = console_api.get(first_link, headers={"Accept": "application/json"})
    assert stale.status_code in (404, 410), stale.text
    assert console_api.get(second_link, headers={"Accept": "application/json"}).status_code == 200

    # Revoke, after a confirmation: the link then shows why it no longer works.
    row.get_by_role("button", name="Revoke").click()
    _confirm(page, "Revoke")
    expect(page.get_by_text(f"The invitation to {invitee} was revoked")).to_be_visible()
    expect(_invitation_row(page, invitee)).to_have_count(0)
    problem = console_api.get(second_link, headers={"Accept": "application/json"})
    assert problem.status_code == 404, problem.text
    visitor = open_console(second_link)
    expect(visitor.get_by_text(problem.json()["detail"])).to_be_visible()


def test_a_member_sees_the_team_without_the_controls_they_may_not_use_and_the_api_refuses_them(
    open_console: Opener, console_api: httpx.Client, verified_account: Account
) -> None:
    owner_email, owner_password = verified_account("Ada")
    owner_token = access_token(console_api, owner_email, owner_password)
    org_name = f"Jacquard Looms {_suffix()}"
    org_id = create_org(console_api, owner_token, org_name)
    member_email, member_password = verified_account("Grace")
    _invite_and_join(console_api, owner_token, org_id, member_email.lower(), member_password)
    pending = console_api.post(
        f"/orgs/{org_id}/invitations",
        json={"email": unique_email("Pending"), "role": "member"},
        headers=bearer(owner_token),
    )
    assert pending.status_code == 201, pending.text

    page = open_console()
    sign_in(page, member_email, member_password)
    _open_team(page, org_id)
    expect(_member_row(page, owner_email.lower())).to_contain_text("Owner")
    expect(_member_row(page, member_email.lower())).to_contain_text("You")
    expect(page.get_by_role("button", name="Invite member")).to_have_count(0)
    expect(page.get_by_role("combobox", name=re.compile("^Role of"))).to_have_count(0)
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    expect(page.get_by_role("heading", name="Pending invitations")).to_have_count(0)
    nav = page.get_by_role("navigation", name="Organization settings")
    expect(nav.get_by_role("link", name="Team")).to_be_visible()
    for hidden in ("API Keys", "Audit log", "Access review", "Billing"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    shoot(page, "team-member")
    assert_accessible(page)

    _open_general(page, org_id)
    expect(page.get_by_role("button", name="Delete organization")).to_have_count(0)
    expect(page.get_by_role("switch", name="Require two-factor authentication")).to_have_count(0)
    expect(page.get_by_label("Organization name")).to_have_count(0)
    expect(page.get_by_role("button", name="Transfer ownership")).to_have_count(0)
    expect(page.get_by_role("button", name="Leave organization")).to_be_visible()
    shoot(page, "org-general-member")
    assert_accessible(page)

    # The API refuses what was not offered.
    member_token = access_token(console_api, member_email, member_password)
    owner_id = _user_id(console_api, owner_token)
    refused = console_api.post(
        f"/orgs/{org_id}/invitations",
        json={"email": unique_email("Eve"), "role": "member"},
        headers=bearer(member_token),
    )
    assert_problem(refused, 403, "forbidden")
    assert_problem(console_api.get(f"/orgs/{org_id}/invitations", headers=bearer(member_token)), 403, "forbidden")
    assert_problem(
        console_api.patch(f"/orgs/{org_id}/members/{owner_id}", json={"role": "member"}, headers=bearer(member_token)),
        403,
        "forbidden",
    )
    assert_problem(console_api.delete(f"/orgs/{org_id}", headers=bearer(member_token)), 403, "forbidden")

    # An admin manages the team but is not offered deleting the organization.
    member_id = _user_id(console_api, member_token)
    promoted = console_api.patch(
        f"/orgs/{org_id}/members/{member_id}", json={"role": "admin"}, headers=bearer(owner_token)
    )
    assert promoted.status_code == 200, promoted.text
    page.reload()  # the console reads the account's roles once per load (GET /me)
    _open_team(page, org_id)
    expect(page.get_by_role("button", name="Invite member")).to_be_visible()
    expect(page.get_by_role("heading", name="Pending invitations")).to_be_visible()
    expect(_member_row(page, owner_email.lower()).get_by_role("combobox")).to_have_count(0)
    _open_general(page, org_id)
    expect(page.get_by_role("switch", name="Require two-factor authentication")).to_be_visible()
    expect(page.get_by_role("button", name="Delete organization")).to_have_count(0)
    assert_problem(console_api.delete(f"/orgs/{org_id}", headers=bearer(member_token)), 403, "forbidden")

    # Leaving, after a confirmation, goes home; the organization is then closed to them.
    page.get_by_role("button", name="Leave organization").click()
    _confirm(page, "Leave organization")
    expect(page).to_have_url(re.compile(r"#/$"))
    expect(page.get_by_role("combobox", name="Organization").get_by_role("option", name=org_name)).to_have_count(0)
    assert_problem(console_api.get(f"/orgs/{org_id}", headers=bearer(member_token)), 404, "not_found")


def test_requiring_two_factor_previews_who_is_locked_out_and_then_refuses_them(
    open_console: Opener, console_api: httpx.Client, verified_account: Account
) -> None:
    owner_email, owner_password = verified_account("Ada")
    owner_token = access_token(console_api, owner_email, owner_password)
    org_name = f"Babbage Works {_suffix()}"
    org_id = create_org(console_api, owner_token, org_name)
    member_email, member_password = verified_account("Grace")
    _invite_and_join(console_api, owner_token, org_id, member_email.lower(), member_password)

    # An owner without 2FA cannot require it: the message is next to the switch, with
    # the way to turn it on.
    page = open_console()
    sign_in(page, owner_email, owner_password)
    _open_general(page, org_id)
    switch = page.get_by_role("switch", name="Require two-factor authentication")
    expect(switch).not_to_be_checked()
    switch.click()
    page.get_by_role("button", name="Require it").click()
    expect(switch).to_be_focused()
    expect(switch).not_to_be_checked()
    refused = page.get_by_role("alert").filter(has_text="two-factor")
    expect(refused).to_be_visible()
    expect(refused.get_by_role("link", name="Set up two-factor authentication")).to_have_attribute(
        "href", "#/account/security"
    )

    # With 2FA on (over HTTP; it ends the other sessions), the owner signs in again with a code.
    secret, spent = _enable_two_factor(console_api, owner_token)
    page = open_console()
    sign_in(page, owner_email, owner_password, code=_unused_code(secret, spent))
    _open_general(page, org_id)
    switch = page.get_by_role("switch", name="Require two-factor authentication")
    switch.click()
    preview = page.get_by_role("region", name="Before you switch it on")
    expect(preview.get_by_role("listitem")).to_have_count(1)
    expect(preview.get_by_role("listitem")).to_contain_text(member_email.lower())
    expect(preview).not_to_contain_text(owner_email.lower())
    expect(switch).not_to_be_checked()
    shoot(page, "org-general-require-2fa-preview")
    assert_accessible(page)
    preview.get_by_role("button", name="Require it").click()
    expect(switch).to_be_checked()
    expect(page.get_by_text(f"Two-factor authentication is now required in {org_name}.")).to_be_visible()
    expect(page.get_by_text("Locked out until they turn it on:")).to_be_visible()
    assert console_api.get(f"/orgs/{org_id}", headers=bearer(owner_token)).json()["require_2fa"] is True

    # The member without 2FA is refused: over HTTP and in their console.
    member_token = access_token(console_api, member_email, member_password)
    assert_problem(console_api.get(f"/orgs/{org_id}", headers=bearer(member_token)), 403, "two_factor_required")
    detail = assert_problem(
        console_api.get(f"/orgs/{org_id}/members", headers=bearer(member_token)), 403, "two_factor_required"
    )["detail"]
    member = open_console()
    sign_in(member, member_email, member_password)
    for path, heading in (("general", "General"), ("team", "Team")):
        member.goto(f"/#/orgs/{org_id}/{path}")
        expect(member.get_by_role("heading", level=1, name=heading)).to_be_visible()
        alert = member.get_by_role("alert").filter(has_text=detail)
        expect(alert).to_be_visible()
        expect(alert.get_by_role("link", name="Set up two-factor authentication")).to_be_visible()
    shoot(member, "team-two-factor-required")
    assert_accessible(member)

    # Switching it off again asks first.
    switch.click()
    _confirm(page, "Stop requiring it")
    expect(switch).not_to_be_checked()
    assert console_api.get(f"/orgs/{org_id}", headers=bearer(member_token)).status_code == 200


def test_the_owner_transfers_ownership_and_becomes_an_admin(
    open_console: Opener, console_api: httpx.Client, verified_account: Account
) -> None:
    owner_email, owner_password = verified_account("Ada")
    owner_token = access_token(console_api, owner_email, owner_password)
    org_id = create_org(console_api, owner_token, "Transfer Works")
    member_email, member_password = verified_account("Grace")
    _invite_and_join(console_api, owner_token, org_id, member_email.lower(), member_password)

    page = open_console()
    sign_in(page, owner_email, owner_password)
    _open_general(page, org_id)
    expect(page.get_by_role("button", name="Leave organization")).to_have_count(0)
    page.get_by_label("New owner").select_option(label=f"Grace ({member_email.lower()})")
    page.get_by_role("button", name="Transfer ownership").click()
    _confirm(page, "Transfer ownership")

    # The page is drawn again for the new role: an admin, who may leave and may not delete.
    expect(page.get_by_role("definition").filter(has_text="Admin")).to_be_visible()
    expect(page.get_by_role("button", name="Leave organization")).to_be_visible()
    expect(page.get_by_role("button", name="Delete organization")).to_have_count(0)
    expect(page.get_by_label("New owner")).to_have_count(0)
    roles = _roles(console_api, owner_token, org_id)
    assert roles == {owner_email.lower(): "admin", member_email.lower(): "owner"}, roles


def test_deleting_an_organization_needs_its_name_typed(
    open_console: Opener, console_api: httpx.Client, verified_account: Account
) -> None:
    owner_email, owner_password = verified_account("Ada")
    owner_token = access_token(console_api, owner_email, owner_password)
    org_name = f"Short Lived {_suffix()}"
    org_id = create_org(console_api, owner_token, org_name)

    page = open_console()
    sign_in(page, owner_email, owner_password)
    _open_general(page, org_id)
    page.get_by_role("button", name="Delete organization").click()
    dialog = page.get_by_role("dialog")
    confirm = dialog.get_by_role("button", name="Delete organization")
    typed = dialog.get_by_label(f"Type {org_name} to confirm")
    expect(typed).to_be_focused()
    expect(confirm).to_be_disabled()
    typed.fill(org_name.lower())
    expect(confirm).to_be_disabled()
    typed.fill(org_name)
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(page).to_have_url(re.compile(r"#/$"))
    expect(page.get_by_role("combobox", name="Organization").get_by_role("option", name=org_name)).to_have_count(0)
    assert_problem(console_api.get(f"/orgs/{org_id}", headers=bearer(owner_token)), 404, "not_found")

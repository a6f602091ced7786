"""The ways into the console, in Chromium: sign up and confirm from the email, sign in
and stay signed in across a reload (the refresh cookie, the access token in memory
only), sign out, a wrong password, forgot and reset password, the 2FA step with a code
and with a recovery code, a provider sign-in, home with its organizations and pending
invitations, and the invitation page for the invited account, another account and
nobody.

Accounts and organizations a test is not about are set up over HTTP (console_api);
every address is new, so tests stay independent on the shared console server.
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

from devserver.local_providers import put_oidc_user
from tests.e2e.console.conftest import assert_accessible, shoot
from tests.e2e.console.flows import access_token, create_org, sign_in
from tests.e2e.helpers import (
    bearer,
    emails_to,
    log_in,
    reset_emails_to,
    reset_link,
    sign_up,
    strong_password,
    unique_email,
    verification_link,
    wait_for_emails,
)

pytestmark = pytest.mark.e2e

OpenConsole = Callable[..., Any]
INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/[A-Za-z0-9_-]+")
REFRESH_COOKIE = "__Secure-kuploy_refresh"
CSRF_COOKIE = "__Host-kuploy_csrf"
TOTP_STEP_SECONDS = 30


def signed_in_as(page: Any, email: str) -> None:
    """The top bar shows the account and its Sign out button."""
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("#topbar")).to_contain_text(email.lower())


def on_sign_in_page(page: Any) -> None:
    expect(page.get_by_role("heading", level=1, name="Sign in to Kuploy")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def scripts_can_read(page: Any) -> str:
    """Everything a script on the page could read back: both storages and the cookies."""
    text: str = page.evaluate(
        "() => JSON.stringify({local: {...localStorage}, session: {...sessionStorage}, cookie: document.cookie})"
    )
    return text


# --- 2FA over HTTP -------------------------------------------------------------------------


def totp_code(secret: str, step: int) -> str:
    return str(pyotp.TOTP(secret).at(step * TOTP_STEP_SECONDS))


def current_step() -> int:
    return int(time.time()) // TOTP_STEP_SECONDS


def wrong_code(secret: str) -> str:
    """A well-formed code that no step near now has."""
    near = {totp_code(secret, current_step() + offset) for offset in range(-3, 4)}
    return next(code for code in (f"{n:06d}" for n in range(123_456, 1_000_000, 7)) if code not in near)


def with_two_factor(api: httpx.Client, email: str, password: str) -> tuple[str, list[str]]:
    """Turn 2FA on over HTTP (as tests/e2e/test_two_factor_e2e.py does); answers the
    secret and the recovery codes. The previous step's code enables it, so the current
    step's code is still unused for the sign-in that follows."""
    token = access_token(api, email, password)
    setup = api.post("/me/2fa/setup", headers=bearer(token))
    assert setup.status_code == 200, setup.text
    secret: str = setup.json()["secret"]
    for _ in range(2):  # a step boundary between computing and checking: once more
        enabled = api.post(
            "/me/2fa/enable", json={"code": totp_code(secret, current_step() - 1)}, headers=bearer(token)
        )
        if enabled.status_code == 200:
            codes: list[str] = enabled.json()["recovery_codes"]
            return secret, codes
    raise AssertionError(enabled.text)


# --- organizations and invitations over HTTP -----------------------------------------------


def invite(api: httpx.Client, token: str, org_id: str, email: str, role: str = "member") -> str:
    """Invite `email`; answers the token of the emailed link."""
    before = len(invitation_emails(api, email))
    response = api.post(f"/orgs/{org_id}/invitations", json={"email": email, "role": role}, headers=bearer(token))
    assert response.status_code == 201, response.text
    sent = invitation_emails(api, email)
    assert len(sent) == before + 1, sent
    links = set(INVITATION_LINK.findall(sent[-1]["text"]))
    assert len(links) == 1, sent[-1]["text"]
    link: str = links.pop()
    return urlsplit(link).path.rsplit("/", 1)[1]


def invitation_emails(api: httpx.Client, email: str) -> list[dict[str, str]]:
    return [m for m in emails_to(api, email) if INVITATION_LINK.search(m["text"])]


def organizations_of(api: httpx.Client, token: str) -> dict[str, str]:
    response = api.get("/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    return {org["id"]: org["role"] for org in response.json()["organizations"]}


def org_name(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:6]}"


# --- sign up, confirm, sign in, reload, sign out ---------------------------------------------


def test_sign_up_confirm_sign_in_stay_signed_in_across_a_reload_and_sign_out(
    open_console: OpenConsole, console_api: httpx.Client
) -> None:
    email, password = unique_email("Signup"), strong_password()
    page = open_console("/#/sign-in")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", level=1, name="Create your Kuploy account")).to_be_focused()
    expect(page.get_by_text("At least 8 characters, and not a common password.")).to_be_visible()
    shoot(page, "auth-sign-up")
    assert_accessible(page)

    # The API's field errors land next to their fields.
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Password")).to_be_focused()
    expect(page.locator(".field-error:visible")).to_have_count(1)

    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1, name="Check your inbox")).to_be_focused()
    expect(page.get_by_role("status").filter(has_text=email)).to_be_visible()
    shoot(page, "auth-sign-up-sent")

    # The emailed link opens the server's page; its button confirms; it leads back here.
    page.goto(verification_link(wait_for_emails(console_api, email, 1)[-1]))
    page.get_by_role("button", name="Confirm email address").click()
    expect(page.get_by_text("Your email address is confirmed")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    on_sign_in_page(page)

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/auth/login") as login:
        page.get_by_role("button", name="Sign in", exact=True).click()
    answer = login.value.json()
    assert "refresh_token" not in answer, "cookie delivery: the refresh token is not in the body"
    signed_in_as(page, email)
    expect(page.get_by_role("heading", level=1, name="Your organizations")).to_be_visible()

    # The refresh token is an HttpOnly cookie for /auth/ only; the CSRF cookie is readable.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies[REFRESH_COOKIE]["httpOnly"] is True and cookies[REFRESH_COOKIE]["path"] == "/auth/"
    assert cookies[CSRF_COOKIE]["httpOnly"] is False

    # A reload keeps the person signed in, with a new access token from the cookie.
    with page.expect_response(lambda r: urlsplit(r.url).path == "/auth/refresh") as refreshed:
        page.reload()
    assert refreshed.value.status == 200
    renewed = refreshed.value.json()["access_token"]
    signed_in_as(page, email)
    readable = scripts_can_read(page)
    for token in (answer["access_token"], renewed):
        assert token not in readable, "an access token is where scripts can read it"
    assert REFRESH_COOKIE not in readable and CSRF_COOKIE in readable

    # Signing out ends it: a reload shows the sign-in page.
    page.get_by_role("button", name="Sign out").click()
    on_sign_in_page(page)
    assert REFRESH_COOKIE not in {c["name"] for c in page.context.cookies()}
    page.reload()
    on_sign_in_page(page)
    page.goto("/#/")
    on_sign_in_page(page)


def test_a_wrong_password_is_told_next_to_the_form_with_focus_on_it(
    open_console: OpenConsole, verified_account: Callable[[str], tuple[str, str]]
) -> None:
    email, password = verified_account("Wrong")
    page = open_console("/#/sign-in")
    on_sign_in_page(page)
    expect(page.get_by_role("link", name="Forgot your password?")).to_be_visible()
    shoot(page, "auth-sign-in")
    assert_accessible(page)

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(f"{password}-not")
    page.get_by_role("button", name="Sign in", exact=True).click()
    error = page.locator("form .form-error")
    expect(error).to_have_text(re.compile("Wrong email or password"))
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_be_focused()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    signed_in_as(page, email)


def test_an_unconfirmed_address_is_offered_a_new_confirmation_email(
    open_console: OpenConsole, console_api: httpx.Client
) -> None:
    email, password = unique_email("Unconfirmed"), strong_password()
    sign_up(console_api, email, password)
    wait_for_emails(console_api, email, 1)

    page = open_console("/#/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator("form .form-error")).to_be_focused()
    page.get_by_role("button", name="Resend the confirmation email").click()
    expect(page.get_by_role("status").filter(has_text="a new link is on its way")).to_be_visible()
    wait_for_emails(console_api, email, 2)

    # The same from its own page (#/verify-email), which the sign-up's "Send it again" opens.
    page.goto(f"/#/verify-email?email={email}")
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_role("button", name="Send confirmation email").click()
    expect(page.get_by_role("status").filter(has_text="a new link is on its way")).to_be_visible()
    assert_accessible(page)
    wait_for_emails(console_api, email, 3)


def test_forgot_password_then_reset_through_the_emailed_link(
    open_console: OpenConsole, console_api: httpx.Client, verified_account: Callable[[str], tuple[str, str]]
) -> None:
    email, old_password = verified_account("Forgot")
    new_password = strong_password()
    page = open_console("/#/sign-in")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1, name="Reset your password")).to_be_focused()
    shoot(page, "auth-forgot-password")
    assert_accessible(page)

    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", level=1, name="Check your inbox")).to_be_focused()
    expect(
        page.get_by_role("status").filter(has_text=f"If an account exists for {email}, we sent a link")
    ).to_be_visible()

    wait_for_emails(console_api, email, 2)  # the confirmation, then the reset link
    page.goto(reset_link(reset_emails_to(console_api, email)[-1]))
    page.get_by_label("New password").fill(new_password)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    on_sign_in_page(page)
    assert log_in(console_api, email, old_password).status_code == 401

    sign_in(page, email, new_password)
    signed_in_as(page, email)


# --- two-factor ------------------------------------------------------------------------------


def test_the_two_factor_step_with_a_code_with_a_recovery_code_and_when_it_is_over(
    open_console: OpenConsole, console_api: httpx.Client, verified_account: Callable[[str], tuple[str, str]]
) -> None:
    email, password = verified_account("TwoFactor")
    secret, recovery_codes = with_two_factor(console_api, email, password)

    # With a code: a wrong one is told next to the field; the right one signs in.
    page = open_console("/#/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Two-factor authentication")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#/sign-in/2fa$"))
    shoot(page, "auth-2fa")
    assert_accessible(page)
    code_field = page.get_by_label("Authentication code")
    code_field.fill(wrong_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(code_field).to_have_attribute("aria-invalid", "true")
    expect(code_field).to_be_focused()
    expect(page.locator(".field-error:visible")).to_contain_text("wrong or was already used")
    code_field.fill(totp_code(secret, current_step()))
    page.get_by_role("button", name="Verify").click()
    signed_in_as(page, email)

    # With a recovery code, in another browser.
    other = open_console()
    sign_in(other, email, password, recovery_code=recovery_codes[0])
    signed_in_as(other, email)

    # The challenge is spent elsewhere (here: over HTTP) before the page answers it:
    # back to the sign-in page, saying why.
    third = open_console("/#/sign-in")
    third.get_by_label("Email").fill(email)
    third.get_by_label("Password", exact=True).fill(password)
    with third.expect_response(lambda r: urlsplit(r.url).path == "/auth/login") as login:
        third.get_by_role("button", name="Sign in", exact=True).click()
    mfa_token = login.value.json()["mfa_token"]
    spent = console_api.post("/auth/login/2fa", json={"mfa_token": mfa_token, "recovery_code": recovery_codes[1]})
    assert spent.status_code == 200, spent.text
    third.get_by_role("button", name="Use a recovery code").click()
    expect(third.get_by_label("Recovery code")).to_be_focused()
    third.get_by_label("Recovery code").fill(recovery_codes[2])
    third.get_by_role("button", name="Verify").click()
    on_sign_in_page(third)
    expect(third.get_by_role("alert")).to_contain_text("The sign-in step expired or was already used")
    # The refused challenge spent nothing: that recovery code still works.
    sign_in(third, email, password, recovery_code=recovery_codes[2])

    # Without a first step, the second step's address leads to the first.
    fresh = open_console("/#/sign-in/2fa")
    on_sign_in_page(fresh)


# --- a provider ------------------------------------------------------------------------------


def answer_empty_css(route: Any) -> None:
    """The local Google's page links a stylesheet on a CDN this closed machine cannot reach."""
    route.fulfill(status=200, content_type="text/css", body="")


def at_google_as(page: Any, google: str, subject: str) -> None:
    """From the sign-in page to the local Google's consent form, filled in as `subject`."""
    page.get_by_role("link", name="Continue with Google").click()
    page.wait_for_url(f"{google}/**")
    page.fill("input[name=sub]", subject)


def test_continue_with_google_signs_in_and_clears_the_login_code(
    open_console: OpenConsole, console_api: httpx.Client
) -> None:
    providers = console_api.get("/_dev/providers")
    assert providers.status_code == 200, providers.text
    google = providers.json()["google"]
    email, subject = unique_email("Google").lower(), f"sub-{uuid.uuid4().hex}"
    put_oidc_user(google, subject, email=email, email_verified=True, name="Grace Hopper")

    page = open_console("/#/sign-in")
    # The local Google's page (oidc-provider-mock) links a stylesheet on a CDN this
    # closed machine cannot reach: answer it empty rather than log a failed load.
    page.route("https://cdn.jsdelivr.net/**", answer_empty_css)
    for name in ("GitHub", "Google", "GitLab"):
        expect(page.get_by_role("link", name=f"Continue with {name}")).to_be_visible()

    # Saying no at the provider comes back with a plain explanation.
    page.get_by_role("link", name="Continue with Google").click()
    page.wait_for_url(f"{google}/**")
    page.get_by_role("button", name="Deny").click()
    on_sign_in_page(page)
    expect(page.get_by_role("alert")).to_contain_text("You cancelled the sign-in at the provider")
    # Said once: the code leaves the address bar, so a reload does not repeat it.
    expect(page).to_have_url(re.compile(r"/#/sign-in$"))

    at_google_as(page, google, subject)
    page.get_by_role("button", name="Authorize").click()
    signed_in_as(page, email)
    expect(page.get_by_role("heading", level=1, name="Your organizations")).to_be_visible()
    assert "login_code" not in page.url, page.url
    assert page.evaluate("() => window.location.search") == ""


# --- home -----------------------------------------------------------------------------------


def test_home_lists_organizations_and_answers_pending_invitations(
    open_console: OpenConsole, console_api: httpx.Client, verified_account: Callable[[str], tuple[str, str]]
) -> None:
    owner_email, owner_password = verified_account("Owner")
    owner = access_token(console_api, owner_email, owner_password)
    joining_name, declining_name = org_name("Analytical Engines"), org_name("Difference Engines")
    joining, declining = create_org(console_api, owner, joining_name), create_org(console_api, owner, declining_name)

    email, password = verified_account("Invitee")
    page = open_console()
    sign_in(page, email, password)

    # Nobody's organization yet: an invitation to create one.
    expect(page.get_by_text("You are not in any organization yet")).to_be_visible()
    expect(page.get_by_role("link", name="Create organization")).to_have_attribute("href", "#/orgs/new")
    expect(page.get_by_text("No invitations are waiting for you.")).to_be_visible()

    # Their own organization, and two invitations.
    mine_name = org_name("Lovelace Labs")
    mine = create_org(console_api, access_token(console_api, email, password), mine_name)
    invite(console_api, owner, joining, email, "admin")
    invite(console_api, owner, declining, email)
    page.reload()
    signed_in_as(page, email)
    own = page.get_by_role("listitem").filter(has_text=mine_name)
    expect(own.get_by_role("link", name=mine_name)).to_have_attribute("href", f"#/orgs/{mine}/general")
    expect(own).to_contain_text("Owner")
    invitations = page.get_by_role("table", name="Pending invitations")
    expect(invitations.get_by_role("row")).to_have_count(3)
    row = invitations.get_by_role("row").filter(has_text=joining_name)
    expect(row).to_contain_text("Admin")
    shoot(page, "auth-home")
    assert_accessible(page)

    # Decline one (after a confirmation), accept the other: on to its settings.
    page.get_by_role("button", name=f"Decline the invitation to {declining_name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Decline").click()
    expect(invitations.get_by_role("row")).to_have_count(2)
    page.get_by_role("button", name=f"Accept the invitation to {joining_name}").click()
    expect(page).to_have_url(re.compile(f"#/orgs/{joining}/general$"))

    page.goto("/#/")
    expect(page.get_by_role("link", name=joining_name)).to_be_visible()
    expect(page.get_by_text("No invitations are waiting for you.")).to_be_visible()
    roles = organizations_of(console_api, access_token(console_api, email, password))
    assert roles == {mine: "owner", joining: "admin"}, roles


# --- the invitation page ---------------------------------------------------------------------


def test_the_invitation_page_for_nobody_then_the_invited_account_accepting(
    open_console: OpenConsole, console_api: httpx.Client, verified_account: Callable[[str], tuple[str, str]]
) -> None:
    owner_email, owner_password = verified_account("Owner")
    owner = access_token(console_api, owner_email, owner_password)
    name = org_name("Harvard Mark")
    org_id = create_org(console_api, owner, name)
    email, password = verified_account("Invited")
    token = invite(console_api, owner, org_id, email)

    page = open_console(f"/#/invitations/{token}")
    expect(page.get_by_role("heading", level=1, name=f"Join {name}")).to_be_visible()
    expect(page.locator("dl.details")).to_contain_text(email.lower())
    expect(page.get_by_role("link", name="Open the invitation page")).to_have_attribute("href", f"/invitations/{token}")
    expect(page.get_by_role("button", name="Accept")).to_have_count(0)
    shoot(page, "auth-invitation-signed-out")
    assert_accessible(page)

    # "Sign in to accept" comes back here once signed in.
    page.get_by_role("link", name="Sign in to accept").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    signed_in_as(page, email)
    expect(page).to_have_url(re.compile(f"#/invitations/{token}$"))
    expect(page.get_by_role("button", name="Decline")).to_be_visible()
    shoot(page, "auth-invitation-invited")
    assert_accessible(page)
    page.get_by_role("button", name="Accept").click()
    expect(page).to_have_url(re.compile(f"#/orgs/{org_id}/general$"))
    assert organizations_of(console_api, access_token(console_api, email, password)) == {org_id: "member"}

    # The link is used now: the page says so.
    page.goto(f"/#/invitations/{token}")
    expect(page.get_by_role("alert")).to_contain_text("This invitation was already answered")
    page.goto("/#/invitations/not-a-real-token")
    expect(page.get_by_role("alert")).to_contain_text("This invitation link does not work")


def test_the_invitation_page_for_another_account_offers_to_switch(
    open_console: OpenConsole, console_api: httpx.Client, verified_account: Callable[[str], tuple[str, str]]
) -> None:
    owner_email, owner_password = verified_account("Owner")
    owner = access_token(console_api, owner_email, owner_password)
    name = org_name("Colossus")
    org_id = create_org(console_api, owner, name)
    invited_email, _ = verified_account("Invited")
    token = invite(console_api, owner, org_id, invited_email)
    other_email, other_password = verified_account("Other")

    page = open_console()
    sign_in(page, other_email, other_password)
    page.goto(f"/#/invitations/{token}")
    expect(
        page.get_by_text(f"This invitation is for {invited_email.lower()}; you are signed in as {other_email.lower()}")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Accept")).to_have_count(0)
    expect(page.get_by_role("link", name="Stay signed in")).to_have_attribute("href", "#/")
    shoot(page, "auth-invitation-other-account")
    assert_accessible(page)

    # The API agrees: this account cannot accept it.
    refused = console_api.post(
        f"/invitations/{token}/accept", headers=bearer(access_token(console_api, other_email, other_password))
    )
    assert refused.status_code == 403 and refused.json()["code"] == "invitation_email_mismatch", refused.text

    # Switching: signed out, on the server's invitation page, which signs in or up as the invited address.
    page.get_by_role("button", name="Sign out and continue").click()
    page.wait_for_url(f"**/invitations/{token}")
    expect(page.get_by_role("button", name="Sign in and accept")).to_be_visible()
    assert REFRESH_COOKIE not in {c["name"] for c in page.context.cookies()}
    assert organizations_of(console_api, owner)[org_id] == "owner"


def test_a_login_code_this_tab_did_not_ask_for_is_not_exchanged(
    open_console: OpenConsole, console_api: httpx.Client
) -> None:
    """Login CSRF: an attacker finishes a provider sign-in of their own, keeps the
    `/?login_code=…` address, and gets someone to open it. The console exchanges a code
    only in a tab that started a provider sign-in, so the victim stays signed out and
    never even sends the code."""
    google = console_api.get("/_dev/providers").json()["google"]
    subject = f"sub-{uuid.uuid4().hex}"
    put_oidc_user(google, subject, email=unique_email("Mallory").lower(), email_verified=True, name="Mallory")

    attacker = open_console("/#/sign-in")
    attacker.route("https://cdn.jsdelivr.net/**", answer_empty_css)
    at_google_as(attacker, google, subject)
    with attacker.expect_request(re.compile(r".*/\?login_code=.*")) as landing:
        attacker.get_by_role("button", name="Authorize").click()
    address = landing.value.url

    victim = open_console("/#/")
    on_sign_in_page(victim)
    exchanges: list[str] = []
    victim.on("request", lambda request: exchanges.append(request.url) if "/oauth/exchange" in request.url else None)
    victim.goto(address)
    on_sign_in_page(victim)
    expect(victim.get_by_role("alert")).to_contain_text("did not start in this window was ignored")
    assert exchanges == []
    assert "login_code" not in victim.url
    expect(victim.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_provider_sign_in_lands_where_the_person_was_heading(
    open_console: OpenConsole, console_api: httpx.Client
) -> None:
    google = console_api.get("/_dev/providers").json()["google"]
    email, subject = unique_email("Heading").lower(), f"sub-{uuid.uuid4().hex}"
    put_oidc_user(google, subject, email=email, email_verified=True, name="Katherine Johnson")

    page = open_console("/#/orgs/new")
    on_sign_in_page(page)
    page.route("https://cdn.jsdelivr.net/**", answer_empty_css)
    at_google_as(page, google, subject)
    page.get_by_role("button", name="Authorize").click()
    signed_in_as(page, email)
    expect(page).to_have_url(re.compile(r"/#/orgs/new$"))

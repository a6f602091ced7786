"""Account settings in Chromium: profile, security (password, 2FA, sessions, the sudo
prompt) and the sign-in history, against the console's own local server.

The browser connects from 127.0.0.1; what these tests do over plain HTTP (a session on
another device, a wrong password, checking that an old secret is refused) comes from
their own loopback addresses, 127.0.21.x, away from every other suite's login budgets.

Two things a browser test cannot wait for are made instead:
- A sign-in older than sudo mode's 10 minutes: the page's refresh answer is swapped for
  the same token minted with the server's signing key (`console_signing_key`) and an
  `auth_time` 11 minutes old, so the page itself holds a stale token and meets the real
  403 `reauthentication_required`, prompt and `POST /auth/reauthenticate`.
- A fresh TOTP step for each code: `Authenticator` starts at the step before the current
  one (the server accepts it) and waits for the clock only when every step the server
  would accept is spent.
"""

from __future__ import annotations

import re
import struct
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import jwt
import numpy as np
import pyotp
import pytest
import zxingcpp
from playwright.sync_api import expect

from tests.e2e.console.conftest import assert_accessible, shoot
from tests.e2e.console.flows import sign_in
from tests.e2e.helpers import DevServer, assert_problem, bearer, log_in, strong_password, tokens_of

pytestmark = pytest.mark.e2e

STEP_SECONDS = 30
# Time a code needs from being computed to being checked (typing, the request).
CODE_MARGIN_SECONDS = 10
STALE_SECONDS = 11 * 60
RECOVERY_CODE = re.compile(r"[0-9a-z]{4}(?:-[0-9a-z]{4}){3}")
HTTP_DEVICE = "curl/8.5.0"


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def from_address(server: DevServer, octet: int) -> Iterator[httpx.Client]:
    with server.client(source_ip=f"127.0.21.{octet}") as http:
        yield http


class Authenticator:
    """The phone's app: each code() is of a step the server has not seen used (it takes
    each step once, and only the steps next to the current one)."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step: int | None = None

    def code(self) -> str:
        now = time.time()
        current = int(now) // STEP_SECONDS
        left = STEP_SECONDS - now % STEP_SECONDS
        earliest = current - 1 if left > CODE_MARGIN_SECONDS else current
        step = earliest if self.last_step is None else max(self.last_step + 1, earliest)
        if step > current + 1:
            # Every step the server would take now is spent: the clock must move on.
            time.sleep((step - 1) * STEP_SECONDS - now + 0.5)
        self.last_step = step
        return self.totp.at(step * STEP_SECONDS)


def _paeth(left: int, up: int, upper_left: int) -> int:
    guess = left + up - upper_left
    to_left, to_up, to_upper_left = abs(guess - left), abs(guess - up), abs(guess - upper_left)
    if to_left <= to_up and to_left <= to_upper_left:
        return left
    return up if to_up <= to_upper_left else upper_left


def png_grey(data: bytes) -> np.ndarray:
    """The pixels of a PNG screenshot as greyscale (8-bit RGB or RGBA, not interlaced:
    what Chromium writes), decoded here since the suite has no image library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    position, compressed = 8, b""
    header: tuple[int, ...] = ()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        chunk_type, chunk = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length
        if chunk_type == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif chunk_type == b"IDAT":
            compressed += chunk
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(compressed)
    rows = np.zeros((height, stride), dtype=np.uint8)
    above = [0] * stride
    for y in range(height):
        start = y * (stride + 1)
        row_filter, line = raw[start], raw[start + 1 : start + 1 + stride]
        row = [0] * stride
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            upper_left = above[i - channels] if i >= channels else 0
            predicted = (
                0,
                left,
                above[i],
                (left + above[i]) // 2,
                _paeth(left, above[i], upper_left),
            )[row_filter]
            row[i] = (line[i] + predicted) & 0xFF
        rows[y] = row
        above = row
    pixels = rows.reshape(height, width, channels)[:, :, :3].astype(np.float64)
    grey: np.ndarray = pixels.mean(axis=2).astype(np.uint8)
    return grey


def read_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(png_grey(png))
    assert len(found) == 1, f"expected one QR code on the page, read {len(found)}"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode, found[0].format
    return str(found[0].text)


def secret_of(uri: str, email: str) -> str:
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp"), uri
    assert unquote(parts.path) == f"/Kuploy:{email.lower()}", uri
    [secret] = parse_qs(parts.query)["secret"]
    return secret


def stale(signing_key: str, access_token: str) -> str:
    """The same person and session, issued now, whose factor was proven 11 minutes ago."""
    now = int(time.time())
    claims = jwt.decode(access_token, options={"verify_signature": False}) | {
        "iat": now,
        "exp": now + 600,
        "jti": f"e2e-{uuid.uuid4().hex}",
        "auth_time": now - STALE_SECONDS,
    }
    return jwt.encode(claims, signing_key.encode(), algorithm="HS256", headers={"typ": "at+jwt"})


def give_the_page_a_stale_sign_in(page: Any, signing_key: str) -> None:
    """Reload: the page resumes its session with the refresh cookie, and is answered
    (once) an access token of that session whose sign-in is 11 minutes old."""

    def stale_answer(route: Any) -> None:
        response = route.fetch()
        assert response.status == 200, response.text()
        body = response.json()
        body["access_token"] = stale(signing_key, body["access_token"])
        route.fulfill(response=response, json=body)

    page.route("**/auth/refresh", stale_answer, times=1)
    page.reload()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_label("Email")).to_be_visible()


def me(http: httpx.Client, email: str, password: str) -> dict[str, Any]:
    tokens = tokens_of(log_in(http, email, password))
    answer = http.get("/me", headers=bearer(tokens["access_token"]))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def mfa_token(http: httpx.Client, email: str, password: str) -> str:
    first = log_in(http, email, password)
    assert first.status_code == 200, first.text
    assert first.json()["mfa_required"] is True, first.json()
    token: str = first.json()["mfa_token"]
    return token


def clipboard(page: Any) -> str:
    text: str = page.evaluate("navigator.clipboard.readText()")
    return text


def allow_clipboard(page: Any, server: DevServer) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)


# --- two-factor authentication ---------------------------------------------------------------


def test_two_factor_from_the_qr_code_to_recovery_codes_sign_ins_and_off(
    open_console: Callable[..., Any],
    console_server: DevServer,
    verified_account: Callable[[str], tuple[str, str]],
    tmp_path: Path,
) -> None:
    email, password = verified_account("Ada")
    page = open_console()
    allow_clipboard(page, console_server)
    sign_in(page, email, password)
    page.goto("/#/account/security")
    expect(page.get_by_role("heading", name="Security", level=1)).to_be_visible()
    two_factor = page.get_by_role("region", name="Two-factor authentication", exact=True)
    expect(two_factor.get_by_text("Off", exact=True)).to_be_visible()
    shoot(page, "account-security")
    assert_accessible(page)

    # The QR step: what a phone reads from the picture is the key shown beside it.
    two_factor.get_by_role("button", name="Enable 2FA").click()
    qr = two_factor.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    expect(qr).to_have_js_property("complete", True)
    secret = secret_of(read_qr(qr.screenshot()), email)
    manual = two_factor.locator(".secret-box")
    expect(manual).to_have_text(re.compile(r"^([A-Z2-7]{4} )*[A-Z2-7]{1,4}$"))
    assert manual.inner_text().replace(" ", "") == secret
    two_factor.get_by_role("button", name="Copy key").click()
    expect(two_factor.get_by_text("Copied the key.")).to_be_visible()
    assert clipboard(page) == secret
    shoot(page, "account-security-2fa-qr")
    assert_accessible(page)

    # A wrong code is shown next to the field; the right one turns 2FA on.
    authenticator = Authenticator(secret)
    code_field = two_factor.get_by_label("Authentication code")
    code_field.fill("000000" if authenticator.totp.now() != "000000" else "111111")
    two_factor.get_by_role("button", name="Turn on 2FA").click()
    expect(code_field).to_have_attribute("aria-invalid", "true")
    code_field.fill(authenticator.code())
    two_factor.get_by_role("button", name="Turn on 2FA").click()

    codes_list = two_factor.get_by_role("list", name="Recovery codes")
    expect(codes_list.get_by_role("listitem")).to_have_count(10)
    codes = [text.strip() for text in codes_list.get_by_role("listitem").all_inner_texts()]
    assert all(RECOVERY_CODE.fullmatch(code) for code in codes), codes
    assert len(set(codes)) == 10
    expect(
        two_factor.get_by_text("Store these codes somewhere safe. Each works once, and they will not be shown again.")
    ).to_be_visible()
    shoot(page, "account-security-recovery-codes")
    assert_accessible(page)

    with page.expect_download() as downloading:
        two_factor.get_by_role("link", name="Download").click()
    download = downloading.value
    assert download.suggested_filename == "kuploy-recovery-codes.txt"
    saved = tmp_path / "codes.txt"
    download.save_as(saved)
    assert RECOVERY_CODE.findall(saved.read_text(encoding="utf-8")) == codes
    two_factor.get_by_role("button", name="Copy codes").click()
    expect(two_factor.get_by_text("Copied the codes.")).to_be_visible()
    assert clipboard(page).split() == codes
    two_factor.get_by_role("button", name="I have stored them").click()
    expect(two_factor.get_by_text("On", exact=True)).to_be_visible()
    expect(codes_list).to_have_count(0)

    # Sign in again: with a code, then with a recovery code, which works once.
    sign_out(page)
    sign_in(page, email, password, code=authenticator.code())
    sign_out(page)
    sign_in(page, email, password, recovery_code=codes[0])
    with from_address(console_server, 1) as http:
        spent = http.post(
            "/auth/login/2fa", json={"mfa_token": mfa_token(http, email, password), "recovery_code": codes[0]}
        )
        assert_problem(spent, 401, "invalid_code")

    # New recovery codes: the old ones stop working.
    page.goto("/#/account/security")
    recovery = page.get_by_role("region", name="Recovery codes", exact=True)
    recovery.get_by_label("Authentication code").fill(authenticator.code())
    recovery.get_by_role("button", name="Regenerate recovery codes").click()
    page.get_by_role("dialog", name="Make new recovery codes?").get_by_role("button", name="Make new codes").click()
    fresh_list = page.get_by_role("list", name="Recovery codes")
    expect(fresh_list.get_by_role("listitem")).to_have_count(10)
    fresh = [text.strip() for text in fresh_list.get_by_role("listitem").all_inner_texts()]
    assert not set(fresh) & set(codes)
    page.get_by_role("button", name="I have stored them").click()
    with from_address(console_server, 1) as http:
        old = http.post(
            "/auth/login/2fa", json={"mfa_token": mfa_token(http, email, password), "recovery_code": codes[1]}
        )
        assert_problem(old, 401, "invalid_code")

    # Turn it off with the password and one of the new recovery codes.
    turn_off = page.get_by_role("region", name="Turn off 2FA")
    turn_off.get_by_label("Password").fill(password)
    turn_off.get_by_label("Authentication code").fill(fresh[0])
    turn_off.get_by_role("button", name="Turn off 2FA").click()
    page.get_by_role("dialog", name="Turn off two-factor authentication?").get_by_role(
        "button", name="Turn off 2FA"
    ).click()
    two_factor = page.get_by_role("region", name="Two-factor authentication", exact=True)
    expect(two_factor.get_by_text("Two-factor authentication is off.")).to_be_visible()
    expect(two_factor.get_by_text("Off", exact=True)).to_be_visible()
    with from_address(console_server, 1) as http:
        assert me(http, email, password)["two_factor_enabled"] is False


# --- the password and the sudo prompt --------------------------------------------------------


def test_changing_the_password_shows_errors_by_their_fields_and_a_stale_sign_in_confirms_first(
    open_console: Callable[..., Any],
    console_server: DevServer,
    console_signing_key: str,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password = verified_account("Grace")
    page = open_console()
    sign_in(page, email, password)
    page.goto("/#/account/security")
    card = page.get_by_role("region", name="Password", exact=True)
    current, new = card.get_by_label("Current password"), card.get_by_label("New password")

    current.fill("not the password")
    new.fill(strong_password())
    card.get_by_role("button", name="Change password").click()
    expect(current).to_have_attribute("aria-invalid", "true")
    expect(current).to_be_focused()
    expect(new).not_to_have_attribute("aria-invalid", "true")

    current.fill(password)
    new.fill("short")
    card.get_by_role("button", name="Change password").click()
    expect(new).to_have_attribute("aria-invalid", "true")
    expect(card.get_by_text("Use at least 8 characters")).to_be_visible()

    # A sign-in older than 10 minutes: the change waits for the password in the prompt.
    give_the_page_a_stale_sign_in(page, console_signing_key)
    card = page.get_by_role("region", name="Password", exact=True)
    changed = strong_password()
    card.get_by_label("Current password").fill(password)
    card.get_by_label("New password").fill(changed)
    card.get_by_role("button", name="Change password").click()
    prompt = page.get_by_role("dialog", name="Confirm it's you")
    expect(prompt).to_be_visible()
    expect(prompt.get_by_label("Password", exact=True)).to_be_focused()
    shoot(page, "account-sudo-prompt")
    assert_accessible(page)
    prompt.get_by_label("Password", exact=True).fill("not the password")
    prompt.get_by_role("button", name="Confirm").click()
    expect(prompt.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    prompt.get_by_label("Password", exact=True).fill(password)
    prompt.get_by_role("button", name="Confirm").click()
    expect(prompt).to_have_count(0)
    expect(card.get_by_text("Your password was changed.")).to_be_visible()

    with from_address(console_server, 2) as http:
        assert_problem(log_in(http, email, password), 401, "invalid_credentials")
        tokens_of(log_in(http, email, changed))
        events = http.get("/me/audit-log", headers=bearer(tokens_of(log_in(http, email, changed))["access_token"]))
        actions = [event["action"] for event in events.json()["items"]]
        assert "session.reauthenticated" in actions and "password.changed" in actions, actions


# --- sessions --------------------------------------------------------------------------------


def test_sessions_show_devices_and_other_sessions_can_be_signed_out(
    open_console: Callable[..., Any],
    console_server: DevServer,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password = verified_account("Linus")
    with from_address(console_server, 3) as http:
        laptop = tokens_of(
            http.post("/auth/login", json={"email": email, "password": password}, headers={"User-Agent": HTTP_DEVICE})
        )
        script = tokens_of(log_in(http, email, password))
    page = open_console()
    sign_in(page, email, password)
    page.goto("/#/account/security")
    sessions = page.get_by_role("region", name="Sessions", exact=True)
    rows = sessions.get_by_role("table", name="Sessions").locator("tbody tr")
    expect(rows).to_have_count(3)
    this_device = rows.filter(has_text="This device")
    expect(this_device).to_have_count(1)
    expect(this_device).to_contain_text("Chrome on Linux")
    expect(this_device).to_contain_text("127.0.0.1")
    curl = rows.filter(has_text="curl")
    expect(curl).to_contain_text("127.0.21.3")
    curl.get_by_text("curl", exact=True).click()
    expect(curl.get_by_text(HTTP_DEVICE, exact=True)).to_be_visible()

    curl.get_by_role("button", name="Sign out curl at 127.0.21.3").click()
    page.get_by_role("dialog", name="Sign out this session?").get_by_role("button", name="Sign out session").click()
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="curl")).to_have_count(0)
    with from_address(console_server, 3) as http:
        refused = http.post("/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
        assert refused.status_code == 401, refused.text

    sessions.get_by_role("button", name="Sign out everywhere else").click()
    page.get_by_role("dialog", name="Sign out everywhere else?").get_by_role(
        "button", name="Sign out everywhere else"
    ).click()
    expect(sessions.get_by_text("Signed out 1 other session.")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("This device")
    with from_address(console_server, 3) as http:
        refused = http.post("/auth/refresh", json={"refresh_token": script["refresh_token"]})
        assert refused.status_code == 401, refused.text

    # This browser is still signed in, after a reload too.
    page.reload()
    expect(page.get_by_role("heading", name="Security", level=1)).to_be_visible()


# --- profile and providers -------------------------------------------------------------------


def authorize_at_fake_github(page: Any, login: str) -> None:
    expect(page.get_by_label("GitHub login")).to_be_visible()
    page.get_by_label("GitHub login").fill(login)
    page.get_by_role("button", name="Authorize", exact=True).click()


def test_the_profile_renames_and_links_and_unlinks_a_provider(
    open_console: Callable[..., Any],
    console_server: DevServer,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password = verified_account("Ada")
    page = open_console()
    sign_in(page, email, password)
    page.goto("/#/account/profile")
    expect(page.get_by_role("heading", name="Profile", level=1)).to_be_visible()
    main = page.get_by_role("main")
    expect(main.get_by_text(email.lower(), exact=True)).to_be_visible()
    expect(main.get_by_text("Verified", exact=True)).to_be_visible()

    main.get_by_label("Name", exact=True).fill("Ada Byron")
    main.get_by_role("button", name="Save name").click()
    expect(main.get_by_text("Saved. Your name is now Ada Byron.")).to_be_visible()
    with from_address(console_server, 4) as http:
        assert me(http, email, password)["name"] == "Ada Byron"

    providers = page.get_by_role("table", name="Sign-in providers")
    github = providers.locator("tr", has=page.get_by_role("rowheader", name="GitHub"))
    expect(github).to_contain_text("Not linked")
    shoot(page, "account-profile")
    assert_accessible(page)

    login = f"octo-{uuid.uuid4().hex[:10]}"
    github.get_by_role("button", name="Link GitHub").click()
    authorize_at_fake_github(page, login)
    expect(main.get_by_text("GitHub is linked: you can now sign in with GitHub.")).to_be_visible()
    expect(github).to_contain_text(f"as {login}@example.com")
    with from_address(console_server, 4) as http:
        assert [i["provider"] for i in me(http, email, password)["identities"]] == ["github"]

    github.get_by_role("button", name="Unlink GitHub").click()
    page.get_by_role("dialog", name="Unlink GitHub?").get_by_role("button", name="Unlink GitHub").click()
    expect(main.get_by_text("GitHub was unlinked")).to_be_visible()
    expect(github).to_contain_text("Not linked")
    with from_address(console_server, 4) as http:
        assert me(http, email, password)["identities"] == []

    # Saying no at the provider comes back as a plain sentence, and links nothing.
    github.get_by_role("button", name="Link GitHub").click()
    expect(page.get_by_label("GitHub login")).to_be_visible()
    page.get_by_role("button", name="Deny", exact=True).click()
    expect(main.get_by_text("You cancelled at the provider, so nothing was linked.")).to_be_visible()
    expect(github).to_contain_text("Not linked")


def test_an_account_of_one_provider_cannot_unlink_it_and_has_no_password_to_change(
    open_console: Callable[..., Any],
    console_server: DevServer,
) -> None:
    page = open_console()
    login = f"octo-{uuid.uuid4().hex[:10]}"
    # Through the sign-in page's button: the console exchanges a login code only in a
    # tab that started the provider sign-in.
    page.goto("/#/sign-in")
    page.get_by_role("link", name="Continue with GitHub").click()
    authorize_at_fake_github(page, login)
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()

    page.goto("/#/account/profile")
    github = page.get_by_role("table", name="Sign-in providers").locator(
        "tr", has=page.get_by_role("rowheader", name="GitHub")
    )
    expect(github).to_contain_text("Linked")
    github.get_by_role("button", name="Unlink GitHub").click()
    page.get_by_role("dialog", name="Unlink GitHub?").get_by_role("button", name="Unlink GitHub").click()
    refusal = github.get_by_role("alert")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("last way to sign in")
    expect(github).to_contain_text("Linked")

    page.goto("/#/account/security")
    password = page.get_by_role("region", name="Password", exact=True)
    expect(password.get_by_text("Your account signs in with a provider only")).to_be_visible()
    expect(password.get_by_label("Current password")).to_have_count(0)


# --- the sign-in history ---------------------------------------------------------------------


def test_the_sign_in_history_shows_sign_ins_and_failures_newest_first(
    open_console: Callable[..., Any],
    console_server: DevServer,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password = verified_account("Hedy")
    with from_address(console_server, 6) as http:
        wrong = http.post(
            "/auth/login", json={"email": email, "password": "not the password"}, headers={"User-Agent": HTTP_DEVICE}
        )
        assert_problem(wrong, 401, "invalid_credentials")
    page = open_console()
    sign_in(page, email, password)
    page.goto("/#/account/activity")
    expect(page.get_by_role("heading", name="Sign-in history", level=1)).to_be_visible()
    rows = page.get_by_role("table", name="Sign-in history").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Signed in")
    expect(rows.nth(0)).to_contain_text("127.0.0.1")
    expect(rows.nth(0)).to_contain_text("Chrome on Linux")
    expect(rows.nth(1)).to_contain_text("Sign-in refused: wrong password")
    expect(rows.nth(1)).to_contain_text("127.0.21.6")
    expect(rows.nth(1)).to_contain_text("curl")
    shoot(page, "account-activity")
    assert_accessible(page)

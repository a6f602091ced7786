"""Two-factor authentication over real HTTP on the local server.

The authenticator in these tests is the one a person has: it reads the QR code. The
secret used to compute codes is taken from the otpauth:// URI that the served
`qr_svg` decodes to (the SVG is parsed into its module grid, rendered to pixels and
read by zxing-cpp), and only then compared with the `secret` field, so a QR code that
does not scan, or scans to another secret, fails here.

TOTP steps: the server accepts a code for its 30-second step and one step either side
of now, and never the same (or an earlier) step twice for one account. Each test spends
steps in increasing order, and chooses them so that a window turning between reading
the clock and the server checking the code changes nothing: the code of the current
step or of the next one (still valid a step later), the previous step's code only with
seconds of the window left, and the step after next only once the next step has begun.
The one wait for a window to turn is in the whole-flow test, which proves four times.

Then the races (one TOTP code, or one recovery code, on two challenges at once: one
sign-in), the organization policy (`require_2fa`), and the operator's reset of a lost
authenticator (`bin/kuploy-access admin reset-2fa EMAIL --local URL`)."""

from __future__ import annotations

import re
import subprocess
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import numpy as np
import pyotp
import pytest
import zxingcpp

from tests.e2e.helpers import (
    PROJECT_ROOT,
    DevServer,
    assert_problem,
    bearer,
    emails_to,
    log_in,
    logged_in,
    signed_up_and_verified,
    tokens_of,
    unique_email,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")
STEP_SECONDS = 30
RECOVERY_CODE = re.compile(r"[0-9a-z]{4}(-[0-9a-z]{4}){3}")
INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/([A-Za-z0-9_-]+)")
CLI = PROJECT_ROOT / "bin" / "kuploy-access"
QUIET_ZONE_MODULES = 4
PIXELS_PER_MODULE = 4
LIGHT_COLOURS = {"#fff", "#ffffff", "white", "none", "transparent"}


# --- reading the QR code as a phone would ---------------------------------------------------


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _path_numbers(text: str) -> list[str]:
    return re.findall(r"[MmHhVvLlZz]|-?\d*\.?\d+(?:[eE][-+]?\d+)?", text)


def _dark_modules_of_path(d: str, module: float) -> set[tuple[int, int]]:
    """The modules a stroked path of horizontal and vertical lines covers, as (row, column).

    segno draws each run of dark modules of a row as a line through the middle of the
    row (`M x y+0.5 h n`, then relative moves); the line is `module` wide."""
    tokens = _path_numbers(d)
    cells: set[tuple[int, int]] = set()
    x = y = 0.0
    command = ""
    position = 0

    def number() -> float:
        nonlocal position
        value = float(tokens[position])
        position += 1
        return value

    while position < len(tokens):
        if re.fullmatch(r"[A-Za-z]", tokens[position]):
            command = tokens[position]
            position += 1
            if command in "Zz":
                continue
        if command == "M":
            x, y = number(), number()
            command = "L"  # further pairs after a moveto are lines (SVG rule)
        elif command == "m":
            dx, dy = number(), number()
            x, y = x + dx, y + dy
            command = "l"
        elif command in "HhVvLl":
            if command in "Hh":
                target = number()
                new_x, new_y = (target if command == "H" else x + target), y
            elif command in "Vv":
                target = number()
                new_x, new_y = x, (target if command == "V" else y + target)
            else:
                tx, ty = number(), number()
                new_x, new_y = (tx, ty) if command == "L" else (x + tx, y + ty)
            if new_y == y:  # a row segment: the line's centre is half a module down
                row = round((y - module / 2) / module)
                first, last = sorted((round(x / module), round(new_x / module)))
                cells.update((row, column) for column in range(first, last))
            elif new_x == x:
                column = round((x - module / 2) / module)
                first, last = sorted((round(y / module), round(new_y / module)))
                cells.update((row, column) for row in range(first, last))
            else:
                raise AssertionError(f"a diagonal line in a QR code path: {d[:200]!r}")
            x, y = new_x, new_y
        else:
            raise AssertionError(f"path command {command!r} not understood in {d[:200]!r}")
    return cells


def _module_grid(svg: str) -> np.ndarray:
    """The QR symbol of the SVG as a boolean grid (True = dark), without its border."""
    root = ElementTree.fromstring(svg)  # noqa: S314 - the answer of the local server under test
    assert _local_name(root.tag) == "svg", svg[:200]
    dark: set[tuple[int, int]] = set()
    for element in root.iter():
        name = _local_name(element.tag)
        if name == "path":
            stroke = (element.get("stroke") or "none").lower()
            fill = (element.get("fill") or "#000").lower()
            if stroke not in LIGHT_COLOURS:
                dark |= _dark_modules_of_path(element.get("d", ""), float(element.get("stroke-width", "1")))
            elif fill not in LIGHT_COLOURS:
                raise AssertionError(f"a filled dark path is not a format this reader knows: {svg[:300]!r}")
        elif name == "rect" and (element.get("fill") or "#000").lower() not in LIGHT_COLOURS:
            x, y = int(float(element.get("x", "0"))), int(float(element.get("y", "0")))
            width, height = int(float(element.get("width", "1"))), int(float(element.get("height", "1")))
            dark |= {(row, column) for row in range(y, y + height) for column in range(x, x + width)}
    assert dark, f"no dark modules in {svg[:300]!r}"
    rows = [row for row, _ in dark]
    columns = [column for _, column in dark]
    top, left = min(rows), min(columns)
    size = max(rows) - top + 1
    # Finder patterns sit in three corners, so the dark modules span the whole symbol.
    assert max(columns) - left + 1 == size, "the QR symbol is not square"
    assert size >= 21 and (size - 21) % 4 == 0, f"{size} modules is no QR code version"
    grid = np.zeros((size, size), dtype=bool)
    for row, column in dark:
        grid[row - top, column - left] = True
    return grid


def _decode_qr_svg(svg: str) -> str:
    """What a phone reads from the SVG: black modules on white, a 4-module quiet zone."""
    grid = np.pad(_module_grid(svg), QUIET_ZONE_MODULES, constant_values=False)
    pixels = np.where(grid, 0, 255).astype(np.uint8)
    image = np.kron(pixels, np.ones((PIXELS_PER_MODULE, PIXELS_PER_MODULE), dtype=np.uint8))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"expected one QR code in the image, read {len(found)}"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode, found[0].format
    return str(found[0].text)


def _secret_of(uri: str, email: str) -> str:
    """The secret of an otpauth:// URI, after checking what authenticator apps rely on."""
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp"), uri
    assert unquote(parts.path) == f"/Kuploy:{email.lower()}", uri
    query = parse_qs(parts.query, strict_parsing=True)
    assert query.get("issuer") == ["Kuploy"], uri
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"], uri
    assert query.get("digits", ["6"]) == ["6"], uri
    assert query.get("period", ["30"]) == ["30"], uri
    [secret] = query["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), f"not 160 bits of base32: {secret!r}"
    return secret


# --- TOTP steps -----------------------------------------------------------------------------


def _step_now() -> int:
    return int(time.time()) // STEP_SECONDS


def _code(secret: str, step: int) -> str:
    return str(pyotp.TOTP(secret).at(step * STEP_SECONDS))


def _wrong_code(secret: str) -> str:
    """A well-formed code that no step near now has."""
    near = {_code(secret, _step_now() + offset) for offset in range(-3, 4)}
    return next(code for code in (f"{n:06d}" for n in range(123_456, 1_000_000, 7)) if code not in near)


def _room_in_window(seconds: float) -> None:
    """Wait, if need be, until the current step has at least `seconds` left."""
    left = STEP_SECONDS - time.time() % STEP_SECONDS
    if left < seconds:
        time.sleep(left + 0.3)


def _wait_for_step(step: int) -> None:
    while _step_now() < step:
        time.sleep(STEP_SECONDS - time.time() % STEP_SECONDS + 0.3)


# --- accounts over HTTP ---------------------------------------------------------------------


def _me(client: httpx.Client, access_token: str) -> dict[str, Any]:
    answer = client.get("/me", headers=bearer(access_token))
    assert answer.status_code == 200, answer.text
    me: dict[str, Any] = answer.json()
    return me


def _set_up(client: httpx.Client, access_token: str, email: str) -> str:
    """POST /me/2fa/setup; answers the secret read from the QR code (checked against `secret`)."""
    answer = client.post("/me/2fa/setup", headers=bearer(access_token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}, body
    assert answer.headers["cache-control"] == "no-store", "a secret must not be cached"
    scanned = _decode_qr_svg(body["qr_svg"])
    assert scanned == body["otpauth_uri"], (scanned, body["otpauth_uri"])
    secret = _secret_of(scanned, email)
    assert secret == body["secret"], "the QR code carries another secret than the `secret` field"
    return secret


def _enable(client: httpx.Client, access_token: str, code: str) -> list[str]:
    answer = client.post("/me/2fa/enable", json={"code": code}, headers=bearer(access_token))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store", "recovery codes must not be cached"
    codes: list[str] = answer.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    assert all(RECOVERY_CODE.fullmatch(code) for code in codes), codes
    return codes


def _enrolled(client: httpx.Client, name: str) -> dict[str, Any]:
    """A verified account with 2FA on, enabled with the code of the current step (`step`);
    `tokens` are those of the sign-in before 2FA was on."""
    email, password = signed_up_and_verified(client, name)
    tokens = tokens_of(log_in(client, email, password))
    secret = _set_up(client, tokens["access_token"], email)
    step = _step_now()
    codes = _enable(client, tokens["access_token"], _code(secret, step))
    assert _me(client, tokens["access_token"])["two_factor_enabled"] is True
    return {
        "email": email,
        "password": password,
        "tokens": tokens,
        "secret": secret,
        "step": step,
        "recovery_codes": codes,
    }


def _challenge(client: httpx.Client, email: str, password: str) -> str:
    """A correct password on an account with 2FA: the second step, and no tokens."""
    answer = log_in(client, email, password)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body.keys() == {"mfa_required", "mfa_token", "expires_in"}, body
    assert answer.headers["cache-control"] == "no-store", answer.headers
    assert body["mfa_required"] is True and body["expires_in"] == 300, body
    assert isinstance(body["mfa_token"], str) and body["mfa_token"], body
    token: str = body["mfa_token"]
    return token


def _second_step(client: httpx.Client, mfa_token: str, **factor: str) -> httpx.Response:
    return client.post("/auth/login/2fa", json={"mfa_token": mfa_token, **factor})


def _second_step_on(mfa_token: str, **factor: str) -> Callable[[httpx.Client], httpx.Response]:
    """The second step as a call to make later, on a client of its own."""

    def call(own: httpx.Client) -> httpx.Response:
        return _second_step(own, mfa_token, **factor)

    return call


def _notices(client: httpx.Client, email: str, *words: str) -> list[dict[str, str]]:
    return [
        mail
        for mail in emails_to(client, email)
        if "security notice" in mail["subject"].lower() and all(w in mail["subject"].lower() for w in words)
    ]


def _wait_for_notice(client: httpx.Client, email: str, before: int, *words: str) -> dict[str, str]:
    """The security notice (subject naming `words`) that arrived after `before` such notices."""
    deadline = time.monotonic() + 5
    found = _notices(client, email, *words)
    while len(found) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
        found = _notices(client, email, *words)
    assert len(found) == before + 1, (words, [m["subject"] for m in emails_to(client, email)])
    return found[-1]


def _at_once(server: DevServer, calls: list[Callable[[httpx.Client], T]]) -> list[T]:
    """Each call on its own connection, from threads released together."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[httpx.Client], T]) -> T:
        with server.client() as own:
            barrier.wait(timeout=30)
            return call(own)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# --- 1. the whole flow ----------------------------------------------------------------------


def test_enrol_by_scanning_the_qr_code_sign_in_recover_and_turn_it_off(client: httpx.Client) -> None:
    email, password = signed_up_and_verified(client, "Ada")
    first = tokens_of(log_in(client, email, password))
    assert _me(client, first["access_token"])["two_factor_enabled"] is False

    # Setup answers a secret; until a code enables it, nothing changes.
    secret = _set_up(client, first["access_token"], email)
    tokens_of(log_in(client, email, password))
    assert _me(client, first["access_token"])["two_factor_enabled"] is False
    refused = client.post("/me/2fa/enable", json={"code": _wrong_code(secret)}, headers=bearer(first["access_token"]))
    assert_problem(refused, 403, "invalid_code")

    # Four TOTP proofs follow (enable, sign-in, new recovery codes, turn off), each on a
    # later step: the previous step's code enables, well inside the current window.
    _room_in_window(8)
    step = _step_now()
    turned_on = len(_notices(client, email, "turned on"))
    recovery = _enable(client, first["access_token"], _code(secret, step - 1))
    assert _me(client, first["access_token"])["two_factor_enabled"] is True
    _wait_for_notice(client, email, turned_on, "turned on")

    # Signing out and in again: the password alone no longer gives tokens.
    logged_out = client.post("/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert logged_out.status_code == 204, logged_out.text
    mfa_token = _challenge(client, email, password)
    not_access = client.get("/me", headers=bearer(mfa_token))
    assert not_access.status_code == 401, "an MFA challenge token must not work as an access token"
    assert_problem(_second_step(client, mfa_token, code=_wrong_code(secret)), 401, "invalid_code")
    # The code that enabled 2FA counts as used.
    assert_problem(_second_step(client, mfa_token, code=_code(secret, step - 1)), 401, "invalid_code")
    second = tokens_of(_second_step(client, mfa_token, code=_code(secret, step)))
    # A challenge signs in once, and refusing it spends nothing.
    reused = _second_step(client, mfa_token, recovery_code=recovery[-1])
    assert_problem(reused, 401, "invalid_token")
    me = _me(client, second["access_token"])
    assert me["two_factor_enabled"] is True and me["email"] == email.lower(), me

    # The same code on a new challenge: refused, and the person is told.
    replays = len(_notices(client, email, "refused"))
    replayed = _second_step(client, _challenge(client, email, password), code=_code(secret, step))
    assert_problem(replayed, 401, "invalid_code")
    notice = _wait_for_notice(client, email, replays, "refused")
    assert "already been used" in notice["text"], notice["text"]

    # A recovery code signs in once.
    used = len(_notices(client, email, "recovery code"))
    with_recovery = tokens_of(_second_step(client, _challenge(client, email, password), recovery_code=recovery[-1]))
    assert _me(client, with_recovery["access_token"])["two_factor_enabled"] is True
    _wait_for_notice(client, email, used, "recovery code")
    again = _second_step(client, _challenge(client, email, password), recovery_code=recovery[-1])
    assert_problem(again, 401, "invalid_code")

    # New recovery codes, proven by a fresh code: the old ones stop working.
    renewed = client.post(
        "/me/2fa/recovery-codes", json={"code": _code(secret, step + 1)}, headers=bearer(second["access_token"])
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.headers["cache-control"] == "no-store", renewed.headers
    new_recovery: list[str] = renewed.json()["recovery_codes"]
    assert len(new_recovery) == 10 and len(set(new_recovery)) == 10, new_recovery
    assert not set(new_recovery) & set(recovery), "new recovery codes repeat old ones"
    old = _second_step(client, _challenge(client, email, password), recovery_code=recovery[1])
    assert_problem(old, 401, "invalid_code")
    tokens_of(_second_step(client, _challenge(client, email, password), recovery_code=new_recovery[0]))

    # Turning it off takes the password and a fresh code; a refusal spends neither.
    _wait_for_step(step + 1)  # so that the step after the last one used is within the window

    def disable(with_password: str, code: str) -> httpx.Response:
        body = {"password": with_password, "code": code}
        return client.post("/me/2fa/disable", json=body, headers=bearer(second["access_token"]))

    assert_problem(disable(password + "x", _code(secret, step + 2)), 403, "invalid_credentials")
    assert_problem(disable(password, _code(secret, step + 1)), 403, "invalid_code")
    assert _me(client, second["access_token"])["two_factor_enabled"] is True
    turned_off = len(_notices(client, email, "turned off"))
    disabled = disable(password, _code(secret, step + 2))
    assert disabled.status_code == 204, disabled.text
    _wait_for_notice(client, email, turned_off, "turned off")
    direct = tokens_of(log_in(client, email, password))
    assert _me(client, direct["access_token"])["two_factor_enabled"] is False


# --- 2. races -------------------------------------------------------------------------------
#
# One round catches a check-then-write race only some of the time (the two requests
# must interleave just so), so each race runs several rounds; every round must end
# with exactly one sign-in.

RACE_ROUNDS = 5


def _race_outcome(answers: list[httpx.Response]) -> list[int]:
    return sorted(answer.status_code for answer in answers)


def test_one_code_on_two_challenges_at_once_signs_in_once(server: DevServer, client: httpx.Client) -> None:
    rounds: list[list[httpx.Response]] = []
    for number in range(RACE_ROUNDS):
        # Each round on its own account: a step is spent once per account.
        account = _enrolled(client, f"Grace{number}")
        challenges = [_challenge(client, account["email"], account["password"]) for _ in range(2)]
        code = _code(account["secret"], account["step"] + 1)
        rounds.append(_at_once(server, [_second_step_on(token, code=code) for token in challenges]))

    assert [_race_outcome(answers) for answers in rounds] == [[200, 401]] * RACE_ROUNDS, [
        [answer.text[:80] for answer in answers] for answers in rounds
    ]
    for answers in rounds:
        winner, loser = sorted(answers, key=lambda answer: answer.status_code)
        assert_problem(loser, 401, "invalid_code")
        assert _me(client, tokens_of(winner)["access_token"])["two_factor_enabled"] is True


def test_one_recovery_code_on_two_challenges_at_once_signs_in_once(server: DevServer, client: httpx.Client) -> None:
    account = _enrolled(client, "Hedy")
    rounds: list[list[httpx.Response]] = []
    for recovery_code in account["recovery_codes"][:RACE_ROUNDS]:
        challenges = [_challenge(client, account["email"], account["password"]) for _ in range(2)]
        rounds.append(_at_once(server, [_second_step_on(token, recovery_code=recovery_code) for token in challenges]))

    assert [_race_outcome(answers) for answers in rounds] == [[200, 401]] * RACE_ROUNDS, [
        [answer.text[:80] for answer in answers] for answers in rounds
    ]
    for answers in rounds:
        assert_problem(max(answers, key=lambda answer: answer.status_code), 401, "invalid_code")


# --- 3. the organization policy -------------------------------------------------------------


def _invite_and_join(client: httpx.Client, owner_token: str, org_id: str, email: str, member_token: str) -> None:
    before = len(emails_to(client, email))
    invited = client.post(
        f"/orgs/{org_id}/invitations", json={"email": email, "role": "member"}, headers=bearer(owner_token)
    )
    assert invited.status_code == 201, invited.text
    mails = [m for m in emails_to(client, email)[before:] if INVITATION_LINK.search(m["text"])]
    assert len(mails) == 1, mails
    token = INVITATION_LINK.findall(mails[0]["text"])[0]
    accepted = client.post(f"/invitations/{token}/accept", headers=bearer(member_token))
    assert accepted.status_code == 200, accepted.text


def test_require_2fa_needs_an_enrolled_owner_and_locks_out_members_until_they_enrol(client: httpx.Client) -> None:
    owner_email, owner = logged_in(client, "Owner")
    member_email, member = logged_in(client, "Member")
    created = client.post("/orgs", json={"name": "Policy Works"}, headers=bearer(owner["access_token"]))
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    _invite_and_join(client, owner["access_token"], org_id, member_email.lower(), member["access_token"])
    member_id = _me(client, member["access_token"])["id"]

    # The owner cannot require what the owner does not have.
    switch_on = {"require_2fa": True}
    refused = client.patch(f"/orgs/{org_id}", json=switch_on, headers=bearer(owner["access_token"]))
    assert_problem(refused, 403, "two_factor_required")
    assert client.get(f"/orgs/{org_id}", headers=bearer(owner["access_token"])).json()["require_2fa"] is False

    secret = _set_up(client, owner["access_token"], owner_email)
    _enable(client, owner["access_token"], _code(secret, _step_now()))

    # Before switching it on, the owner sees whom it would lock out: the member only.
    view = client.get(f"/orgs/{org_id}", headers=bearer(owner["access_token"]))
    assert view.status_code == 200, view.text
    assert view.json()["require_2fa"] is False
    assert [(m["user_id"], m["email"], m["role"]) for m in view.json()["members_without_2fa"]] == [
        (member_id, member_email.lower(), "member")
    ], view.json()

    switched = client.patch(f"/orgs/{org_id}", json=switch_on, headers=bearer(owner["access_token"]))
    assert switched.status_code == 200, switched.text
    assert switched.json()["require_2fa"] is True

    # The member is locked out of the organization, but can still enrol.
    assert_problem(client.get(f"/orgs/{org_id}", headers=bearer(member["access_token"])), 403, "two_factor_required")
    members = client.get(f"/orgs/{org_id}/members", headers=bearer(member["access_token"]))
    assert_problem(members, 403, "two_factor_required")
    member_secret = _set_up(client, member["access_token"], member_email)
    _enable(client, member["access_token"], _code(member_secret, _step_now()))

    back_in = client.get(f"/orgs/{org_id}", headers=bearer(member["access_token"]))
    assert back_in.status_code == 200, back_in.text
    assert back_in.json()["require_2fa"] is True
    after = client.get(f"/orgs/{org_id}", headers=bearer(owner["access_token"]))
    assert after.status_code == 200 and after.json()["members_without_2fa"] == [], after.text


# --- 4. the lost authenticator --------------------------------------------------------------


def _reset_two_factor(server: DevServer, email: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "admin", "reset-2fa", email, "--local", server.base_url, "--reason", "lost phone"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_operator_resets_a_lost_authenticator(server: DevServer, client: httpx.Client) -> None:
    account = _enrolled(client, "Lin")
    email, password, before_2fa = account["email"], account["password"], account["tokens"]
    challenge = _challenge(client, email, password)
    with_2fa = tokens_of(_second_step(client, challenge, code=_code(account["secret"], account["step"] + 1)))
    resets = len(_notices(client, email, "platform administrator"))

    done = _reset_two_factor(server, email)

    assert done.returncode == 0, (done.stdout, done.stderr)
    assert email.lower() in done.stdout, done.stdout
    notice = _wait_for_notice(client, email, resets, "platform administrator")
    assert "signed out" in notice["text"], notice["text"]
    for old in (with_2fa, before_2fa):
        refreshed = client.post("/auth/refresh", json={"refresh_token": old["refresh_token"]})
        assert_problem(refreshed, 401, "invalid_token")
    direct = tokens_of(log_in(client, email, password))
    assert _me(client, direct["access_token"])["two_factor_enabled"] is False
    log = client.get("/me/security-log", headers=bearer(direct["access_token"]))
    assert log.status_code == 200, log.text
    resets_logged = [e for e in log.json()["items"] if e["action"] == "two_factor.reset_by_operator"]
    assert len(resets_logged) == 1, log.json()
    assert resets_logged[0]["actor"]["type"] == "operator", resets_logged
    assert resets_logged[0]["details"].get("reason") == "lost phone", resets_logged

    unknown = _reset_two_factor(server, unique_email("Nobody"))
    assert unknown.returncode == 1, (unknown.stdout, unknown.stderr)
    assert "no account" in unknown.stderr.lower(), unknown.stderr

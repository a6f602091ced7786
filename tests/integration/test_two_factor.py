"""Two-factor authentication over the local gateway on moto (issue 5; API.md `/me/2fa/*`,
`/auth/login`, `/auth/login/2fa`, "Details clients rely on").

The secret is read back from `qr_svg` by decoding the QR code (zxing-cpp on a rendering
of the SVG), so the code a phone would scan is the one proven to work. Codes are made
with pyotp at the services' clock, which the tests move by 30-second steps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import numpy as np
import pyotp
import pytest
import zxingcpp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kuploy_access.adapters.dynamodb.keys import PROFILE_SK, user_pk
from kuploy_access.adapters.dynamodb.two_factor import DynamoTwoFactorRepository
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import add_member, create_org
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import (
    PASSWORD,
    REGION,
    assert_problem,
    meet_before,
    raw_item,
    run_together,
    scan,
)

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

STEP = timedelta(seconds=30)


@pytest.fixture
def clock(service_clock) -> Any:
    return service_clock


# --- reading the QR code -------------------------------------------------------------------------

_PATH_TOKEN = re.compile(r"[MmHhVvZz]|-?(?:\d+\.?\d*|\.\d+)")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def qr_modules(svg: str) -> np.ndarray:
    """The module matrix (True = dark) of the SVG segno writes: a <g transform="scale(n)">
    around a light background path and one dark path of horizontal strokes
    ("M x y.5 h n m dx dy h n …", each stroke one module high, centred on its row)."""
    root = ET.fromstring(svg)  # noqa: S314 - the service's own output
    assert _local(root.tag) == "svg", root.tag
    scale = 1.0
    for element in root.iter():
        found = re.fullmatch(r"scale\(([\d.]+)\)", element.attrib.get("transform", ""))
        if found:
            scale = float(found.group(1))
    size = round(float(root.attrib["width"]) / scale)
    assert round(float(root.attrib["height"]) / scale) == size
    dark = [
        element
        for element in root.iter()
        if _local(element.tag) == "path" and element.attrib.get("stroke", "").lower() in {"#000", "#000000", "black"}
    ]
    assert len(dark) == 1, svg[:300]
    modules = np.zeros((size, size), dtype=bool)
    x = y = 0.0
    tokens = _PATH_TOKEN.findall(dark[0].attrib["d"])
    at = 0
    while at < len(tokens):
        command = tokens[at]
        if command in "Mm":
            dx, dy = float(tokens[at + 1]), float(tokens[at + 2])
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
            at += 3
        elif command in "Hh":
            end = float(tokens[at + 1]) if command == "H" else x + float(tokens[at + 1])
            row = int(y)  # a stroke at y = row + 0.5 covers that row
            modules[row, int(min(x, end)) : int(max(x, end))] = True
            x = end
            at += 2
        else:
            raise AssertionError(f"unexpected path command {command!r} in the QR code's SVG")
    return modules


def decode_qr(svg: str, pixels_per_module: int = 4, quiet_zone: int = 4) -> list[str]:
    """Render the SVG's modules as a grayscale image (dark = 0) with a white quiet zone
    and decode it as a camera app would."""
    modules = qr_modules(svg)
    padded = np.pad(modules, quiet_zone, constant_values=False)
    image = np.where(padded, 0, 255).astype(np.uint8)
    image = np.kron(image, np.ones((pixels_per_module, pixels_per_module), dtype=np.uint8))
    found = zxingcpp.read_barcodes(image)
    assert all(barcode.format == zxingcpp.BarcodeFormat.QRCode for barcode in found), found
    return [barcode.text for barcode in found]


# --- accounts and codes ------------------------------------------------------------------------------


@dataclass
class Account:
    email: str
    user_id: str
    access: str
    refresh: str
    secret: str = ""
    recovery_codes: list[str] = field(default_factory=list)


def sign_up(client: GatewayClient, email: str = "ada@example.com") -> Account:
    client.sign_up_and_verify(email, PASSWORD)
    tokens = client.log_in(email, PASSWORD)
    me = client.request("GET", "/me", token=tokens["access_token"]).json()
    return Account(email, me["id"], tokens["access_token"], tokens["refresh_token"])


def fresh_step(clock: Any) -> None:
    """Move the services' clock just past the next step boundary: a step no code was
    accepted for yet, with 29 s left before the next one."""
    into = clock.now().timestamp() % 30
    clock.advance(timedelta(seconds=30 - into + 1))


def code_at(secret: str, clock: Any, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(int((clock.now() + steps * STEP).timestamp()))


def wrong_code(secret: str, clock: Any) -> str:
    """A 6-digit code that is none of the codes near now."""
    near = {code_at(secret, clock, steps) for steps in range(-3, 4)}
    return next(candidate for candidate in (f"{n:06d}" for n in range(1, 1000)) if candidate not in near)


def set_up(client: GatewayClient, account: Account) -> dict[str, Any]:
    answer = client.request("POST", "/me/2fa/setup", token=account.access)
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def secret_from_qr(setup: dict[str, Any]) -> str:
    """What an authenticator app reads: the secret inside the scanned URI."""
    texts = decode_qr(setup["qr_svg"])
    assert texts == [setup["otpauth_uri"]], texts
    return parse_qs(urlsplit(texts[0]).query)["secret"][0]


def enrol(client: GatewayClient, clock: Any, account: Account) -> Account:
    account.secret = secret_from_qr(set_up(client, account))
    fresh_step(clock)
    answer = client.request("POST", "/me/2fa/enable", {"code": code_at(account.secret, clock)}, token=account.access)
    assert answer.status == 200, answer.text
    account.recovery_codes = answer.json()["recovery_codes"]
    return account


def begin(client: GatewayClient, account: Account) -> str:
    """POST /auth/login with the right password on an account with 2FA: the mfa_token."""
    answer = client.request("POST", "/auth/login", {"email": account.email, "password": PASSWORD})
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body.keys() == {"mfa_required", "mfa_token", "expires_in"}, body
    assert body["mfa_required"] is True
    assert body["expires_in"] == 300
    return str(body["mfa_token"])


def second(client: GatewayClient, mfa_token: str, *, code: str | None = None, recovery: str | None = None) -> Answer:
    body: dict[str, str] = {"mfa_token": mfa_token}
    if code is not None:
        body["code"] = code
    if recovery is not None:
        body["recovery_code"] = recovery
    return client.request("POST", "/auth/login/2fa", body)


def assert_tokens(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    assert tokens.keys() >= {"access_token", "refresh_token", "token_type", "expires_in"}, tokens
    assert tokens["token_type"] == "Bearer"
    return tokens


def security_log(client: GatewayClient, account: Account) -> list[dict[str, Any]]:
    """The account's trail without its sign-ins (every test here signs in first)."""
    answer = client.request("GET", "/me/security-log", token=account.access)
    assert answer.status == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return [item for item in items if not item["action"].startswith("login.")]


def actions(client: GatewayClient, account: Account) -> list[str]:
    return [event["action"] for event in security_log(client, account)]


def notices(client: GatewayClient, account: Account) -> list[str]:
    """Subjects of the security notices emailed to the account, oldest first."""
    return [
        email["subject"].lower()
        for email in client.outbox.all()
        if email["to"].lower() == account.email and "security notice" in email["subject"].lower()
    ]


def user_item(account: Account) -> dict[str, Any]:
    item = raw_item(user_pk(account.user_id), PROFILE_SK)
    assert item is not None
    return item


def stored_form(code: str) -> str:
    """`k1:` and HMAC-SHA256 of the normalized code under the key HKDF derives from the
    TOTP key secret, recomputed here from the secret in (moto) Secrets Manager."""
    secret = boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=os.environ["TOTP_KEY_SECRET_ID"]
    )["SecretString"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kuploy-access recovery codes v1").derive(
        str(secret).encode("utf-8")
    )
    return "k1:" + hmac.new(key, code.replace("-", "").encode(), hashlib.sha256).hexdigest()


def me(client: GatewayClient, account: Account) -> dict[str, Any]:
    answer = client.request("GET", "/me", token=account.access)
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def members_2fa(client: GatewayClient, token: str, org_id: str) -> dict[str, bool]:
    answer = client.request("GET", f"/orgs/{org_id}/members", token=token)
    assert answer.status == 200, answer.text
    return {item["user_id"]: item["two_factor_enabled"] for item in answer.json()["items"]}


# --- enrolment -------------------------------------------------------------------------------------------


def test_the_qr_code_scans_to_the_otpauth_uri_and_the_secret_is_never_stored_in_clear(client, clock):
    ada = sign_up(client)
    setup = set_up(client, ada)
    assert setup.keys() == {"secret", "otpauth_uri", "qr_svg"}, setup.keys()

    assert decode_qr(setup["qr_svg"]) == [setup["otpauth_uri"]]
    split = urlsplit(setup["otpauth_uri"])
    assert (split.scheme, split.netloc, unquote(split.path)) == ("otpauth", "totp", "/Kuploy:ada@example.com")
    query = parse_qs(split.query)
    assert query["issuer"] == ["Kuploy"]
    assert query["secret"] == [setup["secret"]]
    assert len(base64.b32decode(setup["secret"] + "=" * (-len(setup["secret"]) % 8))) == 20
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]

    table = str(scan())
    assert setup["secret"] not in table
    assert setup["secret"].lower() not in table
    item = user_item(ada)
    assert item["totp_pending_sealed"].startswith("v1."), item
    assert "totp_secret_sealed" not in item
    # Nothing is active yet: the account still signs in with its password alone.
    assert me(client, ada)["two_factor_enabled"] is False
    assert_tokens(client.request("POST", "/auth/login", {"email": ada.email, "password": PASSWORD}))


def test_setup_again_replaces_the_pending_secret(client, clock):
    ada = sign_up(client)
    first = secret_from_qr(set_up(client, ada))
    first_sealed = user_item(ada)["totp_pending_sealed"]
    again = set_up(client, ada)
    replacement = secret_from_qr(again)
    assert replacement != first
    assert user_item(ada)["totp_pending_sealed"] not in {first_sealed, None}
    assert first not in str(scan()) and replacement not in str(scan())

    fresh_step(clock)
    refused = client.request("POST", "/me/2fa/enable", {"code": code_at(first, clock)}, token=ada.access)
    assert_problem(refused, 403, "invalid_code")
    answer = client.request("POST", "/me/2fa/enable", {"code": code_at(replacement, clock)}, token=ada.access)
    assert answer.status == 200, answer.text


def test_enable_needs_a_right_code_and_answers_ten_recovery_codes_stored_hashed(client, clock):
    ada = sign_up(client)
    secret = secret_from_qr(set_up(client, ada))
    fresh_step(clock)

    refused = client.request("POST", "/me/2fa/enable", {"code": wrong_code(secret, clock)}, token=ada.access)
    assert_problem(refused, 403, "invalid_code")
    assert me(client, ada)["two_factor_enabled"] is False
    assert notices(client, ada) == []

    enabling_code = code_at(secret, clock)
    answer = client.request("POST", "/me/2fa/enable", {"code": enabling_code}, token=ada.access)
    assert answer.status == 200, answer.text
    assert answer.json().keys() == {"recovery_codes"}
    codes = answer.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-z]{4}(-[0-9a-z]{4}){3}", code) for code in codes), codes

    table = str(scan())
    for code in codes:
        assert code not in table and code.replace("-", "") not in table
    assert secret not in table
    item = user_item(ada)
    assert item["totp_secret_sealed"].startswith("v1.")
    assert "totp_pending_sealed" not in item
    assert set(item["recovery_code_hashes"]) == {stored_form(code) for code in codes}
    # A copy of the table alone cannot test guesses: no plain SHA-256 of a code is in it.
    assert not {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes} & set(
        item["recovery_code_hashes"]
    )
    assert me(client, ada)["two_factor_enabled"] is True
    assert actions(client, ada) == ["two_factor.enabled"]
    assert notices(client, ada) == ["kuploy security notice: two-factor authentication was turned on"]
    # The secret is never shown again.
    assert_problem(client.request("POST", "/me/2fa/setup", token=ada.access), 409, "conflict")

    # The code that enabled 2FA counts as used: it does not sign in.
    assert_problem(second(client, begin(client, ada), code=enabling_code), 401, "invalid_code")


# --- signing in ---------------------------------------------------------------------------------------------


def test_login_with_2fa_asks_for_a_code_and_a_code_of_the_next_step_signs_in(client, clock):
    ada = enrol(client, clock, sign_up(client))
    answer = client.request("POST", "/auth/login", {"email": ada.email, "password": PASSWORD})
    assert answer.status == 200
    body = answer.json()
    assert body.keys() == {"mfa_required", "mfa_token", "expires_in"}
    assert (body["mfa_required"], body["expires_in"]) == (True, 300)
    assert "access_token" not in answer.text and "refresh_token" not in answer.text
    # The challenge is no access token.
    assert client.request("GET", "/me", token=body["mfa_token"]).status == 401

    tokens = assert_tokens(second(client, body["mfa_token"], code=code_at(ada.secret, clock, 1)))
    assert client.request("GET", "/me", token=tokens["access_token"]).json()["id"] == ada.user_id


@pytest.mark.parametrize("factors", [{}, {"code": "123456", "recovery_code": "abcde-fghjk"}])
def test_exactly_one_of_code_and_recovery_code_or_422(client, clock, factors):
    ada = enrol(client, clock, sign_up(client))
    answer = client.request("POST", "/auth/login/2fa", {"mfa_token": begin(client, ada), **factors})
    assert_problem(answer, 422, "validation_error")


def test_a_body_with_both_factors_is_refused_and_spends_nothing(client, clock):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    token = begin(client, ada)
    code = code_at(ada.secret, clock)
    both = second(client, token, code=code, recovery=ada.recovery_codes[0])
    assert 400 <= both.status < 500 and both.json()["code"] == "validation_error", both.text
    assert len(user_item(ada)["recovery_code_hashes"]) == 10
    assert_tokens(second(client, token, code=code))


def test_drift_of_one_step_is_accepted_and_two_steps_refused(client, clock):
    """Each accepted code is of a step later than any used before, so only the window
    (not replay protection) can refuse; a refused code later proves it was a real one."""
    ada = enrol(client, clock, sign_up(client))
    for steps in (-1, 0, 1):
        for _ in range(3):
            fresh_step(clock)
        assert_tokens(second(client, begin(client, ada), code=code_at(ada.secret, clock, steps)))

    for _ in range(4):
        fresh_step(clock)
    too_old = code_at(ada.secret, clock, -2)
    too_new = code_at(ada.secret, clock, 2)
    token = begin(client, ada)
    assert_problem(second(client, token, code=too_old), 401, "invalid_code")
    assert_problem(second(client, token, code=too_new), 401, "invalid_code")
    # Two steps later the refused code is the current one, and signs in.
    clock.advance(2 * STEP)
    assert code_at(ada.secret, clock) == too_new
    assert_tokens(second(client, begin(client, ada), code=too_new))


def test_a_code_is_accepted_once_and_a_refused_replay_is_recorded_and_emailed(client, clock):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    code = code_at(ada.secret, clock)
    assert_tokens(second(client, begin(client, ada), code=code))
    emailed = len(notices(client, ada))

    assert_problem(second(client, begin(client, ada), code=code), 401, "invalid_code")

    assert actions(client, ada)[0] == "two_factor.replay_refused"
    assert notices(client, ada)[emailed:] == [
        "kuploy security notice: a sign-in code was refused because it had been used"
    ]


def test_two_logins_racing_with_one_code_let_exactly_one_in(client, clock, monkeypatch):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    tokens = [begin(client, ada), begin(client, ada)]
    code = code_at(ada.secret, clock)
    client.gateway.load_all()
    meet_before(monkeypatch, DynamoTwoFactorRepository, "use_step", 2)

    outcomes = run_together(2, lambda i: second(client, tokens[i], code=code))

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    answers = [answer for _, answer in outcomes]
    assert sorted(answer.status for answer in answers) == [200, 401], [(a.status, a.text) for a in answers]
    assert_problem(next(answer for answer in answers if answer.status == 401), 401, "invalid_code")


def test_a_recovery_code_is_used_once_even_by_two_logins_at_once(client, clock, monkeypatch):
    ada = enrol(client, clock, sign_up(client))
    tokens = [begin(client, ada), begin(client, ada)]
    code = ada.recovery_codes[3]
    client.gateway.load_all()
    use = DynamoTwoFactorRepository.use_recovery_code
    meet_before(monkeypatch, DynamoTwoFactorRepository, "use_recovery_code", 2)

    outcomes = run_together(2, lambda i: second(client, tokens[i], recovery=code))
    monkeypatch.setattr(DynamoTwoFactorRepository, "use_recovery_code", use)

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    answers = [answer for _, answer in outcomes]
    assert sorted(answer.status for answer in answers) == [200, 401], [(a.status, a.text) for a in answers]
    assert_problem(next(answer for answer in answers if answer.status == 401), 401, "invalid_code")
    assert len(user_item(ada)["recovery_code_hashes"]) == 9
    assert actions(client, ada).count("two_factor.recovery_code_used") == 1
    assert notices(client, ada).count("kuploy security notice: a recovery code was used to sign in") == 1

    # Used up for good; another one (typed loosely) still works.
    assert_problem(second(client, begin(client, ada), recovery=code), 401, "invalid_code")
    assert_tokens(second(client, begin(client, ada), recovery=ada.recovery_codes[4].upper().replace("-", " ")))


def test_five_wrong_codes_end_the_challenge(client, clock):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    token = begin(client, ada)
    for _ in range(5):
        assert_problem(second(client, token, code=wrong_code(ada.secret, clock)), 401, "invalid_code")
    right = code_at(ada.secret, clock)
    assert_problem(second(client, token, code=right), 401, "invalid_token")
    # The dead challenge spent nothing: the same code signs in through a new one.
    assert_tokens(second(client, begin(client, ada), code=right))


def test_wrong_codes_across_challenges_hit_a_per_account_limit(client, clock):
    ada = enrol(client, clock, sign_up(client))
    # Enabling spent one attempt; start in the next 15-minute window.
    clock.advance(timedelta(minutes=15))
    fresh_step(clock)
    clock.clear_of_window_edges(timedelta(minutes=5))
    for _ in range(2):
        token = begin(client, ada)
        for _ in range(5):
            assert_problem(second(client, token, code=wrong_code(ada.secret, clock)), 401, "invalid_code")

    limited = second(client, begin(client, ada), code=code_at(ada.secret, clock))
    assert_problem(limited, 429, "rate_limited")
    retry_after = int(limited.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60

    # The right code was not spent while limited; the limit lifts when the window ends.
    clock.advance(timedelta(seconds=retry_after + 1))
    fresh_step(clock)
    assert_tokens(second(client, begin(client, ada), code=code_at(ada.secret, clock)))


def test_right_codes_do_not_use_up_the_per_account_budget(client, clock):
    """Only wrong codes count: a busy person signing in on many devices is never locked out."""
    ada = enrol(client, clock, sign_up(client))
    clock.advance(timedelta(minutes=15))
    clock.clear_of_window_edges(timedelta(minutes=8))
    for _ in range(12):  # more sign-ins than the budget of wrong codes (10)
        fresh_step(clock)
        assert_tokens(second(client, begin(client, ada), code=code_at(ada.secret, clock)))


# --- the attempt limits under a race ---------------------------------------------------------------------


def gather_before(monkeypatch: pytest.MonkeyPatch, cls: type, method: str, parties: int, wait: float = 20) -> None:
    """Every thread that calls cls.method waits there until `parties` threads have come
    (or `wait` seconds passed: an implementation may refuse some requests earlier), then
    all go on: every request has read and checked whatever it reads before any writes."""
    arrived = 0
    gate = threading.Condition()
    original = getattr(cls, method)

    def waiting(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal arrived
        with gate:
            arrived += 1
            gate.notify_all()
            gate.wait_for(lambda: arrived >= parties, timeout=wait)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, waiting)


def warm(client: GatewayClient, count: int) -> None:
    """As many login containers as racing requests (a race is about DynamoDB, not imports)."""
    outcomes = run_together(count, lambda i: client.request("POST", "/auth/login/2fa", {}))
    assert all(kind == "ok" and answer.status in (400, 422) for kind, answer in outcomes), outcomes


def problem_codes(outcomes: list[tuple[str, Any]]) -> list[str]:
    assert [kind for kind, _ in outcomes] == ["ok"] * len(outcomes), outcomes
    found = []
    for _, answer in outcomes:
        assert answer.status in (401, 429), (answer.status, answer.text)
        found.append(answer.json()["code"])
    return found


def test_racing_wrong_codes_get_at_most_five_guesses_per_challenge(client, clock, monkeypatch):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    token = begin(client, ada)
    wrong = wrong_code(ada.secret, clock)
    warm(client, 7)
    gather_before(monkeypatch, DynamoTwoFactorRepository, "take_attempt", 7)

    codes = problem_codes(run_together(7, lambda i: second(client, token, code=wrong)))

    assert codes.count("invalid_code") <= 5, codes


def test_racing_wrong_codes_get_at_most_the_per_account_number_of_guesses(client, clock, monkeypatch):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    clock.clear_of_window_edges(timedelta(minutes=5))
    tokens = [begin(client, ada) for _ in range(3)]
    wrong = wrong_code(ada.secret, clock)
    warm(client, 12)
    gather_before(monkeypatch, DynamoTwoFactorRepository, "take_attempt", 12)

    codes = problem_codes(run_together(12, lambda i: second(client, tokens[i % 3], code=wrong)))

    assert codes.count("invalid_code") <= 10, codes  # MFA_FAILURES_PER_ACCOUNT: 10 per 15 minutes


def test_the_mfa_token_signs_in_once(client, clock):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    token = begin(client, ada)
    assert_tokens(second(client, token, code=code_at(ada.secret, clock)))
    fresh_step(clock)
    assert_problem(second(client, token, code=code_at(ada.secret, clock)), 401, "invalid_token")
    assert_problem(second(client, token, recovery=ada.recovery_codes[0]), 401, "invalid_token")
    assert len(user_item(ada)["recovery_code_hashes"]) == 10


def test_the_mfa_token_expires_after_five_minutes(client, clock):
    ada = enrol(client, clock, sign_up(client))
    token = begin(client, ada)
    clock.advance(timedelta(seconds=301))
    fresh_step(clock)
    assert_problem(second(client, token, code=code_at(ada.secret, clock)), 401, "invalid_token")
    assert_problem(second(client, "not-a-token", code=code_at(ada.secret, clock)), 401, "invalid_token")


def test_a_code_of_non_ascii_digits_is_a_wrong_code_not_a_crash(client, clock):
    ada = enrol(client, clock, sign_up(client))
    assert_problem(second(client, begin(client, ada), code="١٢٣٤٥٦"), 401, "invalid_code")


# --- turning it off, new recovery codes --------------------------------------------------------------------


def test_disable_needs_the_password_and_a_code(client, clock):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    code = code_at(ada.secret, clock)

    wrong_password = {"password": "not the passphrase", "code": code}
    assert_problem(
        client.request("POST", "/me/2fa/disable", wrong_password, token=ada.access), 403, "invalid_credentials"
    )
    wrong = {"password": PASSWORD, "code": wrong_code(ada.secret, clock)}
    assert_problem(client.request("POST", "/me/2fa/disable", wrong, token=ada.access), 403, "invalid_code")
    assert me(client, ada)["two_factor_enabled"] is True
    assert actions(client, ada) == ["two_factor.enabled"]

    answer = client.request(
        "POST", "/me/2fa/disable", {"password": PASSWORD, "code": ada.recovery_codes[0]}, token=ada.access
    )
    assert answer.status == 204, answer.text

    assert me(client, ada)["two_factor_enabled"] is False
    item = user_item(ada)
    assert not {"totp_secret_sealed", "totp_pending_sealed", "recovery_code_hashes"} & item.keys(), item
    assert actions(client, ada)[0] == "two_factor.disabled"
    assert notices(client, ada)[-1] == "kuploy security notice: two-factor authentication was turned off"
    assert_tokens(client.request("POST", "/auth/login", {"email": ada.email, "password": PASSWORD}))


def test_disable_takes_the_password_as_sign_in_does_nfkc_normalised(client, clock):
    """A password typed with a compatibility character (a full-width letter, as an IME
    gives) is stored NFKC-normalised; turning 2FA off must normalise it the same way."""
    typed = "\uff31uiet harbour passphrase"  # full-width Q
    client.sign_up_and_verify("fullwidth@example.com", typed)
    tokens = client.log_in("fullwidth@example.com", typed)
    me_now = client.request("GET", "/me", token=tokens["access_token"]).json()
    ada = enrol(
        client, clock, Account("fullwidth@example.com", me_now["id"], tokens["access_token"], tokens["refresh_token"])
    )
    fresh_step(clock)
    body = {"password": typed, "code": code_at(ada.secret, clock)}
    answer = client.request("POST", "/me/2fa/disable", body, token=ada.access)
    assert answer.status == 204, answer.text
    assert me(client, ada)["two_factor_enabled"] is False


def test_a_recovery_code_of_the_old_format_still_signs_in_once(client, clock):
    """Codes handed out before this change: 10 characters, stored as plain SHA-256.
    They keep working until used or replaced."""
    ada = enrol(client, clock, sign_up(client))
    old_code = "7k3mq-x9d2p"
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": {"S": user_pk(ada.user_id)}, "sk": {"S": PROFILE_SK}},
        UpdateExpression="ADD recovery_code_hashes :old",
        ExpressionAttributeValues={":old": {"SS": [hashlib.sha256(b"7k3mqx9d2p").hexdigest()]}},
    )
    assert len(user_item(ada)["recovery_code_hashes"]) == 11

    assert_tokens(second(client, begin(client, ada), recovery=old_code.upper()))
    assert len(user_item(ada)["recovery_code_hashes"]) == 10
    assert hashlib.sha256(b"7k3mqx9d2p").hexdigest() not in user_item(ada)["recovery_code_hashes"]
    assert_problem(second(client, begin(client, ada), recovery=old_code), 401, "invalid_code")


def test_new_recovery_codes_replace_the_old_ones(client, clock):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    wrong = client.request("POST", "/me/2fa/recovery-codes", {"code": wrong_code(ada.secret, clock)}, token=ada.access)
    assert_problem(wrong, 403, "invalid_code")

    code = code_at(ada.secret, clock)
    answer = client.request("POST", "/me/2fa/recovery-codes", {"code": code}, token=ada.access)
    assert answer.status == 200, answer.text
    fresh = answer.json()["recovery_codes"]
    assert len(fresh) == 10 and not set(fresh) & set(ada.recovery_codes)
    assert set(user_item(ada)["recovery_code_hashes"]) == {stored_form(code) for code in fresh}
    assert actions(client, ada)[0] == "two_factor.recovery_codes_replaced"
    assert notices(client, ada)[-1] == "kuploy security notice: new recovery codes were made"

    # The proof was spent: the same code does not make codes again.
    again = client.request("POST", "/me/2fa/recovery-codes", {"code": code}, token=ada.access)
    assert_problem(again, 403, "invalid_code")

    assert_problem(second(client, begin(client, ada), recovery=ada.recovery_codes[1]), 401, "invalid_code")
    assert_tokens(second(client, begin(client, ada), recovery=fresh[1]))


def test_every_change_writes_an_event_and_sends_an_email(client, clock):
    ada = enrol(client, clock, sign_up(client))
    fresh_step(clock)
    replaced = client.request("POST", "/me/2fa/recovery-codes", {"code": code_at(ada.secret, clock)}, token=ada.access)
    assert replaced.status == 200, replaced.text
    assert_tokens(second(client, begin(client, ada), recovery=replaced.json()["recovery_codes"][0]))
    fresh_step(clock)
    disable = {"password": PASSWORD, "code": code_at(ada.secret, clock)}
    assert client.request("POST", "/me/2fa/disable", disable, token=ada.access).status == 204

    log = security_log(client, ada)
    assert [event["action"] for event in log] == [
        "two_factor.disabled",
        "two_factor.recovery_code_used",
        "two_factor.recovery_codes_replaced",
        "two_factor.enabled",
    ]
    for event in log:
        assert event["actor"] == {"type": "user", "id": ada.user_id, "email": ada.email}, event
        assert event["target"] == ada.user_id
        assert event["user_agent"] == "pytest"
    assert notices(client, ada) == [
        "kuploy security notice: two-factor authentication was turned on",
        "kuploy security notice: new recovery codes were made",
        "kuploy security notice: a recovery code was used to sign in",
        "kuploy security notice: two-factor authentication was turned off",
    ]


# --- organization policy --------------------------------------------------------------------------------------


def test_the_org_policy_locks_out_members_without_2fa_until_they_enrol(client, clock):
    olive = sign_up(client, "olive@example.com")
    org_id = create_org(client, olive.access)
    mo_id, mo_token = add_member(client, olive.access, org_id, "mo@example.com")
    mo = Account("mo@example.com", mo_id, mo_token, "")

    # The owner has no 2FA: switching the policy on would lock the owner out.
    refused = client.request("PATCH", f"/orgs/{org_id}", {"require_2fa": True}, token=olive.access)
    assert_problem(refused, 403, "two_factor_required")
    view = client.request("GET", f"/orgs/{org_id}", token=olive.access).json()
    assert view["require_2fa"] is False
    assert {m["user_id"] for m in view["members_without_2fa"]} == {olive.user_id, mo.user_id}

    enrol(client, clock, olive)
    assert members_2fa(client, olive.access, org_id) == {olive.user_id: True, mo.user_id: False}
    view = client.request("GET", f"/orgs/{org_id}", token=olive.access).json()
    assert view["members_without_2fa"] == [{"user_id": mo.user_id, "email": "mo@example.com", "role": "member"}]
    # Only those who may change the policy see who it locks out.
    assert client.request("GET", f"/orgs/{org_id}", token=mo.access).json().get("members_without_2fa") is None

    switched = client.request("PATCH", f"/orgs/{org_id}", {"require_2fa": True}, token=olive.access)
    assert switched.status == 200, switched.text
    assert switched.json()["require_2fa"] is True

    assert_problem(client.request("GET", f"/orgs/{org_id}", token=mo.access), 403, "two_factor_required")
    assert_problem(client.request("GET", f"/orgs/{org_id}/members", token=mo.access), 403, "two_factor_required")
    assert client.request("GET", f"/orgs/{org_id}", token=olive.access).status == 200

    # Enrolling stays open, and lets the member back in.
    enrol(client, clock, mo)
    assert client.request("GET", f"/orgs/{org_id}", token=mo.access).status == 200
    assert members_2fa(client, olive.access, org_id) == {olive.user_id: True, mo.user_id: True}
    assert client.request("GET", f"/orgs/{org_id}", token=olive.access).json()["members_without_2fa"] == []

    # Turning it off follows into the membership, and the policy applies again.
    fresh_step(clock)
    disable = {"password": PASSWORD, "code": code_at(mo.secret, clock)}
    assert client.request("POST", "/me/2fa/disable", disable, token=mo.access).status == 204
    assert members_2fa(client, olive.access, org_id) == {olive.user_id: True, mo.user_id: False}
    assert_problem(client.request("GET", f"/orgs/{org_id}", token=mo.access), 403, "two_factor_required")
    assert_problem(client.request("GET", f"/orgs/{org_id}/projects", token=mo.access), 403, "two_factor_required")
    # Leaving stays open.
    assert client.request("DELETE", f"/orgs/{org_id}/members/{mo.user_id}", token=mo.access).status == 204
    assert members_2fa(client, olive.access, org_id) == {olive.user_id: True}


# --- the operator's reset ---------------------------------------------------------------------------------------


def test_the_operator_reset_turns_2fa_off_signs_out_everywhere_records_and_emails(client, clock):
    from kuploy_access import wiring

    ada = enrol(client, clock, sign_up(client))
    org_id = create_org(client, ada.access)
    fresh_step(clock)
    second_session = assert_tokens(second(client, begin(client, ada), code=code_at(ada.secret, clock)))

    outcome = wiring.admin_service().reset_two_factor("ADA@example.com", "ops")

    assert (outcome.user_id, outcome.email, outcome.was_enabled) == (ada.user_id, ada.email, True)
    assert outcome.sessions_revoked == 2
    for refresh_token in (ada.refresh, second_session["refresh_token"]):
        assert_problem(client.request("POST", "/auth/refresh", {"refresh_token": refresh_token}), 401, "invalid_token")
    assert_problem(client.request("GET", "/me/sessions", token=ada.access), 401, "invalid_token")

    item = user_item(ada)
    assert item["two_factor_enabled"] is False
    assert not {"totp_secret_sealed", "totp_pending_sealed", "recovery_code_hashes"} & item.keys(), item
    tokens = assert_tokens(client.request("POST", "/auth/login", {"email": ada.email, "password": PASSWORD}))
    ada.access = tokens["access_token"]
    assert members_2fa(client, ada.access, org_id) == {ada.user_id: False}
    event = security_log(client, ada)[0]
    assert event["action"] == "two_factor.reset_by_operator"
    assert (event["actor"]["type"], event["actor"]["id"], event["actor"].get("email")) == ("operator", "ops", None)
    assert notices(client, ada)[-1] == (
        "kuploy security notice: two-factor authentication was turned off by a platform administrator"
    )


def test_the_operator_command_line(client, clock, capsys):
    from kuploy_access.cli import main

    ada = enrol(client, clock, sign_up(client))

    assert main(["admin", "reset-2fa", ada.email]) == 0
    printed = capsys.readouterr().out
    assert ada.email in printed and ada.user_id in printed and "was on, now off" in printed
    assert me(client, ada)["two_factor_enabled"] is False
    assert notices(client, ada)[-1].endswith("turned off by a platform administrator")

    assert main(["admin", "reset-2fa", "nobody@example.com"]) == 1
    assert "kuploy-access:" in capsys.readouterr().err

"""Sudo mode over the local gateway on moto (issue 11, part 4; API.md "Second round"):
sensitive routes need a token whose `auth_time` is at most 10 minutes old and a live
session; `POST /auth/reauthenticate` renews `auth_time` for the same session.

Stale tokens are minted with the service's own signing key from a real session's
claims, with an older `auth_time` (or none, as tokens from before the claim).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from devserver.gateway import LocalGateway
from devserver.template import api_spec
from kuploy_access.adapters.dynamodb.keys import PROFILE_SK, session_sk, user_pk
from tests.integration import support
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import (
    SharedGatewayClient,
    add_member,
    cheap_hashing,
    create_org,
    restore_table,
    table_snapshot,
    user_id_of,
)
from tests.integration.shared_world import aws, client, world  # noqa: F401 - fixtures
from tests.integration.support import (
    ACCESS_HEADER,
    PASSWORD,
    assert_problem,
    count_dynamodb_requests,
    forge_jwt,
    jwt_parts,
    raw_item,
)

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

ROOT = Path(__file__).resolve().parents[2]
OWNER_EMAIL = "owner@example.com"
SUDO_WINDOW = 10 * 60
NEW_PASSWORD = "another sturdy passphrase"


# --- the world: an owner with an organization, a member and an API key ----------------------------


@pytest.fixture(scope="module")
def gateway(world: Any) -> LocalGateway:
    return LocalGateway(api_spec())


@dataclass
class Team:
    org_id: str
    owner_id: str
    owner_access: str
    owner_refresh: str
    member_id: str
    member: str
    key_id: str
    key: str


@pytest.fixture(scope="module")
def team_table(world: Any, gateway: LocalGateway) -> tuple[Team, list[dict[str, Any]]]:
    restore_table([])
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    with cheap_hashing():
        client.sign_up_and_verify(OWNER_EMAIL, PASSWORD, "Olive Owner")
        owner = client.log_in(OWNER_EMAIL, PASSWORD)
        owner_id = user_id_of(client, owner["access_token"])
        org_id = create_org(client, owner["access_token"])
        member_id, member = add_member(client, owner["access_token"], org_id, "member@example.com")
        created = client.request(
            "POST", f"/orgs/{org_id}/api-keys", {"description": "ci", "preset": "deploy"}, token=owner["access_token"]
        )
        assert created.status == 201, created.text
    team = Team(
        org_id,
        owner_id,
        owner["access_token"],
        owner["refresh_token"],
        member_id,
        member,
        created.json()["id"],
        created.json()["key"],
    )
    return team, table_snapshot()


@pytest.fixture
def team(aws: Any, team_table: tuple[Team, list[dict[str, Any]]]) -> Team:
    restore_table(team_table[1])
    return team_table[0]


def minted(access_token: str, auth_time: int | None) -> str:
    """The same caller and session as `access_token`, issued now, proven at `auth_time`."""
    _, claims, _ = jwt_parts(access_token)
    now = int(time.time())
    claims = claims | {"iat": now, "exp": now + 900, "jti": "test-" + os.urandom(8).hex()}
    claims.pop("auth_time", None)
    if auth_time is not None:
        claims["auth_time"] = auth_time
    return forge_jwt(ACCESS_HEADER, claims, support.signing_key())


def stale(access_token: str) -> str:
    return minted(access_token, int(time.time()) - SUDO_WINDOW - 60)


def fresh(access_token: str) -> str:
    return minted(access_token, int(time.time()))


def auth_time_of(access_token: str) -> int:
    return int(jwt_parts(access_token)[1]["auth_time"])


def session_of(access_token: str) -> str:
    return str(jwt_parts(access_token)[1]["sid"])


# --- the sensitive routes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    body: Any
    # What the owner gets with a fresh token on the team's table.
    status: int
    code: str = ""

    def call(self, client: GatewayClient, team: Team, token: str) -> Answer:
        path = self.path.format(org=team.org_id, key=team.key_id)
        body = json.loads(json.dumps(self.body).replace("{member}", team.member_id))
        return client.request(self.method, path, body, token=token)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


SENSITIVE = [
    Route("POST", "/me/2fa/setup", None, 200),
    Route("POST", "/me/2fa/enable", {"code": "000000"}, 409, "conflict"),  # nothing set up yet
    Route("POST", "/me/2fa/disable", {"password": PASSWORD, "code": "000000"}, 409, "conflict"),  # 2FA is off
    Route("POST", "/me/2fa/recovery-codes", {"code": "000000"}, 409, "conflict"),
    Route("POST", "/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, 204),
    Route("POST", "/orgs/{org}/api-keys", {"description": "deploy", "preset": "deploy"}, 201),
    Route("POST", "/orgs/{org}/api-keys/{key}/rotate", {}, 201),
    Route("POST", "/orgs/{org}/transfer-ownership", {"user_id": "{member}"}, 200),
    Route("DELETE", "/orgs/{org}", None, 204),
    # The owner has no 2FA, so requiring it is refused, but only after sudo mode held.
    Route("PATCH", "/orgs/{org}", {"require_2fa": True}, 403, "two_factor_required"),
    # No provider is configured in these tests: refused as not configured, after sudo mode held.
    Route(
        "POST",
        "/me/identities/github/link",
        {"redirect_to": "https://console.kuploy.test/"},
        404,
        "provider_not_configured",
    ),
]
ORG_ROUTES = [route for route in SENSITIVE if route.path.startswith("/orgs/")]


def assert_unchanged(client: GatewayClient, team: Team) -> None:
    """Nothing a refused sensitive request could have done happened."""
    token = fresh(team.owner_access)
    org = client.request("GET", f"/orgs/{team.org_id}", token=token)
    assert org.status == 200, org.text
    assert org.json()["require_2fa"] is False
    keys = client.request("GET", f"/orgs/{team.org_id}/api-keys", token=token).json()["items"]
    assert [(k["id"], k["revoked_at"]) for k in keys] == [(team.key_id, None)]
    roles = {
        m["user_id"]: m["role"]
        for m in client.request("GET", f"/orgs/{team.org_id}/members", token=token).json()["items"]
    }
    assert roles == {team.owner_id: "owner", team.member_id: "member"}
    me = client.request("GET", "/me", token=token).json()
    assert me["two_factor_enabled"] is False
    user = raw_item(user_pk(team.owner_id), PROFILE_SK)
    assert user is not None and "totp_pending_sealed" not in user
    assert client.request("POST", "/auth/login", {"email": OWNER_EMAIL, "password": PASSWORD}).status == 200


def test_every_sensitive_route_refuses_a_stale_token(client, team):
    token = stale(team.owner_access)
    for route in SENSITIVE:
        body = assert_problem(route.call(client, team, token), 403, "reauthentication_required")
        assert "/auth/reauthenticate" in body["detail"], route.key
    assert_unchanged(client, team)


def test_a_token_from_before_auth_time_is_stale(client, team):
    token = minted(team.owner_access, None)
    for route in SENSITIVE:
        assert_problem(route.call(client, team, token), 403, "reauthentication_required")
    assert_unchanged(client, team)


@pytest.mark.parametrize("route", SENSITIVE, ids=lambda route: route.key)
def test_a_fresh_token_passes_sudo_mode(client, team, route):
    answer = route.call(client, team, fresh(team.owner_access))
    assert answer.status == route.status, (route.key, answer.text)
    if route.code:
        assert_problem(answer, route.status, route.code)


def test_a_just_signed_in_token_is_fresh(client, team):
    tokens = client.log_in(OWNER_EMAIL, PASSWORD)
    assert abs(auth_time_of(tokens["access_token"]) - time.time()) < 60
    answer = SENSITIVE[5].call(client, team, tokens["access_token"])
    assert answer.status == 201, answer.text


@pytest.mark.parametrize("route", SENSITIVE, ids=lambda route: route.key)
def test_a_signed_out_session_is_401_even_with_a_fresh_token(client, team, route):
    token = fresh(team.owner_access)
    assert client.request("POST", "/auth/logout", {"refresh_token": team.owner_refresh}).status == 204
    assert_problem(route.call(client, team, token), 401, "invalid_token")


def test_sudo_mode_costs_one_read(client, team):
    token = stale(team.owner_access)
    with count_dynamodb_requests() as seen:
        assert_problem(SENSITIVE[4].call(client, team, token), 403, "reauthentication_required")
    assert seen.by_moto == ["GetItem"]


@pytest.mark.parametrize("route", ORG_ROUTES, ids=lambda route: route.key)
def test_the_permission_is_checked_before_sudo_mode(client, team, route):
    # A member without the permission is told `forbidden`, not asked to re-authenticate.
    assert_problem(route.call(client, team, stale(team.member)), 403, "forbidden")


@pytest.mark.parametrize("route", SENSITIVE, ids=lambda route: route.key)
def test_api_keys_are_refused_on_sensitive_routes(client, team, route):
    assert_problem(route.call(client, team, team.key), 403, "api_key_not_allowed")


def test_only_a_change_of_require_2fa_is_sensitive(client, team):
    token = stale(team.owner_access)
    path = f"/orgs/{team.org_id}"
    renamed = client.request("PATCH", path, {"name": "Difference Engines"}, token=token)
    assert renamed.status == 200, renamed.text
    unchanged = client.request("PATCH", path, {"require_2fa": False}, token=token)
    assert unchanged.status == 200, unchanged.text
    assert unchanged.json()["require_2fa"] is False
    both = client.request("PATCH", path, {"name": "Analytical Engines", "require_2fa": False}, token=token)
    assert both.status == 200 and both.json()["name"] == "Analytical Engines", both.text
    assert_problem(client.request("PATCH", path, {"require_2fa": True}, token=token), 403, "reauthentication_required")


def test_openapi_lists_reauthentication_required_on_exactly_the_sensitive_routes():
    document = json.loads((ROOT / "functions/openapi/openapi.json").read_text(encoding="utf-8"))
    documented = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            problem = operation.get("responses", {}).get("403", {}).get("description", "")
            if "`reauthentication_required`" in problem:
                documented.add(f"{method.upper()} {path}")
    expected = {
        f"{r.method} {r.path.replace('{org}', '{org_id}').replace('{key}', '{key_id}').replace('github', '{provider}')}"
        for r in SENSITIVE
    }
    assert documented == expected


# --- POST /auth/reauthenticate ---------------------------------------------------------------------------


def reauthenticate(client: GatewayClient, token: str | None, **body: str) -> Answer:
    return client.request("POST", "/auth/reauthenticate", body, token=token)


def test_reauthenticating_with_the_password_renews_the_same_session(client, team):
    token = stale(team.owner_access)
    route = SENSITIVE[5]
    assert_problem(route.call(client, team, token), 403, "reauthentication_required")

    answer = reauthenticate(client, token, password=PASSWORD)
    assert answer.status == 200, answer.text
    pair = answer.json()
    assert pair.keys() >= {"access_token", "refresh_token", "token_type", "expires_in"}
    assert session_of(pair["access_token"]) == session_of(team.owner_access)
    assert abs(auth_time_of(pair["access_token"]) - time.time()) < 60

    assert route.call(client, team, pair["access_token"]).status == 201
    sessions = client.request("GET", "/me/sessions", token=pair["access_token"]).json()["items"]
    assert [(s["id"], s["current"]) for s in sessions] == [(session_of(team.owner_access), True)]
    # The session's previous refresh token is spent: presenting it is a reuse.
    assert_problem(client.request("POST", "/auth/refresh", {"refresh_token": team.owner_refresh}), 401, "token_reused")


def test_the_new_refresh_token_keeps_the_fresh_auth_time(client, team):
    pair = reauthenticate(client, stale(team.owner_access), password=PASSWORD).json()
    refreshed = client.request("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert refreshed.status == 200, refreshed.text
    assert auth_time_of(refreshed.json()["access_token"]) == auth_time_of(pair["access_token"])
    session = raw_item(user_pk(team.owner_id), session_sk(session_of(team.owner_access)))
    assert session is not None and "auth_time" in session


def test_refreshes_keep_the_sign_in_auth_time(client, team):
    tokens = client.log_in(OWNER_EMAIL, PASSWORD)
    signed_in_at = auth_time_of(tokens["access_token"])
    for _ in range(2):
        tokens = client.request("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}).json()
        assert auth_time_of(tokens["access_token"]) == signed_in_at


def test_a_wrong_password_is_403_and_counts_as_a_failed_sign_in(client, team, service_clock):
    token = stale(team.owner_access)
    assert_problem(reauthenticate(client, token, password="not the password"), 403, "invalid_credentials")
    for _ in range(4):
        assert_problem(reauthenticate(client, token, password="not the password"), 403, "invalid_credentials")
    assert_problem(reauthenticate(client, token, password=PASSWORD), 429, "rate_limited")
    # Nothing was renewed: the session's refresh token still works.
    assert client.request("POST", "/auth/refresh", {"refresh_token": team.owner_refresh}).status == 200


def test_reauthenticate_is_for_signed_in_users(client, team):
    assert_problem(reauthenticate(client, None, password=PASSWORD), 401, "unauthorized")
    assert_problem(reauthenticate(client, team.key, password=PASSWORD), 403, "api_key_not_allowed")
    assert client.request("POST", "/auth/logout", {"refresh_token": team.owner_refresh}).status == 204
    assert_problem(reauthenticate(client, fresh(team.owner_access), password=PASSWORD), 401, "invalid_token")


def test_reauthenticate_validates_its_body(client, team):
    token = stale(team.owner_access)
    assert_problem(client.request("POST", "/auth/reauthenticate", {}, token=token), 422, "validation_error")
    both = reauthenticate(client, token, password=PASSWORD, code="123456", recovery_code="aaaaa-bbbbb")
    assert_problem(both, 422, "validation_error")
    extra = reauthenticate(client, token, password=PASSWORD, email=OWNER_EMAIL)
    assert_problem(extra, 422, "validation_error")


# --- accounts with 2FA ----------------------------------------------------------------------------------


def next_step(clock: Any) -> None:
    into = clock.now().timestamp() % 30
    clock.advance(timedelta(seconds=30 - into + 1))


def code_now(secret: str, clock: Any) -> str:
    return pyotp.TOTP(secret).at(int(clock.now().timestamp()))


def with_two_factor(client: GatewayClient, team: Team, clock: Any) -> tuple[str, list[str], str]:
    """2FA on for the owner (from their team session): the secret, the recovery codes and
    the session's new access token."""
    token = fresh(team.owner_access)
    secret = client.request("POST", "/me/2fa/setup", token=token).json()["secret"]
    next_step(clock)
    enabled = client.request("POST", "/me/2fa/enable", {"code": code_now(secret, clock)}, token=token)
    assert enabled.status == 200, enabled.text
    return secret, enabled.json()["recovery_codes"], token


def test_a_2fa_account_reauthenticates_with_the_password_and_a_code(client, team, service_clock):
    secret, _, _ = with_two_factor(client, team, service_clock)
    token = stale(team.owner_access)
    assert_problem(reauthenticate(client, token, password=PASSWORD), 422, "validation_error")
    next_step(service_clock)
    assert_problem(reauthenticate(client, token, password=PASSWORD, code="000000"), 403, "invalid_code")
    code = code_now(secret, service_clock)
    assert_problem(reauthenticate(client, token, password="not the password", code=code), 403, "invalid_credentials")

    answer = reauthenticate(client, token, password=PASSWORD, code=code)
    assert answer.status == 200, answer.text
    renewed = answer.json()["access_token"]
    assert session_of(renewed) == session_of(team.owner_access)
    # Sudo mode holds for the new token: the route itself answers (a wrong code here).
    assert_problem(
        client.request("POST", "/me/2fa/recovery-codes", {"code": "000000"}, token=renewed), 403, "invalid_code"
    )
    # The code is spent.
    assert_problem(reauthenticate(client, token, password=PASSWORD, code=code), 403, "invalid_code")


def test_a_2fa_account_reauthenticates_with_a_recovery_code_once(client, team, service_clock):
    _, codes, _ = with_two_factor(client, team, service_clock)
    token = stale(team.owner_access)
    answer = reauthenticate(client, token, password=PASSWORD, recovery_code=codes[0])
    assert answer.status == 200, answer.text
    again = reauthenticate(client, answer.json()["access_token"], password=PASSWORD, recovery_code=codes[0])
    assert_problem(again, 403, "invalid_code")


# --- 2FA changes end the other sessions -------------------------------------------------------------------


def sign_in_with_code(client: GatewayClient, secret: str, clock: Any) -> dict[str, Any]:
    """Another session of the owner, whose account has 2FA."""
    next_step(clock)
    mfa = client.request("POST", "/auth/login", {"email": OWNER_EMAIL, "password": PASSWORD}).json()
    answer = client.request("POST", "/auth/login/2fa", {"mfa_token": mfa["mfa_token"], "code": code_now(secret, clock)})
    assert answer.status == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def assert_only_session(client: GatewayClient, team: Team, token: str, ended: dict[str, Any]) -> None:
    refused = client.request("POST", "/auth/refresh", {"refresh_token": ended["refresh_token"]})
    assert_problem(refused, 401, "invalid_token")
    sessions = client.request("GET", "/me/sessions", token=token).json()["items"]
    assert [s["id"] for s in sessions] == [session_of(team.owner_access)]


def test_turning_2fa_on_ends_the_other_sessions(client, team, service_clock):
    elsewhere = client.log_in(OWNER_EMAIL, PASSWORD)
    _, _, token = with_two_factor(client, team, service_clock)
    assert_only_session(client, team, token, elsewhere)
    assert client.request("POST", "/auth/refresh", {"refresh_token": team.owner_refresh}).status == 200


def test_new_recovery_codes_end_the_other_sessions(client, team, service_clock):
    secret, _, token = with_two_factor(client, team, service_clock)
    elsewhere = sign_in_with_code(client, secret, service_clock)
    next_step(service_clock)
    answer = client.request("POST", "/me/2fa/recovery-codes", {"code": code_now(secret, service_clock)}, token=token)
    assert answer.status == 200, answer.text
    assert_only_session(client, team, token, elsewhere)


def test_turning_2fa_off_ends_the_other_sessions(client, team, service_clock):
    secret, _, token = with_two_factor(client, team, service_clock)
    elsewhere = sign_in_with_code(client, secret, service_clock)
    next_step(service_clock)
    body = {"password": PASSWORD, "code": code_now(secret, service_clock)}
    answer = client.request("POST", "/me/2fa/disable", body, token=token)
    assert answer.status == 204, answer.text
    assert_only_session(client, team, token, elsewhere)

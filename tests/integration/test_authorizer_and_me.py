"""The authorizer and `/me` through the local gateway: forged, expired and missing tokens.

The tokens are forged with the real signing key, read from (moto) Secrets Manager, so
each refusal comes from the check under test and not from a bad signature. One moto
world and one signed-in person serve the whole module.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devserver.events import LambdaContext
from devserver.gateway import load_handler
from kuploy_access.adapters.dynamodb.keys import PROFILE_SK, user_pk
from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import ACCESS_HEADER, access_claims, assert_problem, b64url, forge_jwt


@dataclass
class World:
    client: GatewayClient
    user_id: str
    email: str
    tokens: dict[str, Any]
    key: bytes

    @property
    def access_token(self) -> str:
        return str(self.tokens["access_token"])


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with support.moto_world() as outbox:
        client = GatewayClient(outbox)
        client.sign_up_and_verify("me@example.com", name="Me")
        tokens = client.log_in("me@example.com")
        user_id = support.users()[0]["user_id"]
        yield World(client, user_id, "me@example.com", tokens, support.signing_key())


def get_me(world: World, token: str | None = None, **headers: str):
    return world.client.request("GET", "/me", token=token, headers=headers or None)


def test_a_valid_token_reads_me(world):
    answer = get_me(world, world.access_token)
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["id"] == world.user_id
    assert body["email"] == "me@example.com"
    assert body["email_verified"] is True
    assert body["organizations"] == []
    assert set(body) == {
        "id",
        "email",
        "name",
        "email_verified",
        "two_factor_enabled",
        "created_at",
        "organizations",
        "has_password",
        "identities",
    }
    assert (body["has_password"], body["identities"]) == (True, [])


def test_the_bearer_scheme_is_case_insensitive(world):
    answer = get_me(world, Authorization=f"bearer {world.access_token}")
    assert answer.status == 200, answer.text


def test_a_token_forged_with_the_real_key_is_accepted(world):
    """Control for the forgeries below: the helper signs exactly as the service does."""
    token = forge_jwt(ACCESS_HEADER, access_claims(world.user_id), world.key)
    assert get_me(world, token).status == 200


def test_no_authorization_header_is_401_unauthorized(world):
    answer = get_me(world)
    assert_problem(answer, 401, "unauthorized")
    assert answer.headers["www-authenticate"].startswith("Bearer ")


@pytest.mark.parametrize("value", ["", "Bearer", "Bearer    ", "Basic bWU6cGFzcw==", "Token abc", "abc"])
def test_an_authorization_header_without_a_bearer_token_is_401_unauthorized(world, value):
    assert_problem(get_me(world, Authorization=value), 401, "unauthorized")


def forgeries(world: World) -> dict[str, str]:
    claims = access_claims(world.user_id)
    other_key = b"k" * 64
    good = world.access_token
    header_b64, payload_b64, signature = good.split(".")
    payload = json.loads(support.b64url_decode(payload_b64))
    tampered_payload = b64url(json.dumps(payload | {"sub": "usr_someoneelse000000000000"}).encode())
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return {
        "garbage": "not-a-jwt",
        "three dots": "a.b.c",
        "empty segments": "..",
        "alg none": forge_jwt({"alg": "none", "typ": "at+jwt"}, claims, None),
        "alg None": forge_jwt({"alg": "None", "typ": "at+jwt"}, claims, None),
        "alg none with the real signature": forge_jwt({"alg": "none", "typ": "at+jwt"}, claims, None) + signature,
        "alg HS512 with the real key": forge_jwt({"alg": "HS512", "typ": "at+jwt"}, claims, world.key, "HS512"),
        "alg RS256 signed as HMAC": forge_jwt({"alg": "RS256", "typ": "at+jwt"}, claims, world.key),
        "another key": forge_jwt(ACCESS_HEADER, claims, other_key),
        "wrong aud": forge_jwt(ACCESS_HEADER, claims | {"aud": "kuploy-mfa"}, world.key),
        "aud list without ours": forge_jwt(ACCESS_HEADER, claims | {"aud": ["someone-else"]}, world.key),
        "no aud": forge_jwt(ACCESS_HEADER, {k: v for k, v in claims.items() if k != "aud"}, world.key),
        "wrong iss": forge_jwt(ACCESS_HEADER, claims | {"iss": "https://evil.example"}, world.key),
        "no sub": forge_jwt(ACCESS_HEADER, {k: v for k, v in claims.items() if k != "sub"}, world.key),
        "no exp": forge_jwt(ACCESS_HEADER, {k: v for k, v in claims.items() if k != "exp"}, world.key),
        "no jti": forge_jwt(ACCESS_HEADER, {k: v for k, v in claims.items() if k != "jti"}, world.key),
        "no iat": forge_jwt(ACCESS_HEADER, {k: v for k, v in claims.items() if k != "iat"}, world.key),
        "mfa challenge token": forge_jwt({"alg": "HS256", "typ": "mfa+jwt"}, claims | {"aud": "kuploy-mfa"}, world.key),
        "access aud with mfa typ": forge_jwt({"alg": "HS256", "typ": "mfa+jwt"}, claims, world.key),
        "no typ": forge_jwt({"alg": "HS256"}, claims, world.key),
        "typ JWT": forge_jwt({"alg": "HS256", "typ": "JWT"}, claims, world.key),
        "tampered payload": f"{header_b64}.{tampered_payload}.{signature}",
        "tampered signature": f"{header_b64}.{payload_b64}.{flipped}",
        "signature removed": f"{header_b64}.{payload_b64}.",
        "expired and forged": forge_jwt(
            ACCESS_HEADER, access_claims(world.user_id, now=datetime.now(UTC) - timedelta(hours=1)), other_key
        ),
        "api key": "kpy_" + "a" * 40,
        "oversized": forge_jwt(ACCESS_HEADER, claims | {"pad": "x" * 5000}, world.key),
    }


FORGERY_NAMES = [
    "garbage",
    "three dots",
    "empty segments",
    "alg none",
    "alg None",
    "alg none with the real signature",
    "alg HS512 with the real key",
    "alg RS256 signed as HMAC",
    "another key",
    "wrong aud",
    "aud list without ours",
    "no aud",
    "wrong iss",
    "no sub",
    "no exp",
    "no jti",
    "no iat",
    "mfa challenge token",
    "access aud with mfa typ",
    "no typ",
    "typ JWT",
    "tampered payload",
    "tampered signature",
    "signature removed",
    "expired and forged",
    "api key",
    "oversized",
]


def test_the_forgery_list_is_complete(world):
    assert sorted(forgeries(world)) == sorted(FORGERY_NAMES)


@pytest.mark.parametrize("name", FORGERY_NAMES)
def test_forged_tokens_are_401_invalid_token(world, name):
    token = forgeries(world)[name]
    answer = get_me(world, token)
    assert_problem(answer, 401, "invalid_token")
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert world.user_id not in answer.text


def test_an_expired_token_is_401_token_expired(world):
    claims = access_claims(world.user_id, now=datetime.now(UTC) - timedelta(minutes=16))
    answer = get_me(world, forge_jwt(ACCESS_HEADER, claims, world.key))
    assert_problem(answer, 401, "token_expired")
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_a_token_is_refused_once_its_15_minutes_are_over(world, monkeypatch):
    import datetime as datetime_module
    import sys

    token = world.access_token
    assert get_me(world, token).status == 200
    later = datetime.now(UTC) + timedelta(minutes=15, seconds=1)

    class Later(datetime_module.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def]
            return later

    # Every loaded copy of the authorizer reads the clock through its module's `datetime`.
    copies = [m for name, m in list(sys.modules.items()) if name.startswith("kuploy_function_AuthorizerFunction")]
    assert copies
    for module in copies:
        monkeypatch.setattr(module, "datetime", Later)

    assert_problem(get_me(world, token), 401, "token_expired")


def test_a_valid_token_for_a_deleted_account_is_401(world):
    token = forge_jwt(ACCESS_HEADER, access_claims("usr_deleted00000000000000000"), world.key)
    assert_problem(get_me(world, token), 401, "invalid_token")
    answer = world.client.request("PATCH", "/me", {"name": "Ghost"}, token=token)
    assert_problem(answer, 401, "invalid_token")
    # The update did not create a profile for the ghost.
    assert support.raw_item(user_pk("usr_deleted00000000000000000"), PROFILE_SK) is None


@pytest.mark.parametrize(
    "raw",
    [b"[", b"null", b'{"name": 5}', b'{"email_verified": false}', b'{"name": "x", "role": "owner"}', b""],
    ids=repr,
)
@pytest.mark.parametrize("auth", ["none", "forged", "expired"])
def test_patch_me_without_a_valid_token_is_401_before_the_body_is_read(world, raw, auth):
    headers = {}
    if auth == "forged":
        headers["Authorization"] = "Bearer " + forge_jwt(ACCESS_HEADER, access_claims(world.user_id), b"k" * 64)
    elif auth == "expired":
        claims = access_claims(world.user_id, now=datetime.now(UTC) - timedelta(hours=1))
        headers["Authorization"] = "Bearer " + forge_jwt(ACCESS_HEADER, claims, world.key)
    answer = world.client.request("PATCH", "/me", raw=raw, headers=headers)
    expected = {"none": "unauthorized", "forged": "invalid_token", "expired": "token_expired"}[auth]
    assert_problem(answer, 401, expected)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "New", "email": "other@example.com"},
        {"name": "New", "email_verified": False},
        {"name": "New", "id": "usr_other"},
        {"name": "New", "role": "owner"},
        {"name": "New", "two_factor_enabled": True},
        {"email": "other@example.com"},
        {},
        {"name": 5},
        {"name": "n" * 201},
    ],
    ids=repr,
)
def test_patch_me_refuses_server_owned_fields_and_bad_values(world, body):
    before = get_me(world, world.access_token).json()
    answer = world.client.request("PATCH", "/me", body, token=world.access_token)
    assert_problem(answer, 422, "validation_error")
    assert get_me(world, world.access_token).json() == before


@pytest.mark.parametrize("raw", [b"[1]", b"null", b"{", b""], ids=repr)
def test_patch_me_with_a_token_and_a_body_that_is_not_an_object_is_400(world, raw):
    answer = world.client.request("PATCH", "/me", raw=raw, token=world.access_token)
    assert_problem(answer, 400, "validation_error")


def test_patch_me_renames_and_answers_the_account(world):
    answer = world.client.request("PATCH", "/me", {"name": "  Renamed\u0007 Me "}, token=world.access_token)
    assert answer.status == 200, answer.text
    assert answer.json()["name"] == "Renamed Me"
    assert answer.json()["id"] == world.user_id
    assert get_me(world, world.access_token).json()["name"] == "Renamed Me"
    assert answer.headers["cache-control"] == "no-store"


def test_the_authorizer_context_reaches_the_handler(world, monkeypatch):
    gateway = world.client.gateway
    seen: list[tuple[str, dict[str, Any]]] = []
    real_invoke = gateway.invoke

    def spy(function: Any, event: dict[str, Any]) -> Any:
        seen.append((function.logical_id, copy.deepcopy(event)))
        return real_invoke(function, event)

    monkeypatch.setattr(gateway, "invoke", spy)
    _, claims, _ = support.jwt_parts(world.access_token)

    assert get_me(world, world.access_token).status == 200
    assert get_me(world).status == 401

    handled = [event for function, event in seen if function == "AccountFunction"]
    assert len(handled) == 2
    principal = handled[0]["requestContext"]["authorizer"]["lambda"]
    assert principal["principal_type"] == "user"
    assert principal["principal_id"] == world.user_id == claims["sub"]
    assert principal["session_id"] == claims["sid"]
    assert principal["auth_error"] == ""
    anonymous = handled[1]["requestContext"]["authorizer"]["lambda"]
    assert anonymous["principal_type"] == "anonymous"
    assert anonymous["principal_id"] == ""
    assert anonymous["auth_error"] == "unauthorized"
    # The authorizer ran first each time, and saw the token.
    assert [function for function, _ in seen] == ["AuthorizerFunction", "AccountFunction"] * 2


def test_the_authorizer_makes_no_database_call(world):
    authorizer_spec = world.client.gateway.api.authorizer
    assert authorizer_spec is not None
    authorizer = load_handler(authorizer_spec.function)
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "routeKey": "GET /me",
        "rawPath": "/me",
        "rawQueryString": "",
        "headers": {"authorization": f"Bearer {world.access_token}"},
        "requestContext": {"http": {"method": "GET", "path": "/me"}},
    }
    authorizer(event, LambdaContext("AuthorizerFunction"))  # warm: the key is fetched once per container

    with support.count_dynamodb_requests() as requests:
        answer = authorizer(event, LambdaContext("AuthorizerFunction"))

    assert answer["isAuthorized"] is True
    assert answer["context"]["principal_id"] == world.user_id
    assert requests.by_moto == []
    assert requests.by_hook == []


def test_public_routes_do_not_need_a_token_and_ignore_a_bad_one(world):
    answer = world.client.request(
        "POST", "/auth/resend-verification", {"email": "me@example.com"}, token="forged.token.here"
    )
    assert answer.status == 202

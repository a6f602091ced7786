"""Problem documents, the authorizer's 401s, the gateway's own answers and the OpenAPI document."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from devserver.template import api_spec
from tests.e2e.helpers import assert_problem, bearer, logged_in, strong_password, unique_email

pytestmark = pytest.mark.e2e

ISSUER = "https://access.kuploy.dev"
ACCESS_AUDIENCE = "kuploy-api"
ACCESS_TYP = "at+jwt"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": ACCESS_AUDIENCE,
        "sub": "usr_01JE2EXAMPLE",
        "sid": "ses_01JE2EXAMPLE",
        "iat": now - 3600,
        "exp": now - 1800,
        "jti": "e2e-expired",
    }
    claims.update(overrides)
    return claims


def _sign(key: str, claims: dict[str, Any], typ: str = ACCESS_TYP) -> str:
    return jwt.encode(claims, key.encode(), algorithm="HS256", headers={"typ": typ})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "usr_someone_else"
    return f"{header}.{_b64(claims)}.{signature}"


# --- bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[1]", b'"ada@example.com"', b"null", b"42", b'{"email": "ada@example.com", ', b"\xff\xfe"],
    ids=["array", "string", "null", "number", "truncated", "not-utf8"],
)
def test_a_body_that_is_not_a_json_object_is_400(client: httpx.Client, body: bytes):
    response = client.post("/auth/signup", content=body, headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 400, "validation_error")
    assert "ada@example.com" not in json.dumps(problem)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "not-an-email", "password": "Quiet-Harbour-42"}, "invalid_email"),
        ({"email": "ada@", "password": "Quiet-Harbour-42"}, "invalid_email"),
        ({"email": "Ada@Example.com", "password": "short"}, "password_too_short"),
        ({"email": "Ada@Example.com", "password": "Password1"}, "password_too_common"),
        ({"email": "Ada@Example.com", "password": "x" * 257}, "validation_error"),
        ({"email": "Ada@Example.com"}, "validation_error"),
        ({"email": "Ada@Example.com", "password": 12345678}, "validation_error"),
        ({"email": "Ada@Example.com", "password": "Quiet-Harbour-42", "email_verified": True}, "validation_error"),
    ],
    ids=["no-at", "no-domain", "short", "common", "too-long", "missing", "wrong-type", "server-owned"],
)
def test_a_field_that_fails_validation_is_422_with_its_code(client: httpx.Client, body: dict[str, Any], code: str):
    problem = assert_problem(client.post("/auth/signup", json=body), 422, code)
    assert "Quiet-Harbour-42" not in json.dumps(problem), "a problem document must not echo the password"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/auth/signup", {"email": "headers-e2e@example.com", "password": "Quiet-Harbour-42"}),
        ("POST", "/auth/signup", {}),
        ("POST", "/auth/signup", [{"email": "headers-e2e@example.com"}]),
        ("GET", "/verify-email?token=abc", None),
        ("GET", "/openapi.json", None),
    ],
    ids=["json", "problem-422", "problem-400", "page", "openapi"],
)
def test_answers_carry_hsts_and_coop(client: httpx.Client, method: str, path: str, body: Any):
    response = client.request(method, path, json=body)
    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"


def test_a_body_over_64_kib_is_413(client: httpx.Client):
    padding = "a" * (70 * 1024)
    for path in ("/auth/signup", "/auth/login", "/auth/verify-email"):
        body = json.dumps({"email": unique_email(), "password": strong_password(), "name": padding})
        assert_problem(
            client.post(path, content=body, headers={"Content-Type": "application/json"}), 413, "payload_too_large"
        )


def test_login_failures(client: httpx.Client):
    email, tokens = logged_in(client)
    assert tokens["access_token"]
    assert_problem(
        client.post("/auth/login", json={"email": email, "password": "Wrong-Password-99"}), 401, "invalid_credentials"
    )
    assert_problem(
        client.post("/auth/login", json={"email": unique_email(), "password": "Wrong-Password-99"}),
        401,
        "invalid_credentials",
    )
    assert_problem(client.post("/auth/login", json={"email": email}), 422, "validation_error")


# --- the authorizer ----------------------------------------------------------------


def test_me_without_a_usable_token_is_401_with_the_reason(client: httpx.Client, signing_key: str):
    valid_claims = _claims(iat=int(time.time()), exp=int(time.time()) + 600)
    cases: dict[str, tuple[dict[str, str], str]] = {
        "no header": ({}, "unauthorized"),
        "bearer, no token": ({"Authorization": "Bearer"}, "unauthorized"),
        "basic scheme": ({"Authorization": "Basic YWRhOnNlY3JldA=="}, "unauthorized"),
        "garbage": (bearer("not-a-jwt"), "invalid_token"),
        "expired": (bearer(_sign(signing_key, _claims())), "token_expired"),
        "expired, wrong key": (bearer(_sign("another-key-" + "k" * 40, _claims())), "invalid_token"),
        "tampered payload": (bearer(_tampered(_sign(signing_key, valid_claims))), "invalid_token"),
        "wrong audience": (bearer(_sign(signing_key, {**valid_claims, "aud": "kuploy-mfa"})), "invalid_token"),
        "wrong typ": (bearer(_sign(signing_key, valid_claims, typ="mfa+jwt")), "invalid_token"),
        "alg none": (
            bearer(f"{_b64({'alg': 'none', 'typ': ACCESS_TYP})}.{_b64(valid_claims)}."),
            "invalid_token",
        ),
        "api key": (bearer("kpy_" + "a" * 40), "invalid_token"),
    }
    for label, (headers, code) in cases.items():
        for method in ("GET", "PATCH"):
            response = client.request(method, "/me", headers=headers, json={"name": "x"} if method == "PATCH" else None)
            try:
                assert_problem(response, 401, code)
            except AssertionError as error:
                raise AssertionError(f"{method} /me with {label}: {error}") from None
            assert response.headers["www-authenticate"].startswith("Bearer"), (label, response.headers)
            assert response.headers["cache-control"] == "no-store"


def test_a_valid_token_signed_with_the_server_key_for_a_real_user_works(client: httpx.Client, signing_key: str):
    """Guards the expired-token case above: the same minting gives a working token when not expired."""
    _, tokens = logged_in(client)
    me = client.get("/me", headers=bearer(tokens["access_token"])).json()
    now = int(time.time())
    minted = _sign(signing_key, _claims(sub=me["id"], iat=now, exp=now + 600))
    response = client.get("/me", headers=bearer(minted))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == me["id"]


# --- the gateway's own answers -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/auth/signup"),
        ("DELETE", "/me"),
        ("POST", "/openapi.json"),
        ("GET", "/me/extra"),
        ("GET", "/_dev/nothing"),
        ("POST", "/_dev/emails"),
    ],
)
def test_an_unknown_route_gets_the_gateway_404(client: httpx.Client, method: str, path: str):
    response = client.request(method, path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "Not Found"}


def test_the_gateway_404_body_is_byte_for_byte_api_gateways(client: httpx.Client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.content == b'{"message":"Not Found"}'


# --- OpenAPI -----------------------------------------------------------------------


def test_openapi_lists_exactly_the_routes_of_template_yaml(client: httpx.Client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert str(document["openapi"]).startswith("3.")

    in_template = {(route.method.lower(), route.path) for route in api_spec().routes}
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    in_document = {
        (method, path) for path, operations in document["paths"].items() for method in operations if method in methods
    }
    assert in_template, "template.yaml declares no route"
    assert in_template - in_document == set(), "routes of template.yaml missing from /openapi.json"
    assert in_document - in_template == set(), "routes in /openapi.json that template.yaml does not declare"

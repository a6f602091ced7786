"""The Lambda authorizer: never refuses, hands the routes a principal or the reason there is none."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kuploy_access.domain.access_tokens import JwtCodec, JwtKind
from kuploy_access.domain.principal import ANONYMOUS, USER, Principal
from tests.unit.jwt_helpers import OTHER_KEY, TEST_KEY, claims_for, unsigned_token

ROOT = Path(__file__).resolve().parents[2]
AUTHORIZER = ROOT / "functions" / "authorizer" / "app.py"
CODEC = JwtCodec(TEST_KEY)


def load_authorizer() -> ModuleType:
    name = f"authorizer_app_under_test_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, AUTHORIZER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordingLogger:
    def __init__(self) -> None:
        self.records: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def _record(self, level: str, *args: Any, **kwargs: Any) -> None:
        self.records.append((level, args, kwargs))

    def info(self, *args: Any, **kwargs: Any) -> None:
        self._record("info", *args, **kwargs)

    def warning(self, *args: Any, **kwargs: Any) -> None:
        self._record("warning", *args, **kwargs)

    def debug(self, *args: Any, **kwargs: Any) -> None:
        self._record("debug", *args, **kwargs)

    def error(self, *args: Any, **kwargs: Any) -> None:
        self._record("error", *args, **kwargs)

    def exception(self, *args: Any, **kwargs: Any) -> None:
        self._record("exception", *args, **kwargs)


@pytest.fixture(scope="module")
def module() -> ModuleType:
    return load_authorizer()


@pytest.fixture
def authorizer(module, monkeypatch) -> ModuleType:
    monkeypatch.setattr(module, "jwt_codec", lambda: CODEC)
    monkeypatch.setattr(module, "logger", RecordingLogger())
    return module


def now() -> datetime:
    return datetime.now(UTC)


def access_token(issued: datetime | None = None, key_codec: JwtCodec = CODEC, **extra: object) -> str:
    return key_codec.issue(
        JwtKind.ACCESS, "usr_01ada", issued or now(), timedelta(minutes=15), extra={"sid": "ses_01one", **extra}
    )


def event(authorization: str | None) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeKey": "GET /me",
        "rawPath": "/me",
        "headers": headers,
        "requestContext": {"http": {"method": "GET", "path": "/me"}},
    }


# --- bearer_token ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (None, None),
        ({}, None),
        ({"authorization": ""}, None),
        ({"authorization": "Bearer"}, None),
        ({"authorization": "Bearer   "}, None),
        ({"authorization": "Basic YWRhOnNlY3JldA=="}, None),
        ({"authorization": "Token abc"}, None),
        ({"authorization": "Bearer abc.def.ghi"}, "abc.def.ghi"),
        ({"authorization": "bearer abc"}, "abc"),
        ({"authorization": "BEARER abc"}, "abc"),
        ({"authorization": "  Bearer   abc  "}, "abc"),
    ],
)
def test_bearer_token(authorizer, headers, expected):
    assert authorizer.bearer_token(headers) == expected


# --- authorize -------------------------------------------------------------------------


def test_missing_token_is_anonymous_unauthorized(authorizer):
    principal = authorizer.authorize(None, now())
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "unauthorized"


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x", "\u00fc\u00fc\u00fc"])
def test_garbage_is_invalid_token(authorizer, garbage):
    principal = authorizer.authorize(garbage, now())
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "invalid_token"


def test_api_key_is_invalid_token_for_now(authorizer):
    principal = authorizer.authorize("kpy_live_0123456789abcdef0123456789abcdef", now())
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "invalid_token"


def test_oversized_token_is_invalid_token(authorizer):
    principal = authorizer.authorize(access_token() + "A" * 5_000, now())
    assert principal.auth_error == "invalid_token"


def test_expired_token_is_token_expired(authorizer):
    token = access_token(issued=now() - timedelta(hours=1))
    principal = authorizer.authorize(token, now())
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "token_expired"


def test_token_signed_with_another_key_is_invalid_token(authorizer):
    principal = authorizer.authorize(access_token(key_codec=JwtCodec(OTHER_KEY)), now())
    assert principal.auth_error == "invalid_token"


def test_alg_none_token_is_invalid_token(authorizer):
    token = unsigned_token({"alg": "none", "typ": JwtKind.ACCESS.typ}, claims_for(JwtKind.ACCESS, now()))
    assert authorizer.authorize(token, now()).auth_error == "invalid_token"


def test_mfa_challenge_token_is_not_accepted(authorizer):
    token = CODEC.issue(JwtKind.MFA_CHALLENGE, "usr_01ada", now(), timedelta(minutes=5))
    principal = authorizer.authorize(token, now())
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "invalid_token"


def test_valid_token_is_a_user_principal(authorizer):
    principal = authorizer.authorize(access_token(), now())
    assert principal == Principal(type=USER, id="usr_01ada", session_id="ses_01one")


def test_valid_token_without_session_is_a_user_with_empty_session(authorizer):
    token = CODEC.issue(JwtKind.ACCESS, "usr_01ada", now(), timedelta(minutes=15))
    principal = authorizer.authorize(token, now())
    assert principal.type == USER
    assert principal.session_id == ""


def test_refused_tokens_never_reach_the_log(authorizer):
    tokens = [access_token(issued=now() - timedelta(hours=1)), access_token(key_codec=JwtCodec(OTHER_KEY))]
    for token in tokens:
        authorizer.authorize(token, now())
    records = authorizer.logger.records
    assert records  # refusals are logged ...
    logged = repr(records)
    for token in tokens:  # ... but never the token, nor its signature
        assert token not in logged
        assert token.rsplit(".", 1)[1] not in logged


# --- lambda_handler --------------------------------------------------------------------


def handle(authorizer: ModuleType, authorization: str | None) -> dict[str, Any]:
    answer = authorizer.lambda_handler(event(authorization), None)
    assert answer["isAuthorized"] is True
    assert all(isinstance(value, str) for value in answer["context"].values()), answer
    json.dumps(answer)  # must be serialisable as is
    return answer


def test_handler_with_a_valid_token(authorizer):
    context = handle(authorizer, f"Bearer {access_token()}")["context"]
    assert context["principal_type"] == USER
    assert context["principal_id"] == "usr_01ada"
    assert context["session_id"] == "ses_01one"
    assert context["auth_error"] == ""
    assert Principal.from_context(context) == Principal(type=USER, id="usr_01ada", session_id="ses_01one")


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "unauthorized"),
        ("", "unauthorized"),
        ("Basic YWRhOnNlY3JldA==", "unauthorized"),
        ("Bearer garbage", "invalid_token"),
        ("Bearer kpy_live_0123456789", "invalid_token"),
    ],
)
def test_handler_never_refuses_and_names_the_reason(authorizer, authorization, reason):
    context = handle(authorizer, authorization)["context"]
    assert context["principal_type"] == ANONYMOUS
    assert context["principal_id"] == ""
    assert context["auth_error"] == reason


def test_handler_with_an_expired_token(authorizer):
    context = handle(authorizer, f"Bearer {access_token(issued=now() - timedelta(minutes=16))}")["context"]
    assert context["principal_type"] == ANONYMOUS
    assert context["auth_error"] == "token_expired"


def test_handler_without_headers(authorizer):
    answer = authorizer.lambda_handler({"version": "2.0", "type": "REQUEST"}, None)
    assert answer["isAuthorized"] is True
    assert answer["context"]["auth_error"] == "unauthorized"


def test_the_authorizer_imports_no_argon2_pyotp_or_pydantic():
    # A fresh interpreter: what the authorizer's cold start really loads.
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('authorizer_probe', {str(AUTHORIZER)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "heavy = sorted(n for n in ('argon2', 'pyotp', 'pydantic', 'email_validator', 'zxcvbn') if n in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    env = {
        "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}",
        "POWERTOOLS_SERVICE_NAME": "kuploy-access",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "PATH": "/usr/bin:/bin",
        # What template.yaml gives every function (kuploy_access.config needs them at cold start).
        "TABLE_NAME": "kuploy-access",
        "PUBLIC_BASE_URL": "https://access.test",
        "SENDER_EMAIL": "no-reply@access.test",
        "SIGNING_KEY_SECRET_ID": "kuploy-access/signing-key",
        "TOTP_KEY_SECRET_ID": "kuploy-access/totp-key",
    }
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# --- auth_time (sudo mode) -------------------------------------------------------------------


def test_auth_time_reaches_the_routes(authorizer):
    signed_in_at = int(now().timestamp()) - 120
    context = handle(authorizer, f"Bearer {access_token(auth_time=signed_in_at)}")["context"]
    assert context["auth_time"] == str(signed_in_at)
    assert Principal.from_context(context).auth_time == signed_in_at


@pytest.mark.parametrize("claim", [None, "1764331200", 1764331200.5, True, [1]])
def test_tokens_without_an_integer_auth_time_are_stale(authorizer, claim):
    extra = {} if claim is None else {"auth_time": claim}
    principal = authorizer.authorize(access_token(**extra), now())
    assert principal.type == USER
    assert principal.auth_time == 0

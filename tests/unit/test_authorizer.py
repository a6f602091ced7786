"""The Lambda authorizer: never refuses, hands the routes a principal or the reason there is none.

The decision (`kuploy_access.services.authorizer`) is tested with a fake key table and clocks the
test moves; the Lambda entry (`functions/authorizer/app.py`) with the answer it gives
API Gateway and what its cold start imports.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devserver.events import LambdaContext
from kuploy_access.domain.access_tokens import JwtCodec, JwtKind
from kuploy_access.domain.api_keys import hash_key, new_key
from kuploy_access.domain.principal import ANONYMOUS, API_KEY, USER, Principal
from kuploy_access.services.authorizer import KEY_CACHE_SECONDS, Authorizer, bearer_token
from tests.unit.fakes import FakeKeys
from tests.unit.jwt_helpers import OTHER_KEY, TEST_KEY, claims_for, unsigned_token
from tests.unit.metric_fakes import CountedEvents

ROOT = Path(__file__).resolve().parents[2]
AUTHORIZER = ROOT / "functions" / "authorizer" / "app.py"
CODEC = JwtCodec(TEST_KEY)
CONTEXT = LambdaContext("AuthorizerFunction")


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


class Monotonic:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


@dataclass
class Decision:
    """An authorizer with everything it talks to in the test's hands."""

    keys: FakeKeys = field(default_factory=FakeKeys)
    logger: RecordingLogger = field(default_factory=RecordingLogger)
    monotonic: Monotonic = field(default_factory=Monotonic)
    edge_secret: str = ""  # EDGE_ORIGIN_SECRET: none, as on the local server
    counted: CountedEvents = field(default_factory=CountedEvents)

    def __post_init__(self) -> None:
        self.authorizer = Authorizer(
            codec=lambda: CODEC,
            keys=lambda: self.keys,
            log=self.logger,
            counter=self.counted,
            monotonic=self.monotonic,
            edge_secret=lambda: self.edge_secret,
        )

    def authorize(self, token: str | None, now: datetime, ip: str = "") -> Principal:
        return self.authorizer.authorize(token, now, ip)

    def forget_keys(self) -> None:
        self.authorizer.forget_keys()


@pytest.fixture
def authorizer() -> Decision:
    return Decision()


def now() -> datetime:
    return datetime.now(UTC)


def access_token(issued: datetime | None = None, key_codec: JwtCodec = CODEC, **extra: object) -> str:
    return key_codec.issue(
        JwtKind.ACCESS, "usr_01ada", issued or now(), timedelta(minutes=15), extra={"sid": "ses_01one", **extra}
    )


def event(authorization: str | None, query: str = "") -> dict[str, Any]:
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
        **({"rawQueryString": query} if query else {}),
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
def test_bearer_token(headers, expected):
    assert bearer_token(headers) == expected


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


@pytest.fixture(scope="module")
def module() -> ModuleType:
    return load_authorizer()


@pytest.fixture
def container() -> Decision:
    return Decision()


@pytest.fixture
def entry(module, container, monkeypatch) -> ModuleType:
    """The Lambda entry, its container's authorizer signing with the test key."""
    monkeypatch.setattr(module, "authorizer", container.authorizer)
    return module


def handle(entry: ModuleType, authorization: str | None, query: str = "") -> dict[str, Any]:
    answer = entry.lambda_handler(event(authorization, query), CONTEXT)
    assert answer["isAuthorized"] is True
    assert all(isinstance(value, str) for value in answer["context"].values()), answer
    json.dumps(answer)  # must be serialisable as is
    return answer


def test_handler_with_a_valid_token(entry):
    context = handle(entry, f"Bearer {access_token()}")["context"]
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
def test_handler_never_refuses_and_names_the_reason(entry, authorization, reason):
    context = handle(entry, authorization)["context"]
    assert context["principal_type"] == ANONYMOUS
    assert context["principal_id"] == ""
    assert context["auth_error"] == reason


def test_handler_with_an_expired_token(entry):
    context = handle(entry, f"Bearer {access_token(issued=now() - timedelta(minutes=16))}")["context"]
    assert context["principal_type"] == ANONYMOUS
    assert context["auth_error"] == "token_expired"


def test_handler_without_headers(entry):
    answer = entry.lambda_handler({"version": "2.0", "type": "REQUEST"}, CONTEXT)
    assert answer["isAuthorized"] is True
    assert answer["context"]["auth_error"] == "unauthorized"


def test_the_authorizer_imports_no_argon2_pyotp_or_pydantic():
    # A fresh interpreter: what the authorizer's cold start really loads.
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('authorizer_probe', {str(AUTHORIZER)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "heavy = ('argon2', 'pyotp', 'pydantic', 'pynamodb', 'email_validator', 'zxcvbn', 'kuploy_access.http')\n"
        "print(','.join(sorted(n for n in heavy if n in sys.modules)))\n"
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


def test_auth_time_reaches_the_routes(entry):
    signed_in_at = int(now().timestamp()) - 120
    context = handle(entry, f"Bearer {access_token(auth_time=signed_in_at)}")["context"]
    assert context["auth_time"] == str(signed_in_at)
    assert Principal.from_context(context).auth_time == signed_in_at


@pytest.mark.parametrize("claim", [None, "1764331200", 1764331200.5, True, [1]])
def test_tokens_without_an_integer_auth_time_are_stale(authorizer, claim):
    extra = {} if claim is None else {"auth_time": claim}
    principal = authorizer.authorize(access_token(**extra), now())
    assert principal.type == USER
    assert principal.auth_time == 0


# --- API keys: one GetItem, cached by the container, marked as used once a minute -----------

SOURCE_IP = "203.0.113.9"


def test_a_usable_key_is_its_organizations_principal(authorizer):
    key = new_key()
    authorizer.keys.add(key)
    principal = authorizer.authorize(key, now(), SOURCE_IP)
    assert principal == Principal(
        type=API_KEY, id="key_01ci", org_id="org_01engines", scopes=("org:read", "resources:read")
    )
    assert authorizer.keys.finds == [hash_key(key)]


def test_a_mistyped_key_costs_no_lookup(authorizer):
    key = new_key()
    authorizer.keys.add(key)
    typo = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert authorizer.authorize(typo, now()).auth_error == "invalid_token"
    assert authorizer.keys.finds == []


@pytest.mark.parametrize(
    "state",
    [
        {"revoked_at": datetime(2026, 1, 1, tzinfo=UTC)},
        {"expires_at": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
    ids=["revoked", "expired"],
)
def test_a_revoked_or_expired_key_is_invalid_token(authorizer, state):
    key = new_key()
    authorizer.keys.add(key, **state)
    principal = authorizer.authorize(key, now(), SOURCE_IP)
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "invalid_token"
    assert authorizer.keys.marks == []


def test_an_unknown_key_is_invalid_token(authorizer):
    principal = authorizer.authorize(new_key(), now(), SOURCE_IP)
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "invalid_token"


def test_a_key_is_read_once_per_cache_period(authorizer):
    key = new_key()
    authorizer.keys.add(key)
    for _ in range(3):
        assert authorizer.authorize(key, now()).type == API_KEY
    assert len(authorizer.keys.finds) == 1
    authorizer.monotonic.seconds += KEY_CACHE_SECONDS - 0.1
    authorizer.authorize(key, now())
    assert len(authorizer.keys.finds) == 1
    authorizer.monotonic.seconds += 0.2
    authorizer.authorize(key, now())
    assert len(authorizer.keys.finds) == 2


def test_an_unknown_key_is_remembered_too(authorizer):
    key = new_key()
    authorizer.authorize(key, now())
    authorizer.authorize(key, now())
    assert len(authorizer.keys.finds) == 1


def test_a_revocation_is_seen_once_the_cache_period_is_over(authorizer):
    key = new_key()
    authorizer.keys.add(key)
    assert authorizer.authorize(key, now()).type == API_KEY
    authorizer.keys.add(key, revoked_at=now())
    assert authorizer.authorize(key, now()).type == API_KEY  # the container's bound
    authorizer.monotonic.seconds += KEY_CACHE_SECONDS
    assert authorizer.authorize(key, now()).auth_error == "invalid_token"


def test_forgetting_the_keys_reads_them_again(authorizer):
    key = new_key()
    authorizer.keys.add(key)
    authorizer.authorize(key, now())
    authorizer.forget_keys()
    authorizer.authorize(key, now())
    assert len(authorizer.keys.finds) == 2


def test_a_key_is_marked_as_used_once_a_minute_by_a_container(authorizer):
    key = new_key()
    authorizer.keys.add(key)
    first = now()
    authorizer.authorize(key, first, SOURCE_IP)
    authorizer.authorize(key, first + timedelta(seconds=30), SOURCE_IP)
    assert authorizer.keys.marks == [(hash_key(key), first, SOURCE_IP)]
    authorizer.monotonic.seconds += KEY_CACHE_SECONDS  # read again: the table says when it was last used
    authorizer.keys.add(key, last_used_at=first)
    authorizer.authorize(key, first + timedelta(seconds=59), SOURCE_IP)
    assert len(authorizer.keys.marks) == 1
    authorizer.authorize(key, first + timedelta(seconds=60), SOURCE_IP)
    assert authorizer.keys.marks[1:] == [(hash_key(key), first + timedelta(seconds=60), SOURCE_IP)]


def test_a_jwt_costs_no_lookup(authorizer):
    assert authorizer.authorize(access_token(), now()).type == USER
    assert authorizer.keys.finds == []


# --- what the Lambda entry reads of the request --------------------------------------------


def test_the_handler_answers_a_key_with_its_organization(entry, container):
    key = new_key()
    container.keys.add(key)
    context = handle(entry, f"Bearer {key}")["context"]
    assert context["principal_type"] == API_KEY
    assert context["org_id"] == "org_01engines"
    assert context["scopes"] == "org:read resources:read"


@pytest.mark.parametrize("query", ["api_key={key}", "k={key}&x=1", "token=kpy%5F{tail}"])
def test_a_key_in_the_query_string_is_refused_even_with_a_good_header(entry, container, query):
    key = new_key()
    container.keys.add(key)
    context = handle(entry, f"Bearer {key}", query.format(key=key, tail=key[4:]))["context"]
    assert context["principal_type"] == ANONYMOUS
    assert context["auth_error"] == "invalid_token"
    assert container.keys.finds == []


def test_the_handler_passes_the_source_ip_to_the_usage_mark(entry, container):
    key = new_key()
    container.keys.add(key)
    request = event(f"Bearer {key}")
    request["requestContext"]["http"]["sourceIp"] = SOURCE_IP
    entry.lambda_handler(request, CONTEXT)
    assert [ip for _, _, ip in container.keys.marks] == [SOURCE_IP]


EDGE_SECRET = "g7Hk2Lm9Np4Qr6St8Vw1Xy3Za5Bc7De9Fg2Hj4Kl6Mn8Pq1R"
EDGE_SERVER = "130.176.88.14"


def key_request_through(headers: dict[str, str], container: Decision) -> dict[str, Any]:
    key = new_key()
    container.keys.add(key)
    request = event(f"Bearer {key}")
    request["headers"].update(headers)
    request["requestContext"]["http"]["sourceIp"] = EDGE_SERVER
    return request


def test_behind_the_edge_a_key_s_use_records_the_viewer_s_address(entry, container):
    container.edge_secret = EDGE_SECRET
    viewer = {"x-kuploy-edge": EDGE_SECRET, "x-kuploy-viewer-address": "198.51.100.61"}
    entry.lambda_handler(key_request_through(viewer, container), CONTEXT)
    assert [ip for _, _, ip in container.keys.marks] == ["198.51.100.61"]


@pytest.mark.parametrize("edge", [None, "", "a guess", EDGE_SECRET[:-1]])
def test_a_viewer_address_without_the_edge_s_secret_is_not_recorded(entry, container, edge):
    container.edge_secret = EDGE_SECRET
    headers = {"x-kuploy-viewer-address": "198.51.100.61"} | ({"x-kuploy-edge": edge} if edge is not None else {})
    entry.lambda_handler(key_request_through(headers, container), CONTEXT)
    assert [ip for _, _, ip in container.keys.marks] == [EDGE_SERVER]


def test_with_no_edge_secret_configured_the_source_ip_is_recorded(entry, container):
    viewer = {"x-kuploy-edge": EDGE_SECRET, "x-kuploy-viewer-address": "198.51.100.61"}
    entry.lambda_handler(key_request_through(viewer, container), CONTEXT)
    assert [ip for _, _, ip in container.keys.marks] == [EDGE_SERVER]


def test_the_lambda_entry_reads_the_edge_secret_from_the_settings(module, monkeypatch):
    from kuploy_access.config import settings

    assert module.edge_secret() == ""  # the tests' environment, like the local server's
    monkeypatch.setenv("EDGE_ORIGIN_SECRET", EDGE_SECRET)
    settings.cache_clear()
    try:
        assert module.edge_secret() == EDGE_SECRET
    finally:
        monkeypatch.delenv("EDGE_ORIGIN_SECRET")
        settings.cache_clear()


# --- what the authorizer counts ------------------------------------------------------------


def refusals(decision: Decision) -> list[str]:
    return [dimensions["reason"] for dimensions in decision.counted.of("AuthorizerRefusals")]


@pytest.mark.parametrize(
    ("credential", "reason", "code"),
    [
        (lambda key: None, "no_credential", "unauthorized"),
        (lambda key: "x" * 5000, "invalid_token", "invalid_token"),
        (lambda key: "a.b.c", "invalid_token", "invalid_token"),
        (lambda key: access_token(key_codec=JwtCodec(OTHER_KEY)), "invalid_token", "invalid_token"),
        (lambda key: access_token(issued=now() - timedelta(minutes=16)), "token_expired", "token_expired"),
        (lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"), "malformed_key", "invalid_token"),
        (lambda key: new_key(), "unknown_key", "invalid_token"),
    ],
    ids=["none", "too-long", "garbage-jwt", "forged-jwt", "expired-jwt", "mistyped-key", "unknown-key"],
)
def test_each_refusal_counts_once_with_its_reason(authorizer, credential, reason, code):
    key = new_key()
    authorizer.keys.add(key)
    principal = authorizer.authorize(credential(key), now(), SOURCE_IP)
    assert principal.auth_error == code
    assert authorizer.counted.events == [("AuthorizerRefusals", {"reason": reason})]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ({"revoked_at": datetime(2026, 1, 1, tzinfo=UTC)}, "revoked_key"),
        ({"expires_at": datetime(2026, 1, 1, tzinfo=UTC)}, "expired_key"),
    ],
)
def test_a_key_that_no_longer_works_counts_why(authorizer, state, reason):
    key = new_key()
    authorizer.keys.add(key, **state)
    authorizer.authorize(key, now(), SOURCE_IP)
    assert refusals(authorizer) == [reason]
    assert authorizer.counted.of("ApiKeyUses") == []


def test_a_key_in_the_query_string_counts_as_such(entry, container):
    key = new_key()
    container.keys.add(key)
    handle(entry, f"Bearer {key}", f"api_key={key}")
    assert container.counted.events == [("AuthorizerRefusals", {"reason": "key_in_query"})]


def test_every_accepted_key_counts_one_use_and_a_user_s_jwt_nothing(authorizer):
    key = new_key()
    authorizer.keys.add(key)
    authorizer.authorize(key, now(), SOURCE_IP)
    authorizer.authorize(key, now(), SOURCE_IP)  # from the container's cache: a use all the same
    authorizer.authorize(access_token(), now(), SOURCE_IP)
    assert authorizer.counted.events == [("ApiKeyUses", {}), ("ApiKeyUses", {})]


def test_every_refusal_reason_names_a_code_the_route_guard_answers():
    from kuploy_access.services.authorizer import REFUSAL_REASONS

    assert set(REFUSAL_REASONS.values()) == {"unauthorized", "invalid_token", "token_expired", "service_unavailable"}

"""The end-to-end run's secret scan (tests/e2e/secret_scan.py) can fail: it finds a
planted secret of every kind, by value and by shape, and the function logs of a clean
run (their real lines) give it nothing to report."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from kuploy_access.domain.api_keys import new_key
from kuploy_access.domain.one_time_tokens import new_secret
from kuploy_access.domain.two_factor import new_recovery_codes, new_totp_secret
from tests.e2e.secret_scan import Finding, SecretRegistry, scan, scan_text
from tests.unit.jwt_helpers import TEST_KEY

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMDFhZGEiLCJzaWQiOiJzZXNfMDFvbmUifQ."
    "c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1mb3ItdGVzdHM"
)
PASSWORD = "Quiet-Harbour-5b1c0e9a"
CODE = "402913"

# Lines as the functions write them (Powertools JSON, EMF), none holding a secret.
CLEAN_LOG = "\n".join(
    [
        json.dumps(
            {
                "level": "INFO",
                "location": "authorize:135",
                "message": "token refused",
                "timestamp": "2026-12-03 19:01:31,214+0000",
                "service": "kuploy-access",
                "cold_start": False,
                "function_name": "AuthorizerFunction",
                "function_memory_size": 512,
                "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:AuthorizerFunction",
                "function_request_id": "c961dec0-dd00-43fc-be93-f3e335e164ea",
                "correlation_id": "b454119c3f8447e489652676c7035a15",
                "principal_type": "user",
                "principal_id": "usr_01jq3v5w6x7y8z9a0b1c2d3e4f",
                "org_id": "org_01jq3v5w6x7y8z9a0b1c2d3e4f",
                "reason": "wrong token type",
                "code": "invalid_token",
            }
        ),
        '{"_aws":{"Timestamp":1796324491214,"CloudWatchMetrics":[{"Namespace":"Kuploy/Access","Dimensions":'
        '[["service","reason"]],"Metrics":[{"Name":"AuthorizerRefusals","Unit":"Count"}]}]},'
        '"service":"kuploy-access","reason":"invalid_token","AuthorizerRefusals":[1.0]}',
        '{"level":"DEBUG","message":"answered","route":"GET /invitations/{token}","status":200,'
        '"xray_trace_id":"1-5759e988-bd862e3fe1be46a994272793","key_prefix":"kpy_3fQ9zA"}',
    ]
)


def registry_with(**values: str) -> SecretRegistry:
    registry = SecretRegistry()
    for kind, value in values.items():
        registry.add(kind.replace("_", " "), value)
    return registry


def kinds(findings: list[Finding]) -> set[str]:
    return {finding.kind for finding in findings}


def test_a_clean_log_gives_nothing_to_report():
    registry = registry_with(password=PASSWORD, code=CODE, refresh_token=new_secret(), api_key=new_key())
    assert scan_text(Path("clean.log"), CLEAN_LOG, registry) == []


# Fresh secrets each run: named by their kind alone, so that every pytest-xdist worker
# collects the same test ids.
PLANTED = [
    (JWT, "JWT"),
    (new_key(), "API key"),
    (f"Authorization: Bearer {new_secret()}", "Bearer credential"),
    (f"https://access.example/reset-password?token={new_secret()}", "link with a token"),
    (f"https://access.example/invitations/{new_secret()}", "invitation link"),
    (f"Cookie: __Secure-kuploy_refresh={new_secret()}", "session cookie"),
    ("otpauth://totp/Kuploy:ada%40example.com?secret=JBSWY3DPEHPK3PXP", "otpauth URI"),
    (new_totp_secret(), "TOTP secret"),
    (new_recovery_codes()[0], "recovery code"),
    ("refresh_token=" + "Ab3" + "x" * 40, "43-character base64url secret"),
]


@pytest.mark.parametrize(("planted", "kind"), PLANTED, ids=[kind for _, kind in PLANTED])
def test_each_shape_of_secret_is_found_by_its_pattern(planted, kind):
    text = CLEAN_LOG + f'\n{{"level":"DEBUG","message":"oops","value":"{planted}"}}\n'
    findings = scan_text(Path("functions.log"), text, SecretRegistry())
    assert kind in kinds(findings)
    assert {finding.line for finding in findings if finding.kind == kind} == {4}


SEEN = [
    ("password", PASSWORD),
    ("TOTP or recovery code", CODE),
    ("signing key", TEST_KEY.decode()),
    ("refresh token", new_secret()),
    ("CSRF token", new_secret()[:22]),
]


@pytest.mark.parametrize(("kind", "value"), SEEN, ids=[kind for kind, _ in SEEN])
def test_each_secret_a_test_saw_is_found_by_its_value(tmp_path, kind, value):
    log = tmp_path / "functions.log"
    log.write_text(CLEAN_LOG + f"\nsomething went wrong with {value}, see above\n", encoding="utf-8")
    registry = SecretRegistry()
    registry.add(kind, value)
    [finding] = [f for f in scan([log], registry) if f.kind.endswith("(seen by a test)")]
    assert (finding.path, finding.line, finding.kind) == (log, 4, f"{kind} (seen by a test)")


def test_a_report_never_shows_a_secret_in_full():
    secret = new_secret()
    registry = registry_with(refresh_token=secret)
    findings = scan_text(Path("f.log"), f"x {secret} y", registry)
    assert findings
    for finding in findings:
        assert secret not in str(finding)
        assert secret[:4] in str(finding)


def test_a_short_value_counts_only_standing_alone():
    registry = registry_with(code=CODE)
    inside = f'"timestamp":17963{CODE}91214, "id":"a{CODE}", "name":"x_{CODE}"'
    assert scan_text(Path("f.log"), inside, registry) == []
    assert scan_text(Path("f.log"), f'"code": "{CODE}"', registry) != []


def test_values_under_six_characters_are_not_recorded():
    registry = registry_with(password="short", code="12345")
    assert len(registry) == 0


# --- what the registry records from the traffic it sees -------------------------------------


def exchange(registry: SecretRegistry, request: httpx.Request, answer: httpx.Response) -> None:
    """One request and its answer through a client with the registry's hooks."""

    def reply(sent: httpx.Request) -> httpx.Response:
        return answer

    hooks = {"request": [registry.saw_request], "response": [registry.saw_response]}
    with httpx.Client(transport=httpx.MockTransport(reply), event_hooks=hooks) as client:
        client.send(request)


def test_the_registry_records_what_a_test_sends():
    registry = SecretRegistry()
    key, token = new_key(), new_secret()
    body = {"password": PASSWORD, "code": CODE, "token": token, "email": "ada@example.com", "name": "Ada Lovelace"}
    request = httpx.Request(
        "POST", "http://local/auth/x?login_code=" + token[::-1], json=body, headers={"Authorization": f"Bearer {key}"}
    )
    exchange(registry, request, httpx.Response(204))
    assert registry.values() == {
        PASSWORD: "password",
        CODE: "TOTP or recovery code",
        token: "emailed token",
        token[::-1]: "login code",
        key: "API key",
    }


def test_the_registry_records_what_the_service_answers():
    registry = SecretRegistry()
    refresh, codes, secret = new_secret(), new_recovery_codes(), new_totp_secret()
    answer = httpx.Response(
        200,
        json={
            "access_token": JWT,
            "refresh_token": refresh,
            "recovery_codes": codes,
            "secret": secret,
            "key": "not-an-api-key-field-value",
            "code": "invalid_credentials",
        },
        headers={"Set-Cookie": f"__Host-kuploy_csrf={refresh[::-1]}; Path=/; Secure"},
    )
    exchange(registry, httpx.Request("POST", "http://local/auth/login"), answer)
    expected = {JWT: "access token", refresh: "refresh token", secret: "TOTP secret"}
    expected |= dict.fromkeys(codes, "recovery code") | {refresh[::-1]: "cookie __Host-kuploy_csrf"}
    assert registry.values() == expected


def test_the_registry_records_the_tokens_of_the_emails_a_test_reads():
    registry = SecretRegistry()
    verify, invite = new_secret(), new_secret()
    emails = [
        {"to": "ada@example.com", "text": f"Confirm: http://local/verify-email?token={verify}\n"},
        {"to": "ada@example.com", "html": f'<a href="http://local/invitations/{invite}">Join</a>'},
    ]
    exchange(registry, httpx.Request("GET", "http://local/_dev/emails"), httpx.Response(200, json=emails))
    assert registry.values() == {verify: "emailed token", invite: "invitation token"}
    assert registry.emailed() == {verify, invite}

"""The metrics as CloudWatch reads them: the EMF documents the functions print on stdout
(README, "Metrics"), through the local gateway, the real authorizer and the services
on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kuploy_access import wiring
from kuploy_access.observability import EmfCounter
from kuploy_access.services.delivery import CountedMailer
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import ACCESS_HEADER, access_claims, forge_jwt, signing_key

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

PASSWORD = "Quartz-Ladder-Nebula-47"


def published(out: str) -> list[tuple[str, dict[str, str]]]:
    """(metric, dimensions) of every count the EMF documents in `out` hold."""
    counts = []
    for line in out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document: dict[str, Any] = json.loads(line)
        [definition] = document["_aws"]["CloudWatchMetrics"]
        assert definition["Namespace"] == "Kuploy/Access"
        [dimension_names] = definition["Dimensions"]
        dimensions = {name: document[name] for name in dimension_names}
        assert dimensions["service"] == "kuploy-access"
        for metric in definition["Metrics"]:
            assert metric["Unit"] == "Count"
            counts += [(metric["Name"], dimensions)] * len(document[metric["Name"]])
    return counts


def signed_in(client: GatewayClient, email: str) -> dict[str, Any]:
    client.sign_up_and_verify(email, PASSWORD)
    return client.log_in(email, PASSWORD)


def test_an_authorizer_refusal_carries_its_reason_as_a_dimension(aws, capsys):
    client = GatewayClient(aws)
    capsys.readouterr()
    assert client.request("GET", "/me").status == 401
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    expired = forge_jwt(ACCESS_HEADER, access_claims("usr_x", now=an_hour_ago), signing_key())
    assert client.request("GET", "/me", token=expired).status == 401
    refusals = [dims for name, dims in published(capsys.readouterr().out) if name == "AuthorizerRefusals"]
    assert refusals == [
        {"service": "kuploy-access", "reason": "no_credential"},
        {"service": "kuploy-access", "reason": "token_expired"},
    ]


def test_emails_key_uses_reuse_and_429s_are_each_published_once(aws, capsys):
    client = GatewayClient(aws)
    tokens = signed_in(client, "metrics@example.com")
    org = client.request("POST", "/orgs", {"name": "Metrics"}, token=tokens["access_token"]).json()
    key = client.request(
        "POST", f"/orgs/{org['id']}/api-keys", {"description": "ci", "preset": "deploy"}, token=tokens["access_token"]
    ).json()["key"]
    capsys.readouterr()

    assert client.request("GET", f"/orgs/{org['id']}", token=key).status == 200
    assert client.request("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status == 200
    assert client.request("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status == 401
    answers = [
        client.request("POST", "/auth/login", {"email": "metrics@example.com", "password": "wrong password"}).status
        for _ in range(6)
    ]
    assert answers == [401] * 5 + [429]
    assert client.request("POST", "/auth/password/forgot", {"email": "metrics@example.com"}).status == 202

    counts = [name for name, _ in published(capsys.readouterr().out)]
    assert {name: counts.count(name) for name in set(counts)} == {
        "ApiKeyUses": 1,
        "Refreshes": 1,
        "RefreshTokenReuse": 1,
        "LoginFailures": 6,
        "RateLimited": 1,
        "EmailsSent": 1,
    }


def test_every_service_counts_through_the_emf_counter(aws):
    counter = wiring.event_counter()
    assert isinstance(counter, EmfCounter)
    mailer = wiring.mailer()
    assert isinstance(mailer, CountedMailer) and mailer.counter is counter
    assert wiring.login_service().counter is counter
    assert wiring.session_service().counter is counter

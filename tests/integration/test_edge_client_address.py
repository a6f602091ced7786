"""The client's address behind the console's CloudFront, through the handlers on moto.

Deployed, API Gateway's source IP of a request that came through the distribution is
an edge server's, shared by all its viewers; the distribution vouches for the viewer's
own address with the edge secret (domain.client_address). Here the secret is
configured as template.yaml configures it (EDGE_ORIGIN_SECRET), and requests "from
the edge" carry what CloudFront adds: the secret and the viewer's address, from one
edge server's source IP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.keys import API_KEY_SK, api_key_pk
from kuploy_access.config import EDGE_ORIGIN_SECRET, settings
from kuploy_access.domain.api_keys import hash_key
from kuploy_access.domain.client_address import EDGE_HEADER, VIEWER_ADDRESS_HEADER
from kuploy_access.domain.login_throttle import LOGIN_FAILURES_PER_ACCOUNT_AND_IP
from tests.integration import support
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.support import PASSWORD, assert_problem

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

SECRET = "p4Rk8vW2nL6xQ9tB3mC7yF1hJ5sD0gK8zA2eU4iO6rN9wT3b"
EDGE_SERVER = "130.176.88.14"  # one CloudFront edge server, in front of many viewers
ALICE = "198.51.100.10"
BOB = "2001:db8:4:2::b0b"
ACCOUNT_LIMIT = LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit


@pytest.fixture
def edge_secret(monkeypatch) -> Iterator[str]:
    """The functions' environment as template.yaml sets it: EDGE_ORIGIN_SECRET."""
    monkeypatch.setenv(EDGE_ORIGIN_SECRET, SECRET)
    settings.cache_clear()
    yield SECRET
    monkeypatch.delenv(EDGE_ORIGIN_SECRET)
    settings.cache_clear()


@pytest.fixture
def client(aws, edge_secret, service_clock) -> GatewayClient:
    return GatewayClient(aws)


def through_edge(viewer: str, secret: str = SECRET) -> dict[str, str]:
    """What the distribution adds to a viewer's request (header names as CloudFront sends them)."""
    return {"X-Kuploy-Edge": secret, "X-Kuploy-Viewer-Address": viewer}


def log_in(client: GatewayClient, password: str, headers: dict[str, str], source_ip: str = EDGE_SERVER) -> Answer:
    body = {"email": "ada@example.com", "password": password}
    return client.request("POST", "/auth/login", body, headers=headers, source_ip=source_ip)


def fail(client: GatewayClient, times: int, headers: dict[str, str], source_ip: str = EDGE_SERVER) -> None:
    for attempt in range(times):
        assert_problem(log_in(client, f"not the passphrase {attempt}", headers, source_ip), 401, "invalid_credentials")


def test_the_header_names_are_the_ones_the_functions_read():
    assert {name.lower() for name in through_edge(ALICE)} == {EDGE_HEADER, VIEWER_ADDRESS_HEADER}


def test_behind_the_edge_each_viewer_has_their_own_login_budget(client):
    """Two viewers behind one edge server: Alice's failures lock Alice out, not Bob."""
    client.sign_up_and_verify("ada@example.com", PASSWORD)
    fail(client, ACCOUNT_LIMIT, through_edge(ALICE))
    assert_problem(log_in(client, PASSWORD, through_edge(ALICE)), 429, "rate_limited")

    assert log_in(client, PASSWORD, through_edge(BOB)).status == 200
    # And Bob's budget is whole: his own failures count from zero.
    fail(client, ACCOUNT_LIMIT, through_edge(BOB))
    assert_problem(log_in(client, PASSWORD, through_edge(BOB)), 429, "rate_limited")


@pytest.mark.parametrize("secret", [None, "", "a guess at the secret", SECRET[:-1]])
def test_straight_to_the_api_a_forged_viewer_address_is_ignored(client, secret):
    """On the execute-api address, anyone may send the edge's headers: without the secret
    they neither buy a fresh budget nor frame someone else's address."""
    client.sign_up_and_verify("ada@example.com", PASSWORD)
    attacker = "203.0.113.66"

    def forged(viewer: str) -> dict[str, str]:
        headers = {"X-Kuploy-Viewer-Address": viewer}
        return headers if secret is None else headers | {"X-Kuploy-Edge": secret}

    for attempt in range(ACCOUNT_LIMIT):
        answer = log_in(client, f"wrong {attempt}", forged(ALICE), source_ip=attacker)
        assert_problem(answer, 401, "invalid_credentials")
    # One budget, the attacker's own address, whatever address each request claimed.
    fresh = forged(f"192.0.2.{ACCOUNT_LIMIT}")
    assert_problem(log_in(client, PASSWORD, fresh, source_ip=attacker), 429, "rate_limited")
    # Alice, whose address the attacker claimed, signs in through the edge.
    assert log_in(client, PASSWORD, through_edge(ALICE)).status == 200


def test_without_a_configured_secret_the_edge_s_headers_count_for_nothing(aws, service_clock):
    """The local server and the tests: the source IP, even with the right-looking headers."""
    client = GatewayClient(aws)
    client.sign_up_and_verify("ada@example.com", PASSWORD)
    fail(client, ACCOUNT_LIMIT, through_edge(ALICE))
    assert_problem(log_in(client, PASSWORD, through_edge(BOB)), 429, "rate_limited")


def test_sessions_audit_events_and_api_keys_record_the_viewer_s_address(client):
    """Every record of a client address, written from behind the edge: the viewer's."""
    alice = through_edge(ALICE)
    client.sign_up_and_verify("ada@example.com", PASSWORD)
    answer = log_in(client, PASSWORD, alice)
    assert answer.status == 200, answer.text
    token = answer.json()["access_token"]

    def as_alice(method: str, path: str, body: Any = None, token: str = token) -> Answer:
        answer = client.request(method, path, body, token=token, headers=alice, source_ip=EDGE_SERVER)
        assert answer.status < 300, answer.text
        return answer

    (session,) = as_alice("GET", "/me/sessions").json()["items"]
    assert session["ip"] == ALICE

    org_id = as_alice("POST", "/orgs", {"name": "Analytical Engines"}).json()["id"]
    created = as_alice("POST", f"/orgs/{org_id}/api-keys", {"description": "ci", "preset": "read-only"}).json()
    events = as_alice("GET", f"/orgs/{org_id}/audit-log?limit=50").json()["items"]
    assert events and {event["ip"] for event in events} == {ALICE}

    # The key is used by a pipeline behind the same edge server (the authorizer marks it).
    pipeline = through_edge(BOB)
    used = client.request("GET", f"/orgs/{org_id}", token=created["key"], headers=pipeline, source_ip=EDGE_SERVER)
    assert used.status == 200, used.text
    stored = support.raw_item(api_key_pk(hash_key(created["key"])), API_KEY_SK)
    assert stored is not None and stored["last_used_ip"] == BOB

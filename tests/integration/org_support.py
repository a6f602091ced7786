"""Helpers for the organization tests: users, organizations and members made through the
real routes (sign-up, verification, login, POST /orgs, invitations and their emailed link).

Tests that use these need the `cheap_password_hashing` fixture (or patience): every new
user hashes a password. The signatures here are shared by several test modules; add new
functions rather than changing these.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from tests.integration.gateway_client import GatewayClient

PASSWORD = "a sturdy passphrase"


def new_user(client: GatewayClient, email: str, name: str = "Ada") -> tuple[str, str]:
    """Sign up, verify, log in: answer (user_id, access_token)."""
    client.sign_up_and_verify(email, PASSWORD, name)
    token = str(client.log_in(email, PASSWORD)["access_token"])
    return user_id_of(client, token), token


def user_id_of(client: GatewayClient, token: str) -> str:
    answer = client.request("GET", "/me", token=token)
    assert answer.status == 200, answer.text
    return str(answer.json()["id"])


def create_org(client: GatewayClient, token: str, name: str = "Analytical Engines") -> str:
    """POST /orgs as the holder of `token` (who becomes the owner): answer the org id."""
    answer = client.request("POST", "/orgs", {"name": name}, token=token)
    assert answer.status == 201, answer.text
    return str(answer.json()["id"])


def invitation_token(client: GatewayClient, email: str) -> str:
    """The token of the newest emailed invitation link (`{base}/invitations/{token}`) to `email`."""
    for sent in reversed(client.outbox.all()):
        if sent["to"].lower() == email.lower():
            found = re.search(r"/invitations/([A-Za-z0-9_\-]+)", sent["text"])
            if found:
                return found.group(1)
    raise AssertionError(f"no invitation email to {email}")


def invite(client: GatewayClient, inviter_token: str, org_id: str, email: str, role: str = "member") -> dict[str, Any]:
    """POST /orgs/{org_id}/invitations; asserts 201 and answers the invitation."""
    answer = client.request("POST", f"/orgs/{org_id}/invitations", {"email": email, "role": role}, token=inviter_token)
    assert answer.status == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def accept(client: GatewayClient, invitee_token: str, link_token: str) -> dict[str, Any]:
    """POST /invitations/{token}/accept; asserts 200 and answers {org_id, role}."""
    answer = client.request("POST", f"/invitations/{link_token}/accept", token=invitee_token)
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def join(
    client: GatewayClient, inviter_token: str, org_id: str, email: str, invitee_token: str, role: str = "member"
) -> None:
    """An existing user joins: invited by the holder of `inviter_token`, accepts by the emailed link."""
    invite(client, inviter_token, org_id, email, role)
    joined = accept(client, invitee_token, invitation_token(client, email))
    assert joined == {"org_id": org_id, "role": role}, joined


def add_member(
    client: GatewayClient, owner_token: str, org_id: str, email: str, role: str = "member", name: str = "Member"
) -> tuple[str, str]:
    """A new user who joins `org_id` with `role` through a real invitation: (user_id, access_token)."""
    user_id, token = new_user(client, email, name)
    join(client, owner_token, org_id, email, token, role)
    return user_id, token


# --- a table snapshot, so that a module builds its organization once ---------------------------


def table_snapshot() -> list[dict[str, Any]]:
    """Every item of the table, in DynamoDB's typed form."""
    from tests.integration.support import REGION, table_name

    client = boto3.client("dynamodb", region_name=REGION)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table_name(), ConsistentRead=True):
        items += page["Items"]
    return items


def restore_table(items: list[dict[str, Any]]) -> None:
    """Empty the table (in batches: faster than support.wipe_table), then put `items` back."""
    from tests.integration.support import REGION, table_name

    client = boto3.client("dynamodb", region_name=REGION)
    deletes = [{"DeleteRequest": {"Key": {"pk": item["pk"], "sk": item["sk"]}}} for item in table_snapshot()]
    puts = [{"PutRequest": {"Item": item}} for item in items]
    for requests in (deletes, puts):
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {table_name(): requests[start : start + 25]}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


class SharedGatewayClient(GatewayClient):
    """A GatewayClient on a gateway made once (a module's), whose containers stay warm:
    a cold start imports a function's module and costs more than a test's requests."""

    def __init__(self, outbox: Any, gateway: Any) -> None:
        self.gateway = gateway
        self.outbox = outbox


@contextmanager
def cheap_hashing() -> Iterator[None]:
    """conftest's `cheap_password_hashing`, for a fixture wider than one test."""
    from kuploy_access import wiring
    from kuploy_access.adapters.password_hasher import Argon2PasswordHasher

    cheap = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wiring, "password_hasher", lambda: cheap)
        for name in ("signup_service", "login_service", "password_service"):
            patch.setattr(getattr(wiring, name)(), "hasher", cheap)
        yield


# --- the organization purge, for a moto world without a stream ----------------------------------


def run_org_purge(client: GatewayClient, org_id: str) -> int:
    """What the table's stream does after DELETE /orgs/{org_id} (template.yaml,
    OrgPurgeFunction), in a moto world made without a stream: the record of the deleted
    profile, as the stream would carry it, handed to the purge function until the
    profile is gone. Answers the number of runs."""
    from devserver.stream_consumers import matches
    from devserver.template import api_spec
    from kuploy_access.adapters.dynamodb.keys import ORG_SK, org_pk
    from tests.integration.support import REGION, table_name

    (source,) = api_spec().stream_sources
    key = {"pk": {"S": org_pk(org_id)}, "sk": {"S": ORG_SK}}
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for run in range(10):
        profile = dynamodb.get_item(TableName=table_name(), Key=key, ConsistentRead=True).get("Item")
        if profile is None:
            return run
        record = {
            "eventID": f"purge-{run}",
            "eventName": "MODIFY",
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": key,
                "NewImage": profile,
                "SequenceNumber": str(run + 1),
                "StreamViewType": "NEW_IMAGE",
            },
        }
        assert any(matches(pattern, record) for pattern in source.filters), "only a deleted profile starts a purge"
        answer = client.gateway.invoke(source.function, {"Records": [record]})
        assert answer == {"batchItemFailures": []}, answer
    raise AssertionError(f"the purge of {org_id} did not finish in ten runs")

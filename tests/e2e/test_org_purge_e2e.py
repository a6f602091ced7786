"""Deleting an organization over real HTTP: DELETE answers at once, nothing of it can
be used from that answer on, and the local server's stream consumer (the purge, in the
background, as on Lambda) removes what it held; the test watches the table's keys
(`GET /_dev/table-keys`) until they are gone, with a deadline and no fixed sleep."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from kuploy_access.adapters.dynamodb.keys import API_KEY_PK_PREFIX, INVITATION_LINK_PK_PREFIX, audit_pk, org_pk
from tests.e2e.helpers import assert_problem, bearer, emails_to, logged_in, unique_email

pytestmark = pytest.mark.e2e

INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/([A-Za-z0-9_-]+)")
PURGE_DEADLINE_S = 20.0
POLL_EVERY_S = 0.05


def table_keys(client: httpx.Client) -> set[tuple[str, str]]:
    answer = client.get("/_dev/table-keys")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == len(body["keys"]), body
    return {(pk, sk) for pk, sk in body["keys"]}


def created(client: httpx.Client, path: str, body: dict[str, object], token: str) -> dict[str, object]:
    answer = client.post(path, json=body, headers=bearer(token))
    assert answer.status_code in (201, 202), answer.text
    found: dict[str, object] = answer.json()
    return found


def test_a_deleted_organization_is_refused_at_once_and_purged_in_the_background(client: httpx.Client) -> None:
    _, owner_tokens = logged_in(client, "Olive")
    owner = str(owner_tokens["access_token"])
    org_id = str(created(client, "/orgs", {"name": "Short Lived"}, owner)["id"])
    before = table_keys(client)
    project = created(client, f"/orgs/{org_id}/projects", {"name": "web"}, owner)
    created(client, f"/orgs/{org_id}/projects/{project['id']}/applications", {"name": "api"}, owner)
    created(client, f"/orgs/{org_id}/databases", {"name": "main", "engine": "postgres"}, owner)
    invitee = unique_email("Grace")
    created(client, f"/orgs/{org_id}/invitations", {"email": invitee, "role": "member"}, owner)
    key = str(created(client, f"/orgs/{org_id}/api-keys", {"description": "ci", "preset": "deploy"}, owner)["key"])
    assert client.get(f"/orgs/{org_id}/projects", headers=bearer(key)).status_code == 200
    (email,) = emails_to(client, invitee)
    link = INVITATION_LINK.search(email["text"])
    assert link is not None, email["text"]
    # What the organization holds: its partition, and the key and the link it added
    # (its audit log stays; rate-limit counters end by their TTL).
    held = {
        (pk, sk)
        for pk, sk in table_keys(client)
        if pk == org_pk(org_id)
        or ((pk, sk) not in before and pk.startswith((API_KEY_PK_PREFIX, INVITATION_LINK_PK_PREFIX)))
    }
    assert len(held) == 9, held  # profile, owner, project, application, database, invitation, guard, link, key

    started = time.monotonic()
    deleted = client.delete(f"/orgs/{org_id}", headers=bearer(owner))
    answered_s = time.monotonic() - started

    assert deleted.status_code == 204, deleted.text
    assert answered_s < 5.0, answered_s
    assert_problem(client.get(f"/orgs/{org_id}", headers=bearer(owner)), 404, "not_found")
    assert_problem(client.get(f"/orgs/{org_id}/projects", headers=bearer(owner)), 404, "not_found")
    refused = client.get(f"/orgs/{org_id}/projects", headers=bearer(key))
    assert refused.status_code in (401, 404), refused.text  # 404 until the purge removes the key
    view = client.get(f"/invitations/{link.group(1)}", headers={"Accept": "application/json"})
    assert_problem(view, 404, "not_found")
    assert org_id not in [org["id"] for org in client.get("/orgs", headers=bearer(owner)).json()["items"]]

    left = held
    deadline = time.monotonic() + PURGE_DEADLINE_S
    while left and time.monotonic() < deadline:
        left = held & table_keys(client)
        time.sleep(POLL_EVERY_S)
    purged_s = time.monotonic() - started

    assert left == set(), f"still there after {PURGE_DEADLINE_S} s: {sorted(left)}"
    assert any(pk == audit_pk(org_id) for pk, _ in table_keys(client)), "the audit log stays"
    assert purged_s < PURGE_DEADLINE_S
    # The key is gone from the table: once the authorizer's cache has let go of it (at
    # most 5 s), the authorizer refuses it by itself.
    deadline = time.monotonic() + 10.0
    while (answer := client.get(f"/orgs/{org_id}", headers=bearer(key))).status_code != 401:
        assert answer.status_code == 404, answer.text
        assert time.monotonic() < deadline, "the key still reached the route"
        time.sleep(0.2)
    assert_problem(answer, 401, "invalid_token")

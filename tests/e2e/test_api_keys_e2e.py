"""Organization API keys over real HTTP, through the local API Gateway and the real
Lambda authorizer: create and use a key within its scopes and its organization only,
a mistyped key refused without a database call (`GET /_dev/dynamodb-calls` counts
them), the revocation bound of the README (a revoked key passes for at most 5 s),
rotation with and without grace, `last_used_at` written at most once a minute, a key
that outlives its creator's membership (and the access review that flags it), and
the organization's deletion killing its keys.

Every test here runs sequentially on the shared server and starts no thread: the call
counts read from `/_dev/dynamodb-calls` are only meaningful when nothing else talks
to the server in between."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import assert_problem, bearer, emails_to, logged_in

pytestmark = pytest.mark.e2e

KEY_FORMAT = re.compile(r"kpy_[0-9A-Za-z]{36}")
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/([A-Za-z0-9_-]+)")
CREATED_FIELDS = {"id", "key", "prefix", "description", "scopes", "preset", "created_at", "expires_at"}
LISTED_FIELDS = {"id", "prefix", "description", "scopes", "created_by", "created_at", "expires_at", "last_used_at"}
# API.md, "Roles and permissions": the presets, spelled out independently of the code.
READ_ONLY = {
    "org:read",
    "billing:read",
    "members:read",
    "projects:read",
    "apps:read",
    "databases:read",
    "notifications:read",
    "audit:read",
}
DEPLOY = READ_ONLY | {"apps:deploy"}
FULL = READ_ONLY | {"projects:write", "apps:write", "databases:write", "notifications:write", "apps:deploy"}
# README, "Revocation bound: 5 seconds"; with a little room for the request itself.
REVOCATION_BOUND_S = 5.5
# How long to keep polling after a revocation, to see that a refused key stays refused.
WATCH_S = 6.5
POLL_EVERY_S = 0.1


# --- helpers --------------------------------------------------------------------------


@pytest.fixture
def owner(client: httpx.Client) -> Iterator[str]:
    """The access token of a verified user who owns the organizations of one test (an
    account creates at most 10 organizations a day, and this module makes more)."""
    _, tokens = logged_in(client, "Olive")
    yield str(tokens["access_token"])


def _new_org(client: httpx.Client, token: str) -> str:
    answer = client.post("/orgs", json={"name": f"Keys {uuid.uuid4().hex[:8]}"}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    org_id = str(answer.json()["id"])
    assert org_id.startswith("org_"), org_id
    return org_id


def _create_key(client: httpx.Client, token: str, org_id: str, preset: str = "deploy", **extra: Any) -> dict[str, Any]:
    description = extra.pop("description", f"CI {preset} {uuid.uuid4().hex[:6]}")
    body = {"description": description, "preset": preset, **extra}
    answer = client.post(f"/orgs/{org_id}/api-keys", json=body, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    assert set(created) == CREATED_FIELDS, created
    assert KEY_FORMAT.fullmatch(created["key"]), created["key"]
    assert created["id"].startswith("key_"), created
    assert created["description"] == description and created["preset"] == preset, created
    return created


def _keys(client: httpx.Client, token: str, org_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/orgs/{org_id}/api-keys", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["next_cursor"] is None, body
    items: list[dict[str, Any]] = body["items"]
    for item in items:
        assert set(item) >= LISTED_FIELDS and "key" not in item, item
    return items


def _listed(client: httpx.Client, token: str, org_id: str, key_id: str) -> dict[str, Any]:
    found = [k for k in _keys(client, token, org_id) if k["id"] == key_id]
    assert len(found) == 1, (key_id, found)
    return found[0]


def _org_with(client: httpx.Client, key: str, org_id: str) -> httpx.Response:
    return client.get(f"/orgs/{org_id}", headers=bearer(key))


def _works(client: httpx.Client, key: str, org_id: str) -> None:
    answer = _org_with(client, key, org_id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == org_id, answer.text


def _refused(answer: httpx.Response) -> None:
    assert_problem(answer, 401, "invalid_token")


def _db_calls(client: httpx.Client) -> list[str]:
    answer = client.get("/_dev/dynamodb-calls")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    operations: list[str] = body["operations"]
    assert body["count"] == len(operations), body
    return operations


def _strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for name, inner in value.items():
            yield name
            yield from _strings_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings_in(inner)


def _time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value
    return parsed


def _typo(key: str, position: int) -> str:
    """The key with one character changed to another base62 character."""
    replacement = BASE62[(BASE62.index(key[position]) + 17) % len(BASE62)]
    changed = key[:position] + replacement + key[position + 1 :]
    assert changed != key and KEY_FORMAT.fullmatch(changed), changed
    return changed


def _watch_refusal(client: httpx.Client, key: str, org_id: str, allowed_before: set[int]) -> list[tuple[float, int]]:
    """Poll the key on GET /orgs/{org_id} every 100 ms for WATCH_S seconds from now
    (just after the answer that revoked it). Checks that it is refused with 401
    `invalid_token` within REVOCATION_BOUND_S and stays refused; before that, only
    `allowed_before` statuses may answer. Answers what it saw: (seconds, status)."""
    start = time.monotonic()
    seen: list[tuple[float, int]] = []
    while (elapsed := time.monotonic() - start) < WATCH_S:
        answer = _org_with(client, key, org_id)
        seen.append((round(elapsed, 2), answer.status_code))
        if answer.status_code == 401:
            _refused(answer)
        else:
            assert not any(status == 401 for _, status in seen[:-1]), f"passed again after a refusal: {seen}"
            assert answer.status_code in allowed_before, (answer.text, seen)
        time.sleep(POLL_EVERY_S)
    refusals = [at for at, status in seen if status == 401]
    assert refusals, f"never refused within {WATCH_S} s: {seen}"
    assert refusals[0] <= REVOCATION_BOUND_S, f"first refused after {refusals[0]} s: {seen}"
    assert seen[-1][0] >= REVOCATION_BOUND_S and seen[-1][1] == 401, seen
    return seen


def _invite_and_join(client: httpx.Client, owner_token: str, org_id: str, role: str) -> tuple[str, str]:
    """A new verified user who joins the org with `role`: (their user id, access token)."""
    email, tokens = logged_in(client, "Adele")
    token = str(tokens["access_token"])
    invited = client.post(
        f"/orgs/{org_id}/invitations", json={"email": email, "role": role}, headers=bearer(owner_token)
    )
    assert invited.status_code == 201, invited.text
    mails = [m for m in emails_to(client, email) if INVITATION_LINK.search(m["text"])]
    assert len(mails) == 1, mails
    link_token = INVITATION_LINK.findall(mails[-1]["text"])[0]
    accepted = client.post(f"/invitations/{link_token}/accept", headers=bearer(token))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"org_id": org_id, "role": role}
    members = client.get(f"/orgs/{org_id}/members", headers=bearer(owner_token)).json()["items"]
    ids = [m["user_id"] for m in members if m["email"] == email.lower()]
    assert len(ids) == 1, members
    return str(ids[0]), token


# --- 1. create, use, scope refusals, other org, query string ---------------------------


def test_a_deploy_key_is_shown_once_and_works_only_within_its_scopes_and_its_org(
    client: httpx.Client, owner: str
) -> None:
    org_id = _new_org(client, owner)
    before = datetime.now(UTC)
    created = _create_key(client, owner, org_id, "deploy")
    key = created["key"]

    # The answer: the expanded scopes, the preset, no expiry; the prefix is a display prefix.
    assert set(created["scopes"]) == DEPLOY and len(created["scopes"]) == len(DEPLOY), created
    assert created["expires_at"] is None, created
    assert before - timedelta(seconds=5) <= _time(created["created_at"]) <= datetime.now(UTC), created
    prefix = created["prefix"]
    assert prefix.startswith("kpy_") and key.startswith(prefix) and len(prefix) <= 10, created

    # The list never shows the secret, nor the part of it after the display prefix.
    listing = client.get(f"/orgs/{org_id}/api-keys", headers=bearer(owner))
    assert listing.status_code == 200, listing.text
    secret_part = key[len(prefix) :]
    assert key not in listing.text and secret_part not in listing.text, listing.text
    for value in _strings_in(listing.json()):
        assert key not in value and secret_part not in value, value
    listed = _listed(client, owner, org_id, created["id"])
    assert listed["prefix"] == prefix and listed["description"] == created["description"], listed
    assert set(listed["scopes"]) == DEPLOY and listed["revoked_at"] is None, listed
    assert listed["last_used_at"] is None and listed["created_by"].startswith("usr_"), listed

    # Reads and a deployment work with the key.
    _works(client, key, org_id)
    members = client.get(f"/orgs/{org_id}/members", headers=bearer(key))
    assert members.status_code == 200, members.text
    assert [m["role"] for m in members.json()["items"]] == ["owner"], members.text
    project = client.post(f"/orgs/{org_id}/projects", json={"name": "website"}, headers=bearer(owner))
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    application = client.post(
        f"/orgs/{org_id}/projects/{project_id}/applications", json={"name": "frontend"}, headers=bearer(owner)
    )
    assert application.status_code == 201, application.text
    app_id = application.json()["id"]
    deployed = client.post(
        f"/orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments",
        json={"ref": "main"},
        headers=bearer(key),
    )
    assert deployed.status_code == 202, deployed.text
    deployment = deployed.json()
    assert deployment["status"] == "queued" and deployment["requested_by"] == created["id"], deployment
    assert client.get(f"/orgs/{org_id}/projects", headers=bearer(key)).status_code == 200

    # Beyond its scopes: 403 forbidden; user-only routes: 403 api_key_not_allowed.
    assert_problem(
        client.post(f"/orgs/{org_id}/projects", json={"name": "mine"}, headers=bearer(key)), 403, "forbidden"
    )
    assert_problem(
        client.patch(f"/orgs/{org_id}", json={"name": "Taken over"}, headers=bearer(key)), 403, "api_key_not_allowed"
    )
    assert_problem(client.get("/me", headers=bearer(key)), 403, "api_key_not_allowed")
    assert_problem(client.get(f"/orgs/{org_id}/api-keys", headers=bearer(key)), 403, "api_key_not_allowed")
    assert_problem(
        client.post(f"/orgs/{org_id}/api-keys", json={"description": "x", "preset": "full"}, headers=bearer(key)),
        403,
        "api_key_not_allowed",
    )
    assert_problem(client.post("/orgs", json={"name": "Key's own"}, headers=bearer(key)), 403, "api_key_not_allowed")

    # Another organization (the same owner's): as if it did not exist.
    other_id = _new_org(client, owner)
    assert_problem(_org_with(client, key, other_id), 404, "not_found")
    assert_problem(client.get(f"/orgs/{other_id}/members", headers=bearer(key)), 404, "not_found")

    # Only the header counts: a key in the query string is refused, with or without the header.
    _refused(client.get(f"/orgs/{org_id}", params={"api_key": key}))
    _refused(client.get(f"/orgs/{org_id}", params={"api_key": key}, headers=bearer(key)))
    # The org's name did not change, and the key still works from the header alone.
    assert _org_with(client, key, org_id).json()["name"].startswith("Keys "), "PATCH with a key changed the org"
    _works(client, key, org_id)


@pytest.mark.parametrize("encoded", ["kpy%5F", "%6Bpy_"], ids=["underscore-encoded", "k-encoded"])
def test_a_percent_encoded_key_in_the_query_string_is_refused_too(
    client: httpx.Client, owner: str, encoded: str
) -> None:
    org_id = _new_org(client, owner)
    key = _create_key(client, owner, org_id, "read-only")["key"]
    _works(client, key, org_id)
    in_query = f"/orgs/{org_id}?api_key={encoded}{key[4:]}"
    # The server decodes it to the key itself: it is the key, in the query string.
    _refused(client.get(in_query, headers=bearer(key)))
    _refused(client.get(in_query))


def test_bad_key_requests_answer_422(client: httpx.Client, owner: str) -> None:
    org_id = _new_org(client, owner)
    bad = {
        "both scopes and preset": {"description": "x", "preset": "deploy", "scopes": ["org:read"]},
        "neither": {"description": "x"},
        "unknown preset": {"description": "x", "preset": "admin"},
        "scope no key may hold": {"description": "x", "scopes": ["members:manage"]},
        "org:update": {"description": "x", "scopes": ["org:update"]},
        "unknown scope": {"description": "x", "scopes": ["nope:read"]},
        "no scope": {"description": "x", "scopes": []},
        "0 days": {"description": "x", "preset": "deploy", "expires_in_days": 0},
        "366 days": {"description": "x", "preset": "deploy", "expires_in_days": 366},
        "1.5 days": {"description": "x", "preset": "deploy", "expires_in_days": 1.5},
    }
    for label, body in bad.items():
        answer = client.post(f"/orgs/{org_id}/api-keys", json=body, headers=bearer(owner))
        assert answer.status_code == 422, (label, answer.text)
        assert_problem(answer, 422, "validation_error")
    assert _keys(client, owner, org_id) == []
    made = _create_key(client, owner, org_id, "read-only", expires_in_days=365)
    assert abs(_time(made["expires_at"]) - _time(made["created_at"]) - timedelta(days=365)) < timedelta(seconds=5)
    for hours in (-1, 169):
        rotate = client.post(
            f"/orgs/{org_id}/api-keys/{made['id']}/rotate", json={"grace_period_hours": hours}, headers=bearer(owner)
        )
        assert_problem(rotate, 422, "validation_error")


@pytest.mark.parametrize(
    ("field", "value"),
    [("expires_in_days", True), ("expires_in_days", "30"), ("grace_period_hours", True), ("grace_period_hours", "1")],
    ids=["days-true", "days-string", "grace-true", "grace-string"],
)
def test_a_non_integer_lifetime_is_refused(client: httpx.Client, owner: str, field: str, value: Any) -> None:
    org_id = _new_org(client, owner)
    if field == "expires_in_days":
        body = {"description": "typed", "preset": "read-only", field: value}
        answer = client.post(f"/orgs/{org_id}/api-keys", json=body, headers=bearer(owner))
    else:
        made = _create_key(client, owner, org_id, "read-only")
        answer = client.post(f"/orgs/{org_id}/api-keys/{made['id']}/rotate", json={field: value}, headers=bearer(owner))
    assert_problem(answer, 422, "validation_error")


# --- 2. a mistyped key costs no database call ------------------------------------------


def test_a_mistyped_key_is_refused_without_a_database_call(client: httpx.Client, owner: str) -> None:
    org_id = _new_org(client, owner)
    key = _create_key(client, owner, org_id, "read-only")["key"]
    typos = {
        "random part": _typo(key, 10),
        "first random character": _typo(key, 4),
        "checksum": _typo(key, len(key) - 2),
        "truncated": key[:-1],
        "case": key[:12] + key[12].swapcase() + key[13:] if key[12].isalpha() else _typo(key, 12),
    }

    for label, typo in typos.items():
        calls_before = _db_calls(client)
        answer = _org_with(client, typo, org_id)
        calls_after = _db_calls(client)
        _refused(answer)
        assert calls_after == calls_before, (label, calls_after[len(calls_before) :])

    # The counter does see the authorizer: the same key, well formed and never read
    # before, costs one GetItem (plus the first-use mark) on a route that refuses keys
    # before any work, and nothing more while the container remembers it.
    calls_before = _db_calls(client)
    assert_problem(client.get("/me", headers=bearer(key)), 403, "api_key_not_allowed")
    first = _db_calls(client)[len(calls_before) :]
    assert sorted(first) == ["GetItem", "UpdateItem"], first
    calls_before = _db_calls(client)
    assert_problem(client.get("/me", headers=bearer(key)), 403, "api_key_not_allowed")
    assert _db_calls(client)[len(calls_before) :] == [], "a warm key was read again"


# --- 3. the revocation bound -------------------------------------------------------------


def test_a_revoked_key_is_refused_within_the_revocation_bound_and_stays_refused(
    client: httpx.Client, owner: str
) -> None:
    org_id = _new_org(client, owner)
    created = _create_key(client, owner, org_id, "read-only")
    key = created["key"]
    for _ in range(3):  # warm: the authorizer has just read it
        _works(client, key, org_id)

    revoked = client.delete(f"/orgs/{org_id}/api-keys/{created['id']}", headers=bearer(owner))
    assert revoked.status_code == 204, revoked.text
    _watch_refusal(client, key, org_id, allowed_before={200})

    listed = _listed(client, owner, org_id, created["id"])
    assert listed["revoked_at"] is not None and _time(listed["revoked_at"]) <= datetime.now(UTC), listed
    # Revoking it again: no live key of that id.
    again = client.delete(f"/orgs/{org_id}/api-keys/{created['id']}", headers=bearer(owner))
    assert_problem(again, 404, "not_found")


# --- 4. rotation ---------------------------------------------------------------------------


def test_rotation_without_grace_ends_the_old_key_at_once_and_with_grace_keeps_both(
    client: httpx.Client, owner: str
) -> None:
    org_id = _new_org(client, owner)

    # Without grace: a key never used (so no container remembers it) is refused at once.
    old = _create_key(client, owner, org_id, "deploy", expires_in_days=30)
    rotated = client.post(f"/orgs/{org_id}/api-keys/{old['id']}/rotate", headers=bearer(owner))
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert set(new) == CREATED_FIELDS and KEY_FORMAT.fullmatch(new["key"]), new
    assert new["id"] != old["id"] and new["key"] != old["key"], new
    assert (new["description"], sorted(new["scopes"]), new["preset"]) == (
        old["description"],
        sorted(old["scopes"]),
        old["preset"],
    ), (old, new)
    # The same lifetime, counted from the rotation.
    lifetime = _time(new["expires_at"]) - _time(new["created_at"])
    assert abs(lifetime - timedelta(days=30)) < timedelta(seconds=5), new
    _refused(_org_with(client, old["key"], org_id))
    _works(client, new["key"], org_id)
    _refused(_org_with(client, old["key"], org_id))
    listed = {k["id"]: k for k in _keys(client, owner, org_id)}
    assert listed[old["id"]]["revoked_at"] is not None, listed
    assert listed[new["id"]]["revoked_at"] is None and set(listed[new["id"]]["scopes"]) == DEPLOY, listed
    # The old key cannot be rotated again.
    again = client.post(f"/orgs/{org_id}/api-keys/{old['id']}/rotate", json={}, headers=bearer(owner))
    assert_problem(again, 404, "not_found")

    # With one hour of grace: both work, and the old one's end is an hour away. The
    # old key was never used before, so its verdict comes from the table, not a cache.
    graced = _create_key(client, owner, org_id, "read-only")
    rotated = client.post(
        f"/orgs/{org_id}/api-keys/{graced['id']}/rotate", json={"grace_period_hours": 1}, headers=bearer(owner)
    )
    assert rotated.status_code == 201, rotated.text
    successor = rotated.json()
    assert successor["description"] == graced["description"], successor
    assert set(successor["scopes"]) == READ_ONLY and successor["preset"] == "read-only", successor
    _works(client, graced["key"], org_id)
    _works(client, successor["key"], org_id)
    _works(client, graced["key"], org_id)
    ends = _time(_listed(client, owner, org_id, graced["id"])["revoked_at"])
    assert timedelta(minutes=59) < ends - datetime.now(UTC) <= timedelta(hours=1), ends

    # A key in its grace period can still be revoked outright.
    cut = client.delete(f"/orgs/{org_id}/api-keys/{graced['id']}", headers=bearer(owner))
    assert cut.status_code == 204, cut.text
    assert _time(_listed(client, owner, org_id, graced["id"])["revoked_at"]) <= datetime.now(UTC)
    _works(client, successor["key"], org_id)


# --- 5. last_used_at -----------------------------------------------------------------------


def test_last_used_at_is_written_once_a_minute_at_most(client: httpx.Client, owner: str) -> None:
    org_id = _new_org(client, owner)
    created = _create_key(client, owner, org_id, "read-only")
    key = created["key"]
    assert _listed(client, owner, org_id, created["id"])["last_used_at"] is None

    calls_before = _db_calls(client)
    first_sent = datetime.now(UTC)
    _works(client, key, org_id)
    first_answered = datetime.now(UTC)
    for _ in range(4):
        time.sleep(0.2)
        _works(client, key, org_id)
    made = _db_calls(client)[len(calls_before) :]
    # GET /orgs/{org_id} writes nothing for a key: every UpdateItem is the usage mark.
    assert made.count("UpdateItem") == 1, made

    listed = _listed(client, owner, org_id, created["id"])
    assert listed["last_used_at"] is not None, listed
    used = _time(listed["last_used_at"])
    slack = timedelta(milliseconds=50)
    assert first_sent - slack <= used <= first_answered + slack, (used, first_sent, first_answered)
    if "last_used_ip" in listed:
        assert listed["last_used_ip"] == "127.0.0.1", listed


# --- 6. the creator leaves -------------------------------------------------------------------


def test_a_key_outlives_its_creator_leaving_and_the_access_review_flags_it(client: httpx.Client, owner: str) -> None:
    org_id = _new_org(client, owner)
    admin_id, admin = _invite_and_join(client, owner, org_id, "admin")
    admins_key = _create_key(client, admin, org_id, "deploy")
    full_key = _create_key(client, owner, org_id, "full")
    assert set(full_key["scopes"]) == FULL, full_key
    assert _listed(client, owner, org_id, admins_key["id"])["created_by"] == admin_id

    left = client.delete(f"/orgs/{org_id}/members/{admin_id}", headers=bearer(admin))
    assert left.status_code == 204, left.text
    assert_problem(client.get(f"/orgs/{org_id}", headers=bearer(admin)), 404, "not_found")

    _works(client, admins_key["key"], org_id)
    members = client.get(f"/orgs/{org_id}/members", headers=bearer(admins_key["key"]))
    assert members.status_code == 200, members.text
    assert admin_id not in [m["user_id"] for m in members.json()["items"]], members.text

    assert_problem(
        client.get(f"/orgs/{org_id}/access-review", headers=bearer(full_key["key"])), 403, "api_key_not_allowed"
    )
    review = client.get(f"/orgs/{org_id}/access-review", headers=bearer(owner))
    assert review.status_code == 200, review.text
    body = review.json()
    assert set(body) == {"members", "api_keys", "findings"}, body
    assert admin_id not in [m["user_id"] for m in body["members"]], body["members"]
    reviewed = {k["id"]: k for k in body["api_keys"]}
    assert set(reviewed) == {admins_key["id"], full_key["id"]}, reviewed
    assert reviewed[admins_key["id"]]["created_by"] == admin_id, reviewed
    assert reviewed[admins_key["id"]]["creator_is_member"] is False, reviewed
    assert reviewed[full_key["id"]]["creator_is_member"] is True, reviewed
    for finding in body["findings"]:
        assert set(finding) == {"severity", "code", "message", "subject"}, finding
    flagged = {(f["code"], f["subject"]): f["severity"] for f in body["findings"]}
    assert flagged.get(("key_creator_left", admins_key["id"])) == "high", body["findings"]
    assert flagged.get(("key_full_scope", full_key["id"])) == "medium", body["findings"]
    assert ("key_creator_left", full_key["id"]) not in flagged, body["findings"]
    assert ("key_full_scope", admins_key["id"]) not in flagged, body["findings"]


# --- 7. the organization is deleted --------------------------------------------------------


def test_deleting_the_organization_kills_its_keys(client: httpx.Client, owner: str) -> None:
    org_id = _new_org(client, owner)
    created = _create_key(client, owner, org_id, "full")
    key = created["key"]
    _works(client, key, org_id)  # warm

    deleted = client.delete(f"/orgs/{org_id}", headers=bearer(owner))
    assert deleted.status_code == 204, deleted.text
    # While a container may still remember the key, the org itself is gone: 404.
    _watch_refusal(client, key, org_id, allowed_before={404})
    assert_problem(client.get(f"/orgs/{org_id}/projects", headers=bearer(key)), 401, "invalid_token")
    assert_problem(client.get(f"/orgs/{org_id}/api-keys", headers=bearer(owner)), 404, "not_found")

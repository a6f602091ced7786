"""The access review (issue 6 "Access review"; API.md `GET /orgs/{org_id}/access-review`
and its shapes under "Details clients rely on").

One organization is built once for the module, with the services' clock moved back to
make old things: a member who joined 91 days ago and did nothing since, keys made 91 and
89 days ago, an invitation sent 8 days ago (7-day links). Each test starts from that
table and the clock at now, so that each finding is expected exactly where its
condition holds: the whole list of findings is compared, not only looked for.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest

from tests.integration import support
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import (
    SharedGatewayClient,
    add_member,
    cheap_hashing,
    create_org,
    invite,
    new_user,
    restore_table,
    table_snapshot,
)
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

SEVERITY = {
    "admin_without_2fa": "high",
    "key_creator_left": "high",
    "key_exceeds_creator_role": "high",
    "key_full_scope": "medium",
    "key_needs_rotation": "medium",
    "key_unused": "medium",
    "member_inactive": "low",
    "invitation_expired": "low",
    "member_without_2fa": "low",
    "locked_out_by_2fa_policy": "medium",
}
MEMBER_FIELDS = {"user_id", "email", "role", "two_factor_enabled", "last_active_at"}
KEY_FIELDS = {"id", "description", "scopes", "created_by", "creator_is_member", "created_at", "last_used_at"}
FINDING_FIELDS = {"severity", "code", "message", "subject"}
FULL_SCOPES = [
    "apps:deploy",
    "apps:read",
    "apps:write",
    "audit:read",
    "billing:read",
    "databases:read",
    "databases:write",
    "members:read",
    "notifications:read",
    "notifications:write",
    "org:read",
    "projects:read",
    "projects:write",
]


# --- the world -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def cold_key_cache() -> Iterator[None]:
    """Keys read by the authorizer in another test are not this test's."""

    def forget() -> None:
        for name, module in list(sys.modules.items()):
            if name.startswith("kuploy_function_AuthorizerFunction"):
                module.authorizer.forget_keys()

    forget()
    yield
    forget()


@dataclass
class Org:
    id: str
    owner_id: str
    owner: str  # access tokens
    admin_2fa_id: str
    admin_2fa: str
    admin_plain_id: str
    admin_plain: str
    member_id: str
    member: str
    stale_id: str  # a member who joined 91 days ago and has not been seen since
    stale: str
    leaver_id: str  # an admin who made a key, then left
    outsider: str
    keys: dict[str, dict[str, Any]]  # by name, as the create answer had them
    expired_invitation_id: str
    fresh_invitation_id: str
    revoked_invitation_id: str


def _create_key(client: GatewayClient, token: str, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.request("POST", f"/orgs/{org_id}/api-keys", body, token=token)
    assert answer.status == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _enrol_two_factor(client: GatewayClient, token: str, clock: Any) -> None:
    setup = client.request("POST", "/me/2fa/setup", token=token)
    assert setup.status == 200, setup.text
    code = pyotp.TOTP(setup.json()["secret"]).at(int(clock.now().timestamp()))
    enabled = client.request("POST", "/me/2fa/enable", {"code": code}, token=token)
    assert enabled.status == 200, enabled.text


@pytest.fixture(scope="module")
def org_table(world, gateway) -> tuple[Org, list[dict[str, Any]]]:
    restore_table([])
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    with cheap_hashing(), support.service_clock() as clock:
        owner_id, owner = new_user(client, "owner@example.com", "Olive Owner")
        org_id = create_org(client, owner, "Analytical Engines")
        admin_2fa_id, admin_2fa = add_member(client, owner, org_id, "careful@example.com", "admin", "Cara Careful")
        _enrol_two_factor(client, admin_2fa, clock)  # after joining: the membership's copy follows
        admin_plain_id, admin_plain = add_member(client, owner, org_id, "plain@example.com", "admin", "Pat Plain")
        member_id, member = add_member(client, owner, org_id, "member@example.com", "member", "Mia Member")
        leaver_id, leaver = add_member(client, owner, org_id, "leaver@example.com", "admin", "Lee Leaver")
        _, outsider = new_user(client, "outsider@example.com", "Otto Outsider")
        stale_id, stale = new_user(client, "stale@example.com", "Stan Stale")  # logs in now: a valid token

        keys: dict[str, dict[str, Any]] = {}
        keys["fresh_deploy"] = _create_key(client, owner, org_id, {"description": "fresh deploy", "preset": "deploy"})
        keys["full"] = _create_key(client, owner, org_id, {"description": "full preset", "preset": "full"})
        keys["full_by_scopes"] = _create_key(
            client, owner, org_id, {"description": "every scope by hand", "scopes": FULL_SCOPES}
        )
        keys["revoked_full"] = _create_key(client, owner, org_id, {"description": "revoked", "preset": "full"})
        keys["leaver"] = _create_key(client, leaver, org_id, {"description": "leaver's ci", "preset": "deploy"})
        left = client.request("DELETE", f"/orgs/{org_id}/members/{leaver_id}", token=leaver)
        assert left.status == 204, left.text
        fresh_invitation = invite(client, owner, org_id, "soon@example.com")

        clock.advance(-timedelta(days=89))
        keys["old_recent"] = _create_key(client, owner, org_id, {"description": "89 days", "preset": "read-only"})
        clock.advance(-timedelta(days=2))  # 91 days ago
        keys["old_unused"] = _create_key(client, owner, org_id, {"description": "old unused", "preset": "deploy"})
        keys["old_used"] = _create_key(client, owner, org_id, {"description": "old used", "preset": "read-only"})
        joined = client.request(
            "POST",
            f"/me/invitations/{invite(client, owner, org_id, 'stale@example.com')['id']}/accept",
            token=stale,
        )
        assert joined.status == 200, joined.text
        clock.advance(timedelta(days=83))  # 8 days ago: the 7-day link has run out since
        expired_invitation = invite(client, owner, org_id, "late@example.com")
        revoked_invitation = invite(client, owner, org_id, "gone@example.com")
        clock.advance(timedelta(days=8))

        # Used now (the authorizer's clock is the real one): not "unused", still old.
        used = client.request("GET", f"/orgs/{org_id}", token=keys["old_used"]["key"])
        assert used.status == 200, used.text
        withdrawn = client.request("DELETE", f"/orgs/{org_id}/invitations/{revoked_invitation['id']}", token=owner)
        assert withdrawn.status == 204, withdrawn.text
        assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=20)

    # Revoked on the real clock: the controlled one may run minutes ahead of it, which
    # would leave the key revoked "in the future" (a grace period) for the review.
    gone = client.request("DELETE", f"/orgs/{org_id}/api-keys/{keys['revoked_full']['id']}", token=owner)
    assert gone.status == 204, gone.text

    org = Org(
        id=org_id,
        owner_id=owner_id,
        owner=owner,
        admin_2fa_id=admin_2fa_id,
        admin_2fa=admin_2fa,
        admin_plain_id=admin_plain_id,
        admin_plain=admin_plain,
        member_id=member_id,
        member=member,
        stale_id=stale_id,
        stale=stale,
        leaver_id=leaver_id,
        outsider=outsider,
        keys=keys,
        expired_invitation_id=expired_invitation["id"],
        fresh_invitation_id=fresh_invitation["id"],
        revoked_invitation_id=revoked_invitation["id"],
    )
    return org, table_snapshot()


@pytest.fixture
def org(aws, org_table) -> Org:
    restore_table(org_table[1])
    return org_table[0]


# --- helpers -----------------------------------------------------------------------------------


def review(client: GatewayClient, org: Org, token: str | None = None) -> dict[str, Any]:
    answer = client.request("GET", f"/orgs/{org.id}/access-review", token=token or org.owner)
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def findings(body: dict[str, Any]) -> set[tuple[str, str]]:
    """(code, subject) of every finding, checking that none is listed twice."""
    pairs = [(f["code"], f["subject"]) for f in body["findings"]]
    assert len(pairs) == len(set(pairs)), pairs
    return set(pairs)


def key_id(org: Org, name: str) -> str:
    return str(org.keys[name]["id"])


def baseline(org: Org) -> set[tuple[str, str]]:
    """What the module's organization should be told to fix, now."""
    return {
        ("admin_without_2fa", org.owner_id),
        ("admin_without_2fa", org.admin_plain_id),
        ("key_creator_left", key_id(org, "leaver")),
        ("key_full_scope", key_id(org, "full")),
        ("key_full_scope", key_id(org, "full_by_scopes")),
        ("key_needs_rotation", key_id(org, "old_unused")),
        ("key_unused", key_id(org, "old_unused")),
        ("key_needs_rotation", key_id(org, "old_used")),
        ("member_inactive", org.stale_id),
        ("invitation_expired", org.expired_invitation_id),
        # Members without 2FA: whom requiring 2FA would lock out.
        ("member_without_2fa", org.member_id),
        ("member_without_2fa", org.stale_id),
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- the shape ---------------------------------------------------------------------------------


def test_the_review_lists_members_with_role_2fa_and_last_activity(client, org):
    body = review(client, org)
    assert set(body) >= {"members", "api_keys", "findings"}
    members = {m["user_id"]: m for m in body["members"]}
    for member in members.values():
        assert member.keys() >= MEMBER_FIELDS
    expected = {
        org.owner_id: ("owner@example.com", "owner", False),
        org.admin_2fa_id: ("careful@example.com", "admin", True),
        org.admin_plain_id: ("plain@example.com", "admin", False),
        org.member_id: ("member@example.com", "member", False),
        org.stale_id: ("stale@example.com", "member", False),
    }
    assert {uid: (m["email"], m["role"], m["two_factor_enabled"]) for uid, m in members.items()} == expected
    assert org.leaver_id not in members
    now = datetime.now(UTC)
    assert now - at(members[org.owner_id]["last_active_at"]) < timedelta(minutes=20)
    stale_seen = members[org.stale_id]["last_active_at"]
    assert stale_seen is None or now - at(stale_seen) > timedelta(days=90)


def test_the_review_lists_live_keys_with_scopes_creator_and_use(client, org):
    body = review(client, org)
    keys = {k["id"]: k for k in body["api_keys"]}
    for key in keys.values():
        assert key.keys() >= KEY_FIELDS
        assert "key" not in key
    live = {name: key_id(org, name) for name in org.keys if name != "revoked_full"}
    assert set(keys) == set(live.values())  # a revoked key is not reviewed
    for name, created in org.keys.items():
        if name == "revoked_full":
            continue
        key = keys[created["id"]]
        assert key["description"] == created["description"]
        assert key["scopes"] == created["scopes"]
        assert key["created_at"] == created["created_at"]
        assert key["created_by"] == (org.leaver_id if name == "leaver" else org.owner_id)
        assert key["creator_is_member"] is (name != "leaver")
    now = datetime.now(UTC)
    assert timedelta(days=91) - timedelta(minutes=20) < now - at(keys[key_id(org, "old_unused")]["created_at"])
    assert keys[key_id(org, "old_unused")]["last_used_at"] is None
    assert now - at(keys[key_id(org, "old_used")]["last_used_at"]) < timedelta(minutes=20)
    assert sorted(keys[key_id(org, "full")]["scopes"]) == FULL_SCOPES
    # No secret in the review.
    text = client.request("GET", f"/orgs/{org.id}/access-review", token=org.owner).text
    for created in org.keys.values():
        assert created["key"] not in text


def test_findings_have_a_severity_code_message_and_subject(client, org):
    for finding in review(client, org)["findings"]:
        assert finding.keys() >= FINDING_FIELDS
        assert finding["severity"] == SEVERITY[finding["code"]], finding
        assert isinstance(finding["message"], str) and finding["message"].strip()


# --- each finding exactly where its condition holds --------------------------------------------------


def test_each_finding_appears_exactly_where_its_condition_holds(client, org):
    assert findings(review(client, org)) == baseline(org)


def test_an_admin_may_read_the_review_too(client, org):
    assert findings(review(client, org, org.admin_plain)) == baseline(org)


def test_enabling_2fa_clears_admin_without_2fa(client, org, service_clock):
    _enrol_two_factor(client, org.admin_plain, service_clock)
    assert findings(review(client, org)) == baseline(org) - {("admin_without_2fa", org.admin_plain_id)}


def test_promoting_a_member_without_2fa_makes_a_finding(client, org):
    promoted = client.request("PATCH", f"/orgs/{org.id}/members/{org.member_id}", {"role": "admin"}, token=org.owner)
    assert promoted.status == 200, promoted.text
    assert findings(review(client, org)) == (baseline(org) | {("admin_without_2fa", org.member_id)}) - {
        ("member_without_2fa", org.member_id)
    }


def test_an_inactive_member_who_comes_back_is_no_longer_inactive(client, org):
    answer = client.request("GET", f"/orgs/{org.id}", token=org.stale)
    assert answer.status == 200, answer.text
    assert findings(review(client, org)) == baseline(org) - {("member_inactive", org.stale_id)}


def test_using_an_old_unused_key_leaves_only_its_rotation_finding(client, org):
    used = client.request("GET", f"/orgs/{org.id}", token=org.keys["old_unused"]["key"])
    assert used.status == 200, used.text
    assert findings(review(client, org)) == baseline(org) - {("key_unused", key_id(org, "old_unused"))}


def test_rotating_an_old_key_clears_its_findings(client, org):
    old = key_id(org, "old_unused")
    answer = client.request("POST", f"/orgs/{org.id}/api-keys/{old}/rotate", {}, token=org.owner)
    assert answer.status == 201, answer.text
    body = review(client, org)
    assert findings(body) == baseline(org) - {("key_needs_rotation", old), ("key_unused", old)}
    keys = {k["id"]: k for k in body["api_keys"]}
    assert old not in keys and answer.json()["id"] in keys


def test_revoking_flagged_keys_clears_their_findings(client, org):
    for name in ("leaver", "full"):
        answer = client.request("DELETE", f"/orgs/{org.id}/api-keys/{key_id(org, name)}", token=org.owner)
        assert answer.status == 204, answer.text
    expected = baseline(org) - {("key_creator_left", key_id(org, "leaver")), ("key_full_scope", key_id(org, "full"))}
    assert findings(review(client, org)) == expected


def test_a_key_whose_creator_leaves_is_flagged_and_keeps_its_other_findings(client, org):
    created = _create_key(client, org.admin_plain, org.id, {"description": "plain's", "preset": "full"})
    assert findings(review(client, org)) == baseline(org) | {("key_full_scope", created["id"])}
    left = client.request("DELETE", f"/orgs/{org.id}/members/{org.admin_plain_id}", token=org.admin_plain)
    assert left.status == 204, left.text
    body = review(client, org)
    expected = (baseline(org) - {("admin_without_2fa", org.admin_plain_id)}) | {
        ("key_full_scope", created["id"]),
        ("key_creator_left", created["id"]),
    }
    assert findings(body) == expected
    assert {k["id"]: k["creator_is_member"] for k in body["api_keys"]}[created["id"]] is False


def test_revoking_an_expired_invitation_clears_its_finding(client, org):
    answer = client.request("DELETE", f"/orgs/{org.id}/invitations/{org.expired_invitation_id}", token=org.owner)
    assert answer.status == 204, answer.text
    assert findings(review(client, org)) == baseline(org) - {("invitation_expired", org.expired_invitation_id)}


def test_ageing_makes_findings_appear_when_they_become_true(client, org, service_clock):
    """Eight days on: the 89-day key is past 90 days (rotate, unused), the fresh
    invitation has expired; nobody has been away for 90 days yet."""
    service_clock.advance(timedelta(days=8))
    expected = baseline(org) | {
        ("key_needs_rotation", key_id(org, "old_recent")),
        ("key_unused", key_id(org, "old_recent")),
        ("invitation_expired", org.fresh_invitation_id),
    }
    assert findings(review(client, org)) == expected


def test_after_91_quiet_days_every_key_and_member_but_the_reviewer_is_flagged(client, org, service_clock):
    service_clock.advance(timedelta(days=91))
    live = [name for name in org.keys if name != "revoked_full"]
    expected = (
        {("admin_without_2fa", org.owner_id), ("admin_without_2fa", org.admin_plain_id)}
        | {("key_creator_left", key_id(org, "leaver"))}
        | {("key_full_scope", key_id(org, name)) for name in ("full", "full_by_scopes")}
        | {("key_needs_rotation", key_id(org, name)) for name in live}
        | {("key_unused", key_id(org, name)) for name in live}
        | {("member_inactive", uid) for uid in (org.admin_2fa_id, org.admin_plain_id, org.member_id, org.stale_id)}
        | {("invitation_expired", org.expired_invitation_id), ("invitation_expired", org.fresh_invitation_id)}
        | {("member_without_2fa", uid) for uid in (org.member_id, org.stale_id)}
    )
    assert findings(review(client, org)) == expected


def test_with_the_2fa_policy_on_members_without_2fa_are_named_as_locked_out(client, org, service_clock):
    _enrol_two_factor(client, org.owner, service_clock)
    switched = client.request("PATCH", f"/orgs/{org.id}", {"require_2fa": True}, token=org.owner)
    assert switched.status == 200, switched.text
    found = findings(review(client, org))
    assert {("locked_out_by_2fa_policy", uid) for uid in (org.member_id, org.stale_id)} <= found
    assert not {pair for pair in found if pair[0] == "member_without_2fa"}


def test_findings_are_ordered_by_severity(client, org):
    order = {"high": 0, "medium": 1, "low": 2}
    severities = [order[f["severity"]] for f in review(client, org)["findings"]]
    assert severities == sorted(severities)


# --- who may read it -------------------------------------------------------------------------------


def test_a_member_is_refused_and_an_outsider_does_not_see_the_org(client, org):
    assert_problem(client.request("GET", f"/orgs/{org.id}/access-review", token=org.member), 403, "forbidden")
    assert_problem(client.request("GET", f"/orgs/{org.id}/access-review", token=org.outsider), 404, "not_found")
    answer: Answer = client.request("GET", f"/orgs/{org.id}/access-review")
    assert_problem(answer, 401, "unauthorized")


def test_a_key_is_refused_whatever_its_scopes(client, org):
    answer = client.request("GET", f"/orgs/{org.id}/access-review", token=org.keys["full"]["key"])
    assert_problem(answer, 403, "api_key_not_allowed")

"""A demoted admin keeps no powers through what they handed out (issue 11, "Smaller
holes"), on moto through the local gateway: the role change revokes their pending
invitations, an invitation written after the demotion is refused by its own condition,
and the access review flags keys beyond their creator's current role."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.invitations import DynamoInvitationRepository
from kuploy_access.adapters.dynamodb.keys import (
    INVITATION_LINK_SK,
    INVITATION_SK_PREFIX,
    invitation_link_pk,
    invitation_sk,
    org_pk,
)
from kuploy_access.domain.audit import Actor, audit_event
from kuploy_access.domain.errors import Forbidden
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.org_support import add_member, create_org, invitation_token, invite, new_user
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

JSON = {"Accept": "application/json"}


def _team(client: GatewayClient) -> tuple[str, str, str, str, str]:
    """(org_id, owner token, admin id, admin token, other admin token)."""
    _, owner = new_user(client, "owner@example.com", "Olive Owner")
    org_id = create_org(client, owner, "Analytical Engines")
    admin_id, admin = add_member(client, owner, org_id, "adam@example.com", "admin", "Adam Admin")
    _, other = add_member(client, owner, org_id, "ora@example.com", "admin", "Ora Other")
    return org_id, owner, admin_id, admin, other


def _pending(client: GatewayClient, token: str, org_id: str) -> set[str]:
    answer = client.request("GET", f"/orgs/{org_id}/invitations", token=token)
    assert answer.status == 200, answer.text
    return {i["email"] for i in answer.json()["items"]}


def _demote(client: GatewayClient, owner: str, org_id: str, user_id: str, role: str = "member") -> None:
    answer = client.request("PATCH", f"/orgs/{org_id}/members/{user_id}", {"role": role}, token=owner)
    assert answer.status == 200, answer.text
    assert answer.json()["role"] == role


def _create_key(client: GatewayClient, token: str, org_id: str, preset: str) -> str:
    body = {"description": f"{preset} key", "preset": preset}
    answer = client.request("POST", f"/orgs/{org_id}/api-keys", body, token=token)
    assert answer.status == 201, answer.text
    return str(answer.json()["id"])


def _findings(client: GatewayClient, token: str, org_id: str) -> list[dict[str, Any]]:
    answer = client.request("GET", f"/orgs/{org_id}/access-review", token=token)
    assert answer.status == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["findings"]
    return found


def test_demoting_an_admin_revokes_the_invitations_they_sent_and_their_links(client):
    org_id, owner, admin_id, admin, other = _team(client)
    invite(client, admin, org_id, "new-admin@example.com", "admin")
    invite(client, admin, org_id, "new-member@example.com", "member")
    links = {email: invitation_token(client, email) for email in ("new-admin@example.com", "new-member@example.com")}
    invite(client, other, org_id, "ora-s@example.com", "member")

    _demote(client, owner, org_id, admin_id)

    assert _pending(client, owner, org_id) == {"ora-s@example.com"}
    for link in links.values():
        assert_problem(client.request("GET", f"/invitations/{link}", headers=JSON), 404, "not_found")
    events = client.request("GET", f"/orgs/{org_id}/audit-log?limit=200", token=owner).json()["items"]
    revoked = [e for e in events if e["action"] == "invitation.revoked"]
    assert sorted(e["target"] for e in revoked) == sorted(links)
    assert all(e["details"]["reason"] == "inviter_role_changed" for e in revoked)
    records = [i for i in support.scan() if i["sk"].startswith(INVITATION_SK_PREFIX)]
    assert {i["email"]: i["status"] for i in records if i["invited_by"] == admin_id} == {
        "new-admin@example.com": "revoked",
        "new-member@example.com": "revoked",
    }
    # The addresses are free for a manager to invite again.
    invite(client, other, org_id, "new-admin@example.com", "admin")


def test_an_admin_who_stays_admin_keeps_their_invitations(client):
    org_id, owner, admin_id, admin, _ = _team(client)
    invite(client, admin, org_id, "new-admin@example.com", "admin")

    _demote(client, owner, org_id, admin_id, "admin")

    assert _pending(client, owner, org_id) == {"new-admin@example.com"}


def test_an_invitation_written_after_its_inviter_was_demoted_is_refused(client, service_clock):
    """The write half of a request that read the admin's role just before the demotion."""
    org_id, owner, admin_id, _, _ = _team(client)
    _demote(client, owner, org_id, admin_id)
    now = service_clock.now()
    invitation = Invitation(
        id="inv_01late",
        org_id=org_id,
        org_name="Analytical Engines",
        email="late@example.com",
        role="member",
        invited_by=admin_id,
        inviter_name="Adam Admin",
        status=InvitationStatus.PENDING.value,
        token_hash="0" * 64,
        created_at=now,
        expires_at=now + timedelta(days=7),
    )
    event = audit_event(org_id, now, Actor("user", admin_id), "member.invited", "late@example.com", "", "")

    with pytest.raises(Forbidden):
        DynamoInvitationRepository().create(invitation, None, now, event)

    assert support.raw_item(org_pk(org_id), invitation_sk("inv_01late")) is None
    assert support.raw_item(invitation_link_pk("0" * 64), INVITATION_LINK_SK) is None


def test_the_access_review_flags_keys_beyond_their_creator_s_current_role(client):
    org_id, owner, admin_id, admin, _ = _team(client)
    full = _create_key(client, admin, org_id, "full")
    deploy = _create_key(client, admin, org_id, "deploy")
    _create_key(client, owner, org_id, "deploy")
    assert [f for f in _findings(client, owner, org_id) if f["code"] == "key_exceeds_creator_role"] == []

    _demote(client, owner, org_id, admin_id)

    flagged = [f for f in _findings(client, owner, org_id) if f["code"] == "key_exceeds_creator_role"]
    assert sorted(f["subject"] for f in flagged) == sorted([full, deploy])
    assert {f["severity"] for f in flagged} == {"high"}
    assert all("member" in f["message"] for f in flagged)

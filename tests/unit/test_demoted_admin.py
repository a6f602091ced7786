"""A demoted admin keeps no powers through what they handed out (issue 11, "Smaller
holes"): a role change revokes the pending invitations the new role could not send,
an invitation on its way while the role changed is refused, and the access review flags
keys beyond their creator's current role. On the in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.errors import Conflict, Forbidden, NotFound
from kuploy_access.domain.invitations import InvitationStatus
from kuploy_access.domain.permissions import (
    ASSIGNABLE_ROLES,
    MEMBERS_MANAGE,
    ROLE_PERMISSIONS,
    SCOPE_PRESETS,
    Role,
    may_grant_scopes,
    may_invite,
    roles_that_may_invite,
    rule_for,
)
from kuploy_access.domain.principal import Principal
from kuploy_access.domain.users import User
from kuploy_access.services.access import OrgCaller
from kuploy_access.services.access_review import AccessReviewService
from kuploy_access.services.members import REVOKED_WITH_ROLE_CHANGE
from kuploy_access.services.sessions import ClientInfo
from tests.unit.org_fakes import FakeApiKeys, OrgWorld

CLIENT = ClientInfo(ip="198.51.100.21", user_agent="pytest")
ORG_ID = "org_01demote"
INVITE = "POST /orgs/{org_id}/invitations"
CHANGE_ROLE = "PATCH /orgs/{org_id}/members/{user_id}"


@pytest.fixture
def world() -> OrgWorld:
    return OrgWorld()


@pytest.fixture
def people(world: OrgWorld) -> dict[str, User]:
    users = {
        "owner": world.add_user("olive@example.com", name="Olive", user_id="usr_01olive"),
        "admin": world.add_user("adam@example.com", name="Adam", user_id="usr_01adam"),
        "other": world.add_user("ora@example.com", name="Ora", user_id="usr_01ora"),
    }
    world.add_org(users["owner"], ORG_ID)
    world.add_member(ORG_ID, users["admin"], "admin")
    world.add_member(ORG_ID, users["other"], "admin")
    return users


def enter(world: OrgWorld, user: User, route: str) -> OrgCaller:
    principal = Principal(type="user", id=user.id, session_id="ses_01")
    return world.access().enter(principal, ORG_ID, rule_for(route), CLIENT)


def pending(world: OrgWorld, inviter: User) -> set[str]:
    return {
        i.email
        for (org, _), i in world.store.invitations.items()
        if org == ORG_ID and i.invited_by == inviter.id and i.status == InvitationStatus.PENDING
    }


# --- the rule, from the permission table --------------------------------------------------------


def test_who_may_invite_follows_the_permission_table() -> None:
    for inviter in Role:
        for invited in ASSIGNABLE_ROLES:
            manages = MEMBERS_MANAGE in ROLE_PERMISSIONS[inviter]
            within = ROLE_PERMISSIONS[invited] <= ROLE_PERMISSIONS[inviter]
            assert may_invite(inviter, invited) is (manages and within), (inviter, invited)
    assert not any(may_invite(Role.MEMBER, invited) for invited in ASSIGNABLE_ROLES)
    assert set(roles_that_may_invite(Role.ADMIN)) == {Role.OWNER, Role.ADMIN}


def test_who_may_grant_a_key_s_scopes_follows_the_permission_table() -> None:
    assert may_grant_scopes(Role.ADMIN, SCOPE_PRESETS["full"])
    assert may_grant_scopes(Role.OWNER, SCOPE_PRESETS["full"])
    # A member holds every read scope, but may not make keys at all.
    assert not may_grant_scopes(Role.MEMBER, SCOPE_PRESETS["read-only"] & ROLE_PERMISSIONS[Role.MEMBER])


# --- the role change ----------------------------------------------------------------------------


def test_demoting_an_admin_to_member_revokes_every_invitation_they_sent(world, people):
    service = world.invitation_service()
    by_admin = enter(world, people["admin"], INVITE)
    service.invite(by_admin, "new-admin@example.com", "admin")
    service.invite(by_admin, "new-member@example.com", "member")
    world.clock.advance(timedelta(days=8))  # one of them expired unanswered: still pending, still revoked
    service.invite(by_admin, "late@example.com", "member")
    service.invite(enter(world, people["other"], INVITE), "ora-s@example.com", "member")
    links_before = dict(world.store.tokens)
    world.store.events.clear()

    world.member_service().change_role(enter(world, people["owner"], CHANGE_ROLE), people["admin"].id, "member")

    assert pending(world, people["admin"]) == set()
    assert pending(world, people["other"]) == {"ora-s@example.com"}
    for token_hash, invitation in links_before.items():
        if invitation.invited_by == people["admin"].id:
            assert token_hash not in world.store.tokens  # the emailed link answers 404 from now on
    revoked = [e for e in world.store.events if e.action == "invitation.revoked"]
    assert sorted(e.target for e in revoked) == ["late@example.com", "new-admin@example.com", "new-member@example.com"]
    for event in revoked:
        assert event.actor.id == people["owner"].id
        assert event.details["reason"] == REVOKED_WITH_ROLE_CHANGE
    assert world.store.events[0].action == "member.role_changed"
    # The addresses are free again: a manager may invite them anew.
    service.invite(enter(world, people["other"], INVITE), "new-admin@example.com", "admin")


def test_a_revoked_link_answers_not_found(world, people):
    service = world.invitation_service()
    service.invite(enter(world, people["admin"], INVITE), "grace@example.com", "member")
    secret = world.mailer.sent[-1].text.split("/invitations/")[1].split()[0]
    assert service.view(secret).email == "grace@example.com"

    world.member_service().change_role(enter(world, people["owner"], CHANGE_ROLE), people["admin"].id, "member")

    with pytest.raises(NotFound):
        service.view(secret)


@pytest.mark.parametrize("new_role", ["admin", "member"])
def test_after_any_role_change_no_pending_invitation_exceeds_the_new_role(world, people, new_role):
    service = world.invitation_service()
    by_admin = enter(world, people["admin"], INVITE)
    for role in ASSIGNABLE_ROLES:
        service.invite(by_admin, f"{role}@example.com", role)

    world.member_service().change_role(enter(world, people["owner"], CHANGE_ROLE), people["admin"].id, new_role)

    left = [i for i in world.store.invitations.values() if i.status == InvitationStatus.PENDING]
    assert all(may_invite(new_role, i.role) for i in left)
    # An admin who stays an admin keeps the invitations they could send anyway.
    assert len(left) == (len(ASSIGNABLE_ROLES) if new_role == "admin" else 0)


def test_an_invitation_answered_before_the_sweep_reaches_it_is_skipped(world, people):
    service = world.invitation_service()
    sent = service.invite(enter(world, people["admin"], INVITE), "grace@example.com", "member")
    revoke = world.invitations.revoke

    def answered_meanwhile(invitation, event):
        raise NotFound("No such pending invitation")

    world.invitations.revoke = answered_meanwhile  # type: ignore[method-assign]
    member = world.member_service().change_role(
        enter(world, people["owner"], CHANGE_ROLE), people["admin"].id, "member"
    )
    world.invitations.revoke = revoke  # type: ignore[method-assign]

    assert member.role == "member"
    assert world.store.invitations[(ORG_ID, sent.invitation.id)].status == InvitationStatus.PENDING


def test_a_contested_invitation_does_not_stop_the_sweep_of_the_others(world, people):
    """Resends that keep racing one revocation make it give up (409): the role change
    stands, every other invitation is still revoked, and the caller is told to repeat."""
    service = world.invitation_service()
    by_admin = enter(world, people["admin"], INVITE)
    for address in ("a@example.com", "contested@example.com", "c@example.com"):
        service.invite(by_admin, address, "member")
    revoke = world.invitations.revoke

    def contested(invitation, event):
        if invitation.email == "contested@example.com":
            raise Conflict("The invitation kept changing while it was being revoked; try again")
        revoke(invitation, event)

    world.invitations.revoke = contested  # type: ignore[method-assign]
    with pytest.raises(Conflict):
        world.member_service().change_role(enter(world, people["owner"], CHANGE_ROLE), people["admin"].id, "member")
    world.invitations.revoke = revoke  # type: ignore[method-assign]

    assert world.store.members[(ORG_ID, people["admin"].id)].role == "member"
    assert pending(world, people["admin"]) == {"contested@example.com"}
    # Repeating the role change finishes the sweep.
    world.member_service().change_role(enter(world, people["owner"], CHANGE_ROLE), people["admin"].id, "member")
    assert pending(world, people["admin"]) == set()


def test_an_invitation_on_its_way_while_the_inviter_is_demoted_is_refused(world, people):
    """The request read the admin's role, then the role changed before its write."""
    stale = enter(world, people["admin"], INVITE)
    world.member_service().change_role(enter(world, people["owner"], CHANGE_ROLE), people["admin"].id, "member")
    sent_before = len(world.mailer.sent)

    with pytest.raises(Forbidden):
        world.invitation_service().invite(stale, "grace@example.com", "member")

    assert pending(world, people["admin"]) == set()
    assert len(world.mailer.sent) == sent_before


# --- the access review ----------------------------------------------------------------------------


def _key(world: OrgWorld, key_id: str, creator: User, preset: str) -> ApiKey:
    return ApiKey(
        id=key_id,
        org_id=ORG_ID,
        key_hash=key_id * 2,
        prefix="kpy_abcdef",
        description=f"{preset} by {creator.name}",
        scopes=SCOPE_PRESETS[preset],
        preset=preset,
        created_by=creator.id,
        created_at=world.clock.now(),
        last_used_at=world.clock.now(),
    )


def _findings(world: OrgWorld, keys: FakeApiKeys, people: dict[str, User]) -> set[tuple[str, str, str]]:
    service = AccessReviewService(orgs=world.orgs, keys=keys, invitations=world.invitations, clock=world.clock)
    review = service.review(enter(world, people["owner"], "GET /orgs/{org_id}/access-review"))
    return {(f.code, f.severity, f.subject) for f in review.findings if f.code == "key_exceeds_creator_role"}


def test_the_review_flags_keys_beyond_their_creator_s_current_role(world, people):
    keys = world.api_keys
    for key in (
        _key(world, "key_admin_full", people["admin"], "full"),
        _key(world, "key_admin_read", people["admin"], "read-only"),
        _key(world, "key_owner_full", people["owner"], "full"),
        _key(world, "key_other_deploy", people["other"], "deploy"),
    ):
        keys.keys[key.id] = key
    assert _findings(world, keys, people) == set()

    world.member_service().change_role(enter(world, people["owner"], CHANGE_ROLE), people["admin"].id, "member")

    assert _findings(world, keys, people) == {
        ("key_exceeds_creator_role", "high", "key_admin_full"),
        # Every read scope is a member's too, but a member may not make keys at all.
        ("key_exceeds_creator_role", "high", "key_admin_read"),
    }
    # Revoked keys are not reviewed; a creator who left has a finding of their own.
    keys.keys["key_admin_full"] = replace(keys.keys["key_admin_full"], revoked_at=world.clock.now())
    assert _findings(world, keys, people) == {("key_exceeds_creator_role", "high", "key_admin_read")}
    del world.store.members[(ORG_ID, people["admin"].id)]
    assert _findings(world, keys, people) == set()

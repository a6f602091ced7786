"""Organizations, members, invitations and the guarded resources, on the in-memory fakes."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import (
    AlreadyInvited,
    AlreadyMember,
    EmailNotVerified,
    Forbidden,
    InvalidEmail,
    InvitationEmailMismatch,
    InvitationExpired,
    InvitationUsed,
    NotFound,
    OwnerProtected,
    ReauthenticationRequired,
    TwoFactorRequired,
    Unauthorized,
    ValidationFailed,
)
from kuploy_access.domain.invitations import DEFAULT_INVITATION_LIFETIME, Invitation
from kuploy_access.domain.organizations import MAX_RESOURCE_NAME_LENGTH
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import Role, rule_for
from kuploy_access.domain.principal import Principal
from kuploy_access.domain.rate_limits import INVITATION_EMAILS_PER_ADDRESS, INVITATIONS_PER_ORG, RateLimited
from kuploy_access.domain.resources import ResourceKind
from kuploy_access.domain.users import User
from kuploy_access.services.access import OrgCaller
from kuploy_access.services.account import AccountService
from kuploy_access.services.invitations import SentInvitation
from kuploy_access.services.ports.audit import AuditReader
from kuploy_access.services.ports.invitations import InvitationRoster, InvitationStore, InvitationSweep
from kuploy_access.services.ports.organizations import (
    MemberRoster,
    MemberStore,
    OrgAccess,
    OrganizationStore,
    UserMemberships,
)
from kuploy_access.services.ports.resources import ResourceRepository
from kuploy_access.services.sessions import ClientInfo
from tests.unit.identity_fakes import FakeIdentities
from tests.unit.org_fakes import (
    FakeAuditLog,
    FakeInvitations,
    FakeOrganizations,
    FakeResources,
    OrgStore,
    OrgWorld,
)
from tests.unit.support import PUBLIC_BASE_URL

CLIENT = ClientInfo(ip="203.0.113.7", user_agent="pytest")
ORG_ID = "org_01acme"
_INVITATION_LINK = re.compile(re.escape(PUBLIC_BASE_URL) + r"/invitations/([A-Za-z0-9_-]+)")


def _fakes_honour_the_ports(
    world: OrgWorld,
) -> tuple[
    tuple[OrgAccess, OrganizationStore, MemberStore, UserMemberships, MemberRoster],
    tuple[InvitationStore, InvitationSweep, InvitationRoster],
    ResourceRepository,
    AuditReader,
]:
    store = OrgStore()  # mypy checks the fakes against the ports
    orgs, invitations = FakeOrganizations(store), FakeInvitations(store, world.users)
    return (
        (orgs, orgs, orgs, orgs, orgs),
        (invitations, invitations, invitations),
        FakeResources(store),
        FakeAuditLog(store),
    )


@pytest.fixture
def world() -> OrgWorld:
    return OrgWorld()


@pytest.fixture
def people(world) -> dict[str, User]:
    users = {
        "owner": world.add_user("olive@example.com", name="Olive", user_id="usr_01olive"),
        "admin": world.add_user("adam@example.com", name="Adam", user_id="usr_01adam"),
        "member": world.add_user("mia@example.com", name="Mia", user_id="usr_01mia"),
        "grace": world.add_user("grace@example.com", name="Grace", user_id="usr_01grace"),
    }
    world.add_org(users["owner"], ORG_ID)
    world.add_member(ORG_ID, users["admin"], "admin")
    world.add_member(ORG_ID, users["member"], "member")
    return users


def principal(u: User) -> Principal:
    return Principal(type="user", id=u.id, session_id="ses_01")


def caller(world: OrgWorld, u: User, route: str, acting_on_self: bool = False) -> OrgCaller:
    """The caller as a route would see it: through AccessService.enter."""
    return world.access().enter(principal(u), ORG_ID, rule_for(route), CLIENT, acting_on_self)


def key_caller(world: OrgWorld, route: str, *scopes: str) -> OrgCaller:
    key = Principal(type="api_key", id="key_1", org_id=ORG_ID, scopes=scopes)
    return world.access().enter(key, ORG_ID, rule_for(route), CLIENT)


def events(world: OrgWorld, action: str | None = None) -> list[AuditEvent]:
    return [e for e in world.store.events if action is None or e.action == action]


def only_event(world: OrgWorld, action: str) -> AuditEvent:
    found = events(world, action)
    assert len(found) == 1, [e.action for e in world.store.events]
    return found[0]


def owners(world: OrgWorld, org_id: str = ORG_ID) -> list[str]:
    return [m.user_id for (o, _), m in world.store.members.items() if o == org_id and m.role == Role.OWNER]


# === organizations ===========================================================================


def test_create_makes_the_creator_the_owner_and_records_the_event(world, people):
    grace = people["grace"]
    org, owner = world.organization_service().create(principal(grace), "Analytical Engines", CLIENT)
    assert org.id.startswith("org_")
    assert (org.name, org.plan, org.require_2fa, org.owner_id, org.created_by) == (
        "Analytical Engines",
        "free",
        False,
        grace.id,
        grace.id,
    )
    assert org.created_at == world.clock.now()
    assert (owner.org_id, owner.user_id, owner.role, owner.email, owner.name) == (
        org.id,
        grace.id,
        "owner",
        "grace@example.com",
        "Grace",
    )
    assert world.store.orgs[org.id].member_count == 1
    assert world.store.members[(org.id, grace.id)] == owner
    event = only_event(world, "org.created")
    assert (event.org_id, event.target, event.ip, event.user_agent, event.at) == (
        org.id,
        org.id,
        CLIENT.ip,
        CLIENT.user_agent,
        world.clock.now(),
    )
    assert (event.actor.type, event.actor.id, event.actor.email) == ("user", grace.id, "grace@example.com")
    assert event.details == {"name": "Analytical Engines"}
    mine = world.organization_service().mine(grace.id, 50, None).items
    assert [(m.org_id, m.role) for m in mine] == [(org.id, "owner")]


def test_the_creator_can_use_the_new_org_at_once(world, people):
    org, _ = world.organization_service().create(principal(people["grace"]), "Mine", CLIENT)
    entered = world.access().enter(principal(people["grace"]), org.id, rule_for("DELETE /orgs/{org_id}"), CLIENT)
    assert entered.grant.role == Role.OWNER


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Acme  ", "Acme"),
        ("Acme\u200b Corp\n", "Acme Corp"),
        ("\tAda's\x00 Engines\ufeff", "Ada's Engines"),
        ("x" * MAX_RESOURCE_NAME_LENGTH, "x" * MAX_RESOURCE_NAME_LENGTH),
    ],
)
def test_org_names_are_cleaned(world, people, raw, clean):
    org, _ = world.organization_service().create(principal(people["grace"]), raw, CLIENT)
    assert org.name == clean


@pytest.mark.parametrize("name", ["", "   ", "\u200b\u200b", "\n\t", "\x00"])
def test_an_org_name_without_visible_characters_is_refused_and_nothing_is_written(world, people, name):
    with pytest.raises(ValidationFailed):
        world.organization_service().create(principal(people["grace"]), name, CLIENT)
    assert [o for o in world.store.orgs if o != ORG_ID] == []
    assert events(world) == []


def test_an_org_name_longer_than_the_limit_is_refused_not_truncated(world, people):
    with pytest.raises(ValidationFailed):
        world.organization_service().create(principal(people["grace"]), "x" * (MAX_RESOURCE_NAME_LENGTH + 1), CLIENT)


def test_only_a_verified_account_creates_an_org(world, people):
    world.add_user("nova@example.com", verified=False, user_id="usr_01nova")
    with pytest.raises(EmailNotVerified):
        world.organization_service().create(Principal(type="user", id="usr_01nova"), "Acme", CLIENT)
    with pytest.raises(Unauthorized):
        world.organization_service().create(Principal(type="user", id="usr_01gone"), "Acme", CLIENT)
    assert list(world.store.orgs) == [ORG_ID]


def test_update_without_any_field_is_refused(world, people):
    with pytest.raises(ValidationFailed):
        world.organization_service().update(caller(world, people["admin"], "PATCH /orgs/{org_id}"), None, None)
    assert events(world) == []


def test_update_renames_and_sets_the_policy_with_an_event(world, people):
    owner = people["owner"]
    world.users.by_id[owner.id] = replace(owner, two_factor_enabled=True)
    admin = caller(world, people["admin"], "PATCH /orgs/{org_id}")
    org = world.organization_service().update(admin, "  New\u200b name ", True)
    assert (org.name, org.require_2fa) == ("New name", True)
    assert world.store.orgs[ORG_ID] == org
    event = only_event(world, "org.updated")
    assert event.details == {"name": "New name", "require_2fa": "true"}
    assert (event.actor.id, event.target) == (people["admin"].id, ORG_ID)


class SudoProofs:
    """The route's sudo check as the service sees it: counted, and refusing on demand."""

    def __init__(self, refuse: bool = False) -> None:
        self.asked = 0
        self.refuse = refuse

    def __call__(self) -> None:
        self.asked += 1
        if self.refuse:
            raise ReauthenticationRequired("confirm your password first")


def test_changing_the_policy_asks_for_sudo_mode_and_writes_nothing_without_it(world, people):
    owner = people["owner"]
    world.users.by_id[owner.id] = replace(owner, two_factor_enabled=True)
    admin = caller(world, people["admin"], "PATCH /orgs/{org_id}")
    refused = SudoProofs(refuse=True)
    with pytest.raises(ReauthenticationRequired):
        world.organization_service().change_settings(admin, "Renamed", True, refused)
    assert refused.asked == 1
    assert (world.store.orgs[ORG_ID].name, world.store.orgs[ORG_ID].require_2fa) == ("Acme", False)
    assert events(world) == []

    granted = SudoProofs()
    org = world.organization_service().change_settings(admin, None, True, granted)
    assert (granted.asked, org.require_2fa) == (1, True)


def test_asking_for_the_policy_the_org_has_needs_no_sudo_and_writes_nothing(world, people):
    admin = caller(world, people["admin"], "PATCH /orgs/{org_id}")
    proofs = SudoProofs(refuse=True)
    org = world.organization_service().change_settings(admin, None, False, proofs)
    assert (proofs.asked, org) == (0, world.store.orgs[ORG_ID])
    assert events(world) == []


def test_a_rename_with_an_unchanged_policy_writes_only_the_name(world, people):
    admin = caller(world, people["admin"], "PATCH /orgs/{org_id}")
    proofs = SudoProofs(refuse=True)
    org = world.organization_service().change_settings(admin, "Renamed", False, proofs)
    assert (proofs.asked, org.name, org.require_2fa) == (0, "Renamed", False)
    assert only_event(world, "org.updated").details == {"name": "Renamed"}


def test_the_policy_is_refused_while_the_owner_has_no_two_factor(world, people):
    admin = caller(world, people["admin"], "PATCH /orgs/{org_id}")
    with pytest.raises(TwoFactorRequired):
        world.organization_service().update(admin, None, True)
    assert world.store.orgs[ORG_ID].require_2fa is False
    assert not [e for e in world.store.events if e.action == "org.updated"]


def test_switching_the_policy_off_needs_no_two_factor(world, people):
    admin = caller(world, people["admin"], "PATCH /orgs/{org_id}")
    assert world.organization_service().update(admin, None, False).require_2fa is False


def test_update_with_a_blank_name_is_refused(world, people):
    with pytest.raises(ValidationFailed):
        world.organization_service().update(caller(world, people["owner"], "PATCH /orgs/{org_id}"), " ", None)
    assert world.store.orgs[ORG_ID].name == "Acme"


def test_set_plan_changes_the_plan_with_an_event(world, people):
    org = world.organization_service().set_plan(caller(world, people["owner"], "PUT /orgs/{org_id}/billing"), "pro")
    assert org.plan == "pro"
    assert only_event(world, "billing.plan_changed").details == {"plan": "pro", "previous": "free"}


def test_delete_marks_the_org_at_once_and_its_purge_removes_everything_but_the_audit_log(world, people):
    world.invitation_service().invite(
        caller(world, people["owner"], "POST /orgs/{org_id}/invitations"), "new@example.com", "member"
    )
    world.resource_service().create_project(caller(world, people["owner"], "POST /orgs/{org_id}/projects"), "P")
    world.organization_service().delete(caller(world, people["owner"], "DELETE /orgs/{org_id}"))

    # Marked: nothing of it can be used, although nothing is removed yet.
    assert world.orgs.get(ORG_ID) is None
    assert world.orgs.load_access(ORG_ID, people["owner"].id) == (None, None)
    assert world.store.orgs[ORG_ID].deleted_at == world.clock.now()
    assert [k for k in world.store.members if k[0] == ORG_ID] != []
    assert world.organization_service().mine(people["owner"].id, 50, None).items == []
    with pytest.raises(NotFound):
        caller(world, people["owner"], "GET /orgs/{org_id}")

    outcome = world.org_purge_service().purge(ORG_ID, lambda: 60_000)

    assert outcome.finished and outcome.removed > 0
    assert ORG_ID not in world.store.orgs
    assert world.orgs.load_access(ORG_ID, people["owner"].id) == (None, None)
    assert [k for k in world.store.members if k[0] == ORG_ID] == []
    assert world.store.invitations == {} and world.store.tokens == {} and world.store.guards == {}
    assert world.store.resources == {}
    assert world.organization_service().mine(people["owner"].id, 50, None).items == []
    assert events(world, "org.deleted")
    with pytest.raises(NotFound):
        caller(world, people["owner"], "GET /orgs/{org_id}")


def test_the_audit_log_is_newest_first_and_paged(world, people):
    owner = caller(world, people["owner"], "PATCH /orgs/{org_id}")
    for n in range(5):
        world.clock.advance(timedelta(seconds=1))
        world.organization_service().update(owner, f"Name {n}", None)
    service = world.organization_service()
    reader = caller(world, people["admin"], "GET /orgs/{org_id}/audit-log")
    first = service.audit_log(reader, 3, None)
    second = service.audit_log(reader, 3, first.next_cursor)
    names = [e.details["name"] for e in first.items + second.items]
    assert names == ["Name 4", "Name 3", "Name 2", "Name 1", "Name 0"]
    assert second.next_cursor is None


def test_renaming_an_account_refreshes_its_member_copies_and_my_orgs(world, people):
    world.add_org(people["admin"], "org_01beta", name="Beta")
    account = AccountService(users=world.users, memberships=world.orgs, identities=FakeIdentities(world.users))
    view = account.rename(people["admin"].id, "  Adam Smith ")
    assert {(m.org_id, m.role) for m in view.organizations} == {(ORG_ID, "admin"), ("org_01beta", "owner")}
    assert world.store.members[(ORG_ID, people["admin"].id)].name == "Adam Smith"
    assert world.store.members[("org_01beta", people["admin"].id)].name == "Adam Smith"
    assert world.store.members[(ORG_ID, people["owner"].id)].name == "Olive"


# === members ==================================================================================


def test_members_are_listed_in_pages(world, people):
    service = world.member_service()
    reader = caller(world, people["member"], "GET /orgs/{org_id}/members")
    first = service.page(reader, 2, None)
    rest = service.page(reader, 2, first.next_cursor)
    assert len(first.items) == 2 and first.next_cursor is not None
    assert {m.user_id for m in first.items + rest.items} == {
        people["owner"].id,
        people["admin"].id,
        people["member"].id,
    }


def test_change_role_promotes_and_demotes_with_an_event(world, people):
    admin = caller(world, people["admin"], "PATCH /orgs/{org_id}/members/{user_id}")
    member = world.member_service().change_role(admin, people["member"].id, "admin")
    assert member.role == "admin"
    assert world.store.members[(ORG_ID, people["member"].id)].role == "admin"
    event = only_event(world, "member.role_changed")
    assert (event.target, event.details, event.actor.id) == (people["member"].id, {"role": "admin"}, people["admin"].id)
    assert world.member_service().change_role(admin, people["member"].id, "member").role == "member"


@pytest.mark.parametrize("role", ["owner", "Owner", "superuser", ""])
def test_change_role_refuses_anything_but_admin_or_member(world, people, role):
    owner = caller(world, people["owner"], "PATCH /orgs/{org_id}/members/{user_id}")
    with pytest.raises(ValidationFailed):
        world.member_service().change_role(owner, people["member"].id, role)
    assert world.store.members[(ORG_ID, people["member"].id)].role == "member"
    assert owners(world) == [people["owner"].id]
    assert events(world) == []


@pytest.mark.parametrize("role", ["admin", "member"])
def test_the_owner_cannot_be_demoted(world, people, role):
    for who in ("admin", "owner"):
        manager = caller(world, people[who], "PATCH /orgs/{org_id}/members/{user_id}")
        with pytest.raises(OwnerProtected) as raised:
            world.member_service().change_role(manager, people["owner"].id, role)
        assert raised.value.code == "owner_protected"
    assert owners(world) == [people["owner"].id]


def test_change_role_of_a_non_member_is_404(world, people):
    owner = caller(world, people["owner"], "PATCH /orgs/{org_id}/members/{user_id}")
    with pytest.raises(NotFound):
        world.member_service().change_role(owner, people["grace"].id, "admin")


def test_a_role_change_applies_to_the_next_request(world, people):
    owner = caller(world, people["owner"], "PATCH /orgs/{org_id}/members/{user_id}")
    world.member_service().change_role(owner, people["admin"].id, "member")
    with pytest.raises(Forbidden):
        caller(world, people["admin"], "POST /orgs/{org_id}/invitations")


def test_removing_someone_else_is_member_removed(world, people):
    admin = caller(world, people["admin"], "DELETE /orgs/{org_id}/members/{user_id}")
    world.member_service().remove(admin, people["member"].id)
    assert (ORG_ID, people["member"].id) not in world.store.members
    assert world.store.orgs[ORG_ID].member_count == 2
    event = only_event(world, "member.removed")
    assert (event.target, event.actor.id) == (people["member"].id, people["admin"].id)
    assert events(world, "member.left") == []
    with pytest.raises(NotFound):
        caller(world, people["member"], "GET /orgs/{org_id}")


def test_leaving_is_member_left(world, people):
    me = caller(world, people["member"], "DELETE /orgs/{org_id}/members/{user_id}", acting_on_self=True)
    world.member_service().remove(me, people["member"].id)
    assert (ORG_ID, people["member"].id) not in world.store.members
    event = only_event(world, "member.left")
    assert (event.target, event.actor.id) == (people["member"].id, people["member"].id)
    assert events(world, "member.removed") == []


def test_the_owner_can_neither_leave_nor_be_removed(world, people):
    me = caller(world, people["owner"], "DELETE /orgs/{org_id}/members/{user_id}", acting_on_self=True)
    with pytest.raises(OwnerProtected):
        world.member_service().remove(me, people["owner"].id)
    admin = caller(world, people["admin"], "DELETE /orgs/{org_id}/members/{user_id}")
    with pytest.raises(OwnerProtected):
        world.member_service().remove(admin, people["owner"].id)
    assert owners(world) == [people["owner"].id]
    assert events(world) == []


def test_removing_a_non_member_is_404(world, people):
    admin = caller(world, people["admin"], "DELETE /orgs/{org_id}/members/{user_id}")
    with pytest.raises(NotFound):
        world.member_service().remove(admin, people["grace"].id)


def test_transfer_to_yourself_is_refused(world, people):
    owner = caller(world, people["owner"], "POST /orgs/{org_id}/transfer-ownership")
    with pytest.raises(ValidationFailed):
        world.member_service().transfer_ownership(owner, people["owner"].id)
    assert events(world) == []


def test_transfer_to_a_non_member_is_404(world, people):
    owner = caller(world, people["owner"], "POST /orgs/{org_id}/transfer-ownership")
    with pytest.raises(NotFound):
        world.member_service().transfer_ownership(owner, people["grace"].id)
    assert owners(world) == [people["owner"].id]


def test_transfer_makes_the_old_owner_an_admin(world, people):
    owner = caller(world, people["owner"], "POST /orgs/{org_id}/transfer-ownership")
    new_owner = world.member_service().transfer_ownership(owner, people["member"].id)
    assert (new_owner.user_id, new_owner.role) == (people["member"].id, "owner")
    assert owners(world) == [people["member"].id]
    assert world.store.members[(ORG_ID, people["owner"].id)].role == "admin"
    assert world.store.orgs[ORG_ID].owner_id == people["member"].id
    event = only_event(world, "org.ownership_transferred")
    assert (event.target, event.details) == (people["member"].id, {"previous_owner": people["owner"].id})
    # The old owner may now leave; the new one may not.
    former = caller(world, people["owner"], "DELETE /orgs/{org_id}/members/{user_id}", acting_on_self=True)
    world.member_service().remove(former, people["owner"].id)
    with pytest.raises(OwnerProtected):
        world.member_service().remove(former, people["member"].id)


def test_a_stale_owner_cannot_transfer_again(world, people):
    stale = caller(world, people["owner"], "POST /orgs/{org_id}/transfer-ownership")
    world.member_service().transfer_ownership(stale, people["member"].id)
    with pytest.raises(OwnerProtected):
        world.member_service().transfer_ownership(stale, people["admin"].id)
    assert owners(world) == [people["member"].id]


# === invitations ==============================================================================


def inviter(world: OrgWorld, people: dict[str, User], who: str = "admin") -> OrgCaller:
    return caller(world, people[who], "POST /orgs/{org_id}/invitations")


def secret_of(world: OrgWorld, n: int = -1) -> str:
    found = _INVITATION_LINK.findall(world.mailer.sent[n].text)
    assert len(found) == 1, world.mailer.sent[n].text
    secret: str = found[0]
    return secret


def invite(world: OrgWorld, people: dict[str, User], email: str = "grace@example.com", role: str = "member"):
    sent = world.invitation_service().invite(inviter(world, people), email, role)
    return sent, secret_of(world)


def test_invite_stores_a_pending_invitation_and_emails_a_link_to_its_secret(world, people):
    sent = world.invitation_service().invite(inviter(world, people), "  Grace@Example.COM ", "admin")
    assert isinstance(sent, SentInvitation)
    assert sent.email_delivery == "sent"
    invitation = sent.invitation
    assert invitation.id.startswith("inv_")
    assert (invitation.org_id, invitation.org_name, invitation.email, invitation.role, invitation.status) == (
        ORG_ID,
        "Acme",
        "grace@example.com",
        "admin",
        "pending",
    )
    assert (invitation.invited_by, invitation.inviter_name) == (people["admin"].id, "Adam")
    assert invitation.expires_at == world.clock.now() + DEFAULT_INVITATION_LIFETIME
    assert world.store.invitations[(ORG_ID, invitation.id)] == invitation
    assert len(world.mailer.sent) == 1
    email = world.mailer.sent[0]
    assert email.to == "grace@example.com"
    secret = secret_of(world)
    assert len(secret) >= 22  # at least 128 bits of URL-safe base64
    assert hashlib.sha256(secret.encode()).hexdigest() == invitation.token_hash
    assert secret not in repr(world.store.invitations)
    assert f"{PUBLIC_BASE_URL}/invitations/{secret}" in email.html
    for shown in ("Acme", "Adam", "admin"):
        assert shown in email.text
    event = only_event(world, "member.invited")
    assert (event.target, event.details) == ("grace@example.com", {"role": "admin", "invitation_id": invitation.id})


def test_two_invitations_get_different_secrets(world, people):
    invite(world, people, "a@example.com")
    invite(world, people, "b@example.com")
    assert secret_of(world, 0) != secret_of(world, 1)


@pytest.mark.parametrize("role", ["owner", "viewer", "", "Admin"])
def test_invite_refuses_roles_other_than_admin_or_member(world, people, role):
    with pytest.raises(ValidationFailed):
        world.invitation_service().invite(inviter(world, people), "grace@example.com", role)
    assert world.store.invitations == {} and world.mailer.sent == []


@pytest.mark.parametrize("email", ["not-an-email", "", "a@", "@example.com", "a b@example.com"])
def test_invite_refuses_bad_addresses(world, people, email):
    with pytest.raises(InvalidEmail):
        world.invitation_service().invite(inviter(world, people), email, "member")
    assert world.store.invitations == {}


def test_when_the_mailer_fails_the_invitation_exists_and_says_failed(world, people):
    world.mailer.fail = True
    sent = world.invitation_service().invite(inviter(world, people), "new@example.com", "member")
    assert sent.email_delivery == "failed"
    assert world.store.invitations[(ORG_ID, sent.invitation.id)].status == "pending"
    assert events(world, "member.invited")
    world.mailer.fail = False
    resent = world.invitation_service().resend(
        caller(world, people["admin"], "POST /orgs/{org_id}/invitations/{invitation_id}/resend"), sent.invitation.id
    )
    assert resent.email_delivery == "sent"
    assert hashlib.sha256(secret_of(world).encode()).hexdigest() == resent.invitation.token_hash


def test_a_failed_invitation_email_logs_the_error_code_never_the_address(world, people, caplog):
    # SES's sandbox names the refused recipient in its message.
    refusal = "Email address is not verified: grace@example.com"
    error = ClientError({"Error": {"Code": "MessageRejected", "Message": refusal}}, "SendEmail")

    def refuse(email: object) -> None:
        raise error

    world.mailer.send = refuse
    with caplog.at_level(logging.INFO):
        sent = world.invitation_service().invite(inviter(world, people), "grace@example.com", "member")
    assert sent.email_delivery == "failed"
    handler = logging.StreamHandler(io.StringIO())
    text = "\n".join(f"{handler.format(record)} {vars(record)}" for record in caplog.records)
    assert [r.error_code for r in caplog.records if r.getMessage() == "invitation email failed"] == ["MessageRejected"]
    assert "grace@" not in text, text


def test_when_the_address_had_too_many_emails_the_invitation_exists_and_says_failed(world, people):
    world.limiter.refuse.add(INVITATION_EMAILS_PER_ADDRESS.name)
    sent = world.invitation_service().invite(inviter(world, people), "new@example.com", "member")
    assert sent.email_delivery == "failed"
    assert world.mailer.sent == []
    assert (ORG_ID, sent.invitation.id) in world.store.invitations


def test_an_org_over_its_invitation_limit_is_rate_limited_and_nothing_is_written(world, people):
    world.limiter.refuse.add(INVITATIONS_PER_ORG.name)
    with pytest.raises(RateLimited) as raised:
        world.invitation_service().invite(inviter(world, people), "new@example.com", "member")
    assert raised.value.status == 429
    assert raised.value.retry_after >= 1
    assert world.store.invitations == {} and world.mailer.sent == [] and events(world) == []


def test_the_org_limit_counts_invitations_per_org(world, people):
    service = world.invitation_service()
    for n in range(INVITATIONS_PER_ORG.limit):
        service.invite(inviter(world, people), f"p{n}@example.com", "member")
    with pytest.raises(RateLimited):
        service.invite(inviter(world, people), "one-more@example.com", "member")


def test_a_second_pending_invitation_to_the_same_address_is_already_invited(world, people):
    invite(world, people, "grace@example.com")
    with pytest.raises(AlreadyInvited) as raised:
        world.invitation_service().invite(inviter(world, people, "owner"), "GRACE@example.com", "admin")
    assert (raised.value.status, raised.value.code) == (409, "already_invited")
    assert len(world.store.invitations) == 1


def test_an_expired_invitation_does_not_block_a_new_one(world, people):
    invite(world, people, "grace@example.com")
    world.clock.advance(DEFAULT_INVITATION_LIFETIME)
    sent, _ = invite(world, people, "grace@example.com")
    assert sent.invitation.status == "pending"
    assert len(world.store.invitations) == 2


def test_inviting_a_member_is_already_member(world, people):
    with pytest.raises(AlreadyMember) as raised:
        world.invitation_service().invite(inviter(world, people), "Mia@example.com", "admin")
    assert (raised.value.status, raised.value.code) == (409, "already_member")


def test_accept_creates_the_membership_and_consumes_the_invitation(world, people):
    sent, secret = invite(world, people, role="admin")
    world.clock.advance(timedelta(hours=1))
    accepted = world.invitation_service().accept(people["grace"].id, secret, CLIENT)
    assert accepted.status == "accepted"
    member = world.store.members[(ORG_ID, people["grace"].id)]
    assert (member.role, member.email, member.joined_at) == ("admin", "grace@example.com", world.clock.now())
    assert world.store.orgs[ORG_ID].member_count == 4
    assert world.store.invitations[(ORG_ID, sent.invitation.id)].status == "accepted"
    event = only_event(world, "member.joined")
    assert (event.actor.id, event.target, event.details["role"]) == (people["grace"].id, people["grace"].id, "admin")
    assert caller(world, people["grace"], "POST /orgs/{org_id}/invitations").grant.role == Role.ADMIN


def test_an_accepted_invitation_is_used(world, people):
    _, secret = invite(world, people)
    world.invitation_service().accept(people["grace"].id, secret, CLIENT)
    with pytest.raises(InvitationUsed) as raised:
        world.invitation_service().accept(people["grace"].id, secret, CLIENT)
    assert (raised.value.status, raised.value.code) == (410, "invitation_used")
    with pytest.raises(InvitationUsed):
        world.invitation_service().view(secret)
    with pytest.raises(InvitationUsed):
        world.invitation_service().decline(people["grace"].id, secret, CLIENT)


def test_accept_by_someone_with_another_address_is_a_mismatch(world, people):
    _, secret = invite(world, people)
    world.add_user("eve@example.com", user_id="usr_01eve")
    with pytest.raises(InvitationEmailMismatch) as raised:
        world.invitation_service().accept("usr_01eve", secret, CLIENT)
    assert (raised.value.status, raised.value.code) == (403, "invitation_email_mismatch")
    assert (ORG_ID, "usr_01eve") not in world.store.members
    assert world.invitation_service().view(secret).status == "pending"


def test_accept_needs_a_verified_address(world, people):
    _, secret = invite(world, people, "nova@example.com")
    world.add_user("nova@example.com", verified=False, user_id="usr_01nova")
    with pytest.raises(EmailNotVerified):
        world.invitation_service().accept("usr_01nova", secret, CLIENT)


def test_accept_by_an_account_that_no_longer_exists_is_unauthorized(world, people):
    _, secret = invite(world, people)
    with pytest.raises(Unauthorized):
        world.invitation_service().accept("usr_01gone", secret, CLIENT)


def test_an_expired_invitation_cannot_be_viewed_accepted_or_declined(world, people):
    _, secret = invite(world, people)
    world.clock.advance(DEFAULT_INVITATION_LIFETIME)
    service = world.invitation_service()
    with pytest.raises(InvitationExpired) as raised:
        service.accept(people["grace"].id, secret, CLIENT)
    assert (raised.value.status, raised.value.code) == (410, "invitation_expired")
    with pytest.raises(InvitationExpired):
        service.view(secret)
    with pytest.raises(InvitationExpired):
        service.decline(people["grace"].id, secret, CLIENT)
    assert (ORG_ID, people["grace"].id) not in world.store.members


def test_a_revoked_invitation_answers_404_and_frees_the_address(world, people):
    sent, secret = invite(world, people)
    world.invitation_service().revoke(
        caller(world, people["admin"], "DELETE /orgs/{org_id}/invitations/{invitation_id}"), sent.invitation.id
    )
    service = world.invitation_service()
    for answer in (service.view, lambda s: service.accept(people["grace"].id, s, CLIENT)):
        with pytest.raises(NotFound):
            answer(secret)
    assert world.store.invitations[(ORG_ID, sent.invitation.id)].status == "revoked"
    assert only_event(world, "invitation.revoked").details == {"invitation_id": sent.invitation.id}
    invite(world, people)  # no longer "already invited"


def test_revoking_twice_or_an_unknown_invitation_is_404(world, people):
    sent, _ = invite(world, people)
    revoker = caller(world, people["admin"], "DELETE /orgs/{org_id}/invitations/{invitation_id}")
    world.invitation_service().revoke(revoker, sent.invitation.id)
    for invitation_id in (sent.invitation.id, "inv_01nope"):
        with pytest.raises(NotFound):
            world.invitation_service().revoke(revoker, invitation_id)


@pytest.mark.parametrize("secret", ["", "nope", "x" * 129, "a" * 43])
def test_an_unknown_token_answers_404(world, people, secret):
    invite(world, people)
    with pytest.raises(NotFound):
        world.invitation_service().view(secret)
    with pytest.raises(NotFound):
        world.invitation_service().accept(people["grace"].id, secret, CLIENT)


def test_decline_consumes_the_invitation_without_a_membership(world, people):
    sent, secret = invite(world, people)
    world.invitation_service().decline(people["grace"].id, secret, CLIENT)
    assert world.store.invitations[(ORG_ID, sent.invitation.id)].status == "declined"
    assert (ORG_ID, people["grace"].id) not in world.store.members
    assert only_event(world, "invitation.declined").actor.id == people["grace"].id
    with pytest.raises(InvitationUsed):
        world.invitation_service().accept(people["grace"].id, secret, CLIENT)
    invite(world, people)  # the address may be invited again


def test_decline_by_someone_else_is_a_mismatch(world, people):
    _, secret = invite(world, people)
    with pytest.raises(InvitationEmailMismatch):
        world.invitation_service().decline(people["member"].id, secret, CLIENT)


def test_view_shows_the_invitation_and_changes_nothing(world, people):
    sent, secret = invite(world, people)
    before = (dict(world.store.invitations), dict(world.store.tokens), list(world.store.events))
    shown = world.invitation_service().view(secret)
    assert shown == sent.invitation
    assert (dict(world.store.invitations), dict(world.store.tokens), list(world.store.events)) == before


def test_resend_gives_a_new_link_kills_the_old_one_and_resets_the_expiry(world, people):
    sent, old_secret = invite(world, people)
    world.clock.advance(timedelta(days=6))
    resender = caller(world, people["admin"], "POST /orgs/{org_id}/invitations/{invitation_id}/resend")
    resent = world.invitation_service().resend(resender, sent.invitation.id)
    new_secret = secret_of(world)
    assert resent.email_delivery == "sent"
    assert resent.invitation.id == sent.invitation.id
    assert resent.invitation.token_hash != sent.invitation.token_hash
    assert resent.invitation.token_hash == hashlib.sha256(new_secret.encode()).hexdigest()
    assert resent.invitation.expires_at == world.clock.now() + DEFAULT_INVITATION_LIFETIME
    assert world.store.invitations[(ORG_ID, sent.invitation.id)].token_hash == resent.invitation.token_hash
    with pytest.raises(NotFound):
        world.invitation_service().view(old_secret)
    with pytest.raises(NotFound):
        world.invitation_service().accept(people["grace"].id, old_secret, CLIENT)
    assert only_event(world, "invitation.resent").details == {"invitation_id": sent.invitation.id}
    world.clock.advance(timedelta(days=2))  # past the first expiry, within the new one
    assert world.invitation_service().accept(people["grace"].id, new_secret, CLIENT).status == "accepted"


def test_an_expired_invitation_can_be_resent(world, people):
    sent, _ = invite(world, people)
    world.clock.advance(DEFAULT_INVITATION_LIFETIME + timedelta(days=1))
    resender = caller(world, people["admin"], "POST /orgs/{org_id}/invitations/{invitation_id}/resend")
    world.invitation_service().resend(resender, sent.invitation.id)
    world.invitation_service().accept(people["grace"].id, secret_of(world), CLIENT)
    assert (ORG_ID, people["grace"].id) in world.store.members


def test_only_pending_invitations_can_be_resent(world, people):
    sent, secret = invite(world, people)
    world.invitation_service().accept(people["grace"].id, secret, CLIENT)
    resender = caller(world, people["admin"], "POST /orgs/{org_id}/invitations/{invitation_id}/resend")
    for invitation_id in (sent.invitation.id, "inv_01nope"):
        with pytest.raises(NotFound):
            world.invitation_service().resend(resender, invitation_id)


def test_pending_lists_only_pending_invitations(world, people):
    a, _ = invite(world, people, "a@example.com")
    _, b_secret = invite(world, people, "grace@example.com")
    world.invitation_service().accept(people["grace"].id, b_secret, CLIENT)
    lister = caller(world, people["admin"], "GET /orgs/{org_id}/invitations")
    assert [i.id for i in world.invitation_service().pending(lister, 50, None).items] == [a.invitation.id]


def test_mine_lists_pending_invitations_for_a_verified_address_and_answers_by_id(world, people):
    first, _ = invite(world, people)
    world.add_org(people["admin"], "org_01beta", name="Beta")
    other = world.invitation_service().invite(
        world.access().enter(
            principal(people["admin"]), "org_01beta", rule_for("POST /orgs/{org_id}/invitations"), CLIENT
        ),
        "grace@example.com",
        "member",
    )
    service = world.invitation_service()
    listed = service.mine(people["grace"].id, 50, None).items
    assert {i.id for i in listed} == {first.invitation.id, other.invitation.id}
    accepted = service.accept_by_id(people["grace"].id, first.invitation.id, CLIENT)
    assert accepted.status == "accepted"
    service.decline_by_id(people["grace"].id, other.invitation.id, CLIENT)
    assert service.mine(people["grace"].id, 50, None).items == []
    assert (ORG_ID, people["grace"].id) in world.store.members
    assert ("org_01beta", people["grace"].id) not in world.store.members


def test_mine_is_empty_for_an_unverified_address_and_by_id_is_404(world, people):
    sent, _ = invite(world, people, "nova@example.com")
    world.add_user("nova@example.com", verified=False, user_id="usr_01nova")
    assert world.invitation_service().mine("usr_01nova", 50, None) == Page([], None)
    with pytest.raises(NotFound):
        world.invitation_service().accept_by_id("usr_01nova", sent.invitation.id, CLIENT)


def test_someone_else_s_invitation_by_id_is_404(world, people):
    sent, _ = invite(world, people)
    with pytest.raises(NotFound):
        world.invitation_service().accept_by_id(people["member"].id, sent.invitation.id, CLIENT)


def test_an_invitation_to_a_deleted_org_cannot_be_accepted(world, people):
    sent, secret = invite(world, people)
    world.store.orgs[ORG_ID] = replace(world.store.orgs[ORG_ID], deleted_at=world.clock.now())
    with pytest.raises(NotFound):
        world.invitation_service().accept(people["grace"].id, secret, CLIENT)
    assert (ORG_ID, people["grace"].id) not in world.store.members
    assert isinstance(world.store.invitations[(ORG_ID, sent.invitation.id)], Invitation)


# === resources =================================================================================

PROJECTS = "POST /orgs/{org_id}/projects"
PROJECT = "PATCH /orgs/{org_id}/projects/{project_id}"
APPS = "POST /orgs/{org_id}/projects/{project_id}/applications"
DEPLOY = "POST /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments"
DATABASES = "POST /orgs/{org_id}/databases"
CHANNELS = "POST /orgs/{org_id}/notification-channels"


@pytest.fixture
def app(world, people):
    admin = caller(world, people["admin"], APPS)
    project = world.resource_service().create_project(admin, "Web")
    application = world.resource_service().create_application(admin, project.id, "Frontend")
    return project, application


def deploy(world: OrgWorld, people: dict[str, User], app, ref: str | None):
    project, application = app
    return world.resource_service().deploy(caller(world, people["member"], DEPLOY), project.id, application.id, ref)


def test_create_project_cleans_the_name_and_records_the_event(world, people):
    project = world.resource_service().create_project(caller(world, people["admin"], PROJECTS), "  Web\u200b site ")
    assert project.id.startswith("prj_")
    assert (project.kind, project.org_id, project.name, project.created_by) == (
        ResourceKind.PROJECT,
        ORG_ID,
        "Web site",
        people["admin"].id,
    )
    assert project.created_at == project.updated_at == world.clock.now()
    event = only_event(world, "project.created")
    assert (event.target, event.details) == (project.id, {"name": "Web site"})
    reader = caller(world, people["member"], "GET /orgs/{org_id}/projects")
    assert world.resource_service().projects(reader, 50, None).items == [project]
    assert world.resource_service().project(reader, project.id) == project


def test_a_key_creates_a_project_as_itself(world, people):
    project = world.resource_service().create_project(key_caller(world, PROJECTS, "projects:write"), "CI")
    assert project.created_by == "key_1"
    assert only_event(world, "project.created").actor.type == "api_key"


@pytest.mark.parametrize("name", ["", "  ", "\u200b"])
def test_a_blank_resource_name_is_refused(world, people, name):
    service = world.resource_service()
    admin = caller(world, people["admin"], PROJECTS)
    creates: tuple[Callable[[], object], ...] = (
        lambda: service.create_project(admin, name),
        lambda: service.create_database(admin, name, "postgres"),
        lambda: service.create_channel(admin, name, "email", "ops@example.com"),
    )
    for create in creates:
        with pytest.raises(ValidationFailed):
            create()
    assert world.store.resources == {}


def test_rename_and_delete_a_project_sweep_its_applications_and_deployments(world, people, app):
    project, application = app
    deploy(world, people, app, "main")
    service = world.resource_service()
    admin = caller(world, people["admin"], PROJECT)
    renamed = service.rename_project(admin, project.id, " Site ")
    assert renamed.name == "Site"
    assert only_event(world, "project.renamed").details == {"name": "Site"}
    service.delete_project(admin, project.id)
    assert world.store.resources == {}
    assert only_event(world, "project.deleted").target == project.id
    with pytest.raises(NotFound):
        service.project(admin, project.id)
    with pytest.raises(NotFound):
        service.create_application(admin, project.id, "Late")
    with pytest.raises(NotFound):
        service.deploy(admin, project.id, application.id, None)


def test_an_application_lives_in_its_project(world, people, app):
    project, application = app
    service = world.resource_service()
    admin = caller(world, people["admin"], APPS)
    other = service.create_project(admin, "Other")
    assert [a.id for a in service.applications(admin, project.id, 50, None).items] == [application.id]
    assert service.applications(admin, other.id, 50, None).items == []
    with pytest.raises(NotFound):
        service.delete_application(admin, other.id, application.id)
    with pytest.raises(NotFound):
        service.applications(admin, "prj_01nope", 50, None)
    service.delete_application(admin, project.id, application.id)
    assert only_event(world, "application.deleted").target == application.id


def test_deploy_queues_a_deployment_of_head_without_a_ref(world, people, app):
    deployment = deploy(world, people, app, None)
    assert deployment.id.startswith("dep_")
    assert deployment.fields == {"status": "queued", "ref": "HEAD"}
    assert (deployment.parent_id, deployment.created_by, deployment.name) == (
        app[1].id,
        people["member"].id,
        "Frontend",
    )
    event = only_event(world, "deployment.requested")
    assert event.details == {"name": "Frontend", "status": "queued", "ref": "HEAD"}
    assert deploy(world, people, app, "").fields["ref"] == "HEAD"


def test_deployments_are_listed_newest_first(world, people, app):
    refs = ["v1", "v2", "v3"]
    for ref in refs:
        world.clock.advance(timedelta(seconds=1))
        deploy(world, people, app, ref)
    listed = world.resource_service().deployments(
        caller(world, people["member"], DEPLOY), app[0].id, app[1].id, 50, None
    )
    assert [d.fields["ref"] for d in listed.items] == refs[::-1]


GOOD_REFS = ["main", "v1.2.3", "feature/x", "release-2024.10", "0123abcd" * 5, "user/jo_e/fix-1", "x" * 255]


@pytest.mark.parametrize("ref", GOOD_REFS)
def test_deploy_accepts_git_refs(world, people, app, ref):
    assert deploy(world, people, app, ref).fields["ref"] == ref


BAD_REFS = [
    "a..b",
    " ",
    "main ",
    " main",
    "a b",
    "/main",
    "main/",
    "main.",
    "a//b",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a\tb",
    "a\x00b",
    "a\x1fb",
    "a\x7fb",
    "x" * 256,
]


@pytest.mark.parametrize("ref", BAD_REFS)
def test_deploy_refuses_what_is_not_a_git_ref(world, people, app, ref):
    with pytest.raises(ValidationFailed):
        deploy(world, people, app, ref)
    assert events(world, "deployment.requested") == []


@pytest.mark.parametrize("ref", ["main\n", "v1.2.3\n"])
def test_deploy_refuses_a_ref_with_a_trailing_newline(world, people, app, ref):
    with pytest.raises(ValidationFailed):
        deploy(world, people, app, ref)


@pytest.mark.parametrize("ref", ["-", "-rf", "--upload-pack=x"])
def test_deploy_refuses_a_ref_that_starts_with_a_dash(world, people, app, ref):
    with pytest.raises(ValidationFailed):
        deploy(world, people, app, ref)


@pytest.mark.parametrize("engine", ["postgres", "mysql", "mariadb", "mongo", "redis"])
def test_databases_take_the_engines_of_api_md(world, people, engine):
    admin = caller(world, people["admin"], DATABASES)
    database = world.resource_service().create_database(admin, "Main", engine)
    assert database.id.startswith("db_")
    assert database.fields == {"engine": engine}
    assert only_event(world, "database.created").details == {"name": "Main", "engine": engine}
    world.resource_service().delete_database(admin, database.id)
    assert world.resource_service().databases(admin, 50, None).items == []
    assert only_event(world, "database.deleted").target == database.id


@pytest.mark.parametrize("engine", ["oracle", "Postgres", "", "postgres ", "sqlite"])
def test_databases_refuse_other_engines(world, people, engine):
    with pytest.raises(ValidationFailed):
        world.resource_service().create_database(caller(world, people["admin"], DATABASES), "Main", engine)
    assert world.store.resources == {}


def test_an_email_channel_target_is_canonicalised(world, people):
    admin = caller(world, people["admin"], CHANNELS)
    channel = world.resource_service().create_channel(admin, "Ops", "email", "  Ops@Example.COM ")
    assert channel.id.startswith("nch_")
    assert channel.fields == {"kind": "email", "target": "ops@example.com"}
    assert only_event(world, "notification_channel.created").details["target"] == "ops@example.com"


def test_an_email_channel_needs_an_address(world, people):
    with pytest.raises(InvalidEmail):
        world.resource_service().create_channel(caller(world, people["admin"], CHANNELS), "Ops", "email", "nope")


@pytest.mark.parametrize(
    ("target", "stored"),
    [
        ("https://hooks.example.com/k/1?x=y", "https://hooks.example.com/k/1?x=y"),
        ("  https://hooks.example.com  ", "https://hooks.example.com"),
        ("https://hooks.example.com:8443/", "https://hooks.example.com:8443/"),
    ],
)
def test_a_webhook_channel_takes_an_https_url(world, people, target, stored):
    admin = caller(world, people["admin"], CHANNELS)
    channel = world.resource_service().create_channel(admin, "Hook", "webhook", target)
    assert channel.fields == {"kind": "webhook", "target": stored}
    world.resource_service().delete_channel(admin, channel.id)
    assert world.resource_service().channels(admin, 50, None).items == []


@pytest.mark.parametrize(
    "target",
    [
        "http://hooks.example.com/k",
        "https://",
        "https:///path",
        "ftp://hooks.example.com",
        "hooks.example.com",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com/a b",
        "javascript:alert(1)",
        "",
        "https://h.example.com/" + "x" * 2048,
    ],
)
def test_a_webhook_channel_refuses_anything_but_https(world, people, target):
    with pytest.raises(ValidationFailed):
        world.resource_service().create_channel(caller(world, people["admin"], CHANNELS), "Hook", "webhook", target)
    assert world.store.resources == {}


@pytest.mark.parametrize("kind", ["sms", "", "Email", "slack"])
def test_a_channel_kind_must_be_email_or_webhook(world, people, kind):
    with pytest.raises(ValidationFailed):
        world.resource_service().create_channel(
            caller(world, people["admin"], CHANNELS), "X", kind, "https://hooks.example.com"
        )


def test_deleting_what_does_not_exist_is_404(world, people):
    service = world.resource_service()
    admin = caller(world, people["admin"], DATABASES)
    deletes: tuple[Callable[[], object], ...] = (
        lambda: service.delete_project(admin, "prj_01nope"),
        lambda: service.delete_database(admin, "db_01nope"),
        lambda: service.delete_channel(admin, "nch_01nope"),
        lambda: service.delete_application(admin, "prj_01nope", "app_01nope"),
    )
    for delete in deletes:
        with pytest.raises(NotFound):
            delete()
    assert events(world) == []

"""OrganizationRepository: what AccessService, OrganizationService and MemberService rely
on, on the fake and on DynamoDB. The one-owner rule, the live organization, the member
count, and an audit event written with each change and never with a refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from pynamodb.exceptions import TransactWriteError

from kuploy_access.adapters.dynamodb.keys import member_sk, org_pk, user_pk
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed
from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.errors import Forbidden, NotFound, OwnerProtected, ValidationFailed
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from kuploy_access.domain.org_purge import PURGE_STEP_ITEMS, OrganizationNotDeleted, PurgeStep
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import Role
from kuploy_access.domain.resources import Resource, ResourceKind
from kuploy_access.domain.users import OrganizationMembership
from tests.contract.cursors import cursor_of, every_page, forged_cursors, truncated
from tests.contract.org_fixtures import (
    NOW,
    ORG_ID,
    OWNER_ID,
    OrgHouse,
    a_member,
    a_resource,
    an_api_key,
    an_event,
    an_invitation,
    an_org,
    founded,
    join,
    org_house,
)

ADA, BOB, CY = "usr_01ada", "usr_01bob", "usr_01cy"


@pytest.fixture(params=["fake", "dynamo"])
def house(request: pytest.FixtureRequest) -> OrgHouse:
    return org_house(request)


# --- create, get, load_access --------------------------------------------------------------------


def test_a_new_organization_has_its_owner_as_its_one_member(house: OrgHouse) -> None:
    org, owner = an_org()
    house.orgs.create(replace(org, member_count=7), owner, an_event(action="org.created"))

    assert house.orgs.get(ORG_ID) == replace(org, member_count=1)
    assert house.orgs.get_member(ORG_ID, OWNER_ID) == owner
    assert house.orgs.load_access(ORG_ID, OWNER_ID) == (replace(org, member_count=1), owner)
    assert house.orgs.all_members(ORG_ID) == [owner]
    assert house.actions() == ["org.created"]


def test_an_organization_is_never_created_over_another(house: OrgHouse) -> None:
    first = founded(house)
    org, owner = an_org(owner_id=ADA, name="Squatter")

    with pytest.raises(ConditionFailed):
        house.orgs.create(org, owner, an_event(action="org.created"))

    assert house.orgs.get(ORG_ID) == first
    assert house.orgs.get_member(ORG_ID, ADA) is None
    assert house.actions() == ["org.created"]


def test_load_access_answers_the_live_organization_and_the_caller_s_membership(house: OrgHouse) -> None:
    org = founded(house)
    ada = join(house, ADA, two_factor=True)
    org = replace(org, member_count=2)

    assert house.orgs.load_access(ORG_ID, ADA) == (org, ada)
    assert house.orgs.load_access(ORG_ID, BOB) == (org, None)
    assert house.orgs.load_access("org_01unknown", ADA) == (None, None)


def test_a_deleted_organization_is_gone_for_every_reader(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)

    house.orgs.mark_deleted(ORG_ID, NOW, an_event(action="org.deleted"))

    assert house.orgs.get(ORG_ID) is None
    assert house.orgs.load_access(ORG_ID, OWNER_ID) == (None, None)
    assert house.orgs.load_access(ORG_ID, ADA) == (None, None)
    assert house.orgs.organizations_of(ADA) == []
    assert house.actions()[-1] == "org.deleted"


def test_nothing_changes_in_a_deleted_organization(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA, Role.ADMIN.value)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event(action="org.deleted"))
    trail = house.actions()

    with pytest.raises(NotFound):
        house.orgs.mark_deleted(ORG_ID, NOW, an_event())
    with pytest.raises(NotFound):
        house.orgs.update(ORG_ID, {"name": "Renamed"}, an_event())
    with pytest.raises(NotFound):
        house.orgs.change_role(ORG_ID, ADA, Role.MEMBER.value, an_event())
    with pytest.raises(NotFound):
        house.orgs.remove_member(ORG_ID, ADA, an_event())
    with pytest.raises(NotFound):
        house.orgs.transfer_ownership(ORG_ID, OWNER_ID, ADA, an_event())
    # Not even the owner: the organization answers first.
    with pytest.raises(NotFound):
        house.orgs.change_role(ORG_ID, OWNER_ID, Role.MEMBER.value, an_event())
    with pytest.raises(NotFound):
        house.orgs.remove_member(ORG_ID, OWNER_ID, an_event())

    assert house.actions() == trail
    assert house.orgs.get_member(ORG_ID, ADA) == a_member(ORG_ID, ADA, Role.ADMIN.value, last_active_at=NOW)


def test_an_unknown_organization_is_not_found(house: OrgHouse) -> None:
    assert house.orgs.get("org_01unknown") is None
    with pytest.raises(NotFound):
        house.orgs.update("org_01unknown", {"name": "X"}, an_event("org_01unknown"))
    with pytest.raises(NotFound):
        house.orgs.mark_deleted("org_01unknown", NOW, an_event("org_01unknown"))
    assert house.actions("org_01unknown") == []


# --- touch_member -------------------------------------------------------------------------------


def test_touch_member_records_activity_only_when_the_last_is_stale(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)  # last active at NOW
    later = NOW + timedelta(minutes=30)

    house.orgs.touch_member(ORG_ID, ADA, later, stale_before=NOW - timedelta(seconds=1))
    assert house.orgs.get_member(ORG_ID, ADA).last_active_at == NOW  # type: ignore[union-attr]

    house.orgs.touch_member(ORG_ID, ADA, later, stale_before=NOW)  # at the edge: stale
    assert house.orgs.get_member(ORG_ID, ADA).last_active_at == later  # type: ignore[union-attr]

    house.orgs.touch_member(ORG_ID, ADA, later + timedelta(hours=2), stale_before=later + timedelta(hours=1))
    assert house.orgs.get_member(ORG_ID, ADA).last_active_at == later + timedelta(hours=2)  # type: ignore[union-attr]


def test_touch_member_never_makes_a_member(house: OrgHouse) -> None:
    founded(house)

    house.orgs.touch_member(ORG_ID, ADA, NOW, stale_before=NOW)
    house.orgs.touch_member("org_01unknown", ADA, NOW, stale_before=NOW)

    assert house.orgs.get_member(ORG_ID, ADA) is None
    assert house.orgs.get_member("org_01unknown", ADA) is None
    assert house.orgs.load_access(ORG_ID, ADA)[1] is None


# --- update -------------------------------------------------------------------------------------


def test_update_changes_the_name_the_policy_and_the_plan_and_answers_the_result(house: OrgHouse) -> None:
    org = founded(house)

    renamed = house.orgs.update(ORG_ID, {"name": "Acme Works", "require_2fa": True}, an_event(action="org.updated"))
    replanned = house.orgs.update(ORG_ID, {"plan": "team"}, an_event(action="billing.plan_changed"))

    assert renamed == replace(org, name="Acme Works", require_2fa=True)
    assert replanned == replace(org, name="Acme Works", require_2fa=True, plan="team")
    assert house.orgs.get(ORG_ID) == replanned
    assert house.orgs.organizations_of(OWNER_ID) == [
        OrganizationMembership(org_id=ORG_ID, org_name="Acme Works", role=Role.OWNER.value, plan="team")
    ]
    assert house.actions() == ["org.created", "org.updated", "billing.plan_changed"]


def test_update_leaves_what_it_does_not_know(house: OrgHouse) -> None:
    org = founded(house)

    updated = house.orgs.update(ORG_ID, {"name": "Acme Works", "owner_id": ADA, "member_count": 9}, an_event())

    assert updated == replace(org, name="Acme Works")


# --- purge ----------------------------------------------------------------------------------------


def purge_all(house: OrgHouse, org_id: str = ORG_ID, limit: int = PURGE_STEP_ITEMS) -> list[PurgeStep]:
    """Steps until the organization is gone; answers each step."""
    steps: list[PurgeStep] = []
    while not steps or not steps[-1].finished:
        steps.append(house.purge.purge_step(org_id, limit))
        assert len(steps) < 100, steps
    return steps


def a_full_org(house: OrgHouse) -> tuple[Invitation, Resource, ApiKey]:
    """Two members, a pending invitation (with its link and invitee guard), a project,
    an API key; and another organization of the owner beside it."""
    founded(house)
    join(house, ADA)
    pending = an_invitation(email="grace@example.com")
    house.invitations.create(pending, None, NOW, an_event())
    project = a_resource(ResourceKind.PROJECT)
    house.resources.create(project, an_event())
    key = an_api_key()
    house.api_keys.create(key, an_event())
    founded(house, "org_01other", BOB)
    return pending, project, key


def test_purge_removes_what_a_deleted_organization_held_and_can_run_again(house: OrgHouse) -> None:
    pending, project, key = a_full_org(house)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event(action="org.deleted"))
    trail = house.actions()

    steps = purge_all(house)

    assert sum(step.removed for step in steps) >= 6  # two members, an invitation, its link, a project, a key
    assert house.purge.purge_step(ORG_ID, PURGE_STEP_ITEMS) == PurgeStep(0, finished=True)
    assert house.orgs.get(ORG_ID) is None
    assert house.orgs.load_access(ORG_ID, OWNER_ID) == (None, None)
    assert house.orgs.all_members(ORG_ID) == []
    assert house.orgs.get_member(ORG_ID, OWNER_ID) is None
    assert house.orgs.organizations_of(ADA) == []
    assert house.invitations.of_org(ORG_ID) == []
    assert house.invitations.by_token(pending.token_hash) is None
    assert house.invitations.get(ORG_ID, pending.id) is None
    assert house.invitations.pending_to_page("grace@example.com", NOW, 10, None) == Page([], None)
    assert house.invitations.sent_to("grace@example.com", pending.id) is None
    assert house.resources.get(ORG_ID, ResourceKind.PROJECT, project.id) is None
    assert house.api_keys.of_org(ORG_ID) == []
    assert house.api_keys.get(ORG_ID, key.id) is None
    # The audit log stays (until its retention ends); other organizations are untouched.
    assert house.actions() == trail
    assert house.orgs.get_member("org_01other", BOB) is not None


def test_a_purge_goes_a_bounded_step_at_a_time_keys_first(house: OrgHouse) -> None:
    _, project, key = a_full_org(house)
    for n in range(3):
        join(house, f"usr_01extra{n}")
    house.orgs.mark_deleted(ORG_ID, NOW, an_event(action="org.deleted"))

    first = house.purge.purge_step(ORG_ID, 2)

    assert first == PurgeStep(1, finished=False)
    assert house.api_keys.get(ORG_ID, key.id) is None, "the keys go first"
    assert house.resources.get(ORG_ID, ResourceKind.PROJECT, project.id) is not None
    steps = purge_all(house, limit=2)
    assert all(step.removed <= 2 for step in steps), steps
    assert len(steps) >= 4, steps
    assert house.orgs.all_members(ORG_ID) == [] and house.orgs.get(ORG_ID) is None


def test_a_live_organization_is_never_purged(house: OrgHouse) -> None:
    a_full_org(house)

    with pytest.raises(OrganizationNotDeleted):
        house.purge.purge_step(ORG_ID, PURGE_STEP_ITEMS)

    assert len(house.orgs.all_members(ORG_ID)) == 2
    assert len(house.api_keys.of_org(ORG_ID)) == 1


def test_a_hand_over_touches_only_a_deleted_organization_and_never_brings_one_back(house: OrgHouse) -> None:
    org = founded(house)
    founded(house, "org_01other", BOB)
    assert house.purge.hand_over(ORG_ID, None) is False
    assert house.orgs.get(ORG_ID) == org, "a live organization is left alone"

    house.orgs.mark_deleted("org_01other", NOW, an_event("org_01other", action="org.deleted"))
    assert house.purge.hand_over("org_01other", None) is True
    assert house.orgs.get("org_01other") is None
    purge_all(house, "org_01other")
    assert house.purge.hand_over("org_01other", 1) is False

    # A hand-over that wrote a profile back would make the next run refuse it as live.
    assert house.purge.purge_step("org_01other", PURGE_STEP_ITEMS) == PurgeStep(0, finished=True)
    assert house.orgs.get("org_01other") is None


def test_a_hand_over_happens_once_for_each_change_the_stream_carried(house: OrgHouse) -> None:
    # A retried batch brings the same record again: only the first run that hands
    # over for it does (the profile's count has moved on), so chains never double.
    founded(house)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event(action="org.deleted"))

    assert house.purge.hand_over(ORG_ID, None) is True, "the mark's record (no count yet)"
    assert house.purge.hand_over(ORG_ID, None) is False, "the same record, retried"
    assert house.purge.hand_over(ORG_ID, 1) is True, "the first hand-over's record"
    assert house.purge.hand_over(ORG_ID, 1) is False
    assert house.purge.hand_over(ORG_ID, 5) is False, "a count the profile never had"


# --- organizations_of, rename_member ----------------------------------------------------------------


def test_organizations_of_lists_the_live_ones_a_person_belongs_to_in_id_order(house: OrgHouse) -> None:
    founded(house, "org_03c", ADA)
    founded(house, "org_01a", OWNER_ID)
    founded(house, "org_02b", OWNER_ID)
    join(house, ADA, Role.ADMIN.value, org_id="org_01a")
    join(house, ADA, org_id="org_02b")
    house.orgs.update("org_02b", {"plan": "pro", "name": "Bee"}, an_event("org_02b"))

    assert house.orgs.organizations_of(ADA) == [
        OrganizationMembership(org_id="org_01a", org_name="Acme", role="admin", plan="free"),
        OrganizationMembership(org_id="org_02b", org_name="Bee", role="member", plan="pro"),
        OrganizationMembership(org_id="org_03c", org_name="Acme", role="owner", plan="free"),
    ]

    house.orgs.mark_deleted("org_02b", NOW, an_event("org_02b"))
    house.orgs.remove_member("org_01a", ADA, an_event("org_01a"))

    assert house.orgs.organizations_of(ADA) == [
        OrganizationMembership(org_id="org_03c", org_name="Acme", role="owner", plan="free"),
    ]
    assert house.orgs.organizations_of(CY) == []


def test_rename_member_renames_every_membership_of_that_person_only(house: OrgHouse) -> None:
    founded(house, "org_01a")
    founded(house, "org_02b")
    join(house, ADA, org_id="org_01a")
    join(house, ADA, org_id="org_02b")
    bob = join(house, BOB, org_id="org_01a")

    house.orgs.rename_member(ADA, "Ada Lovelace")
    house.orgs.rename_member(CY, "Nobody")

    assert house.orgs.get_member("org_01a", ADA).name == "Ada Lovelace"  # type: ignore[union-attr]
    assert house.orgs.get_member("org_02b", ADA).name == "Ada Lovelace"  # type: ignore[union-attr]
    assert house.orgs.get_member("org_01a", BOB) == bob
    assert house.orgs.get_member("org_01a", CY) is None


# --- a person's organizations, a page at a time ------------------------------------------------------


def member_of_orgs(house: OrgHouse, user_id: str, count: int) -> list[OrganizationMembership]:
    """`user_id` joins `count` organizations, made out of id order; answers them by id."""
    org_ids = [f"org_0{n}x" for n in range(count)]
    for org_id in reversed(org_ids):
        founded(house, org_id)
        join(house, user_id, org_id=org_id)
    return [OrganizationMembership(org_id=o, org_name="Acme", role="member", plan="free") for o in org_ids]


def test_my_organizations_come_a_page_at_a_time_in_id_order(house: OrgHouse) -> None:
    mine = member_of_orgs(house, ADA, 5)

    assert every_page(lambda cursor: house.orgs.organizations_page(ADA, 2, cursor)) == [mine[:2], mine[2:4], mine[4:]]
    assert house.orgs.organizations_page(ADA, 5, None) == Page(mine, None)
    assert house.orgs.organizations_page(CY, 5, None) == Page([], None)
    assert house.orgs.organizations_of(ADA) == mine


def test_deleted_organizations_are_passed_over_and_the_pages_stay_full(house: OrgHouse) -> None:
    """Marked deleted, not purged (a clean-up cut short): the memberships are still there."""
    mine = member_of_orgs(house, ADA, 6)
    for gone in (mine[1], mine[2], mine[4]):
        house.orgs.mark_deleted(gone.org_id, NOW, an_event(gone.org_id))
    live = [mine[0], mine[3], mine[5]]

    assert every_page(lambda cursor: house.orgs.organizations_page(ADA, 2, cursor)) == [live[:2], live[2:]]
    assert every_page(lambda cursor: house.orgs.organizations_page(ADA, 1, cursor)) == [[m] for m in live]


def test_the_next_page_of_my_organizations_starts_after_the_last_one_shown(house: OrgHouse) -> None:
    mine = member_of_orgs(house, ADA, 4)
    first = house.orgs.organizations_page(ADA, 2, None)
    assert first.items == mine[:2]

    house.orgs.remove_member(mine[0].org_id, ADA, an_event(mine[0].org_id))  # shown already: skips nobody

    assert house.orgs.organizations_page(ADA, 2, first.next_cursor) == Page(mine[2:], None)


def test_a_forged_truncated_or_foreign_cursor_of_my_organizations_is_refused(house: OrgHouse) -> None:
    mine = member_of_orgs(house, ADA, 3)
    members = house.orgs.members_page(mine[0].org_id, 1, None)
    own = house.orgs.organizations_page(ADA, 1, None)
    assert None not in (members.next_cursor, own.next_cursor)
    near_misses = [
        cursor_of(k=org_pk("org_00x")),  # the table keys left out
        cursor_of(k=org_pk("org_00x"), pk=user_pk(ADA), sk=member_sk(ADA)),  # a table key of another shape
        cursor_of(k=member_sk(ADA), pk=org_pk("org_00x"), sk=member_sk(ADA)),  # outside the Query's range
        cursor_of(k=org_pk("org_00x\ud800"), pk=org_pk("org_00x"), sk=member_sk(ADA)),  # no request carries it
    ]

    for forged in [*forged_cursors(), *near_misses, truncated(own.next_cursor), members.next_cursor]:
        with pytest.raises(ValidationFailed):
            house.orgs.organizations_page(ADA, 10, forged)
    with pytest.raises(ValidationFailed):
        house.orgs.members_page(mine[0].org_id, 10, own.next_cursor)


# --- listing members -------------------------------------------------------------------------------


def test_members_come_a_page_at_a_time_in_user_id_order(house: OrgHouse) -> None:
    founded(house)
    members = [join(house, f"usr_0{n}") for n in range(5)]
    owner = house.orgs.get_member(ORG_ID, OWNER_ID)
    assert owner is not None
    everyone = sorted([*members, owner], key=lambda m: m.user_id)

    first = house.orgs.members_page(ORG_ID, 4, None)
    assert first.items == everyone[:4]
    assert first.next_cursor is not None
    second = house.orgs.members_page(ORG_ID, 4, first.next_cursor)
    assert second.items == everyone[4:]
    assert second.next_cursor is None
    assert house.orgs.all_members(ORG_ID) == everyone


def test_a_page_that_ends_the_list_has_no_next_cursor(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)

    page = house.orgs.members_page(ORG_ID, 2, None)

    assert [m.user_id for m in page.items] == [ADA, OWNER_ID]
    assert page.next_cursor is None


def test_the_next_page_starts_after_the_last_one_shown_whatever_changed_meanwhile(house: OrgHouse) -> None:
    founded(house)
    for n in range(4):
        join(house, f"usr_a{n}")
    first = house.orgs.members_page(ORG_ID, 2, None)
    assert [m.user_id for m in first.items] == [OWNER_ID, "usr_a0"]

    house.orgs.remove_member(ORG_ID, "usr_a0", an_event())  # shown already: skips nobody

    second = house.orgs.members_page(ORG_ID, 2, first.next_cursor)
    assert [m.user_id for m in second.items] == ["usr_a1", "usr_a2"]


def test_a_forged_cursor_is_refused(house: OrgHouse) -> None:
    founded(house)

    for forged in ("not-ours", "2", "eyJrIjogMX0", "%%%"):
        with pytest.raises(ValidationFailed):
            house.orgs.members_page(ORG_ID, 10, forged)


def test_a_cursor_of_another_list_is_refused(house: OrgHouse) -> None:
    founded(house)
    for _ in range(3):
        house.resources.create(a_resource(ResourceKind.PROJECT), an_event())
    projects = house.resources.page(ORG_ID, ResourceKind.PROJECT, 1, None)
    assert projects.next_cursor is not None

    with pytest.raises(ValidationFailed):
        house.orgs.members_page(ORG_ID, 10, projects.next_cursor)


def test_members_without_two_factor_are_listed_up_to_the_limit(house: OrgHouse) -> None:
    founded(house)  # the owner has no second factor
    join(house, ADA, two_factor=True)
    bob = join(house, BOB)
    cy = join(house, CY)
    owner = house.orgs.get_member(ORG_ID, OWNER_ID)

    assert house.orgs.members_without_two_factor(ORG_ID, 10) == [bob, cy, owner]
    assert house.orgs.members_without_two_factor(ORG_ID, 2) == [bob, cy]
    assert house.orgs.members_without_two_factor("org_01unknown", 10) == []


# --- change_role ----------------------------------------------------------------------------------


def test_change_role_answers_and_stores_the_member_with_the_new_role(house: OrgHouse) -> None:
    founded(house)
    ada = join(house, ADA)

    changed = house.orgs.change_role(ORG_ID, ADA, Role.ADMIN.value, an_event(action="member.role_changed"))

    assert changed == replace(ada, role=Role.ADMIN.value)
    assert house.orgs.get_member(ORG_ID, ADA) == changed
    assert house.actions()[-1] == "member.role_changed"


def test_a_change_commits_only_while_its_author_still_manages_members(house: OrgHouse) -> None:
    """Two admins at each other at once: whichever change commits first takes the other's
    right away, so the other's change (permitted when its request began) is refused."""
    founded(house)
    join(house, ADA, Role.ADMIN.value)
    join(house, BOB, Role.ADMIN.value)
    join(house, CY)

    house.orgs.change_role(ORG_ID, BOB, Role.MEMBER.value, an_event(), by=ADA)
    trail = house.actions()
    with pytest.raises(Forbidden):
        house.orgs.change_role(ORG_ID, ADA, Role.MEMBER.value, an_event(), by=BOB)
    with pytest.raises(Forbidden):
        house.orgs.remove_member(ORG_ID, CY, an_event(), by=BOB)
    house.orgs.remove_member(ORG_ID, BOB, an_event(action="member.removed"), by=ADA)
    with pytest.raises(NotFound):
        house.orgs.remove_member(ORG_ID, ADA, an_event(), by=BOB)
    with pytest.raises(NotFound):
        house.orgs.change_role(ORG_ID, CY, Role.ADMIN.value, an_event(), by=BOB)

    assert house.actions()[len(trail) :] == ["member.removed"]
    assert house.orgs.get_member(ORG_ID, ADA).role == Role.ADMIN.value  # type: ignore[union-attr]
    assert house.orgs.get_member(ORG_ID, CY).role == Role.MEMBER.value  # type: ignore[union-attr]
    assert house.orgs.get_member(ORG_ID, BOB) is None
    # The owner and an admin still change others, and one changes one's own role.
    house.orgs.change_role(ORG_ID, CY, Role.ADMIN.value, an_event(), by=OWNER_ID)
    house.orgs.change_role(ORG_ID, CY, Role.MEMBER.value, an_event(), by=CY)
    assert house.orgs.get_member(ORG_ID, CY).role == Role.MEMBER.value  # type: ignore[union-attr]


def test_the_owner_s_role_never_changes_by_a_role_change(house: OrgHouse) -> None:
    founded(house)
    owner = house.orgs.get_member(ORG_ID, OWNER_ID)
    trail = house.actions()

    with pytest.raises(OwnerProtected):
        house.orgs.change_role(ORG_ID, OWNER_ID, Role.MEMBER.value, an_event())

    assert house.orgs.get_member(ORG_ID, OWNER_ID) == owner
    assert house.actions() == trail


def test_change_role_of_someone_who_is_not_a_member_is_not_found(house: OrgHouse) -> None:
    founded(house)
    trail = house.actions()

    with pytest.raises(NotFound):
        house.orgs.change_role(ORG_ID, ADA, Role.ADMIN.value, an_event())

    assert house.orgs.get_member(ORG_ID, ADA) is None
    assert house.actions() == trail


# --- remove_member --------------------------------------------------------------------------------


def test_remove_member_ends_the_membership_and_counts_it(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)
    join(house, BOB)
    assert house.orgs.get(ORG_ID).member_count == 3  # type: ignore[union-attr]

    house.orgs.remove_member(ORG_ID, ADA, an_event(action="member.removed"))

    assert house.orgs.get_member(ORG_ID, ADA) is None
    assert house.orgs.get(ORG_ID).member_count == 2  # type: ignore[union-attr]
    assert house.orgs.load_access(ORG_ID, ADA)[1] is None
    assert [m.user_id for m in house.orgs.all_members(ORG_ID)] == [BOB, OWNER_ID]
    assert house.actions()[-1] == "member.removed"


def test_the_owner_is_never_removed(house: OrgHouse) -> None:
    founded(house)
    owner = house.orgs.get_member(ORG_ID, OWNER_ID)
    trail = house.actions()

    with pytest.raises(OwnerProtected):
        house.orgs.remove_member(ORG_ID, OWNER_ID, an_event())

    assert house.orgs.get_member(ORG_ID, OWNER_ID) == owner
    assert house.orgs.get(ORG_ID).member_count == 1  # type: ignore[union-attr]
    assert house.actions() == trail


def test_removing_someone_who_is_not_a_member_is_not_found_and_counts_nothing(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)
    house.orgs.remove_member(ORG_ID, ADA, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.orgs.remove_member(ORG_ID, ADA, an_event())

    assert house.orgs.get(ORG_ID).member_count == 1  # type: ignore[union-attr]
    assert house.actions() == trail


# --- transfer_ownership ---------------------------------------------------------------------------


def test_a_transfer_moves_the_ownership_and_both_roles_at_once(house: OrgHouse) -> None:
    org = founded(house)
    ada = join(house, ADA, Role.ADMIN.value)
    bob = join(house, BOB)

    house.orgs.transfer_ownership(ORG_ID, OWNER_ID, BOB, an_event(action="org.ownership_transferred"))

    assert house.orgs.get(ORG_ID) == replace(org, owner_id=BOB, member_count=3)
    assert house.orgs.get_member(ORG_ID, BOB) == replace(bob, role=Role.OWNER.value)
    assert house.orgs.get_member(ORG_ID, OWNER_ID).role == Role.ADMIN.value  # type: ignore[union-attr]
    assert house.orgs.get_member(ORG_ID, ADA) == ada
    assert house.actions()[-1] == "org.ownership_transferred"


def test_after_a_transfer_the_protection_moves_with_the_ownership(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)
    house.orgs.transfer_ownership(ORG_ID, OWNER_ID, ADA, an_event())

    with pytest.raises(OwnerProtected):
        house.orgs.change_role(ORG_ID, ADA, Role.MEMBER.value, an_event())
    with pytest.raises(OwnerProtected):
        house.orgs.remove_member(ORG_ID, ADA, an_event())
    # The former owner is an admin like any other now.
    house.orgs.change_role(ORG_ID, OWNER_ID, Role.MEMBER.value, an_event())
    house.orgs.remove_member(ORG_ID, OWNER_ID, an_event())
    assert [m.user_id for m in house.orgs.all_members(ORG_ID)] == [ADA]


def test_a_transfer_to_someone_who_is_not_a_member_is_not_found(house: OrgHouse) -> None:
    org = founded(house)
    trail = house.actions()

    with pytest.raises(NotFound):
        house.orgs.transfer_ownership(ORG_ID, OWNER_ID, ADA, an_event())

    assert house.orgs.get(ORG_ID) == org
    assert house.orgs.get_member(ORG_ID, OWNER_ID).role == Role.OWNER.value  # type: ignore[union-attr]
    assert house.actions() == trail


@pytest.mark.parametrize("to", [BOB, OWNER_ID], ids=["to_a_member", "to_the_owner"])
def test_only_the_owner_transfers_the_ownership(house: OrgHouse, to: str) -> None:
    org = founded(house)
    ada = join(house, ADA, Role.ADMIN.value)
    bob = join(house, BOB)
    trail = house.actions()

    with pytest.raises(OwnerProtected):
        house.orgs.transfer_ownership(ORG_ID, ADA, to, an_event())
    with pytest.raises(OwnerProtected):
        house.orgs.transfer_ownership(ORG_ID, CY, to, an_event())  # not even a member

    assert house.orgs.get(ORG_ID) == replace(org, member_count=3)
    assert house.orgs.get_member(ORG_ID, ADA) == ada
    assert house.orgs.get_member(ORG_ID, BOB) == bob
    assert house.orgs.get_member(ORG_ID, OWNER_ID).role == Role.OWNER.value  # type: ignore[union-attr]
    assert house.actions() == trail


def test_a_transfer_to_oneself_is_refused_whole(house: OrgHouse) -> None:
    """MemberService answers "you already own it" before it gets here: DynamoDB refuses a
    transaction that writes one item twice, and the adapter does not translate that."""
    org = founded(house)
    trail = house.actions()

    with pytest.raises(TransactWriteError):
        house.orgs.transfer_ownership(ORG_ID, OWNER_ID, OWNER_ID, an_event())

    assert house.orgs.get(ORG_ID) == org
    assert house.orgs.get_member(ORG_ID, OWNER_ID).role == Role.OWNER.value  # type: ignore[union-attr]
    assert house.actions() == trail


def test_a_stale_transfer_by_a_former_owner_is_refused(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)
    join(house, BOB)
    house.orgs.transfer_ownership(ORG_ID, OWNER_ID, ADA, an_event())

    with pytest.raises(OwnerProtected):
        house.orgs.transfer_ownership(ORG_ID, OWNER_ID, BOB, an_event())

    assert house.orgs.get(ORG_ID).owner_id == ADA  # type: ignore[union-attr]
    assert house.orgs.get_member(ORG_ID, BOB).role == Role.MEMBER.value  # type: ignore[union-attr]


def test_accepted_invitations_count_members(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)
    join(house, BOB)

    assert house.orgs.get(ORG_ID).member_count == 3  # type: ignore[union-attr]
    assert {i.status for i in house.invitations.of_org(ORG_ID)} == {InvitationStatus.ACCEPTED.value}

"""InvitationRepository: what InvitationService and MemberService rely on, on the fake and
on DynamoDB. One pending invitation per address and organization, a link answered once,
the inviter's role checked when the invitation is written, revoke and resend."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.invitations import REVOKE_ATTEMPTS, DynamoInvitationRepository
from kuploy_access.adapters.dynamodb.keys import invitation_sk, member_sk, org_pk, user_pk
from kuploy_access.domain.errors import (
    AlreadyInvited,
    AlreadyMember,
    Conflict,
    Forbidden,
    InvitationUsed,
    NotFound,
    ValidationFailed,
)
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from kuploy_access.domain.org_purge import PURGE_STEP_ITEMS
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import Role
from tests.contract.cursors import cursor_of, every_page, forged_cursors, truncated
from tests.contract.org_fixtures import (
    NOW,
    ORG_ID,
    OWNER_ID,
    WEEK,
    OrgHouse,
    a_member,
    an_event,
    an_invitation,
    email_of,
    founded,
    join,
    org_house,
    register,
)

ADA, BOB = "usr_01ada", "usr_01bob"
GRACE = "grace@example.com"


@pytest.fixture(params=["fake", "dynamo"])
def house(request: pytest.FixtureRequest) -> OrgHouse:
    return org_house(request)


def invited(house: OrgHouse, invitation: Invitation | None = None, invitee: str | None = None) -> Invitation:
    invitation = invitation or an_invitation()
    house.invitations.create(invitation, invitee, NOW, an_event(action="member.invited"))
    return invitation


def status(invitation: Invitation, value: InvitationStatus) -> Invitation:
    return replace(invitation, status=value.value)


# --- create ---------------------------------------------------------------------------------------


def test_an_invitation_is_found_by_its_link_its_id_its_organization_and_its_address(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)

    assert house.invitations.by_token(invitation.token_hash) == invitation
    assert house.invitations.get(ORG_ID, invitation.id) == invitation
    assert house.invitations.of_org(ORG_ID) == [invitation]
    assert house.invitations.pending_page(ORG_ID, 10, None) == Page([invitation], None)
    assert house.invitations.sent_to(GRACE, invitation.id) == invitation
    assert house.invitations.pending_to_page(GRACE, NOW, 10, None) == Page([invitation], None)
    assert house.invitations.pending_from(ORG_ID, OWNER_ID) == [invitation]
    assert house.actions() == ["org.created", "member.invited"]


def test_nobody_invites_themselves(house: OrgHouse) -> None:
    founded(house)

    with pytest.raises(AlreadyMember):
        house.invitations.create(an_invitation(email=email_of(OWNER_ID)), OWNER_ID, NOW, an_event())

    assert house.invitations.of_org(ORG_ID) == []


def test_a_member_is_not_invited_again(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA)
    trail = house.actions()

    with pytest.raises(AlreadyMember):
        house.invitations.create(an_invitation(email=email_of(ADA)), ADA, NOW, an_event())

    assert [i.status for i in house.invitations.of_org(ORG_ID)] == [InvitationStatus.ACCEPTED.value]
    assert house.actions() == trail


def test_one_pending_invitation_per_address_and_organization(house: OrgHouse) -> None:
    founded(house)
    founded(house, "org_02other", BOB)
    first = invited(house)
    trail = house.actions()

    second = an_invitation(role=Role.ADMIN.value)
    with pytest.raises(AlreadyInvited):
        house.invitations.create(second, None, NOW, an_event())

    assert house.invitations.of_org(ORG_ID) == [first]
    assert house.invitations.by_token(second.token_hash) is None
    assert house.actions() == trail
    # Another organization may invite the same address.
    elsewhere = invited(house, an_invitation("org_02other", invited_by=BOB))
    assert house.invitations.pending_to_page(GRACE, NOW, 10, None) == Page([first, elsewhere], None)


def test_an_expired_invitation_no_longer_holds_its_address(house: OrgHouse) -> None:
    founded(house)
    first = invited(house, an_invitation(expires_at=NOW + timedelta(hours=1)))
    second = an_invitation()

    with pytest.raises(AlreadyInvited):
        house.invitations.create(second, None, NOW + timedelta(minutes=59), an_event())
    house.invitations.create(second, None, NOW + timedelta(hours=1), an_event())

    assert house.invitations.of_org(ORG_ID) == [first, second]


def test_invitations_are_written_only_in_a_live_organization(house: OrgHouse) -> None:
    with pytest.raises(NotFound):
        house.invitations.create(an_invitation(), None, NOW, an_event())
    founded(house)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.invitations.create(an_invitation(), None, NOW, an_event())
    # The organization answers first, whoever invites whom.
    with pytest.raises(NotFound):
        house.invitations.create(an_invitation(invited_by=ADA), None, NOW, an_event())

    assert house.invitations.of_org(ORG_ID) == []
    assert house.actions() == trail


def test_the_inviter_s_role_is_checked_when_the_invitation_is_written(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA, Role.ADMIN.value)
    join(house, BOB, Role.MEMBER.value)
    trail = house.actions()

    with pytest.raises(Forbidden):  # a member manages nobody
        house.invitations.create(an_invitation(invited_by=BOB), None, NOW, an_event())
    with pytest.raises(Forbidden):  # not (or no longer) a member at all
        house.invitations.create(an_invitation(invited_by="usr_01gone"), None, NOW, an_event())
    house.orgs.change_role(ORG_ID, ADA, Role.MEMBER.value, an_event())
    with pytest.raises(Forbidden):  # demoted while the request was on its way
        house.invitations.create(an_invitation(invited_by=ADA), None, NOW, an_event())

    assert house.invitations.pending_to_page(GRACE, NOW, 10, None) == Page([], None)
    assert [i.email for i in house.invitations.of_org(ORG_ID)] == [email_of(ADA), email_of(BOB)]  # theirs only
    assert house.actions() == [*trail, "test.changed"]
    invitation = invited(house, an_invitation(role=Role.ADMIN.value))
    assert house.invitations.get(ORG_ID, invitation.id) == invitation


def test_an_admin_may_invite_admins_and_members(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA, Role.ADMIN.value)

    admin = invited(house, an_invitation(email="a@example.com", role=Role.ADMIN.value, invited_by=ADA))
    member = invited(house, an_invitation(email="m@example.com", role=Role.MEMBER.value, invited_by=ADA))

    assert house.invitations.pending_from(ORG_ID, ADA) == [admin, member]


# --- reading ----------------------------------------------------------------------------------------


def test_pending_from_lists_the_inviter_s_pending_invitations_only(house: OrgHouse) -> None:
    founded(house)
    join(house, ADA, Role.ADMIN.value)
    mine = [invited(house, an_invitation(email=f"p{n}@example.com", invited_by=ADA)) for n in range(3)]
    theirs = invited(house, an_invitation(email="o@example.com"))
    house.invitations.revoke(mine[0], an_event())
    house.invitations.decline(mine[1], NOW, an_event())

    assert house.invitations.pending_from(ORG_ID, ADA) == [mine[2]]
    assert house.invitations.pending_from(ORG_ID, OWNER_ID) == [theirs]
    assert house.invitations.pending_from("org_01unknown", ADA) == []


def test_an_address_s_open_invitations_are_listed_across_organizations_in_id_order(house: OrgHouse) -> None:
    founded(house, "org_03c", OWNER_ID)
    founded(house, "org_01a", OWNER_ID)
    newer = invited(house, an_invitation("org_03c"))
    older_id_later_org = invited(house, an_invitation("org_01a"))
    declined = invited(house, an_invitation("org_03c", email="x@example.com"))
    house.invitations.decline(declined, NOW, an_event("org_03c"))

    assert every_page(lambda cursor: house.invitations.pending_to_page(GRACE, NOW, 1, cursor)) == [
        [newer],
        [older_id_later_org],
    ]
    assert house.invitations.pending_to_page("x@example.com", NOW, 10, None) == Page([], None)
    assert house.invitations.sent_to("x@example.com", declined.id) == status(declined, InvitationStatus.DECLINED)
    assert house.invitations.sent_to(GRACE, declined.id) is None  # sent to another address
    assert house.invitations.sent_to(GRACE, "inv_unknown") is None
    assert house.invitations.pending_to_page("nobody@example.com", NOW, 10, None) == Page([], None)


def test_by_token_for_answers_the_invitation_and_the_account_in_one_read(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)
    ada = register(house, ADA)

    assert house.invitations.by_token_for(invitation.token_hash, ADA) == (invitation, ada)
    assert house.invitations.by_token_for(invitation.token_hash, "usr_01gone") == (invitation, None)
    assert house.invitations.by_token_for("f" * 64, ADA) == (None, ada)


def test_of_org_lists_every_status_in_id_order(house: OrgHouse) -> None:
    founded(house)
    first = invited(house, an_invitation(email="1@example.com"))
    second = invited(house, an_invitation(email="2@example.com"))
    third = invited(house, an_invitation(email="3@example.com"))
    house.invitations.revoke(second, an_event())

    assert house.invitations.of_org(ORG_ID) == [first, status(second, InvitationStatus.REVOKED), third]


# --- pages ----------------------------------------------------------------------------------------


def test_the_organization_s_pending_invitations_come_a_page_at_a_time_in_id_order(house: OrgHouse) -> None:
    founded(house)
    founded(house, "org_02other")
    sent = [invited(house, an_invitation(email=f"p{n}@example.com")) for n in range(6)]
    for answered in (sent[0], sent[3]):
        house.invitations.revoke(answered, an_event())
    house.invitations.decline(sent[4], NOW, an_event())
    expired = invited(house, an_invitation(email="late@example.com", expires_at=NOW - timedelta(hours=1)))
    invited(house, an_invitation("org_02other"))
    pending = [sent[1], sent[2], sent[5], expired]  # expired ones too: the list shows them as such

    assert every_page(lambda cursor: house.invitations.pending_page(ORG_ID, 2, cursor)) == [pending[:2], pending[2:]]
    assert house.invitations.pending_page(ORG_ID, 4, None) == Page(pending, None)
    assert house.invitations.pending_page("org_01unknown", 4, None) == Page([], None)


def test_a_page_of_pending_invitations_is_full_however_many_answered_ones_lie_between(house: OrgHouse) -> None:
    """The status is a filter: the Query reads past what it drops (more than one request
    of page size + 1 here) and still answers a full page."""
    founded(house)
    first = invited(house, an_invitation(email="first@example.com"))
    for n in range(7):
        house.invitations.revoke(invited(house, an_invitation(email=f"r{n}@example.com")), an_event())
    later = [invited(house, an_invitation(email=f"l{n}@example.com")) for n in range(2)]

    assert every_page(lambda cursor: house.invitations.pending_page(ORG_ID, 2, cursor)) == [
        [first, later[0]],
        [later[1]],
    ]


def test_an_address_s_open_invitations_come_a_page_at_a_time_and_full(house: OrgHouse) -> None:
    """One pending invitation per address and organization: each organization also holds
    a declined one before it, and the first organization's expires before `later`."""
    later = NOW + timedelta(hours=2)
    org_ids = ["org_01a", "org_02b", "org_03c", "org_04d", "org_05e"]
    open_ones = []
    for org_id in org_ids:
        founded(house, org_id)
        declined = invited(house, an_invitation(org_id))
        house.invitations.decline(declined, NOW, an_event(org_id))
        expires_at = NOW + timedelta(hours=1) if org_id == org_ids[0] else NOW + WEEK
        open_ones.append(invited(house, an_invitation(org_id, expires_at=expires_at)))
        invited(house, an_invitation(org_id, email="other@example.com"))
    still_open = open_ones[1:]

    assert every_page(lambda cursor: house.invitations.pending_to_page(GRACE, later, 3, cursor)) == [
        still_open[:3],
        still_open[3:],
    ]
    assert every_page(lambda cursor: house.invitations.pending_to_page(GRACE, NOW, 5, cursor)) == [open_ones]


def test_the_next_page_of_invitations_starts_after_the_last_one_shown(house: OrgHouse) -> None:
    org_ids = ["org_01a", "org_02b", "org_03c", "org_04d"]
    to_grace = []
    for org_id in org_ids:
        founded(house, org_id)
        to_grace.append(invited(house, an_invitation(org_id)))
    sent = [invited(house, an_invitation("org_01a", email=f"p{n}@example.com")) for n in range(3)]
    mine = house.invitations.pending_to_page(GRACE, NOW, 2, None)
    theirs = house.invitations.pending_page("org_01a", 2, None)
    assert (mine.items, theirs.items) == (to_grace[:2], [to_grace[0], sent[0]])

    # Shown already: answered, revoked, or gone with their organization, they skip nobody.
    house.invitations.decline(to_grace[0], NOW, an_event("org_01a"))
    house.orgs.mark_deleted("org_02b", NOW, an_event("org_02b"))
    while not house.purge.purge_step("org_02b", PURGE_STEP_ITEMS).finished:
        pass
    house.invitations.revoke(sent[0], an_event("org_01a"))

    assert house.invitations.pending_to_page(GRACE, NOW, 2, mine.next_cursor) == Page(to_grace[2:], None)
    assert house.invitations.pending_page("org_01a", 2, theirs.next_cursor) == Page(sent[1:], None)


def test_a_forged_truncated_or_foreign_cursor_of_invitations_is_refused(house: OrgHouse) -> None:
    org_ids = ["org_01a", "org_02b"]
    for org_id in org_ids:
        founded(house, org_id)
        invited(house, an_invitation(org_id))
        invited(house, an_invitation(org_id, email="other@example.com"))
    join(house, ADA, org_id="org_01a")
    sent = house.invitations.pending_page("org_01a", 1, None)
    mine = house.invitations.pending_to_page(GRACE, NOW, 1, None)
    members = house.orgs.members_page("org_01a", 1, None)
    assert None not in (sent.next_cursor, mine.next_cursor, members.next_cursor)
    theirs = invitation_sk("inv_00000001")
    near_misses = [
        cursor_of(k=theirs),  # the index's table keys left out
        cursor_of(k=theirs, pk=user_pk(ADA), sk=theirs),  # a table key of another shape
        cursor_of(k=member_sk(ADA), pk=org_pk("org_01a"), sk=theirs),  # outside the Query's range
        cursor_of(k=theirs, pk=org_pk("org_01a"), sk=invitation_sk("inv_\ud800")),  # no request carries it
    ]

    for forged in [*forged_cursors(), *near_misses, truncated(mine.next_cursor), sent.next_cursor]:
        with pytest.raises(ValidationFailed):
            house.invitations.pending_to_page(GRACE, NOW, 10, forged)
    for forged in [*forged_cursors(), truncated(sent.next_cursor), mine.next_cursor, members.next_cursor]:
        with pytest.raises(ValidationFailed):
            house.invitations.pending_page("org_01a", 10, forged)


# --- accept ---------------------------------------------------------------------------------------


def test_accepting_makes_the_member_counts_them_and_uses_up_the_link(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(email=email_of(ADA), role=Role.ADMIN.value))
    member = a_member(ORG_ID, ADA, Role.ADMIN.value, last_active_at=NOW)

    house.invitations.accept(invitation, member, NOW, an_event(action="member.joined"))

    assert house.orgs.get_member(ORG_ID, ADA) == member
    assert house.orgs.get(ORG_ID).member_count == 2  # type: ignore[union-attr]
    accepted = status(invitation, InvitationStatus.ACCEPTED)
    assert house.invitations.by_token(invitation.token_hash) == accepted
    assert house.invitations.get(ORG_ID, invitation.id) == accepted
    assert house.invitations.pending_from(ORG_ID, OWNER_ID) == []
    assert house.actions()[-1] == "member.joined"


def test_a_link_is_answered_once(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(email=email_of(ADA)))
    house.invitations.accept(invitation, a_member(ORG_ID, ADA), NOW, an_event())
    trail = house.actions()

    with pytest.raises(InvitationUsed):
        house.invitations.accept(invitation, a_member(ORG_ID, BOB), NOW, an_event())
    with pytest.raises(InvitationUsed):
        house.invitations.decline(invitation, NOW, an_event())

    assert house.orgs.get_member(ORG_ID, BOB) is None
    assert house.orgs.get(ORG_ID).member_count == 2  # type: ignore[union-attr]
    assert house.actions() == trail


def test_a_declined_invitation_cannot_be_accepted(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(email=email_of(ADA)))
    house.invitations.decline(invitation, NOW, an_event())

    with pytest.raises(InvitationUsed):
        house.invitations.accept(invitation, a_member(ORG_ID, ADA), NOW, an_event())

    assert house.orgs.get_member(ORG_ID, ADA) is None


def test_an_expired_invitation_cannot_be_answered(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(email=email_of(ADA), expires_at=NOW + timedelta(hours=1)))
    trail = house.actions()

    with pytest.raises(InvitationUsed):
        house.invitations.accept(invitation, a_member(ORG_ID, ADA), NOW + timedelta(hours=1), an_event())
    with pytest.raises(InvitationUsed):
        house.invitations.decline(invitation, NOW + timedelta(hours=2), an_event())

    assert house.orgs.get_member(ORG_ID, ADA) is None
    assert house.invitations.by_token(invitation.token_hash) == invitation
    assert house.actions() == trail
    # A moment before its end it still works.
    house.invitations.accept(invitation, a_member(ORG_ID, ADA), NOW + timedelta(minutes=59), an_event())


def test_a_revoked_invitation_cannot_be_answered(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(email=email_of(ADA)))
    house.invitations.revoke(invitation, an_event())

    with pytest.raises(InvitationUsed):
        house.invitations.accept(invitation, a_member(ORG_ID, ADA), NOW, an_event())
    with pytest.raises(InvitationUsed):
        house.invitations.decline(invitation, NOW, an_event())

    assert house.orgs.get_member(ORG_ID, ADA) is None


def test_someone_who_is_a_member_already_cannot_accept_and_the_invitation_stays(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(email="ada.other@example.com"))
    ada = join(house, ADA)
    trail = house.actions()

    with pytest.raises(AlreadyMember):
        house.invitations.accept(invitation, a_member(ORG_ID, ADA, Role.ADMIN.value), NOW, an_event())

    assert house.orgs.get_member(ORG_ID, ADA) == ada
    assert house.invitations.by_token(invitation.token_hash) == invitation
    assert house.actions() == trail


def test_nobody_joins_a_deleted_organization(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(email=email_of(ADA)))
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())

    with pytest.raises(NotFound):
        house.invitations.accept(invitation, a_member(ORG_ID, ADA), NOW, an_event())

    assert house.orgs.get_member(ORG_ID, ADA) is None
    assert house.invitations.get(ORG_ID, invitation.id) == invitation


def test_a_deleted_organization_s_invitations_answer_nothing_until_its_purge_removes_them(house: OrgHouse) -> None:
    founded(house)
    founded(house, "org_01other")
    gone = invited(house, an_invitation(email=GRACE))
    kept = invited(house, an_invitation("org_01other", email=GRACE))
    ada = register(house, ADA)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())

    assert house.invitations.by_token(gone.token_hash) is None
    assert house.invitations.pending_to_page(GRACE, NOW, 10, None).items == [kept]
    assert house.invitations.by_token(kept.token_hash) == kept
    # What answering reads still finds it: the answer's own transaction refuses it.
    assert house.invitations.by_token_for(gone.token_hash, ADA) == (gone, ada)
    assert house.invitations.sent_to(GRACE, gone.id) == gone
    with pytest.raises(NotFound):
        house.invitations.decline(gone, NOW, an_event())
    # Still there for the purge (by the organization's partition).
    assert house.invitations.get(ORG_ID, gone.id) == gone


# --- decline ------------------------------------------------------------------------------------


def test_declining_frees_the_address_for_a_new_invitation(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)

    house.invitations.decline(invitation, NOW, an_event(action="invitation.declined"))

    declined = status(invitation, InvitationStatus.DECLINED)
    assert house.invitations.by_token(invitation.token_hash) == declined
    assert house.invitations.get(ORG_ID, invitation.id) == declined
    assert house.actions()[-1] == "invitation.declined"
    again = invited(house)
    assert house.invitations.of_org(ORG_ID) == [declined, again]


def test_accepting_frees_the_address_too(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)
    house.invitations.accept(invitation, a_member(ORG_ID, ADA), NOW, an_event())

    again = invited(house)  # to the same address, for whoever holds it now

    assert house.invitations.get(ORG_ID, again.id) == again


# --- revoke ---------------------------------------------------------------------------------------


def test_revoking_ends_the_link_and_frees_the_address(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)

    house.invitations.revoke(invitation, an_event(action="invitation.revoked"))

    assert house.invitations.by_token(invitation.token_hash) is None
    assert house.invitations.get(ORG_ID, invitation.id) == status(invitation, InvitationStatus.REVOKED)
    assert house.invitations.pending_from(ORG_ID, OWNER_ID) == []
    assert house.actions()[-1] == "invitation.revoked"
    again = invited(house)
    assert house.invitations.pending_from(ORG_ID, OWNER_ID) == [again]


def test_only_a_pending_invitation_is_revoked(house: OrgHouse) -> None:
    founded(house)
    revoked = invited(house, an_invitation(email="r@example.com"))
    house.invitations.revoke(revoked, an_event())
    declined = invited(house, an_invitation(email="d@example.com"))
    house.invitations.decline(declined, NOW, an_event())
    accepted = invited(house, an_invitation(email=email_of(ADA)))
    house.invitations.accept(accepted, a_member(ORG_ID, ADA), NOW, an_event())
    trail = house.actions()

    for answered in (revoked, declined, accepted, an_invitation(email="never@example.com")):
        with pytest.raises(NotFound):
            house.invitations.revoke(answered, an_event())

    assert house.invitations.by_token(accepted.token_hash) == status(accepted, InvitationStatus.ACCEPTED)
    assert house.actions() == trail


def test_nothing_is_revoked_in_a_deleted_organization(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())

    with pytest.raises(NotFound):
        house.invitations.revoke(invitation, an_event())

    assert house.invitations.get(ORG_ID, invitation.id) == invitation


def test_an_expired_invitation_is_revoked_without_freeing_the_newer_one_s_address(house: OrgHouse) -> None:
    founded(house)
    expired = invited(house, an_invitation(expires_at=NOW + timedelta(hours=1)))
    later = NOW + timedelta(hours=2)
    newer = an_invitation(expires_at=later + WEEK)
    house.invitations.create(newer, None, later, an_event())

    house.invitations.revoke(expired, an_event(action="invitation.revoked"))

    assert house.invitations.get(ORG_ID, expired.id) == status(expired, InvitationStatus.REVOKED)
    assert house.invitations.by_token(newer.token_hash) == newer
    assert house.actions()[-1] == "invitation.revoked"
    with pytest.raises(AlreadyInvited):  # the newer one still holds the address
        house.invitations.create(an_invitation(), None, later, an_event())


# --- resend ---------------------------------------------------------------------------------------


def test_a_resent_invitation_has_a_new_link_and_a_new_expiry(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(expires_at=NOW + timedelta(hours=1)))
    new_hash, new_end = "e" * 64, NOW + WEEK

    renewed = house.invitations.resend(invitation, new_hash, new_end, an_event(action="invitation.resent"))

    assert renewed == replace(invitation, token_hash=new_hash, expires_at=new_end)
    assert house.invitations.by_token(invitation.token_hash) is None
    assert house.invitations.by_token(new_hash) == renewed
    assert house.invitations.get(ORG_ID, invitation.id) == renewed
    assert house.invitations.of_org(ORG_ID) == [renewed]
    assert house.actions()[-1] == "invitation.resent"
    # The address stays held until the new end; the new link is answered as any.
    with pytest.raises(AlreadyInvited):
        house.invitations.create(an_invitation(), None, NOW + timedelta(hours=2), an_event())
    house.invitations.accept(renewed, a_member(ORG_ID, ADA), NOW + timedelta(hours=2), an_event())
    assert house.orgs.get_member(ORG_ID, ADA) is not None


def test_the_old_link_of_a_resent_invitation_is_answered_as_used(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)
    house.invitations.resend(invitation, "e" * 64, NOW + WEEK, an_event())

    with pytest.raises(InvitationUsed):
        house.invitations.accept(invitation, a_member(ORG_ID, ADA), NOW, an_event())

    assert house.orgs.get_member(ORG_ID, ADA) is None


def test_a_stale_copy_is_not_resent(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)
    renewed = house.invitations.resend(invitation, "e" * 64, NOW + WEEK, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.invitations.resend(invitation, "d" * 64, NOW + WEEK, an_event())

    assert house.invitations.by_token(renewed.token_hash) == renewed
    assert house.invitations.by_token("d" * 64) is None
    assert house.actions() == trail


def test_only_a_pending_invitation_is_resent(house: OrgHouse) -> None:
    founded(house)
    revoked = invited(house, an_invitation(email="r@example.com"))
    house.invitations.revoke(revoked, an_event())
    declined = invited(house, an_invitation(email="d@example.com"))
    house.invitations.decline(declined, NOW, an_event())
    trail = house.actions()

    for answered in (revoked, declined, an_invitation(email="never@example.com")):
        with pytest.raises(NotFound):
            house.invitations.resend(answered, "e" * 64, NOW + WEEK, an_event())

    assert house.invitations.by_token("e" * 64) is None
    assert house.actions() == trail


def test_nothing_is_resent_in_a_deleted_organization(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())

    with pytest.raises(NotFound):
        house.invitations.resend(invitation, "e" * 64, NOW + WEEK, an_event())

    assert house.invitations.get(ORG_ID, invitation.id) == invitation


def test_an_expired_invitation_whose_address_a_newer_one_holds_is_not_resent(house: OrgHouse) -> None:
    founded(house)
    expired = invited(house, an_invitation(expires_at=NOW + timedelta(hours=1)))
    later = NOW + timedelta(hours=2)
    newer = an_invitation(expires_at=later + WEEK)
    house.invitations.create(newer, None, later, an_event())
    trail = house.actions()

    with pytest.raises(AlreadyInvited):
        house.invitations.resend(expired, "e" * 64, later + WEEK, an_event())

    assert house.invitations.by_token(expired.token_hash) == expired
    assert house.invitations.by_token("e" * 64) is None
    assert house.invitations.by_token(newer.token_hash) == newer
    assert house.actions() == trail


def test_an_expired_invitation_that_still_holds_its_address_is_resent(house: OrgHouse) -> None:
    founded(house)
    expired = invited(house, an_invitation(expires_at=NOW + timedelta(hours=1)))
    later = NOW + timedelta(hours=2)

    renewed = house.invitations.resend(expired, "e" * 64, later + WEEK, an_event())

    assert house.invitations.by_token("e" * 64) == renewed
    with pytest.raises(AlreadyInvited):
        house.invitations.create(an_invitation(), None, later, an_event())


def test_an_expired_invitation_whose_address_was_freed_meanwhile_is_resent_and_holds_it_again(house: OrgHouse) -> None:
    founded(house)
    expired = invited(house, an_invitation(expires_at=NOW + timedelta(hours=1)))
    later = NOW + timedelta(hours=2)
    newer = an_invitation()
    house.invitations.create(newer, None, later, an_event())
    house.invitations.decline(newer, later, an_event())  # frees the address

    renewed = house.invitations.resend(expired, "e" * 64, later + WEEK, an_event())

    assert house.invitations.by_token("e" * 64) == renewed
    with pytest.raises(AlreadyInvited):
        house.invitations.create(an_invitation(), None, later, an_event())


def test_an_expired_invitation_whose_address_was_freed_meanwhile_is_revoked(house: OrgHouse) -> None:
    founded(house)
    expired = invited(house, an_invitation(expires_at=NOW + timedelta(hours=1)))
    later = NOW + timedelta(hours=2)
    newer = an_invitation()
    house.invitations.create(newer, None, later, an_event())
    house.invitations.decline(newer, later, an_event())

    house.invitations.revoke(expired, an_event(action="invitation.revoked"))

    assert house.invitations.get(ORG_ID, expired.id) == status(expired, InvitationStatus.REVOKED)
    assert house.actions()[-1] == "invitation.revoked"
    invited(house, an_invitation())  # the address is free


def test_a_revocation_that_raced_a_resend_ends_the_new_link_too(house: OrgHouse) -> None:
    """The revocation read the invitation before a resend committed: it ends the link
    the record holds, not the one in its copy. Otherwise the resent link's copy stays
    pending: GET /invitations/{token} would show an invitation that README says is gone
    (404), and answering it would say invitation_used (410) instead of not found."""
    founded(house)
    invitation = invited(house)
    read_by_the_revoker = house.invitations.get(ORG_ID, invitation.id)
    assert read_by_the_revoker is not None
    renewed = house.invitations.resend(invitation, "e" * 64, NOW + WEEK, an_event())

    house.invitations.revoke(read_by_the_revoker, an_event(action="invitation.revoked"))

    assert house.invitations.get(ORG_ID, invitation.id) == status(renewed, InvitationStatus.REVOKED)
    assert house.invitations.by_token(renewed.token_hash) is None
    assert house.invitations.by_token(invitation.token_hash) is None
    assert house.actions().count("invitation.revoked") == 1
    invited(house, an_invitation())  # the address is free


def test_a_revocation_that_read_before_a_resend_and_an_answer_finds_nothing_pending(house: OrgHouse) -> None:
    founded(house)
    invitation = invited(house, an_invitation(email=email_of(ADA)))
    renewed = house.invitations.resend(invitation, "e" * 64, NOW + WEEK, an_event())
    house.invitations.accept(renewed, a_member(ORG_ID, ADA), NOW, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.invitations.revoke(invitation, an_event())

    accepted = status(renewed, InvitationStatus.ACCEPTED)
    assert house.invitations.get(ORG_ID, invitation.id) == accepted
    assert house.invitations.by_token(renewed.token_hash) == accepted
    assert house.actions() == trail


@pytest.mark.dynamo_only(reason="the fake revokes under one lock: no resend commits between its read and its write")
@pytest.mark.parametrize("resends", [1, REVOKE_ATTEMPTS - 1, REVOKE_ATTEMPTS])
def test_a_revocation_follows_resends_up_to_a_bound(
    house: OrgHouse, monkeypatch: pytest.MonkeyPatch, resends: int
) -> None:
    """`resends` resends commit, one just before each of the revocation's writes. It
    follows each to the newer link; past the bound it gives up with a Conflict (try
    again) and changes nothing, rather than leave a link working or answer not found."""
    founded(house)
    links = [invited(house)]
    write = DynamoInvitationRepository._revoke

    def resent_just_before(self: DynamoInvitationRepository, *args: Any) -> None:
        if len(links) <= resends:
            links.append(house.invitations.resend(links[-1], f"{len(links):064x}", NOW + WEEK, an_event()))
        write(self, *args)

    monkeypatch.setattr(DynamoInvitationRepository, "_revoke", resent_just_before)

    if resends < REVOKE_ATTEMPTS:
        house.invitations.revoke(links[0], an_event(action="invitation.revoked"))
        assert house.invitations.get(ORG_ID, links[0].id) == status(links[-1], InvitationStatus.REVOKED)
        assert [house.invitations.by_token(link.token_hash) for link in links] == [None] * len(links)
        assert house.actions().count("invitation.revoked") == 1
    else:
        with pytest.raises(Conflict):
            house.invitations.revoke(links[0], an_event(action="invitation.revoked"))
        assert house.invitations.get(ORG_ID, links[0].id) == links[-1]
        assert house.invitations.by_token(links[-1].token_hash) == links[-1]
        assert "invitation.revoked" not in house.actions()
    assert len(links) == resends + 1


def test_a_resend_that_raced_a_revocation_does_not_bring_the_invitation_back(house: OrgHouse) -> None:
    """The symmetric race: the resend read the invitation pending, the revocation
    committed before it."""
    founded(house)
    invitation = invited(house)
    read_by_the_resender = house.invitations.get(ORG_ID, invitation.id)
    assert read_by_the_resender is not None
    house.invitations.revoke(invitation, an_event(action="invitation.revoked"))
    trail = house.actions()

    with pytest.raises(NotFound):
        house.invitations.resend(read_by_the_resender, "e" * 64, NOW + WEEK, an_event())

    assert house.invitations.get(ORG_ID, invitation.id) == status(invitation, InvitationStatus.REVOKED)
    assert house.invitations.by_token(invitation.token_hash) is None
    assert house.invitations.by_token("e" * 64) is None
    assert house.actions() == trail
    invited(house, an_invitation())  # the address stays free

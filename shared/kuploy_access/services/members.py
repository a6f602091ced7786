"""Members of an organization: list, change role, remove, leave, transfer ownership.

The one-owner rule is enforced by the repository's conditions; the checks here only
give clearer answers earlier (a member may not touch the owner at all)."""

from __future__ import annotations

from dataclasses import dataclass

from kuploy_access.domain.errors import Conflict, NotFound, ValidationFailed
from kuploy_access.domain.invitations import Invitation
from kuploy_access.domain.organizations import Member
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import ASSIGNABLE_ROLES, may_invite
from kuploy_access.services.access import OrgCaller, caller_event
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.invitations import InvitationSweep
from kuploy_access.services.ports.organizations import MemberStore

# The audit detail of an invitation revoked because its sender's role changed.
REVOKED_WITH_ROLE_CHANGE = "inviter_role_changed"


@dataclass
class MemberService:
    orgs: MemberStore
    clock: Clock
    invitations: InvitationSweep

    def page(self, caller: OrgCaller, limit: int, cursor: str | None) -> Page[Member]:
        return self.orgs.members_page(caller.org.id, limit, cursor)

    def change_role(self, caller: OrgCaller, user_id: str, role: str) -> Member:
        if role not in {r.value for r in ASSIGNABLE_ROLES}:
            # Nobody becomes the owner through a role change; ownership moves by transfer.
            raise ValidationFailed("role must be admin or member; ownership moves with transfer-ownership")
        event = caller_event(caller, self.clock.now(), "member.role_changed", user_id, role=role)
        member = self.orgs.change_role(caller.org.id, user_id, role, event, by=self._author(caller, user_id))
        self.revoke_invitations_beyond_role(caller, member)
        return member

    def revoke_invitations_beyond_role(self, caller: OrgCaller, member: Member) -> list[Invitation]:
        """Revoke the pending invitations `member` sent that their role could not send now
        (all of them when it no longer manages members): a demotion also takes back what
        the person handed out while they held more.

        After the role change rather than in its transaction, which could not hold every
        invitation a person may have pending. Repeating the role change finishes a sweep
        that was cut short, and an invitation written while the role changed is refused
        by its own condition on the inviter's role."""
        revoked: list[Invitation] = []
        contested: Conflict | None = None
        for invitation in self.invitations.pending_from(caller.org.id, member.user_id):
            if may_invite(member.role, invitation.role):
                continue
            event = caller_event(
                caller,
                self.clock.now(),
                "invitation.revoked",
                invitation.email,
                invitation_id=invitation.id,
                reason=REVOKED_WITH_ROLE_CHANGE,
            )
            try:
                self.invitations.revoke(invitation, event)
            except NotFound:  # answered or revoked meanwhile
                continue
            except Conflict as conflict:  # resends kept racing it: the others still go
                contested = conflict
                continue
            revoked.append(invitation)
        if contested is not None:
            raise contested
        return revoked

    def remove(self, caller: OrgCaller, user_id: str) -> None:
        leaving = user_id == caller.user_id
        action = "member.left" if leaving else "member.removed"
        event = caller_event(caller, self.clock.now(), action, user_id)
        self.orgs.remove_member(caller.org.id, user_id, event, by=self._author(caller, user_id))

    @staticmethod
    def _author(caller: OrgCaller, user_id: str) -> str:
        """Whose right to manage members the write must still find when it commits: the
        caller's, checked at the start of the request, may have been taken by a change
        that committed since (two admins demoting each other at once must not both
        succeed). Nobody's for a change to oneself (leaving, or giving up admin)."""
        return "" if caller.user_id == user_id else caller.user_id

    def transfer_ownership(self, caller: OrgCaller, to_user: str) -> Member:
        if to_user == caller.user_id:
            raise ValidationFailed("You already own this organization")
        event = caller_event(
            caller, self.clock.now(), "org.ownership_transferred", to_user, previous_owner=caller.user_id
        )
        self.orgs.transfer_ownership(caller.org.id, caller.user_id, to_user, event)
        member = self.orgs.get_member(caller.org.id, to_user)
        if member is None:  # the new owner cannot be removed, so this is a lost read
            raise NotFound("That person is not a member of this organization")
        return member

"""The invitation page's forms (`POST /invitations/{token}`), as one use case.

Someone without an account signs up with the invited address (the confirmation email
brings them back to the page); someone with one signs in and accepts or declines in
the same step. That step is a sign-in, so it asks for everything a sign-in asks for:
the password, and for an account with 2FA the second factor, or the page would be a
way around 2FA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from kuploy_access.domain.errors import DomainError, ValidationFailed
from kuploy_access.domain.invitations import Invitation, invitation_path
from kuploy_access.services.invitations import InvitationService
from kuploy_access.services.sessions import ClientInfo

if TYPE_CHECKING:
    # Types only: the invitations function imports this module to show a page, and
    # loads sign-up, login and 2FA only when a form is posted (through `wiring`).
    from kuploy_access.services.login import LoginService
    from kuploy_access.services.signup import SignUpService
    from kuploy_access.services.two_factor import TwoFactorService


class PageAction(StrEnum):
    """The form's `action`: which of the page's buttons was pressed."""

    SIGN_UP = "signup"
    ACCEPT = "accept"
    DECLINE = "decline"


@dataclass(frozen=True)
class InvitationForm:
    """What the page's forms post (any field may be missing)."""

    action: str = ""
    password: str = ""
    code: str = ""  # the second factor, for an account with 2FA
    name: str | None = None  # sign-up only


class PageOutcome(StrEnum):
    SIGNED_UP = "signed_up"  # a confirmation email went out; it leads back to the page
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REFUSED = "refused"  # nothing changed; the page is shown again with why


@dataclass(frozen=True)
class PageAnswer:
    invitation: Invitation
    outcome: PageOutcome
    problem: str = ""  # why, when REFUSED


@dataclass
class InvitationPageService:
    invitations: InvitationService
    # Built on first use: a sign-up needs neither login nor 2FA, and only accounts
    # with 2FA load pyotp and the AES key.
    signup: Callable[[], SignUpService]
    login: Callable[[], LoginService]
    two_factor: Callable[[], TwoFactorService]

    def answer(self, secret: str, form: InvitationForm, client: ClientInfo) -> PageAnswer:
        """Raises what `InvitationService.view` raises when the link itself is no good
        (unknown, revoked, used, expired). Any refusal after that (a wrong password or
        code, an address that is not verified, an answer that lost a race) changes
        nothing and is answered REFUSED, so the page can be tried again."""
        invitation = self.invitations.view(secret)
        try:
            return PageAnswer(invitation, self._act(secret, invitation, form, client))
        except DomainError as error:
            return PageAnswer(invitation, PageOutcome.REFUSED, error.detail)

    def _act(self, secret: str, invitation: Invitation, form: InvitationForm, client: ClientInfo) -> PageOutcome:
        if form.action == PageAction.SIGN_UP:
            # Always the invited address: the form shows it read-only and what it posts is ignored.
            self.signup().sign_up(invitation.email, form.password, client, form.name, invitation_path(secret))
            return PageOutcome.SIGNED_UP
        if form.action not in (PageAction.ACCEPT, PageAction.DECLINE):
            raise ValidationFailed("Choose accept or decline.")
        user = self.login().authenticate(invitation.email, form.password, client)
        if user.two_factor_enabled:
            self.two_factor().verify_code(user, form.code, client)
        if form.action == PageAction.DECLINE:
            self.invitations.decline(user.id, secret, client)
            return PageOutcome.DECLINED
        self.invitations.accept(user.id, secret, client)
        return PageOutcome.ACCEPTED

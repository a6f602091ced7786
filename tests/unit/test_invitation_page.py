"""The invitation page's forms as one use case (`InvitationPageService`), on the fakes:
sign up with the invited address, or sign in (with the second factor, if the account
has one) and accept or decline in the same step."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from kuploy_access.domain.errors import InvalidCode, InvitationExpired, InvitationUsed, NotFound
from kuploy_access.domain.invitations import InvitationStatus, invitation_path
from kuploy_access.domain.permissions import Role, rule_for
from kuploy_access.domain.principal import Principal
from kuploy_access.domain.users import User
from kuploy_access.services.invitation_page import InvitationForm, InvitationPageService, PageAnswer, PageOutcome
from kuploy_access.services.sessions import ClientInfo
from tests.unit.org_fakes import OrgWorld
from tests.unit.support import PUBLIC_BASE_URL, verification_link
from tests.unit.two_factor_fakes import SudoWorld

CLIENT = ClientInfo(ip="198.51.100.7", user_agent="pytest")
ORG_ID = "org_01acme"
PASSWORD = "Analytical-Engine-1843"
GRACE = "grace@example.com"
_INVITATION_LINK = re.compile(re.escape(PUBLIC_BASE_URL) + r"/invitations/([A-Za-z0-9_-]+)")


@dataclass
class PageWorld(OrgWorld, SudoWorld):
    """The organization fakes and the two-factor fakes over one set of users."""

    def page(self) -> InvitationPageService:
        return InvitationPageService(
            invitations=self.invitation_service(),
            signup=self.signup,
            login=self.login,
            two_factor=self.two_factor,
        )

    def invite(self, owner: User, email: str = GRACE, role: str = "admin") -> str:
        """Invite `email` as `owner`; answers the link's secret."""
        principal = Principal(type="user", id=owner.id, session_id="ses_01")
        caller = self.access().enter(principal, ORG_ID, rule_for("POST /orgs/{org_id}/invitations"), CLIENT)
        self.invitation_service().invite(caller, email, role)
        found = _INVITATION_LINK.findall(self.mailer.sent[-1].text)
        assert len(found) == 1
        secret: str = found[0]
        return secret

    def role_of(self, user: User) -> str | None:
        member = self.store.members.get((ORG_ID, user.id))
        return member.role if member else None

    def status_of_invitation(self) -> str:
        [invitation] = self.store.invitations.values()
        return invitation.status


@pytest.fixture
def world() -> PageWorld:
    return PageWorld()


@pytest.fixture
def owner(world: PageWorld) -> User:
    olive = world.add_user("olive@example.com", name="Olive", user_id="usr_01olive")
    world.add_org(olive, ORG_ID)
    return olive


@pytest.fixture
def grace(world: PageWorld) -> User:
    return world.add_user(GRACE, PASSWORD, name="Grace", user_id="usr_01grace")


def _never_built() -> object:
    raise AssertionError("this step needs no such service")


def test_signing_up_from_the_page_sends_the_confirmation_that_leads_back_to_it(world, owner):
    secret = world.invite(owner)
    page = InvitationPageService(
        invitations=world.invitation_service(),
        signup=world.signup,
        login=_never_built,  # type: ignore[arg-type]
        two_factor=_never_built,  # type: ignore[arg-type]
    )

    answer = page.answer(secret, InvitationForm("signup", PASSWORD, name="Grace"), CLIENT)

    assert answer.outcome == PageOutcome.SIGNED_UP
    assert answer.invitation.email == GRACE
    link = verification_link(world.mailer.sent[-1])
    assert world.mailer.sent[-1].to == GRACE
    assert parse_qs(urlsplit(link).query)["next"] == [invitation_path(secret)]
    account = world.users.get_by_email(GRACE)
    assert account is not None and account.name == "Grace" and not account.email_verified
    assert world.status_of_invitation() == InvitationStatus.PENDING


def test_signing_in_and_accepting_joins_with_the_invited_role(world, owner, grace):
    secret = world.invite(owner, role="admin")

    answer = world.page().answer(secret, InvitationForm("accept", PASSWORD), CLIENT)

    assert (answer.outcome, answer.problem) == (PageOutcome.ACCEPTED, "")
    assert world.role_of(grace) == Role.ADMIN
    assert world.status_of_invitation() == InvitationStatus.ACCEPTED
    assert "member.joined" in world.store.actions(ORG_ID)


def test_signing_in_and_declining_leaves_the_organization_as_it_was(world, owner, grace):
    secret = world.invite(owner)

    answer = world.page().answer(secret, InvitationForm("decline", PASSWORD), CLIENT)

    assert answer.outcome == PageOutcome.DECLINED
    assert world.role_of(grace) is None
    assert world.status_of_invitation() == InvitationStatus.DECLINED


@pytest.mark.parametrize("action", ["", "join", "ACCEPT"])
def test_anything_but_accept_decline_or_signup_is_refused_before_any_sign_in(world, owner, grace, action):
    secret = world.invite(owner)
    page = InvitationPageService(
        invitations=world.invitation_service(),
        signup=_never_built,  # type: ignore[arg-type]
        login=_never_built,  # type: ignore[arg-type]
        two_factor=_never_built,  # type: ignore[arg-type]
    )

    answer = page.answer(secret, InvitationForm(action, PASSWORD), CLIENT)

    assert (answer.outcome, answer.problem) == (PageOutcome.REFUSED, "Choose accept or decline.")
    assert world.status_of_invitation() == InvitationStatus.PENDING


def test_a_wrong_password_is_refused_and_the_page_can_be_tried_again(world, owner, grace):
    secret = world.invite(owner)

    refused = world.page().answer(secret, InvitationForm("accept", "not-the-password"), CLIENT)

    assert refused.outcome == PageOutcome.REFUSED and refused.problem
    assert refused.invitation.email == GRACE  # the page is shown again, with why
    assert world.role_of(grace) is None
    assert world.status_of_invitation() == InvitationStatus.PENDING
    assert world.page().answer(secret, InvitationForm("accept", PASSWORD), CLIENT).outcome == PageOutcome.ACCEPTED


def test_an_account_with_two_factor_needs_its_code_too(world, owner, grace):
    secret = world.invite(owner)
    totp, _ = world.turn_on_two_factor(grace)

    without = world.page().answer(secret, InvitationForm("accept", PASSWORD), CLIENT)
    wrong = world.page().answer(secret, InvitationForm("accept", PASSWORD, code="000000"), CLIENT)

    assert without.outcome == wrong.outcome == PageOutcome.REFUSED
    assert "code" in without.problem.lower()
    assert world.role_of(grace) is None
    code = world.next_code(totp)
    accepted = world.page().answer(secret, InvitationForm("accept", PASSWORD, code=code), CLIENT)
    assert accepted.outcome == PageOutcome.ACCEPTED
    assert world.role_of(grace) == Role.ADMIN


def test_the_code_spent_on_the_page_is_spent(world, owner, grace):
    secret = world.invite(owner)
    totp, _ = world.turn_on_two_factor(grace)
    code = world.next_code(totp)

    answer = world.page().answer(secret, InvitationForm("accept", PASSWORD, code=code), CLIENT)

    assert answer.outcome == PageOutcome.ACCEPTED
    with pytest.raises(InvalidCode):
        world.two_factor().verify_code(world.users.by_id[grace.id], code, CLIENT)


@pytest.mark.parametrize(
    ("spoil", "refusal"),
    [
        ("unknown", NotFound),
        ("used", InvitationUsed),
        ("expired", InvitationExpired),
    ],
)
def test_a_link_that_is_no_good_is_raised_not_refused(world, owner, grace, spoil, refusal):
    secret = world.invite(owner)
    if spoil == "unknown":
        secret = "x" * 43
    elif spoil == "used":
        world.page().answer(secret, InvitationForm("decline", PASSWORD), CLIENT)
    else:
        world.clock.advance(timedelta(days=8))

    with pytest.raises(refusal):
        world.page().answer(secret, InvitationForm("accept", PASSWORD), CLIENT)
    assert world.role_of(grace) is None


def test_an_answer_carries_the_invitation_the_page_shows(world, owner, grace):
    secret = world.invite(owner, role="admin")

    answer: PageAnswer = world.page().answer(secret, InvitationForm("accept", PASSWORD), CLIENT)

    invitation = answer.invitation
    assert (invitation.org_id, invitation.org_name, invitation.inviter_name, invitation.role) == (
        ORG_ID,
        "Acme",
        "Olive",
        "admin",
    )

"""TwoFactorRepository: each change is one conditional write, so a TOTP step, a
recovery code and a challenge's attempts are spent once however requests race
(services/two_factor.py, login.py, admin.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kuploy_access.domain.audit import Actor, audit_event
from kuploy_access.domain.organizations import Member, Organization
from kuploy_access.domain.two_factor import WRONG_CODES_PER_CHALLENGE
from kuploy_access.domain.users import User
from tests.contract.account_side import NOW, AccountSide, account_side, an_event, verified

STEP = 66_000_000  # a TOTP step of 2032
CODES = {"code-hash-1", "code-hash-2", "code-hash-3"}
EXPIRES = NOW + timedelta(minutes=5)


@pytest.fixture(params=["fake", "dynamo"])
def side(request: pytest.FixtureRequest) -> AccountSide:
    return account_side(request)


def user_of(side: AccountSide, user_id: str = "usr_ada") -> User:
    user = side.users.get(user_id)
    assert user is not None
    return user


def enrolled(side: AccountSide) -> User:
    """2FA on, as enrolment leaves it: the enabling code's step counts as used."""
    user = verified(side)
    assert side.factors.set_pending(user.id, "sealed-secret")
    assert side.factors.enable(user.id, "sealed-secret", STEP, set(CODES), an_event(action="two_factor.enabled"))
    return user_of(side, user.id)


# --- enrolment -----------------------------------------------------------------------------


def test_set_pending_keeps_a_secret_to_confirm(side: AccountSide) -> None:
    user = verified(side)

    assert side.factors.set_pending(user.id, "sealed-1") is True
    assert side.factors.set_pending(user.id, "sealed-2") is True  # a new setup replaces it

    stored = user_of(side)
    assert stored.totp_pending_sealed == "sealed-2"
    assert not stored.two_factor_enabled


def test_set_pending_for_an_account_nobody_has_is_false_and_creates_nothing(side: AccountSide) -> None:
    assert side.factors.set_pending("usr_gone", "sealed") is False
    assert side.users.get("usr_gone") is None


def test_enable_activates_the_pending_secret(side: AccountSide) -> None:
    user = enrolled(side)

    assert user.two_factor_enabled is True
    assert user.totp_secret_sealed == "sealed-secret"
    assert user.totp_pending_sealed is None
    assert user.totp_last_step == STEP
    assert user.recovery_code_hashes == CODES


def test_enable_needs_the_pending_secret_it_confirms(side: AccountSide) -> None:
    user = verified(side)
    side.factors.set_pending(user.id, "sealed-2")  # another setup, meanwhile

    assert side.factors.enable(user.id, "sealed-1", STEP, set(CODES), an_event()) is False

    stored = user_of(side)
    assert not stored.two_factor_enabled and stored.totp_pending_sealed == "sealed-2"


def test_enable_once(side: AccountSide) -> None:
    user = enrolled(side)
    side.factors.set_pending(user.id, "sealed-other")

    assert side.factors.enable(user.id, "sealed-other", STEP + 1, {"other"}, an_event()) is False

    assert user_of(side).totp_secret_sealed == "sealed-secret"
    assert user_of(side).recovery_code_hashes == CODES


def test_enable_for_an_account_nobody_has_is_false_and_creates_nothing(side: AccountSide) -> None:
    assert side.factors.enable("usr_gone", "sealed", STEP, set(CODES), an_event()) is False
    assert side.users.get("usr_gone") is None


# --- codes -----------------------------------------------------------------------------------


def test_a_step_is_accepted_once_and_never_an_earlier_one(side: AccountSide) -> None:
    enrolled(side)

    assert side.factors.use_step("usr_ada", STEP) is False  # the enabling code's
    assert side.factors.use_step("usr_ada", STEP + 2) is True
    assert side.factors.use_step("usr_ada", STEP + 2) is False
    assert side.factors.use_step("usr_ada", STEP + 1) is False

    assert user_of(side).totp_last_step == STEP + 2


def test_no_step_is_accepted_without_2fa(side: AccountSide) -> None:
    verified(side)

    assert side.factors.use_step("usr_ada", STEP) is False
    assert side.factors.use_step("usr_gone", STEP) is False

    assert user_of(side).totp_last_step is None
    assert side.users.get("usr_gone") is None


def test_a_recovery_code_is_accepted_once(side: AccountSide) -> None:
    enrolled(side)

    assert side.factors.use_recovery_code("usr_ada", "code-hash-2") is True
    assert side.factors.use_recovery_code("usr_ada", "code-hash-2") is False
    assert side.factors.use_recovery_code("usr_ada", "not-a-code") is False

    assert user_of(side).recovery_code_hashes == CODES - {"code-hash-2"}


def test_the_last_recovery_code_leaves_none(side: AccountSide) -> None:
    enrolled(side)

    assert all(side.factors.use_recovery_code("usr_ada", code) for code in sorted(CODES))

    assert user_of(side).recovery_code_hashes == frozenset()
    assert user_of(side).two_factor_enabled


def test_no_recovery_code_is_accepted_without_2fa(side: AccountSide) -> None:
    enrolled(side)
    side.factors.reset("usr_ada", an_event())

    assert side.factors.use_recovery_code("usr_ada", "code-hash-1") is False
    assert side.factors.use_recovery_code("usr_gone", "code-hash-1") is False


def test_new_recovery_codes_replace_the_old_ones_with_an_unused_step(side: AccountSide) -> None:
    enrolled(side)

    assert side.factors.replace_recovery_codes("usr_ada", STEP + 1, {"new-1", "new-2"}, an_event()) is True

    assert user_of(side).recovery_code_hashes == {"new-1", "new-2"}
    assert user_of(side).totp_last_step == STEP + 1
    assert side.factors.use_recovery_code("usr_ada", "code-hash-1") is False
    assert side.factors.use_step("usr_ada", STEP + 1) is False  # the step was spent


def test_new_recovery_codes_need_an_unused_step_and_2fa(side: AccountSide) -> None:
    enrolled(side)

    assert side.factors.replace_recovery_codes("usr_ada", STEP, {"new"}, an_event()) is False
    assert user_of(side).recovery_code_hashes == CODES
    side.factors.reset("usr_ada", an_event())
    assert side.factors.replace_recovery_codes("usr_ada", STEP + 5, {"new"}, an_event()) is False
    assert side.factors.replace_recovery_codes("usr_gone", STEP + 5, {"new"}, an_event()) is False
    assert side.users.get("usr_gone") is None


# --- turning it off -------------------------------------------------------------------------


def test_disable_with_an_unused_step_turns_2fa_off_and_spends_the_step(side: AccountSide) -> None:
    enrolled(side)

    assert side.factors.disable("usr_ada", STEP + 1, None, an_event()) is True

    user = user_of(side)
    assert not user.two_factor_enabled
    assert (user.totp_secret_sealed, user.totp_pending_sealed) == (None, None)
    assert user.recovery_code_hashes == frozenset()
    assert user.totp_last_step == STEP + 1
    assert side.factors.disable("usr_ada", STEP + 2, None, an_event()) is False  # off already


def test_disable_with_a_recovery_code(side: AccountSide) -> None:
    enrolled(side)

    assert side.factors.disable("usr_ada", None, "code-hash-3", an_event()) is True

    user = user_of(side)
    assert not user.two_factor_enabled and user.recovery_code_hashes == frozenset()
    assert user.totp_last_step == STEP


def test_disable_needs_an_unspent_proof(side: AccountSide) -> None:
    enrolled(side)
    side.factors.use_recovery_code("usr_ada", "code-hash-1")

    assert side.factors.disable("usr_ada", STEP, None, an_event()) is False
    assert side.factors.disable("usr_ada", None, "code-hash-1", an_event()) is False
    assert side.factors.disable("usr_ada", None, None, an_event()) is False
    assert side.factors.disable("usr_gone", STEP + 1, None, an_event()) is False

    assert user_of(side).two_factor_enabled


def test_the_operators_reset_turns_2fa_off_whatever_its_state(side: AccountSide) -> None:
    enrolled(side)
    side.factors.set_pending("usr_ada", "sealed-new")

    assert side.factors.reset("usr_ada", an_event()) is True
    assert side.factors.reset("usr_ada", an_event()) is True  # off already: still fine

    user = user_of(side)
    assert not user.two_factor_enabled
    assert (user.totp_secret_sealed, user.totp_pending_sealed) == (None, None)
    assert user.recovery_code_hashes == frozenset()
    assert user.totp_last_step == STEP  # a used step stays used


def test_the_operators_reset_of_an_account_nobody_has_is_false_and_creates_nothing(side: AccountSide) -> None:
    assert side.factors.reset("usr_gone", an_event()) is False
    assert side.users.get("usr_gone") is None


def test_after_a_reset_2fa_can_be_enrolled_again(side: AccountSide) -> None:
    enrolled(side)
    side.factors.reset("usr_ada", an_event())

    assert side.factors.set_pending("usr_ada", "sealed-again")
    assert side.factors.enable("usr_ada", "sealed-again", STEP + 10, {"again"}, an_event()) is True

    assert user_of(side).totp_secret_sealed == "sealed-again"


# --- challenges of a sign-in -------------------------------------------------------------------


def test_a_challenge_takes_five_attempts(side: AccountSide) -> None:
    taken = [side.factors.take_attempt("chl_1", EXPIRES) for _ in range(WRONG_CODES_PER_CHALLENGE + 2)]

    assert taken == [True] * WRONG_CODES_PER_CHALLENGE + [False, False]
    assert side.factors.take_attempt("chl_2", EXPIRES) is True  # each challenge its own


def test_a_challenge_closes_once_and_then_takes_no_attempt(side: AccountSide) -> None:
    side.factors.take_attempt("chl_1", EXPIRES)

    assert side.factors.close_challenge("chl_1", EXPIRES) is True
    assert side.factors.close_challenge("chl_1", EXPIRES) is False
    assert side.factors.take_attempt("chl_1", EXPIRES) is False
    assert side.factors.close_challenge("chl_2", EXPIRES) is True  # no attempt taken yet: fine


def test_a_challenge_out_of_attempts_does_not_close(side: AccountSide) -> None:
    for _ in range(WRONG_CODES_PER_CHALLENGE):
        side.factors.take_attempt("chl_1", EXPIRES)

    assert side.factors.close_challenge("chl_1", EXPIRES) is False


# --- copies on memberships ----------------------------------------------------------------------


def an_org(org_id: str, owner: User) -> tuple[Organization, Member]:
    org = Organization(org_id, "Acme", "free", False, owner.id, NOW, owner.id)
    member = Member(org_id, owner.id, "owner", owner.email, owner.name, NOW)
    return org, member


def test_member_copies_follow_the_account(side: AccountSide) -> None:
    ada = verified(side)
    bob = verified(side, "bob@example.com", "usr_bob")
    for org_id, owner in (("org_a", ada), ("org_b", ada), ("org_c", bob)):
        org, member = an_org(org_id, owner)
        side.orgs.create(org, member, audit_event(org_id, NOW, Actor("user", owner.id), "org.created", org_id, "", ""))

    side.factors.set_member_copies(ada.id, True)

    def copy(org_id: str, user_id: str) -> bool:
        member = side.orgs.get_member(org_id, user_id)
        assert member is not None
        return member.two_factor_enabled

    assert copy("org_a", ada.id)
    assert copy("org_b", ada.id)
    assert not copy("org_c", bob.id)
    side.factors.set_member_copies(ada.id, False)
    assert not copy("org_a", ada.id)
    side.factors.set_member_copies("usr_nobody", True)  # no memberships: nothing to do


# --- each change and its audit event, together ----------------------------------------------


def trail(side: AccountSide) -> list[str]:
    """The account's actions, sorted (the events share one instant, so ids do not order them)."""
    return sorted(event.action for event in side.audit.page("usr_ada", 50, None).items)


def test_each_change_records_its_event_and_a_refused_one_none(side: AccountSide) -> None:
    enrolled(side)
    assert trail(side) == ["two_factor.enabled"]

    assert side.factors.replace_recovery_codes("usr_ada", STEP, {"new"}, an_event(action="refused")) is False
    assert side.factors.replace_recovery_codes("usr_ada", STEP + 1, {"new"}, an_event(action="codes")) is True
    assert side.factors.disable("usr_ada", None, "not-a-code", an_event(action="refused")) is False
    assert side.factors.disable("usr_ada", STEP + 2, None, an_event(action="off")) is True
    assert side.factors.disable("usr_ada", STEP + 3, None, an_event(action="refused")) is False
    assert side.factors.reset("usr_ada", an_event(action="reset")) is True
    assert side.factors.reset("usr_gone", an_event("usr_gone", action="refused")) is False

    assert trail(side) == ["codes", "off", "reset", "two_factor.enabled"]
    assert side.audit.page("usr_gone", 50, None).items == []

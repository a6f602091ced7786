"""IdentityStore: one account per provider account, one provider account of each provider
per account, accounts created and taken over by a provider's verified address, and
never the last way to sign in unlinked, however requests race (services/oauth.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import pytest

from kuploy_access.domain.identities import Identity, Provider
from kuploy_access.domain.one_time_tokens import TokenKind
from kuploy_access.domain.users import User
from kuploy_access.services.ports.identities import (
    AccountChanged,
    IdentityTaken,
    LastSignInMethodLeft,
    NotLinked,
    ProviderAlreadyLinked,
)
from kuploy_access.services.ports.tokens import TokenNotUsable
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar
from tests.contract.account_side import (
    NOW,
    AccountSide,
    a_token,
    a_user,
    account_side,
    an_event,
    signed_up,
    verified,
)
from tests.contract.ports import Identities
from tests.contract.races import answered, raised, run_together

GRACE = "grace@example.com"
LOOK_ALIKE = "gr\u0430ce@example.com"  # a Cyrillic а for the Latin a


@dataclass
class IdentitySide:
    account: AccountSide
    identities: Identities


@cache
def dynamo_identities() -> Identities:
    from kuploy_access.adapters.dynamodb.identities import DynamoIdentityStore

    return DynamoIdentityStore()


@pytest.fixture(params=["fake", "dynamo"])
def side(request: pytest.FixtureRequest) -> IdentitySide:
    account = account_side(request)
    if request.param == "fake":
        from tests.unit.fakes import FakeUsers
        from tests.unit.identity_fakes import FakeIdentities

        assert isinstance(account.users, FakeUsers)
        return IdentitySide(account, FakeIdentities(account.users))
    return IdentitySide(account, dynamo_identities())


# --- builders ------------------------------------------------------------------------------


def an_identity(
    user_id: str = "usr_grace",
    provider: Provider = Provider.GITHUB,
    subject: str = "583231",
    email: str | None = GRACE,
) -> Identity:
    return Identity(provider=provider, subject=subject, user_id=user_id, email=email, linked_at=NOW)


def a_new_account(email: str = GRACE, user_id: str = "usr_grace") -> User:
    """As a first sign-in with a provider builds it: verified, no password."""
    return User(
        id=user_id,
        email=email,
        name="Grace",
        password_hash=None,
        email_verified=True,
        two_factor_enabled=False,
        created_at=NOW,
    )


def created(side: IdentitySide, *identities: Identity, email: str = GRACE, user_id: str = "usr_grace") -> User:
    """An account created by a provider sign-in, with more identities linked after."""
    first, *more = identities or (an_identity(user_id),)
    account = a_new_account(email, user_id)
    side.identities.create_account(account, first)
    for identity in more:
        side.identities.link(identity)
    return account


def account(side: IdentitySide, user_id: str = "usr_grace") -> User:
    stored = side.account.users.get(user_id)
    assert stored is not None
    return stored


def token_exists(side: IdentitySide, kind: TokenKind, token_hash: str) -> bool:
    return side.account.tokens.get(kind, token_hash) is not None


# --- find and identities_of ---------------------------------------------------------------------


def test_unknown_provider_accounts_and_accounts_without_identities_have_none(side: IdentitySide) -> None:
    verified(side.account)

    assert side.identities.find(Provider.GITHUB, "583231") is None
    assert side.identities.identities_of("usr_ada") == []
    assert side.identities.identities_of("usr_nobody") == []


def test_a_provider_account_is_keyed_by_its_provider_and_subject(side: IdentitySide) -> None:
    github = an_identity(subject="42")
    created(side, github)

    assert side.identities.find(Provider.GITHUB, "42") == github
    assert side.identities.find(Provider.GITLAB, "42") is None  # the same id at another provider
    assert side.identities.find(Provider.GITHUB, "4") is None


def test_identities_come_in_provider_order_and_only_the_accounts_own(side: IdentitySide) -> None:
    google = an_identity(provider=Provider.GOOGLE, subject="1076915035")
    github = an_identity(provider=Provider.GITHUB, subject="583231")
    gitlab = an_identity(provider=Provider.GITLAB, subject="4242", email=None)
    created(side, google, github, gitlab)
    created(side, an_identity("usr_other", subject="1"), email="other@example.com", user_id="usr_other")

    assert side.identities.identities_of("usr_grace") == [github, gitlab, google]


# --- create_account ---------------------------------------------------------------------------


def test_create_account_writes_a_verified_account_without_a_password_and_its_identity(side: IdentitySide) -> None:
    identity = an_identity()

    side.identities.create_account(a_new_account(), identity)

    assert side.account.users.get("usr_grace") == a_new_account()
    assert side.account.users.get_by_email(GRACE) == a_new_account()
    assert side.identities.find(Provider.GITHUB, "583231") == identity
    assert side.identities.identities_of("usr_grace") == [identity]


def test_create_account_claims_the_look_of_the_address(side: IdentitySide) -> None:
    created(side)

    with pytest.raises(EmailTooSimilar):
        side.account.users.create(a_user(LOOK_ALIKE, "usr_squatter"), a_token("usr_squatter", "squatter"))


def test_create_account_takes_the_look_from_a_pending_look_alike(side: IdentitySide) -> None:
    """Only verified accounts hold a look; the provider verified this address first."""
    _, link = signed_up(side.account, LOOK_ALIKE, "usr_pending")

    created(side)

    with pytest.raises(EmailTooSimilar):
        side.account.users.verify_email(link, LOOK_ALIKE)
    assert not account(side, "usr_pending").email_verified


def test_create_account_of_a_taken_address_is_refused_and_writes_nothing(side: IdentitySide) -> None:
    pending, _ = signed_up(side.account, GRACE, "usr_first")

    with pytest.raises(EmailAlreadyRegistered):
        side.identities.create_account(a_new_account(), an_identity())

    assert side.account.users.get_by_email(GRACE) == pending
    assert side.account.users.get("usr_grace") is None
    assert side.identities.find(Provider.GITHUB, "583231") is None


def test_create_account_of_a_look_alike_of_a_verified_address_is_refused_and_writes_nothing(
    side: IdentitySide,
) -> None:
    verified(side.account, LOOK_ALIKE, "usr_first")

    with pytest.raises(EmailTooSimilar):
        side.identities.create_account(a_new_account(), an_identity())

    assert side.account.users.get_by_email(GRACE) is None
    assert side.account.users.get("usr_grace") is None
    assert side.identities.find(Provider.GITHUB, "583231") is None


def test_create_account_with_a_linked_provider_account_is_refused_and_writes_nothing(side: IdentitySide) -> None:
    first = created(side)

    with pytest.raises(IdentityTaken):
        side.identities.create_account(a_new_account("new@example.com", "usr_new"), an_identity("usr_new"))

    assert side.account.users.get("usr_new") is None
    assert side.account.users.get_by_email("new@example.com") is None
    assert side.identities.find(Provider.GITHUB, "583231") == an_identity(first.id)
    # The address is free: another sign-in may create it.
    created(side, an_identity("usr_new", subject="other"), email="new@example.com", user_id="usr_new")


def test_create_account_never_overwrites_an_account(side: IdentitySide) -> None:
    first = verified(side.account, GRACE, "usr_grace")

    with pytest.raises(Exception) as refused:
        side.identities.create_account(a_new_account("other@example.com"), an_identity())

    assert not isinstance(refused.value, EmailAlreadyRegistered | EmailTooSimilar | IdentityTaken)
    assert side.account.users.get("usr_grace") == first
    assert side.account.users.get_by_email("other@example.com") is None
    assert side.identities.find(Provider.GITHUB, "583231") is None


# --- link ---------------------------------------------------------------------------------------


def test_link_adds_an_identity_to_an_account_and_changes_nothing_else(side: IdentitySide) -> None:
    user = verified(side.account)
    identity = an_identity(user.id)

    side.identities.link(identity)

    assert side.identities.find(Provider.GITHUB, "583231") == identity
    assert side.identities.identities_of(user.id) == [identity]
    assert side.account.users.get(user.id) == user


def test_an_account_links_one_account_of_each_provider(side: IdentitySide) -> None:
    user = verified(side.account)
    side.identities.link(an_identity(user.id, subject="first"))

    with pytest.raises(ProviderAlreadyLinked):
        side.identities.link(an_identity(user.id, subject="second"))

    assert side.identities.find(Provider.GITHUB, "second") is None
    side.identities.link(an_identity(user.id, Provider.GOOGLE, "second"))
    assert [i.subject for i in side.identities.identities_of(user.id)] == ["first", "second"]


def test_a_provider_account_links_to_one_account(side: IdentitySide) -> None:
    created(side)
    other = verified(side.account)

    with pytest.raises(IdentityTaken):
        side.identities.link(an_identity(other.id))

    assert side.identities.find(Provider.GITHUB, "583231") == an_identity("usr_grace")
    assert side.identities.identities_of(other.id) == []


def test_linking_the_same_identity_again_is_refused(side: IdentitySide) -> None:
    created(side)

    with pytest.raises(IdentityTaken):
        side.identities.link(an_identity())

    assert side.identities.identities_of("usr_grace") == [an_identity()]


def test_link_to_an_account_nobody_has_is_refused_and_writes_nothing(side: IdentitySide) -> None:
    with pytest.raises(AccountChanged):
        side.identities.link(an_identity("usr_gone"))

    assert side.account.users.get("usr_gone") is None
    assert side.identities.find(Provider.GITHUB, "583231") is None
    assert side.identities.identities_of("usr_gone") == []


# --- take_over ------------------------------------------------------------------------------------


def pre_registered(side: IdentitySide) -> User:
    """An unverified account with a password, two pending verification links and a
    reset link: what someone who does not own the inbox may have left."""
    user, _ = signed_up(side.account, GRACE, "usr_grace")
    second = a_token(user.id, "second sign-up", password_hash="$argon2id$second")
    side.account.users.add_verification(user.id, second, "$argon2id$second", tracked=True)
    side.account.users.start_password_reset(account(side), a_token(user.id, "reset", TokenKind.PASSWORD_RESET))
    before = account(side)
    assert len(before.pending_verification_hashes) == 2 and before.reset_token_hash is not None
    return before


def test_take_over_wipes_the_pre_registration_verifies_and_links(side: IdentitySide) -> None:
    before = pre_registered(side)
    identity = an_identity(before.id)

    side.identities.take_over(before, identity, "Grace Hopper")

    after = account(side)
    assert before.name != "Grace Hopper"
    assert after == replace(
        before,
        name="Grace Hopper",
        password_hash=None,
        email_verified=True,
        pending_verification_hashes=frozenset(),
        reset_token_hash=None,
    )
    for token_hash in before.pending_verification_hashes:
        assert not token_exists(side, TokenKind.EMAIL_VERIFICATION, token_hash)
    assert before.reset_token_hash is not None
    assert not token_exists(side, TokenKind.PASSWORD_RESET, before.reset_token_hash)
    assert side.identities.find(Provider.GITHUB, "583231") == identity
    assert side.identities.identities_of(before.id) == [identity]


def test_after_a_take_over_no_link_of_the_pre_registration_works(side: IdentitySide) -> None:
    user, link = signed_up(side.account, GRACE, "usr_grace")
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.account.users.start_password_reset(user, reset)

    side.identities.take_over(account(side), an_identity(), "Grace")

    with pytest.raises(TokenNotUsable):
        side.account.users.verify_email(link, GRACE)
    with pytest.raises(TokenNotUsable):
        side.account.users.reset_password(
            reset, "$argon2id$intruder", account(side), an_event(user.id, "password.reset")
        )
    assert account(side).password_hash is None


def test_take_over_claims_the_look(side: IdentitySide) -> None:
    user, _ = signed_up(side.account, GRACE, "usr_grace")
    _, others_link = signed_up(side.account, LOOK_ALIKE, "usr_other")

    side.identities.take_over(user, an_identity(), "Grace")

    with pytest.raises(EmailTooSimilar):
        side.account.users.verify_email(others_link, LOOK_ALIKE)


def test_take_over_of_a_look_alike_of_a_verified_address_is_refused_and_changes_nothing(
    side: IdentitySide,
) -> None:
    before = pre_registered(side)
    verified(side.account, LOOK_ALIKE, "usr_other")

    with pytest.raises(EmailTooSimilar):
        side.identities.take_over(before, an_identity(), "Grace")

    assert account(side) == before
    assert all(token_exists(side, TokenKind.EMAIL_VERIFICATION, h) for h in before.pending_verification_hashes)
    assert side.identities.find(Provider.GITHUB, "583231") is None


def test_take_over_of_an_account_verified_meanwhile_is_refused_and_changes_nothing(side: IdentitySide) -> None:
    """The owner followed a verification link after the callback read the account."""
    read, link = signed_up(side.account, GRACE, "usr_grace")
    side.account.users.verify_email(link, GRACE)
    now = account(side)

    with pytest.raises(AccountChanged):
        side.identities.take_over(read, an_identity(), "Grace")

    assert account(side) == now and now.password_hash == "$argon2id$first"
    assert side.identities.find(Provider.GITHUB, "583231") is None
    assert side.identities.identities_of(read.id) == []


def test_take_over_of_an_account_nobody_has_is_refused_and_writes_nothing(side: IdentitySide) -> None:
    with pytest.raises(AccountChanged):
        side.identities.take_over(a_user(GRACE, "usr_gone"), an_identity("usr_gone"), "Grace")

    assert side.account.users.get("usr_gone") is None
    assert side.identities.find(Provider.GITHUB, "583231") is None


def test_take_over_with_a_linked_provider_account_is_refused_and_changes_nothing(side: IdentitySide) -> None:
    created(side, an_identity("usr_owner"), email="owner@example.com", user_id="usr_owner")
    before = pre_registered(side)

    with pytest.raises(IdentityTaken):
        side.identities.take_over(before, an_identity(before.id), "Grace")

    assert account(side) == before
    assert side.identities.find(Provider.GITHUB, "583231") == an_identity("usr_owner")


# --- unlink -------------------------------------------------------------------------------------------


def test_unlink_answers_and_removes_the_identity_when_a_password_is_left(side: IdentitySide) -> None:
    user = verified(side.account)
    identity = an_identity(user.id)
    side.identities.link(identity)

    assert side.identities.unlink(user.id, Provider.GITHUB) == identity

    assert side.identities.find(Provider.GITHUB, "583231") is None
    assert side.identities.identities_of(user.id) == []


def test_unlink_keeps_the_last_way_to_sign_in(side: IdentitySide) -> None:
    created(side, an_identity(), an_identity(provider=Provider.GOOGLE, subject="1076915035"))

    side.identities.unlink("usr_grace", Provider.GOOGLE)
    with pytest.raises(LastSignInMethodLeft):
        side.identities.unlink("usr_grace", Provider.GITHUB)

    assert side.identities.identities_of("usr_grace") == [an_identity()]
    assert side.identities.find(Provider.GITHUB, "583231") == an_identity()


def test_unlink_counts_links_and_unlinks_in_any_order(side: IdentitySide) -> None:
    google = an_identity(provider=Provider.GOOGLE, subject="g")
    gitlab = an_identity(provider=Provider.GITLAB, subject="l")
    created(side, an_identity(), google)

    side.identities.unlink("usr_grace", Provider.GITHUB)
    side.identities.link(gitlab)
    side.identities.unlink("usr_grace", Provider.GOOGLE)
    with pytest.raises(LastSignInMethodLeft):
        side.identities.unlink("usr_grace", Provider.GITLAB)

    assert side.identities.identities_of("usr_grace") == [gitlab]


def test_a_password_set_through_the_reset_flow_lets_the_last_identity_go(side: IdentitySide) -> None:
    user = created(side)
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.account.users.start_password_reset(user, reset)
    side.account.users.reset_password(reset, "$argon2id$chosen", account(side), an_event(user.id, "password.reset"))

    side.identities.unlink(user.id, Provider.GITHUB)

    assert side.identities.identities_of(user.id) == []


def test_unlink_of_a_provider_not_linked_is_refused(side: IdentitySide) -> None:
    created(side)

    with pytest.raises(NotLinked):
        side.identities.unlink("usr_grace", Provider.GOOGLE)
    with pytest.raises(NotLinked):
        side.identities.unlink("usr_nobody", Provider.GITHUB)

    assert side.identities.identities_of("usr_grace") == [an_identity()]


def test_an_unlinked_provider_account_may_link_again_anywhere(side: IdentitySide) -> None:
    user = verified(side.account)
    side.identities.link(an_identity(user.id))
    side.identities.unlink(user.id, Provider.GITHUB)
    with pytest.raises(NotLinked):
        side.identities.unlink(user.id, Provider.GITHUB)

    created(side)  # the same provider account, a new account

    assert side.identities.find(Provider.GITHUB, "583231") == an_identity("usr_grace")
    side.identities.link(an_identity(user.id, subject="another"))  # the account's slot is free too
    assert side.identities.identities_of(user.id) == [an_identity(user.id, subject="another")]


# --- races ------------------------------------------------------------------------------------------------


def test_of_two_sign_ins_creating_one_address_exactly_one_creates_it(side: IdentitySide) -> None:
    outcomes = run_together(
        2,
        lambda i: side.identities.create_account(
            a_new_account(GRACE, f"usr_{i}"),
            an_identity(f"usr_{i}", [Provider.GITHUB, Provider.GOOGLE][i], f"subject-{i}"),
        ),
    )

    assert len(answered(outcomes)) == 1
    assert [type(error) for error in raised(outcomes)] == [EmailAlreadyRegistered]
    winner = side.account.users.get_by_email(GRACE)
    assert winner is not None
    loser = "usr_1" if winner.id == "usr_0" else "usr_0"
    assert side.account.users.get(loser) is None
    assert side.identities.identities_of(loser) == []
    assert len(side.identities.identities_of(winner.id)) == 1


def test_of_two_sign_ins_with_one_provider_account_the_loser_finds_the_winner(side: IdentitySide) -> None:
    """A double click on "Sign in with GitHub": both create, one gets IdentityTaken."""
    outcomes = run_together(
        2, lambda i: side.identities.create_account(a_new_account(GRACE, f"usr_{i}"), an_identity(f"usr_{i}"))
    )

    assert len(answered(outcomes)) == 1
    assert [type(error) for error in raised(outcomes)] == [IdentityTaken]
    found = side.identities.find(Provider.GITHUB, "583231")
    assert found is not None and side.account.users.get_by_email(GRACE) == account(side, found.user_id)


def test_of_two_accounts_linking_one_provider_account_exactly_one_links_it(side: IdentitySide) -> None:
    first = verified(side.account, "ada@example.com", "usr_ada")
    second = verified(side.account, "bob@example.com", "usr_bob")
    users = [first.id, second.id]

    outcomes = run_together(2, lambda i: side.identities.link(an_identity(users[i])))

    assert len(answered(outcomes)) == 1
    assert [type(error) for error in raised(outcomes)] == [IdentityTaken]
    found = side.identities.find(Provider.GITHUB, "583231")
    assert found is not None
    loser = users[1 - users.index(found.user_id)]
    assert side.identities.identities_of(found.user_id) == [found]
    assert side.identities.identities_of(loser) == []


def test_of_two_unlinks_of_a_password_less_account_exactly_one_succeeds(side: IdentitySide) -> None:
    google = an_identity(provider=Provider.GOOGLE, subject="1076915035")
    created(side, an_identity(), google)
    providers = [Provider.GITHUB, Provider.GOOGLE]

    outcomes = run_together(2, lambda i: side.identities.unlink("usr_grace", providers[i]))

    assert len(answered(outcomes)) == 1
    assert [type(error) for error in raised(outcomes)] == [LastSignInMethodLeft]
    left = side.identities.identities_of("usr_grace")
    assert len(left) == 1 and left[0] in (an_identity(), google)
    assert side.identities.find(left[0].provider, left[0].subject) == left[0]


def test_of_two_unlinks_of_one_provider_exactly_one_succeeds_and_counts(side: IdentitySide) -> None:
    google = an_identity(provider=Provider.GOOGLE, subject="g")
    gitlab = an_identity(provider=Provider.GITLAB, subject="l")
    created(side, an_identity(), google)

    outcomes = run_together(2, lambda _: side.identities.unlink("usr_grace", Provider.GITHUB))

    assert answered(outcomes) == [an_identity()]
    assert [type(error) for error in raised(outcomes)] == [NotLinked]
    # The count went down once: with GitLab linked there are two again, and one may go.
    side.identities.link(gitlab)
    side.identities.unlink("usr_grace", Provider.GOOGLE)
    with pytest.raises(LastSignInMethodLeft):
        side.identities.unlink("usr_grace", Provider.GITLAB)


def test_a_take_over_and_a_verification_at_once_leave_one_of_them(side: IdentitySide) -> None:
    """The owner of the inbox signs in with the provider as the pre-registered link is
    followed: either the link verified the account (and the take-over is refused), or
    the take-over wiped the link (and the link is refused); never both."""
    before, link = signed_up(side.account, GRACE, "usr_grace")

    outcomes = run_together(
        2,
        lambda i: (
            side.identities.take_over(before, an_identity(), "Grace")
            if i == 0
            else side.account.users.verify_email(link, GRACE)
        ),
    )

    errors = raised(outcomes)
    assert len(errors) == 1 and type(errors[0]) in (AccountChanged, TokenNotUsable)
    after = account(side)
    assert after.email_verified
    if isinstance(errors[0], AccountChanged):
        assert after.password_hash == "$argon2id$first"
        assert side.identities.identities_of(before.id) == []
    else:
        assert after.password_hash is None
        assert side.identities.identities_of(before.id) == [an_identity()]

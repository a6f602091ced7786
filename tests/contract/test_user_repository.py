"""UserRepository: one account per address, one verified account per look, and the
single-use links of sign-up and password reset (services/signup.py, passwords.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.users import NOBODY, User
from kuploy_access.services.ports.tokens import TokenNotUsable
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar
from tests.contract.account_side import (
    ADA,
    AccountSide,
    a_token,
    a_user,
    account_side,
    an_event,
    signed_up,
    verified,
)

LOOK_ALIKE = "\u0430da@example.com"  # a Cyrillic а for the Latin a


@pytest.fixture(params=["fake", "dynamo"])
def side(request: pytest.FixtureRequest) -> AccountSide:
    return account_side(request)


def verification_of(side: AccountSide, token_hash: str) -> object:
    return side.tokens.get(TokenKind.EMAIL_VERIFICATION, token_hash)


def reset_with(side: AccountSide, token: OneTimeToken, new_hash: str) -> None:
    """As PasswordService.reset calls it: with the account read just before."""
    account = side.users.get(token.user_id)
    assert account is not None
    side.users.reset_password(token, new_hash, account, an_event(token.user_id, "password.reset"))


def trail(side: AccountSide, user_id: str = "usr_ada") -> list[str]:
    """The account's own trail: its actions, sorted (events of one instant have no order)."""
    return sorted(event.action for event in side.audit.page(user_id, 50, None).items)


# --- create --------------------------------------------------------------------------


def test_create_stores_the_account_and_its_first_link(side: AccountSide) -> None:
    user, token = signed_up(side)

    assert side.users.get(user.id) == user
    assert side.users.get_by_email(ADA) == user
    assert side.tokens.get(TokenKind.EMAIL_VERIFICATION, token.token_hash) == token


def test_unknown_accounts_are_none(side: AccountSide) -> None:
    signed_up(side)

    assert side.users.get("usr_nobody") is None
    assert side.users.get_by_email("nobody@example.com") is None


def test_a_taken_address_is_refused_and_nothing_is_written(side: AccountSide) -> None:
    first, _ = signed_up(side)
    second = a_user(ADA, "usr_second", "$argon2id$second")
    token = a_token(second.id, "second sign-up", password_hash="$argon2id$second")

    with pytest.raises(EmailAlreadyRegistered) as raised:
        side.users.create(second, token)

    # The adapter does not read the guard: the exception names no account.
    assert raised.value.user_id is None
    assert side.users.get_by_email(ADA) == first
    assert side.users.get(second.id) is None
    assert verification_of(side, token.token_hash) is None


def test_a_taken_address_is_refused_even_once_verified(side: AccountSide) -> None:
    first = verified(side)

    with pytest.raises(EmailAlreadyRegistered):
        side.users.create(a_user(ADA, "usr_second"), a_token("usr_second", "second sign-up"))

    assert side.users.get_by_email(ADA) == first


def test_a_look_alike_of_a_verified_address_is_refused_and_nothing_is_written(side: AccountSide) -> None:
    first = verified(side)
    look_alike = a_user(LOOK_ALIKE, "usr_squatter")
    token = a_token(look_alike.id, "squatter's link")

    with pytest.raises(EmailTooSimilar):
        side.users.create(look_alike, token)

    assert side.users.get_by_email(LOOK_ALIKE) is None
    assert side.users.get(look_alike.id) is None
    assert verification_of(side, token.token_hash) is None
    assert side.users.get_by_email(ADA) == first


def test_a_look_alike_of_a_pending_address_may_sign_up(side: AccountSide) -> None:
    signed_up(side)

    look_alike, _ = signed_up(side, LOOK_ALIKE, "usr_other")

    assert side.users.get_by_email(LOOK_ALIKE) == look_alike


def test_an_id_clash_is_an_error_and_never_an_overwrite(side: AccountSide) -> None:
    first, _ = signed_up(side)
    clash = a_user("other@example.com", first.id)

    with pytest.raises(Exception) as raised:
        side.users.create(clash, a_token(first.id, "clash"))

    assert not isinstance(raised.value, EmailAlreadyRegistered | EmailTooSimilar)
    assert side.users.get(first.id) == first
    assert side.users.get_by_email("other@example.com") is None


# --- verification links ----------------------------------------------------------------


def test_verifying_consumes_the_link_and_sets_the_links_password(side: AccountSide) -> None:
    user, token = signed_up(side)
    later = a_token(user.id, "second sign-up", password_hash="$argon2id$later")
    side.users.add_verification(user.id, later, "$argon2id$later", tracked=True)

    side.users.verify_email(token, ADA)

    stored = side.users.get(user.id)
    assert stored is not None
    assert stored.email_verified is True
    assert stored.password_hash == "$argon2id$first"  # the link's, not the latest sign-up's
    assert verification_of(side, token.token_hash) is None


def test_a_link_is_used_once(side: AccountSide) -> None:
    _, token = signed_up(side)
    side.users.verify_email(token, ADA)

    with pytest.raises(TokenNotUsable):
        side.users.verify_email(token, ADA)


def test_once_verified_the_other_pending_links_are_refused_and_kept(side: AccountSide) -> None:
    user, first = signed_up(side)
    second = a_token(user.id, "second sign-up", password_hash="$argon2id$second")
    side.users.add_verification(user.id, second, "$argon2id$second", tracked=True)
    side.users.verify_email(first, ADA)

    with pytest.raises(TokenNotUsable):
        side.users.verify_email(second, ADA)

    stored = side.users.get(user.id)
    assert stored is not None and stored.password_hash == "$argon2id$first"
    assert verification_of(side, second.token_hash) == second  # all or nothing


def test_a_link_of_a_vanished_account_is_refused_and_kept(side: AccountSide) -> None:
    token = a_token("usr_gone", "orphan link", password_hash="$argon2id$x")
    side.tokens.put(token)

    with pytest.raises(TokenNotUsable):
        side.users.verify_email(token, ADA)

    assert verification_of(side, token.token_hash) == token
    assert side.users.get("usr_gone") is None


def test_a_deleted_link_is_refused(side: AccountSide) -> None:
    user, token = signed_up(side)
    side.tokens.delete(token.kind, token.token_hash)

    with pytest.raises(TokenNotUsable):
        side.users.verify_email(token, ADA)

    stored = side.users.get(user.id)
    assert stored is not None and not stored.email_verified


def test_a_link_without_a_password_leaves_the_account_without_one(side: AccountSide) -> None:
    user, _ = signed_up(side)
    resent = a_token(user.id, "resent link")
    side.users.add_verification(user.id, resent, None, tracked=True)
    assert side.users.get(user.id).password_hash == "$argon2id$first"  # type: ignore[union-attr]

    side.users.verify_email(resent, ADA)

    stored = side.users.get(user.id)
    assert stored is not None and stored.email_verified and stored.password_hash is None


def test_verifying_claims_the_look_so_a_look_alike_cannot_sign_up(side: AccountSide) -> None:
    verified(side)

    with pytest.raises(EmailTooSimilar):
        side.users.create(a_user(LOOK_ALIKE, "usr_other"), a_token("usr_other", "look-alike"))


def test_of_two_pending_look_alikes_the_first_verified_keeps_the_look(side: AccountSide) -> None:
    _, first = signed_up(side)
    other, second = signed_up(side, LOOK_ALIKE, "usr_other")
    side.users.verify_email(second, LOOK_ALIKE)

    with pytest.raises(EmailTooSimilar):
        side.users.verify_email(first, ADA)

    stored = side.users.get("usr_ada")
    assert stored is not None and not stored.email_verified
    assert verification_of(side, first.token_hash) == first  # not consumed
    assert side.users.get(other.id).email_verified  # type: ignore[union-attr]


def test_a_used_link_is_refused_before_a_held_look(side: AccountSide) -> None:
    _, first = signed_up(side)
    _, second = signed_up(side, LOOK_ALIKE, "usr_other")
    side.users.verify_email(second, LOOK_ALIKE)
    side.tokens.delete(first.kind, first.token_hash)

    with pytest.raises(TokenNotUsable):
        side.users.verify_email(first, ADA)


def test_verifying_ends_a_pending_reset_link(side: AccountSide) -> None:
    user, token = signed_up(side)
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.users.start_password_reset(user, reset)

    side.users.verify_email(token, ADA)

    assert side.users.get(user.id).reset_token_hash is None  # type: ignore[union-attr]
    with pytest.raises(TokenNotUsable):
        reset_with(side, reset, "$argon2id$by-reset")


# --- add_verification --------------------------------------------------------------------


def test_add_verification_keeps_the_earlier_links_working(side: AccountSide) -> None:
    user, first = signed_up(side)
    second = a_token(user.id, "second", password_hash="$argon2id$second")

    side.users.add_verification(user.id, second, "$argon2id$second", tracked=True)

    stored = side.users.get(user.id)
    assert stored is not None
    assert stored.password_hash == "$argon2id$second"  # only for login's email_not_verified
    assert stored.pending_verification_hashes == {first.token_hash, second.token_hash}
    assert verification_of(side, first.token_hash) == first
    assert verification_of(side, second.token_hash) == second


def test_an_untracked_resend_changes_nothing_on_the_account(side: AccountSide) -> None:
    user, _ = signed_up(side)
    resent = a_token(user.id, "resent")

    side.users.add_verification(user.id, resent, None, tracked=False)

    assert side.users.get(user.id) == user
    side.users.verify_email(resent, ADA)
    assert side.users.get(user.id).email_verified  # type: ignore[union-attr]


@pytest.mark.parametrize(("password_hash", "tracked"), [("$argon2id$intruder", True), (None, True), (None, False)])
def test_no_link_is_added_to_a_verified_account(side: AccountSide, password_hash: str | None, tracked: bool) -> None:
    user = verified(side)
    late = a_token(user.id, "late", password_hash=password_hash)

    with pytest.raises(TokenNotUsable):
        side.users.add_verification(user.id, late, password_hash, tracked)

    assert side.users.get(user.id) == user
    assert verification_of(side, late.token_hash) is None


def test_no_link_is_added_to_an_account_nobody_has(side: AccountSide) -> None:
    """The decoy of a resend for an unknown address (services/signup.py)."""
    decoy = a_token(NOBODY, "decoy")

    with pytest.raises(TokenNotUsable):
        side.users.add_verification(NOBODY, decoy, None, False)

    assert side.users.get(NOBODY) is None
    assert verification_of(side, decoy.token_hash) is None


def test_a_link_never_overwrites_another(side: AccountSide) -> None:
    user, first = signed_up(side)
    same_hash = replace(first, password_hash="$argon2id$other")

    with pytest.raises(TokenNotUsable):
        side.users.add_verification(user.id, same_hash, "$argon2id$other", tracked=True)

    assert verification_of(side, first.token_hash) == first
    assert side.users.get(user.id) == user


# --- discard_verifications -----------------------------------------------------------------


def test_discard_deletes_the_other_tracked_links_and_forgets_them(side: AccountSide) -> None:
    user, first = signed_up(side)
    others = [a_token(user.id, f"other {n}", password_hash=f"$argon2id${n}") for n in range(3)]
    for token in others:
        side.users.add_verification(user.id, token, token.password_hash, tracked=True)
    untracked = a_token(user.id, "untracked")
    side.users.add_verification(user.id, untracked, None, tracked=False)
    side.users.verify_email(first, ADA)

    side.users.discard_verifications(user.id, first.token_hash)

    assert all(verification_of(side, token.token_hash) is None for token in others)
    # Past the tracked ones, a link is refused (the account is verified) and expires by TTL.
    assert verification_of(side, untracked.token_hash) == untracked
    assert side.users.get(user.id).pending_verification_hashes == frozenset()  # type: ignore[union-attr]
    side.users.discard_verifications(user.id, first.token_hash)  # nothing left: no error


def test_discard_for_an_account_nobody_has_creates_nothing(side: AccountSide) -> None:
    side.users.discard_verifications("usr_gone", "0" * 64)

    assert side.users.get("usr_gone") is None


# --- name and password ------------------------------------------------------------------------


def test_update_name_answers_the_account(side: AccountSide) -> None:
    user, _ = signed_up(side)

    renamed = side.users.update_name(user.id, "Countess")

    assert renamed == replace(user, name="Countess")
    assert side.users.get(user.id) == renamed


def test_update_name_of_an_account_nobody_has_is_none_and_creates_nothing(side: AccountSide) -> None:
    assert side.users.update_name("usr_gone", "Ghost") is None
    assert side.users.get("usr_gone") is None


def test_a_password_hash_changes_only_from_the_current_one(side: AccountSide) -> None:
    user, _ = signed_up(side)

    assert side.users.update_password_hash(user.id, "$argon2id$first", "$argon2id$new") is True
    # A rehash that read the account before the change must not undo it.
    assert side.users.update_password_hash(user.id, "$argon2id$first", "$argon2id$stale") is False

    assert side.users.get(user.id).password_hash == "$argon2id$new"  # type: ignore[union-attr]


def test_a_password_hash_of_an_account_nobody_has_is_not_changed(side: AccountSide) -> None:
    assert side.users.update_password_hash("usr_gone", "$argon2id$first", "$argon2id$new") is False
    assert side.users.get("usr_gone") is None


def test_a_password_change_ends_the_pending_reset_link(side: AccountSide) -> None:
    user = verified(side)
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.users.start_password_reset(user, reset)

    assert side.users.change_password(
        user.id, "$argon2id$first", "$argon2id$changed", an_event(action="password.changed")
    )

    assert side.users.get(user.id).reset_token_hash is None  # type: ignore[union-attr]
    with pytest.raises(TokenNotUsable):
        reset_with(side, reset, "$argon2id$by-reset")


def test_a_password_change_records_its_event_with_it(side: AccountSide) -> None:
    user = verified(side)
    event = an_event(user.id, "password.changed")

    assert side.users.change_password(user.id, "$argon2id$first", "$argon2id$changed", event)

    assert side.audit.page(user.id, 50, None).items == [event]
    assert side.users.get(user.id).password_hash == "$argon2id$changed"  # type: ignore[union-attr]


def test_a_password_change_from_a_stale_hash_writes_neither_the_change_nor_its_event(side: AccountSide) -> None:
    user = verified(side)

    assert not side.users.change_password(user.id, "$argon2id$stale", "$argon2id$changed", an_event(user.id))

    assert trail(side, user.id) == []
    assert side.users.get(user.id).password_hash == "$argon2id$first"  # type: ignore[union-attr]


def test_a_reset_records_its_event_with_it(side: AccountSide) -> None:
    user = verified(side)

    reset_with(side, started_reset(side, user), "$argon2id$by-reset")

    assert trail(side, user.id) == ["password.reset"]


def test_a_refused_reset_records_no_event(side: AccountSide) -> None:
    user = verified(side)
    reset = started_reset(side, user)
    reset_with(side, reset, "$argon2id$by-reset")

    with pytest.raises(TokenNotUsable):
        side.users.reset_password(reset, "$argon2id$again", user, an_event(user.id, "password.reset"))

    assert trail(side, user.id) == ["password.reset"]


def test_a_rehash_leaves_the_pending_reset_link_working(side: AccountSide) -> None:
    user = verified(side)
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.users.start_password_reset(user, reset)

    assert side.users.update_password_hash(user.id, "$argon2id$first", "$argon2id$rehashed")

    reset_with(side, reset, "$argon2id$by-reset")
    assert side.users.get(user.id).password_hash == "$argon2id$by-reset"  # type: ignore[union-attr]


# --- password reset ------------------------------------------------------------------------


def test_a_reset_link_sets_the_password_once(side: AccountSide) -> None:
    user = verified(side)
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.users.start_password_reset(user, reset)
    assert side.tokens.get(TokenKind.PASSWORD_RESET, reset.token_hash) == reset
    assert side.users.get(user.id).reset_token_hash == reset.token_hash  # type: ignore[union-attr]

    reset_with(side, reset, "$argon2id$by-reset")

    stored = side.users.get(user.id)
    assert stored is not None
    assert stored.password_hash == "$argon2id$by-reset"
    assert stored.reset_token_hash is None
    assert side.tokens.get(TokenKind.PASSWORD_RESET, reset.token_hash) is None
    with pytest.raises(TokenNotUsable):
        reset_with(side, reset, "$argon2id$again")
    assert side.users.get(user.id).password_hash == "$argon2id$by-reset"  # type: ignore[union-attr]


def test_only_the_newest_reset_link_works(side: AccountSide) -> None:
    user = verified(side)
    older = a_token(user.id, "older", TokenKind.PASSWORD_RESET)
    newer = a_token(user.id, "newer", TokenKind.PASSWORD_RESET)
    side.users.start_password_reset(user, older)
    side.users.start_password_reset(side.users.get(user.id), newer)  # type: ignore[arg-type]

    assert side.tokens.get(TokenKind.PASSWORD_RESET, older.token_hash) is None
    with pytest.raises(TokenNotUsable):
        reset_with(side, older, "$argon2id$older")

    reset_with(side, newer, "$argon2id$newer")
    assert side.users.get(user.id).password_hash == "$argon2id$newer"  # type: ignore[union-attr]


def test_only_the_newest_reset_link_works_when_two_requests_read_the_account_first(side: AccountSide) -> None:
    user = verified(side)
    first = a_token(user.id, "first", TokenKind.PASSWORD_RESET)
    second = a_token(user.id, "second", TokenKind.PASSWORD_RESET)

    side.users.start_password_reset(user, first)
    side.users.start_password_reset(user, second)  # read before the first was written

    with pytest.raises(TokenNotUsable):
        reset_with(side, first, "$argon2id$first-link")
    reset_with(side, second, "$argon2id$second-link")
    assert side.users.get(user.id).password_hash == "$argon2id$second-link"  # type: ignore[union-attr]


def test_a_reset_for_an_account_nobody_has_writes_nothing(side: AccountSide) -> None:
    """The decoy of "forgot password" for an unknown address (services/passwords.py)."""
    ghost = a_user("nobody@example.com", NOBODY)
    decoy = a_token(NOBODY, "decoy", TokenKind.PASSWORD_RESET)

    with pytest.raises(TokenNotUsable):
        side.users.start_password_reset(ghost, decoy)

    assert side.tokens.get(TokenKind.PASSWORD_RESET, decoy.token_hash) is None
    assert side.users.get(NOBODY) is None


def test_a_reset_link_never_overwrites_another_token(side: AccountSide) -> None:
    user = verified(side)
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.tokens.put(reset)

    with pytest.raises(TokenNotUsable):
        side.users.start_password_reset(user, replace(reset, expires_at=reset.expires_at.replace(year=2040)))

    assert side.tokens.get(TokenKind.PASSWORD_RESET, reset.token_hash) == reset
    assert side.users.get(user.id).reset_token_hash is None  # type: ignore[union-attr]


def test_a_deleted_reset_link_is_refused(side: AccountSide) -> None:
    user = verified(side)
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.users.start_password_reset(user, reset)
    side.tokens.delete(reset.kind, reset.token_hash)  # an expired link, cleaned up

    with pytest.raises(TokenNotUsable):
        reset_with(side, reset, "$argon2id$late")

    assert side.users.get(user.id).password_hash == "$argon2id$first"  # type: ignore[union-attr]


def test_a_reset_verifies_the_address_and_ends_the_pending_links(side: AccountSide) -> None:
    user, first = signed_up(side)
    reset = a_token(user.id, "reset", TokenKind.PASSWORD_RESET)
    side.users.start_password_reset(user, reset)

    reset_with(side, reset, "$argon2id$by-reset")

    stored = side.users.get(user.id)
    assert stored is not None
    assert stored.email_verified is True
    assert stored.pending_verification_hashes == frozenset()
    with pytest.raises(TokenNotUsable):
        side.users.verify_email(first, ADA)
    assert side.users.get(user.id).password_hash == "$argon2id$by-reset"  # type: ignore[union-attr]


# --- a reset that verifies the address holds its look --------------------------------------


def started_reset(side: AccountSide, user: User, secret: str = "reset") -> OneTimeToken:
    reset = a_token(user.id, secret, TokenKind.PASSWORD_RESET)
    side.users.start_password_reset(user, reset)
    return reset


def test_a_reset_that_verifies_the_address_claims_its_look(side: AccountSide) -> None:
    """The owner used "forgot password" instead of the verification link: the reset
    verifies the address, so the account holds its look as verify_email would have."""
    user, _ = signed_up(side)

    reset_with(side, started_reset(side, user), "$argon2id$by-reset")

    with pytest.raises(EmailTooSimilar):
        side.users.create(a_user(LOOK_ALIKE, "usr_other"), a_token("usr_other", "look-alike"))
    assert side.users.get("usr_other") is None


def test_a_reset_that_verifies_the_address_keeps_the_look_from_a_pending_look_alike(side: AccountSide) -> None:
    user, _ = signed_up(side)
    other, others_link = signed_up(side, LOOK_ALIKE, "usr_other")

    reset_with(side, started_reset(side, user), "$argon2id$by-reset")

    with pytest.raises(EmailTooSimilar):
        side.users.verify_email(others_link, LOOK_ALIKE)
    assert side.users.get(other.id).email_verified is False  # type: ignore[union-attr]
    assert verification_of(side, others_link.token_hash) == others_link


def test_a_reset_cannot_verify_a_look_alike_of_a_verified_address(side: AccountSide) -> None:
    """The look-alike verified first holds the look: like its verification link, the
    account's reset link is refused and changes nothing (the account stays pending with
    its password and its links; the reset link stays, and keeps being refused)."""
    user, first = signed_up(side)
    other, second = signed_up(side, LOOK_ALIKE, "usr_other")
    side.users.verify_email(second, LOOK_ALIKE)
    reset = started_reset(side, user)
    before = side.users.get(user.id)

    with pytest.raises(EmailTooSimilar):
        reset_with(side, reset, "$argon2id$by-reset")

    assert side.users.get(user.id) == before
    assert trail(side, user.id) == []
    assert before is not None and not before.email_verified
    assert side.tokens.get(TokenKind.PASSWORD_RESET, reset.token_hash) == reset
    assert verification_of(side, first.token_hash) == first
    assert side.users.get(other.id).email_verified is True  # type: ignore[union-attr]
    with pytest.raises(EmailTooSimilar):
        reset_with(side, reset, "$argon2id$again")


def test_a_used_reset_link_is_refused_before_a_held_look(side: AccountSide) -> None:
    user, _ = signed_up(side)
    _, second = signed_up(side, LOOK_ALIKE, "usr_other")
    side.users.verify_email(second, LOOK_ALIKE)
    reset = started_reset(side, user)
    side.tokens.delete(reset.kind, reset.token_hash)

    with pytest.raises(TokenNotUsable):
        reset_with(side, reset, "$argon2id$late")


def test_a_reset_that_read_the_account_before_its_address_was_verified_is_refused(side: AccountSide) -> None:
    """Verifying ends the reset link, so a reset that read the account pending cannot
    mark it verified a second time nor claim a look for it."""
    user, first = signed_up(side)
    reset = started_reset(side, user)
    side.users.verify_email(first, ADA)

    with pytest.raises(TokenNotUsable):
        side.users.reset_password(reset, "$argon2id$by-reset", user, an_event(user.id, "password.reset"))

    assert side.users.get(user.id).password_hash == "$argon2id$first"  # type: ignore[union-attr]


def test_a_reset_of_a_verified_account_leaves_its_look_with_it(side: AccountSide) -> None:
    user = verified(side)

    reset_with(side, started_reset(side, user), "$argon2id$by-reset")

    assert side.users.get(user.id).password_hash == "$argon2id$by-reset"  # type: ignore[union-attr]
    with pytest.raises(EmailTooSimilar):
        side.users.create(a_user(LOOK_ALIKE, "usr_other"), a_token("usr_other", "look-alike"))

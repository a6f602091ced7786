"""Sign-up with an address that only looks like a verified account's: refused, never
merged, and the answer is the one every sign-up gets (on the in-memory fakes). Only a
verified account holds its look, so nobody blocks an address with a look-alike whose
inbox they do not have."""

from __future__ import annotations

import pytest

from kuploy_access.domain.emails import LOOK_ALIKE_REFUSAL
from kuploy_access.domain.errors import InvalidToken
from kuploy_access.services.sessions import ClientInfo
from tests.unit.support import World, reset_secret, verification_secret

PASSWORD = "Analytical-Engine-1843"
OTHER_PASSWORD = "Difference-Engine-1822"
LOOK_ALIKE = "p\u0430ypal@example.com"  # a Cyrillic а
CLIENT = ClientInfo(ip="198.51.100.30", user_agent="pytest")


@pytest.fixture
def world() -> World:
    return World()


def verified(world: World, email: str) -> None:
    sent_before = len(world.mailer.sent)
    world.signup().sign_up(email, PASSWORD, CLIENT)
    world.signup().verify_email(verification_secret(world.mailer.sent[sent_before]))


def test_a_look_alike_sign_up_creates_nothing_and_changes_nothing(world):
    verified(world, "paypal@example.com")
    (owner,) = world.users.by_id.values()
    tokens_before = dict(world.tokens.items)

    assert world.signup().sign_up(LOOK_ALIKE, OTHER_PASSWORD, CLIENT) is None  # the same 202 as any sign-up

    assert list(world.users.by_id.values()) == [owner]
    assert world.users.get_by_email(LOOK_ALIKE) is None
    assert world.tokens.items == tokens_before


def test_the_look_alike_address_is_told_it_cannot_be_registered_and_nothing_more(world):
    verified(world, "paypal@example.com")
    sent_before = len(world.mailer.sent)

    world.signup().sign_up(LOOK_ALIKE.upper(), OTHER_PASSWORD, CLIENT)

    (email,) = world.mailer.sent[sent_before:]
    assert email.to == LOOK_ALIKE
    assert "cannot be registered" in email.subject
    assert "too much like the address of an existing account" in email.text
    # It names no other account and carries no link to act on.
    assert "paypal@example.com" not in email.text + email.html
    assert "http" not in email.text
    assert "?token=" not in email.html


def test_the_owner_of_the_existing_account_gets_no_email(world):
    verified(world, "paypal@example.com")
    sent_before = len(world.mailer.sent)
    world.signup().sign_up(LOOK_ALIKE, OTHER_PASSWORD, CLIENT)
    assert [email.to for email in world.mailer.sent[sent_before:]] == [LOOK_ALIKE]


def test_the_look_alike_emails_count_against_the_addresses_hourly_budget(world):
    verified(world, "paypal@example.com")
    sent_before = len(world.mailer.sent)
    for _ in range(20):
        world.signup().sign_up(LOOK_ALIKE, OTHER_PASSWORD, CLIENT)
    sent = [email for email in world.mailer.sent[sent_before:] if email.to == LOOK_ALIKE]
    assert 1 <= len(sent) < 20


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("straße@example.com", "strasse@example.com"),
        ("strasse@example.com", "straße@example.com"),
        ("ſam@example.com", "sam@example.com"),
        ("ada@example.com", "ada@example.org"),
    ],
)
def test_addresses_that_differ_visibly_are_two_accounts(world, first, second):
    world.signup().sign_up(first, PASSWORD, CLIENT)
    world.signup().sign_up(second, OTHER_PASSWORD, CLIENT)
    assert sorted(user.email for user in world.users.by_id.values()) == sorted([first, second])


@pytest.mark.parametrize(
    "second",
    ["p\u0430ypal@example.com", "paypal@ex\u0430mple.com", "rnary@example.com", "PAYPAL@EXAMPLE.COM"],
)
def test_a_second_sign_up_never_adds_an_account_for_the_same_look(world, second):
    verified(world, "paypal@example.com" if "rn" not in second else "mary@example.com")
    world.signup().sign_up(second, OTHER_PASSWORD, CLIENT)
    assert len(world.users.by_id) == 1


def test_a_pending_look_alike_blocks_nobody(world):
    """Someone signs up a look-alike of your address without its inbox: you sign up and
    verify as usual, and their pending account can never be verified."""
    world.signup().sign_up(LOOK_ALIKE, OTHER_PASSWORD, CLIENT)
    squatter_link = verification_secret(world.mailer.sent[0])

    verified(world, "paypal@example.com")

    owner = world.users.get_by_email("paypal@example.com")
    assert owner is not None and owner.email_verified
    with pytest.raises(InvalidToken) as refused:
        world.signup().verify_email(squatter_link)
    assert "looks like" in refused.value.detail
    squatter = world.users.get_by_email(LOOK_ALIKE)
    assert squatter is not None and not squatter.email_verified


def test_of_two_pending_look_alikes_the_first_verified_keeps_the_look(world):
    world.signup().sign_up("paypal@example.com", PASSWORD, CLIENT)
    world.signup().sign_up(LOOK_ALIKE, OTHER_PASSWORD, CLIENT)
    first, second = (verification_secret(email) for email in world.mailer.sent[:2])

    world.signup().verify_email(second)
    with pytest.raises(InvalidToken):
        world.signup().verify_email(first)
    assert [u.email for u in world.users.by_id.values() if u.email_verified] == [LOOK_ALIKE]


# --- "forgot password" instead of the verification link ---------------------------------------


def reset_by_link(world: World, email: str, password: str = OTHER_PASSWORD) -> None:
    sent_before = len(world.mailer.sent)
    world.passwords().forgot(email)
    (sent,) = world.mailer.sent[sent_before:]
    world.passwords().reset(reset_secret(sent), password)


def test_a_reset_of_a_pending_account_verifies_it_and_holds_its_look(world):
    world.signup().sign_up("paypal@example.com", PASSWORD, CLIENT)

    reset_by_link(world, "paypal@example.com")

    owner = world.users.get_by_email("paypal@example.com")
    assert owner is not None and owner.email_verified
    world.signup().sign_up(LOOK_ALIKE, PASSWORD, CLIENT)
    assert world.users.get_by_email(LOOK_ALIKE) is None


def test_a_reset_of_a_look_alike_of_a_verified_address_is_refused_and_changes_nothing(world):
    world.signup().sign_up(LOOK_ALIKE, PASSWORD, CLIENT)
    verified(world, "paypal@example.com")
    world.passwords().forgot(LOOK_ALIKE)
    link = reset_secret(world.mailer.sent[-1])
    pending = world.users.get_by_email(LOOK_ALIKE)
    tokens_before = dict(world.tokens.items)
    sent_before = len(world.mailer.sent)
    trail_before = list(world.trail.events)

    with pytest.raises(InvalidToken) as refused:
        world.passwords().reset(link, OTHER_PASSWORD)

    assert refused.value.detail == LOOK_ALIKE_REFUSAL
    assert world.users.get_by_email(LOOK_ALIKE) == pending
    assert pending is not None and not pending.email_verified
    assert world.tokens.items == tokens_before
    assert len(world.mailer.sent) == sent_before
    assert world.trail.events == trail_before
    assert [u.email for u in world.users.by_id.values() if u.email_verified] == ["paypal@example.com"]

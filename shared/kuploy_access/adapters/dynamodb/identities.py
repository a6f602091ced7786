"""Provider accounts linked to accounts here (domain/identities.py).

Each link is two items written in one transaction, both created only where nothing is:
the provider account's (`identity_pk`), so that one provider account signs in to one
account, and the account's (`account_identity_sk`), so that an account links one account
of each provider. The profile counts its links (`identity_count`), so that "never remove
the last way to sign in" is a condition on the profile, which two racing unlinks cannot
both pass.
"""

from __future__ import annotations

from dataclasses import replace

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from kuploy_access.adapters.dynamodb.conditions import absent, present
from kuploy_access.adapters.dynamodb.keys import (
    ACCOUNT_IDENTITY_SK_PREFIX,
    EMAIL_GUARD_SK,
    IDENTITY_SK,
    account_identity_sk,
    email_guard_pk,
    identity_pk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.models import EmailGuardItem, IdentityItem, UserItem, user_ref
from kuploy_access.adapters.dynamodb.tokens import token_ref
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.adapters.dynamodb.users import look_free_or_held_by, look_guard, profile_item, unverified
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
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar


def _identity_ref(provider: Provider, subject: str) -> IdentityItem:
    return IdentityItem(pk=identity_pk(provider, subject), sk=IDENTITY_SK)


def _account_identity_ref(user_id: str, provider: Provider) -> IdentityItem:
    return IdentityItem(pk=user_pk(user_id), sk=account_identity_sk(provider))


def _items(identity: Identity) -> tuple[IdentityItem, IdentityItem]:
    """The provider account's item and the account's."""
    items = (
        _identity_ref(identity.provider, identity.subject),
        _account_identity_ref(identity.user_id, identity.provider),
    )
    for item in items:
        item.provider = identity.provider.value
        item.subject = identity.subject
        item.user_id = identity.user_id
        item.email = identity.email
        item.linked_at = identity.linked_at
    return items


def _identity_of(item: IdentityItem) -> Identity:
    return Identity(
        provider=Provider(item.provider),
        subject=item.subject,
        user_id=item.user_id,
        email=item.email,
        linked_at=item.linked_at,
    )


def _with_link(transaction: Transaction, identity: Identity) -> Transaction:
    """Both items, each only where nothing is: "identity" fails when the provider account
    is linked already, "account_identity" when the account has one of this provider."""
    by_provider_account, by_account = _items(identity)
    return transaction.put("identity", by_provider_account, absent()).put("account_identity", by_account, absent())


def _link_refused(failed: ConditionFailed) -> Exception:
    if "identity" in failed.labels:
        return IdentityTaken()
    if "account_identity" in failed.labels:
        return ProviderAlreadyLinked()
    return failed


def _keeps_a_way_to_sign_in() -> Condition:
    """After this unlink the account still has a password or another identity."""
    condition: Condition = UserItem.password_hash.exists() | (UserItem.identity_count > 1)
    return condition


class DynamoIdentityStore:
    """IdentityStore (services/ports/identities.py)."""

    def find(self, provider: Provider, subject: str) -> Identity | None:
        # Strongly consistent: a sign-in that lost a race to link this provider account
        # reads the winner's link right after.
        try:
            return _identity_of(IdentityItem.get(identity_pk(provider, subject), IDENTITY_SK, consistent_read=True))
        except IdentityItem.DoesNotExist:
            return None

    def identities_of(self, user_id: str) -> list[Identity]:
        items = IdentityItem.query(user_pk(user_id), IdentityItem.sk.startswith(ACCOUNT_IDENTITY_SK_PREFIX))
        return sorted((_identity_of(item) for item in items), key=lambda identity: identity.provider.value)

    def create_account(self, user: User, identity: Identity) -> None:
        # Verified, and no password: the provider proved the inbox, and is the way in.
        fresh = replace(user, password_hash=None, email_verified=True, pending_verification_hashes=frozenset())
        profile = profile_item(fresh, identity_count=1)
        guard = EmailGuardItem(pk=email_guard_pk(user.email), sk=EMAIL_GUARD_SK, user_id=user.id)
        transaction = (
            Transaction()
            .put("guard", guard, absent())
            .put("profile", profile, absent())
            # The provider verified the address: the account is verified, so it claims
            # the look as verify_email does.
            .put("look", look_guard(user.email, user.id), look_free_or_held_by(user.id))
        )
        try:
            _with_link(transaction, identity).commit()
        except ConditionFailed as failed:
            # A racing sign-in with the same provider account fails every guard at once;
            # naming the link lets the caller find that sign-in's account.
            if "identity" in failed.labels:
                raise IdentityTaken() from None
            if "guard" in failed.labels:
                raise EmailAlreadyRegistered() from None
            if "look" in failed.labels:
                raise EmailTooSimilar() from None
            if "profile" in failed.labels:
                raise
            raise _link_refused(failed) from None

    def link(self, identity: Identity) -> None:
        transaction = Transaction().update(
            "account", user_ref(identity.user_id), [UserItem.identity_count.add(1)], present()
        )
        try:
            _with_link(transaction, identity).commit()
        except ConditionFailed as failed:
            if "account" in failed.labels:
                raise AccountChanged() from None
            raise _link_refused(failed) from None

    def take_over(self, account: User, identity: Identity, name: str) -> None:
        changes: list[Action] = [
            UserItem.name.set(name),
            UserItem.password_hash.remove(),
            UserItem.pending_verification_hashes.remove(),
            UserItem.reset_token_hash.remove(),
            UserItem.email_verified.set(True),
            UserItem.identity_count.add(1),
        ]
        transaction = (
            Transaction()
            # Only while unverified: a verification that won meanwhile proved the inbox
            # of whoever signed up, and their account is not taken over.
            .update("account", user_ref(account.id), changes, unverified())
            .put("look", look_guard(account.email, account.id), look_free_or_held_by(account.id))
        )
        # Every link the pre-registration sent goes with its password: the account is
        # verified now, so they would be refused anyway, but none outlives the take-over.
        # At most MAX_TRACKED_VERIFICATIONS + 1 deletes, well within a transaction's 100.
        for index, token_hash in enumerate(sorted(account.pending_verification_hashes)):
            transaction.delete(f"verification {index}", token_ref(TokenKind.EMAIL_VERIFICATION, token_hash))
        if account.reset_token_hash:
            transaction.delete("reset", token_ref(TokenKind.PASSWORD_RESET, account.reset_token_hash))
        try:
            _with_link(transaction, identity).commit()
        except ConditionFailed as failed:
            if "account" in failed.labels:
                raise AccountChanged() from None
            if "look" in failed.labels:
                raise EmailTooSimilar() from None
            raise _link_refused(failed) from None

    def unlink(self, user_id: str, provider: Provider) -> Identity:
        # The account's item names the subject, which the provider account's key needs.
        try:
            stored = IdentityItem.get(user_pk(user_id), account_identity_sk(provider), consistent_read=True)
        except IdentityItem.DoesNotExist:
            raise NotLinked() from None
        identity = _identity_of(stored)
        same_link: Condition = present() & (IdentityItem.subject == identity.subject)
        try:
            (
                Transaction()
                .delete("account_identity", _account_identity_ref(user_id, provider), same_link)
                .delete("identity", _identity_ref(provider, identity.subject))
                .update(
                    "account",
                    user_ref(user_id),
                    [UserItem.identity_count.add(-1)],
                    present() & _keeps_a_way_to_sign_in(),
                )
                .commit()
            )
        except ConditionFailed as failed:
            # A racing unlink of the same provider removed it first.
            if "account_identity" in failed.labels:
                raise NotLinked() from None
            raise LastSignInMethodLeft() from None
        return identity

"""Users and the email guard that keeps one account per address."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.conditions import absent, present, update_if
from kuploy_access.adapters.dynamodb.keys import (
    EMAIL_GUARD_SK,
    EMAIL_SKELETON_GUARD_SK,
    PROFILE_SK,
    email_guard_pk,
    email_skeleton_guard_pk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.models import EmailGuardItem, OneTimeTokenItem, UserItem, user_ref
from kuploy_access.adapters.dynamodb.tokens import token_item, token_ref
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.config import settings
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.emails import email_skeleton
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.users import User
from kuploy_access.services.ports.tokens import TokenNotUsable
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar


def user_of(item: UserItem) -> User:
    return User(
        id=item.user_id,
        email=item.email,
        name=item.name or "",
        password_hash=item.password_hash,
        email_verified=bool(item.email_verified),
        two_factor_enabled=bool(item.two_factor_enabled),
        created_at=item.created_at,
        pending_verification_hashes=frozenset(item.pending_verification_hashes or ()),
        reset_token_hash=item.reset_token_hash,
        totp_secret_sealed=item.totp_secret_sealed,
        totp_pending_sealed=item.totp_pending_sealed,
        totp_last_step=int(item.totp_last_step) if item.totp_last_step is not None else None,
        recovery_code_hashes=frozenset(item.recovery_code_hashes or ()),
    )


def unverified() -> Condition:
    """The account exists and its address is not verified yet (also what a provider's
    take-over of a pre-registered account requires: adapters/dynamodb/identities.py)."""
    condition: Condition = UserItem.pk.exists() & (UserItem.email_verified == False)  # noqa: E712
    return condition


def _verified() -> Condition:
    condition: Condition = UserItem.email_verified == True  # noqa: E712
    return condition


def look_guard(address: str, holder: str | None = None) -> EmailGuardItem:
    """The skeleton guard of `address`: one verified account per look (see `create`)."""
    look = EmailGuardItem(pk=email_skeleton_guard_pk(email_skeleton(address)), sk=EMAIL_SKELETON_GUARD_SK)
    if holder is not None:
        look.user_id = holder
    return look


def look_free_or_held_by(user_id: str) -> Condition:
    """A transaction that verifies an address claims its look with this: the first of
    two look-alike addresses to be verified keeps it, the other's is refused."""
    condition: Condition = absent() | (EmailGuardItem.user_id == user_id)
    return condition


def profile_item(user: User, identity_count: int | None = None) -> UserItem:
    """A new account's profile item."""
    return UserItem(
        pk=user_pk(user.id),
        sk=PROFILE_SK,
        user_id=user.id,
        email=user.email,
        name=user.name,
        password_hash=user.password_hash,
        email_verified=user.email_verified,
        two_factor_enabled=user.two_factor_enabled,
        created_at=user.created_at,
        pending_verification_hashes=set(user.pending_verification_hashes) or None,
        identity_count=identity_count,
    )


class DynamoUserRepository:
    def __init__(self) -> None:
        self._connection = Connection(region=settings().region)

    def create(self, user: User, verification: OneTimeToken) -> None:
        profile = profile_item(user)
        guard = EmailGuardItem(pk=email_guard_pk(user.email), sk=EMAIL_GUARD_SK, user_id=user.id)
        # One verified account per look: an address that differs from a verified one
        # only by confusables (Cyrillic а for a) is refused, not merged. Only verified
        # accounts hold the look (verify_email claims it), so nobody can block an
        # address with a look-alike whose inbox they do not have.
        look = look_guard(user.email)
        try:
            (
                Transaction(self._connection)
                # The guard's condition is the one-account-per-email invariant: two
                # sign-ups at the same instant cannot both create it.
                .put("guard", guard, absent())
                .put("profile", profile, absent())
                .put("token", token_item(verification))
                .check("look", look, absent())
                .commit()
            )
        except ConditionFailed as failed:
            if "guard" in failed.labels:
                raise EmailAlreadyRegistered() from None
            if "look" in failed.labels:
                raise EmailTooSimilar() from None
            raise

    def get(self, user_id: str) -> User | None:
        try:
            return user_of(UserItem.get(user_pk(user_id), PROFILE_SK))
        except UserItem.DoesNotExist:
            return None

    def get_by_email(self, email: str) -> User | None:
        try:
            guard = EmailGuardItem.get(email_guard_pk(email), EMAIL_GUARD_SK)
        except EmailGuardItem.DoesNotExist:
            return None
        return self.get(guard.user_id)

    def add_verification(self, user_id: str, token: OneTimeToken, password_hash: str | None, tracked: bool) -> None:
        actions: list[Action] = []
        if password_hash is not None:
            actions.append(UserItem.password_hash.set(password_hash))
        if tracked:
            actions.append(UserItem.pending_verification_hashes.add({token.token_hash}))
        transaction = Transaction(self._connection).put("token", token_item(token), condition=absent())
        # The update also checks that the account is still unverified, so a link is never
        # added to an account that another link verified a moment ago.
        if actions:
            transaction.update("account", user_ref(user_id), actions, unverified())
        else:
            transaction.check("account", user_ref(user_id), unverified())
        try:
            transaction.commit()
        except ConditionFailed:
            raise TokenNotUsable() from None

    def verify_email(self, token: OneTimeToken, address: str) -> None:
        password: Action = (
            UserItem.password_hash.set(token.password_hash)
            if token.password_hash is not None
            else UserItem.password_hash.remove()
        )
        try:
            (
                Transaction(self._connection)
                # Single use: the delete only succeeds while the token is still there.
                .delete("token", token_item(token), condition=present())
                # Only while the account is unverified: the first of its pending links to
                # be verified wins, and every other one is refused from then on.
                .update(
                    "account",
                    user_ref(token.user_id),
                    [password, UserItem.email_verified.set(True), UserItem.reset_token_hash.remove()],
                    unverified(),
                )
                .put("look", look_guard(address, token.user_id), look_free_or_held_by(token.user_id))
                .commit()
            )
        except ConditionFailed as failed:
            if failed.labels == {"look"}:
                raise EmailTooSimilar() from None
            raise TokenNotUsable() from None

    def discard_verifications(self, user_id: str, spent: str) -> None:
        # One request forgets the hashes and answers them (UPDATED_OLD), so finding the
        # leftovers costs no read.
        try:
            answer = UserItem._get_connection().update_item(
                user_pk(user_id),
                PROFILE_SK,
                actions=[UserItem.pending_verification_hashes.remove()],
                condition=present(),
                return_values="UPDATED_OLD",
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return
            raise
        old = answer.get("Attributes", {}).get("pending_verification_hashes", {}).get("SS", [])
        leftovers = [token_hash for token_hash in old if token_hash != spent]
        if not leftovers:
            return
        with OneTimeTokenItem.batch_write() as batch:
            for token_hash in leftovers:
                batch.delete(token_ref(TokenKind.EMAIL_VERIFICATION, token_hash))

    def update_name(self, user_id: str, name: str) -> User | None:
        item = user_ref(user_id)
        if not update_if(item, [UserItem.name.set(name)], present()):
            return None
        return user_of(item)

    def update_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> bool:
        return update_if(user_ref(user_id), [UserItem.password_hash.set(new_hash)], UserItem.password_hash == old_hash)

    def change_password(self, user_id: str, old_hash: str, new_hash: str, event: AuditEvent) -> bool:
        # One TransactWriteItems for the change and its event: a throttled write leaves
        # both or neither (two writes could leave a change whose event is lost).
        changes: list[Action] = [UserItem.password_hash.set(new_hash), UserItem.reset_token_hash.remove()]
        try:
            (
                Transaction(self._connection)
                .update("account", user_ref(user_id), changes, UserItem.password_hash == old_hash)
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed:
            return False
        return True

    def start_password_reset(self, user: User, token: OneTimeToken) -> None:
        transaction = (
            Transaction(self._connection)
            .put("token", token_item(token), condition=absent())
            .update("account", user_ref(user.id), [UserItem.reset_token_hash.set(token.token_hash)], present())
        )
        if user.reset_token_hash and user.reset_token_hash != token.token_hash:
            transaction.delete("previous_token", token_ref(token.kind, user.reset_token_hash))
        try:
            transaction.commit()
        except ConditionFailed:
            raise TokenNotUsable() from None

    def reset_password(self, token: OneTimeToken, new_hash: str, account: User, event: AuditEvent) -> None:
        # Only the account's newest reset link works, and only until the password changes.
        link_is_current: Condition = UserItem.reset_token_hash == token.token_hash
        transaction = (
            Transaction(self._connection)
            .delete("token", token_item(token), condition=present())
            .put("audit", audit_item(event))
        )
        changes: list[Action] = [
            UserItem.password_hash.set(new_hash),
            UserItem.email_verified.set(True),
            UserItem.pending_verification_hashes.remove(),
            UserItem.reset_token_hash.remove(),
        ]
        if account.email_verified:
            transaction.update("account", user_ref(token.user_id), changes, link_is_current & _verified())
        else:
            # The link proved the inbox, so the reset verifies the address, and the address
            # takes its look as verify_email's would. The account is still unverified when
            # this commits: verifying it ends this link (and `link_is_current` with it).
            transaction.update("account", user_ref(token.user_id), changes, link_is_current & unverified())
            transaction.put("look", look_guard(account.email, token.user_id), look_free_or_held_by(token.user_id))
        try:
            transaction.commit()
        except ConditionFailed as failed:
            if failed.labels == {"look"}:
                raise EmailTooSimilar() from None
            raise TokenNotUsable() from None

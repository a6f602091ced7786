"""In-memory fakes of the sign-in-with-providers ports (services/ports/identities.py).

FakeIdentities shares FakeUsers' accounts, email guards and looks (and takes its lock),
as DynamoIdentityStore shares the table with DynamoUserRepository: an account that
create_account writes is one that FakeUsers reads, and a take-over changes the very
account that sign-up wrote. tests/contract/ runs each against its adapter."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from kuploy_access.domain.emails import email_skeleton
from kuploy_access.domain.identities import Identity, OAuthFlow, Provider
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.users import User
from kuploy_access.services.ports.identities import (
    AccountChanged,
    IdentityTaken,
    LastSignInMethodLeft,
    NotLinked,
    ProviderAlreadyLinked,
)
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar
from tests.unit.fakes import FakeTokens, FakeUsers


class FakeIdentities:
    """IdentityStore, with the conditions of DynamoIdentityStore's transactions, checked
    in the order its exceptions are chosen when several conditions fail at once."""

    def __init__(self, users: FakeUsers) -> None:
        self.users = users
        self.by_subject: dict[tuple[Provider, str], Identity] = {}
        self.by_account: dict[tuple[str, Provider], Identity] = {}

    def find(self, provider: Provider, subject: str) -> Identity | None:
        return self.by_subject.get((provider, subject))

    def identities_of(self, user_id: str) -> list[Identity]:
        mine = [identity for (owner, _), identity in self.by_account.items() if owner == user_id]
        return sorted(mine, key=lambda identity: identity.provider.value)

    def create_account(self, user: User, identity: Identity) -> None:
        users = self.users
        with users._lock:
            if (identity.provider, identity.subject) in self.by_subject:
                raise IdentityTaken()
            if user.email in users.by_email:
                raise EmailAlreadyRegistered()
            look = email_skeleton(user.email)
            if users.by_skeleton.get(look, user.id) != user.id:
                raise EmailTooSimilar()
            if user.id in users.by_id:
                raise RuntimeError("conditional check failed: the account exists")
            self._refuse_taken(identity)
            users.by_email[user.email] = user.id
            users.by_skeleton[look] = user.id
            users.by_id[user.id] = replace(
                user,
                password_hash=None,
                email_verified=True,
                pending_verification_hashes=frozenset(),
                reset_token_hash=None,
            )
            self._store(identity)

    def link(self, identity: Identity) -> None:
        with self.users._lock:
            if identity.user_id not in self.users.by_id:
                raise AccountChanged()
            self._refuse_taken(identity)
            self._store(identity)

    def take_over(self, account: User, identity: Identity, name: str) -> None:
        users = self.users
        with users._lock:
            current = users.by_id.get(account.id)
            if current is None or current.email_verified:
                raise AccountChanged()
            look = email_skeleton(account.email)
            if users.by_skeleton.get(look, account.id) != account.id:
                raise EmailTooSimilar()
            self._refuse_taken(identity)
            # The links as the caller read them, as the adapter's deletes name them.
            for token_hash in account.pending_verification_hashes:
                users.tokens.items.pop((TokenKind.EMAIL_VERIFICATION, token_hash), None)
            if account.reset_token_hash:
                users.tokens.items.pop((TokenKind.PASSWORD_RESET, account.reset_token_hash), None)
            users.by_skeleton[look] = account.id
            users.by_id[account.id] = replace(
                current,
                name=name,
                password_hash=None,
                email_verified=True,
                pending_verification_hashes=frozenset(),
                reset_token_hash=None,
            )
            self._store(identity)

    def unlink(self, user_id: str, provider: Provider) -> Identity:
        with self.users._lock:
            identity = self.by_account.get((user_id, provider))
            if identity is None:
                raise NotLinked()
            account = self.users.by_id.get(user_id)
            linked = sum(1 for owner, _ in self.by_account if owner == user_id)
            if account is None or (account.password_hash is None and linked <= 1):
                raise LastSignInMethodLeft()
            del self.by_account[(user_id, provider)]
            del self.by_subject[(provider, identity.subject)]
            return identity

    def _refuse_taken(self, identity: Identity) -> None:
        if (identity.provider, identity.subject) in self.by_subject:
            raise IdentityTaken()
        if (identity.user_id, identity.provider) in self.by_account:
            raise ProviderAlreadyLinked()

    def _store(self, identity: Identity) -> None:
        self.by_subject[(identity.provider, identity.subject)] = identity
        self.by_account[(identity.user_id, identity.provider)] = identity


@dataclass
class _Flow:
    flow: OAuthFlow
    used: bool = False


class FakeOAuthFlows:
    """OAuthFlows: a flow is saved once and used once; expiry is the caller's to check."""

    def __init__(self) -> None:
        self.items: dict[str, _Flow] = {}
        self._lock = threading.Lock()

    def save(self, flow: OAuthFlow) -> None:
        with self._lock:
            if flow.state_hash in self.items:
                raise RuntimeError("conditional check failed: a flow is never overwritten")
            self.items[flow.state_hash] = _Flow(flow)

    def use(self, state_hash: str) -> tuple[OAuthFlow, bool] | None:
        with self._lock:
            stored = self.items.get(state_hash)
            if stored is None:
                return None
            first = not stored.used
            stored.used = True
            return stored.flow, first


class FakeLoginCodes(FakeTokens):
    """LoginCodes, and the TokenRepository that DynamoTokenRepository also is: a code is
    taken once, whoever else asks for it at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def take(self, token: OneTimeToken) -> OneTimeToken | None:
        with self._lock:
            return self.items.pop((token.kind, token.token_hash), None)

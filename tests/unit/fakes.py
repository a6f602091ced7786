"""In-memory fakes of the service ports, for unit tests without moto."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from kuploy_access.domain.api_keys import ApiKey, KeyRecord, hash_key
from kuploy_access.domain.audit import ANY_EVENT, FILTER_READ_BUDGET, AuditEvent, AuditFilter
from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.domain.emails import email_skeleton
from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.login_throttle import (
    CONSECUTIVE_FAILURES_BEFORE_LOCK,
    LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
    LOGIN_FAILURES_PER_IP,
    UNLOCK_EMAIL_INTERVAL,
    AttemptRefused,
    LoginAttempt,
    Refusal,
    pair_key,
)
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.paging import Page
from kuploy_access.domain.rate_limits import RateLimit
from kuploy_access.domain.sessions import RefreshToken, Session
from kuploy_access.domain.users import OrganizationMembership, User
from kuploy_access.services.ports.sessions import RefreshAlreadyRotated, SessionNotLive
from kuploy_access.services.ports.tokens import TokenNotUsable
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar


@dataclass
class FakeClock:
    current: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class FakeKeys:
    """The key table as the authorizer reads it (`KeyRecords`), counting its reads and
    every usage mark asked for. tests/contract/test_key_records.py runs it against
    `KeyLookup`: a key `put` here reads as DynamoApiKeyRepository's item does, and a
    mark is written as KeyLookup's conditional update writes it."""

    records: dict[str, KeyRecord] = field(default_factory=dict)
    used_from: dict[str, str] = field(default_factory=dict)  # last_used_ip, by key hash
    finds: list[str] = field(default_factory=list)
    marks: list[tuple[str, datetime, str]] = field(default_factory=list)

    def put(self, key: ApiKey) -> KeyRecord:
        """The key as the repository stored it: a string set comes back sorted."""
        record = KeyRecord(
            key_id=key.id,
            org_id=key.org_id,
            scopes=tuple(sorted(key.scopes)),
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )
        self.records[key.key_hash] = record
        if key.last_used_ip:
            self.used_from[key.key_hash] = key.last_used_ip
        else:
            self.used_from.pop(key.key_hash, None)
        return record

    def add(self, key: str, **changes: Any) -> KeyRecord:
        """A record for the secret `key`, made up for a test of the authorizer."""
        record = KeyRecord(
            key_id=changes.pop("key_id", "key_01ci"),
            org_id=changes.pop("org_id", "org_01engines"),
            scopes=tuple(sorted(changes.pop("scopes", ("org:read", "resources:read")))),
            expires_at=changes.pop("expires_at", None),
            revoked_at=changes.pop("revoked_at", None),
            last_used_at=changes.pop("last_used_at", None),
        )
        assert not changes, changes
        self.records[hash_key(key)] = record
        return record

    def find(self, key_hash: str) -> KeyRecord | None:
        self.finds.append(key_hash)
        return self.records.get(key_hash)

    def mark_used(self, key_hash: str, now: datetime, ip: str) -> bool:
        """KeyLookup's condition: an existing key, not marked within USAGE_RESOLUTION."""
        self.marks.append((key_hash, now, ip))
        record = self.records.get(key_hash)
        if record is None or not record.needs_usage_mark(now):
            return False
        self.records[key_hash] = replace(record, last_used_at=now.astimezone(UTC))
        self.used_from[key_hash] = ip[:64] or "unknown"
        return True


T = TypeVar("T")


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": key}).encode()).decode().rstrip("=")


def _after(cursor: str, scope: str) -> str:
    """The key a cursor continues after. Like the adapters' keyset cursors: one that this
    fake did not give out, or that another list gave out, is refused."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["after"]
    except (ValueError, KeyError, TypeError):
        raise ValidationFailed("The cursor is not one this API gave out") from None
    if not isinstance(key, str) or not key.startswith(scope):
        raise ValidationFailed("The cursor is not one this API gave out")
    return key


def keyset_page(
    keyed: list[tuple[str, T]], scope: str, limit: int, cursor: str | None, newest_first: bool = False
) -> Page[T]:
    """A keyset page, as the adapters' Query pages: the next page starts after the last
    key shown, whatever was added or removed before it meanwhile. Each key starts with
    `scope`, which names the list (not the organization: neither do the adapters' keys)."""
    keyed = sorted(keyed, key=lambda pair: pair[0], reverse=newest_first)
    if cursor:
        after = _after(cursor, scope)
        keyed = [(k, v) for k, v in keyed if (k < after if newest_first else k > after)]
    shown = keyed[:limit]
    return Page([v for _, v in shown], _cursor(shown[-1][0]) if len(keyed) > limit else None)


class FakeHasher:
    """Not a password hash: a reversible marker, so tests run in microseconds."""

    def __init__(self, version: str = "v1") -> None:
        self.version = version
        self.dummy_checks = 0

    def hash(self, password: str) -> str:
        return f"fake${self.version}${password}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash.split("$", 2)[-1] == password

    def verify_dummy(self, password: str) -> None:
        self.dummy_checks += 1

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"fake${self.version}$")


class FakeTokens:
    def __init__(self) -> None:
        self.items: dict[tuple[TokenKind, str], OneTimeToken] = {}

    def put(self, token: OneTimeToken) -> None:
        if (token.kind, token.token_hash) in self.items:
            raise RuntimeError("conditional check failed: a token is never overwritten")
        self.items[(token.kind, token.token_hash)] = token

    def get(self, kind: TokenKind, token_hash: str) -> OneTimeToken | None:
        return self.items.get((kind, token_hash))

    def delete(self, kind: TokenKind, token_hash: str) -> None:
        self.items.pop((kind, token_hash), None)


class FakeUsers:
    """The user ports (services/ports/users.py), with the conditions of the DynamoDB transactions:
    a verification link is added and verified only while its account is unverified, and
    verifying gives the account the link's password hash (none for a resent link). Whatever
    verifies an address (its link, or a reset of a pending account) claims its look."""

    def __init__(self, tokens: FakeTokens, trail: FakeAccountTrail | None = None) -> None:
        self.tokens = tokens
        # Where the password changes record their events, in the same step as the change.
        self.trail = trail if trail is not None else FakeAccountTrail()
        self.by_id: dict[str, User] = {}
        self.by_email: dict[str, str] = {}
        self.by_skeleton: dict[str, str] = {}
        self._lock = threading.Lock()

    def create(self, user: User, verification: OneTimeToken) -> None:
        with self._lock:
            if user.email in self.by_email:
                raise EmailAlreadyRegistered()  # the adapter does not read whose it is
            if email_skeleton(user.email) in self.by_skeleton:  # held by a verified look-alike
                raise EmailTooSimilar()
            if user.id in self.by_id:
                raise RuntimeError("conditional check failed: the account exists")
            self.by_email[user.email] = user.id
            self.by_id[user.id] = user
            # Written unconditionally, as the adapter's transaction writes it.
            self.tokens.items[(verification.kind, verification.token_hash)] = verification

    def get(self, user_id: str) -> User | None:
        return self.by_id.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        user_id = self.by_email.get(email)
        return self.by_id.get(user_id) if user_id else None

    def add_verification(self, user_id: str, token: OneTimeToken, password_hash: str | None, tracked: bool) -> None:
        with self._lock:
            current = self.by_id.get(user_id)
            if current is None or current.email_verified or self.tokens.get(token.kind, token.token_hash):
                raise TokenNotUsable()
            self.tokens.put(token)
            changes: dict[str, object] = {}
            if password_hash is not None:
                changes["password_hash"] = password_hash
            if tracked:
                changes["pending_verification_hashes"] = current.pending_verification_hashes | {token.token_hash}
            self.by_id[user_id] = replace(current, **changes)  # type: ignore[arg-type]

    def verify_email(self, token: OneTimeToken, address: str) -> None:
        with self._lock:
            user = self.by_id.get(token.user_id)
            if self.tokens.get(token.kind, token.token_hash) is None:
                raise TokenNotUsable()
            if user is None or user.email_verified:
                raise TokenNotUsable()
            look = email_skeleton(address)
            if self.by_skeleton.get(look, user.id) != user.id:
                raise EmailTooSimilar()
            self.by_skeleton[look] = user.id
            self.tokens.delete(token.kind, token.token_hash)
            self.by_id[user.id] = replace(
                user, password_hash=token.password_hash, email_verified=True, reset_token_hash=None
            )

    def discard_verifications(self, user_id: str, spent: str) -> None:
        with self._lock:
            user = self.by_id.get(user_id)
            if user is None:
                return
            for token_hash in user.pending_verification_hashes - {spent}:
                self.tokens.delete(TokenKind.EMAIL_VERIFICATION, token_hash)
            self.by_id[user_id] = replace(user, pending_verification_hashes=frozenset())

    def update_name(self, user_id: str, name: str) -> User | None:
        user = self.by_id.get(user_id)
        if user is None:
            return None
        self.by_id[user_id] = replace(user, name=name)
        return self.by_id[user_id]

    def update_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> bool:
        with self._lock:
            user = self.by_id.get(user_id)
            if user is None or user.password_hash != old_hash:
                return False
            self.by_id[user_id] = replace(user, password_hash=new_hash)
            return True

    def change_password(self, user_id: str, old_hash: str, new_hash: str, event: AuditEvent) -> bool:
        with self._lock:
            user = self.by_id.get(user_id)
            if user is None or user.password_hash != old_hash:
                return False
            self.trail.record(event)
            self.by_id[user_id] = replace(user, password_hash=new_hash, reset_token_hash=None)
            return True

    def start_password_reset(self, user: User, token: OneTimeToken) -> None:
        with self._lock:
            current = self.by_id.get(user.id)
            if current is None or self.tokens.get(token.kind, token.token_hash) is not None:
                raise TokenNotUsable()
            if current.reset_token_hash and current.reset_token_hash != token.token_hash:
                self.tokens.delete(token.kind, current.reset_token_hash)
            self.tokens.put(token)
            self.by_id[user.id] = replace(current, reset_token_hash=token.token_hash)

    def reset_password(self, token: OneTimeToken, new_hash: str, account: User, event: AuditEvent) -> None:
        """As verify_email when the reset verifies the address (the account was pending
        as `account` read it): it claims the look, or is refused while a verified
        look-alike holds it."""
        with self._lock:
            user = self.by_id.get(token.user_id)
            if user is None or self.tokens.get(token.kind, token.token_hash) is None:
                raise TokenNotUsable()
            if user.reset_token_hash != token.token_hash or user.email_verified != account.email_verified:
                raise TokenNotUsable()
            if not user.email_verified:
                look = email_skeleton(account.email)
                if self.by_skeleton.get(look, user.id) != user.id:
                    raise EmailTooSimilar()
                self.by_skeleton[look] = user.id
            self.trail.record(event)
            self.tokens.delete(token.kind, token.token_hash)
            self.by_id[user.id] = replace(
                user,
                password_hash=new_hash,
                email_verified=True,
                pending_verification_hashes=frozenset(),
                reset_token_hash=None,
            )


class FakeSessions:
    """The SessionRepository protocol, with the conditions of the DynamoDB transaction.

    `before_rotate`, when set, runs once at the start of the next `rotate` (outside the
    lock): a test uses it to let a competing request win the race for the same token.
    """

    def __init__(self) -> None:
        self.items: dict[str, Session] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.before_rotate: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def create(self, session: Session) -> None:
        with self._lock:
            if session.id in self.items or session.refresh_token_hash in self.refresh:
                raise RuntimeError("conditional check failed: session or refresh token exists")
            self.items[session.id] = session
            self.refresh[session.refresh_token_hash] = RefreshToken(
                token_hash=session.refresh_token_hash,
                session_id=session.id,
                user_id=session.user_id,
                expires_at=session.expires_at,
                idle_expires_at=session.idle_expires_at or session.expires_at,
                auth_time=session.auth_time,
            )

    def get_refresh(self, token_hash: str) -> RefreshToken | None:
        return self.refresh.get(token_hash)

    def rotate(
        self,
        old: RefreshToken,
        new_hash: str,
        now: datetime,
        idle_expires_at: datetime,
        ip: str,
        user_agent: str,
        auth_time: datetime | None = None,
    ) -> None:
        hook, self.before_rotate = self.before_rotate, None
        if hook is not None:
            hook()
        with self._lock:
            stored = self.refresh.get(old.token_hash)
            if stored is None or stored.rotated_at is not None:
                raise RefreshAlreadyRotated()
            if new_hash in self.refresh:
                raise RuntimeError("conditional check failed: the new refresh token exists")
            session = self.items.get(old.session_id)
            if (
                session is None
                or session.user_id != old.user_id
                or session.revoked_at is not None
                or session.refresh_token_hash != old.token_hash
            ):
                raise SessionNotLive()
            self.refresh[old.token_hash] = replace(stored, rotated_at=now)
            self.refresh[new_hash] = RefreshToken(
                token_hash=new_hash,
                session_id=old.session_id,
                user_id=old.user_id,
                expires_at=old.expires_at,
                idle_expires_at=idle_expires_at,
                auth_time=auth_time or old.auth_time,
            )
            self.items[session.id] = replace(
                session,
                refresh_token_hash=new_hash,
                last_used_at=now,
                idle_expires_at=idle_expires_at,
                ip=ip,
                user_agent=user_agent,
                auth_time=auth_time or session.auth_time,
            )

    def get(self, user_id: str, session_id: str) -> Session | None:
        session = self.items.get(session_id)
        return session if session is not None and session.user_id == user_id else None

    def live_page(self, user_id: str, now: datetime, limit: int, cursor: str | None) -> Page[Session]:
        """Most recently used first, then by id, as the adapter orders them."""
        keyed = [
            (f"session:{session.last_used_at:%Y%m%dT%H%M%S.%f}:{session.id}", session)
            for session in self.list_for_user(user_id)
            if session.is_live(now)
        ]
        return keyset_page(keyed, "session:", limit, cursor, newest_first=True)

    def list_for_user(self, user_id: str) -> list[Session]:
        return [session for session in self.items.values() if session.user_id == user_id]

    def revoke(self, user_id: str, session_id: str, now: datetime) -> bool:
        with self._lock:
            session = self.items.get(session_id)
            if session is None or session.user_id != user_id or session.revoked_at is not None:
                return False
            self.items[session_id] = replace(session, revoked_at=now)
            return True


class FakeRateLimiter:
    """The RateLimiter protocol: fixed-window counters keyed by `limit.window_start(now)`,
    like the DynamoDB items (one per limit, key and window)."""

    def __init__(self, users: FakeUsers) -> None:
        self.users = users
        self.counters: dict[tuple[str, str, int], int] = {}
        self.failures: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @staticmethod
    def _key(limit: RateLimit, key: str, now: datetime) -> tuple[str, str, int]:
        return (limit.name, key, limit.window_start(now))

    def count(self, limit: RateLimit, key: str, now: datetime) -> int:
        return self.counters.get(self._key(limit, key, now), 0)

    def release(self, limit: RateLimit, key: str, now: datetime) -> None:
        with self._lock:
            counter = self._key(limit, key, now)
            if self.counters.get(counter, 0) > 0:
                self.counters[counter] -= 1

    def consume(self, limit: RateLimit, key: str, now: datetime) -> bool:
        with self._lock:
            counter = self._key(limit, key, now)
            used = self.counters.get(counter, 0)
            if used >= limit.limit:
                return False
            self.counters[counter] = used + 1
            return True


class FakeLoginThrottle:
    """The LoginThrottle protocol over a FakeRateLimiter's window counters, plus the
    accounts' consecutive counts; `take` checks and increments under one lock, like the
    conditional transaction."""

    def __init__(self, users: FakeUsers, limiter: FakeRateLimiter, trail: FakeAccountTrail) -> None:
        self.users = users
        self.limiter = limiter
        self.trail = trail
        self.consecutive: dict[str, int] = {}
        self.noticed: dict[str, datetime] = {}
        self.checks_taken = 0
        self._lock = threading.Lock()

    def take(self, address: str, ip: str, now: datetime) -> LoginAttempt:
        user_id = self.users.by_email.get(address)
        with self._lock:
            pair = (LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(address, ip))
            window = ((Refusal.PAIR, *pair), (Refusal.ADDRESS, LOGIN_FAILURES_PER_IP, ip))
            before = self.consecutive.get(address, 0)
            for refusal, limit, key in window:
                if self.limiter.count(limit, key, now) >= limit.limit:
                    raise AttemptRefused(refusal, user_id)
            for _, limit, key in window:
                assert self.limiter.consume(limit, key, now)
            if before >= CONSECUTIVE_FAILURES_BEFORE_LOCK:
                raise AttemptRefused(Refusal.ACCOUNT_LOCKED, user_id)
            self.consecutive[address] = before + 1
            self.checks_taken += 1
        return LoginAttempt(address, ip, now, user_id, before)

    def succeeded(self, attempt: LoginAttempt, event: AuditEvent | None = None) -> None:
        with self._lock:
            self.limiter.release(LOGIN_FAILURES_PER_IP, attempt.ip, attempt.at)
            pair = pair_key(attempt.address, attempt.ip)
            self.limiter.counters.pop(self.limiter._key(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair, attempt.at), None)
            self.consecutive.pop(attempt.address, None)
            self.noticed.pop(attempt.address, None)
        if event is not None:
            self.trail.record(event)

    def notice_lock(self, address: str, now: datetime) -> bool:
        with self._lock:
            if self.consecutive.get(address, 0) < CONSECUTIVE_FAILURES_BEFORE_LOCK:
                return False
            last = self.noticed.get(address)
            if last is not None and last >= now - UNLOCK_EMAIL_INTERVAL:
                return False
            self.noticed[address] = now
            return True

    def unlock(self, token: OneTimeToken, address: str, event: AuditEvent) -> None:
        with self._lock:
            if self.users.tokens.items.pop((token.kind, token.token_hash), None) is None:
                raise TokenNotUsable()
            self.consecutive.pop(address, None)
            self.noticed.pop(address, None)
        self.trail.record(event)

    def clear_lock(self, address: str, ip: str, now: datetime) -> None:
        with self._lock:
            self.consecutive.pop(address, None)
            self.noticed.pop(address, None)
            pair = self.limiter._key(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(address, ip), now)
            self.limiter.counters.pop(pair, None)


class FakeAccountTrail:
    """SignInAudit, AuditRecorder and AuditReader (accounts' own trails, the security log, an organization's
    log): events as recorded, decoys counted and never visible, pages newest first."""

    CURSOR_PREFIX = "after:"

    def __init__(self, events: list[AuditEvent] | None = None) -> None:
        self.events: list[AuditEvent] = events if events is not None else []  # in the order recorded
        self.decoys = 0

    def record(self, event: AuditEvent) -> None:
        if any(e.id == event.id for e in self.events):
            raise RuntimeError("conditional check failed: audit events are never rewritten")
        self.events.append(event)

    def decoy(self, event: AuditEvent) -> None:
        self.decoys += 1

    def actions(self, user_id: str | None = None) -> list[str]:
        return [e.action for e in self.events if user_id is None or e.org_id == user_id]

    def page(self, org_id: str, limit: int, cursor: str | None, only: AuditFilter = ANY_EVENT) -> Page[AuditEvent]:
        """By event id, newest first (ids sort by time), as the adapter's Query reads them;
        the cursor is the last id of the page before, or with a filter the last id read
        when the page's FILTER_READ_BUDGET ran out first."""
        events = sorted((e for e in self.events if e.org_id == org_id), key=lambda e: e.id, reverse=True)
        if cursor:
            if not cursor.startswith(self.CURSOR_PREFIX):
                raise ValidationFailed("The cursor is not one this API gave out")
            after = cursor[len(self.CURSOR_PREFIX) :]
            events = [e for e in events if e.id < after]
        if not only.is_empty:
            read = events[:FILTER_READ_BUDGET]
            matches = [e for e in read if only.matches(e)]
            if len(matches) <= limit and len(events) > len(read):
                return Page(matches, self.CURSOR_PREFIX + read[-1].id)
            events = [e for e in events if only.matches(e)]
        if len(events) > limit:
            return Page(events[:limit], self.CURSOR_PREFIX + events[limit - 1].id)
        return Page(events, None)


class FakeMemberships:
    def __init__(self) -> None:
        self.items: dict[str, list[OrganizationMembership]] = {}
        self.renamed: tuple[str, str] | None = None

    def organizations_of(self, user_id: str) -> list[OrganizationMembership]:
        return list(self.items.get(user_id, []))

    def rename_member(self, user_id: str, name: str) -> None:
        self.renamed = (user_id, name)


class FakeMailer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[OutgoingEmail] = []
        self.fail = fail

    def send(self, email: OutgoingEmail) -> None:
        if self.fail:
            raise RuntimeError("SES is down")
        self.sent.append(email)

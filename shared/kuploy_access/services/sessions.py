"""Sessions after login: refresh-token rotation with reuse detection, listing, revoking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kuploy_access.domain.access_tokens import JwtCodec, JwtKind
from kuploy_access.domain.audit import Actor, audit_event
from kuploy_access.domain.errors import Conflict, InvalidRefreshToken, NotFound, TokenReused, Unauthorized
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.one_time_tokens import MAX_TOKEN_LENGTH, hash_secret, new_secret
from kuploy_access.domain.paging import Page
from kuploy_access.domain.sessions import (
    ACCESS_TOKEN_LIFETIME,
    MAX_USER_AGENT_LENGTH,
    RefreshToken,
    Session,
    SessionLifetimes,
    TokenPair,
    epoch_seconds,
)
from kuploy_access.domain.two_factor import MFA_CHALLENGE_LIFETIME, MfaChallenge
from kuploy_access.services.ports.audit import AuditRecorder
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.metrics import EventCounter
from kuploy_access.services.ports.sessions import RefreshAlreadyRotated, SessionNotLive, SessionRepository

REUSE_METRIC = "RefreshTokenReuse"


@dataclass(frozen=True)
class ClientInfo:
    ip: str
    user_agent: str


@dataclass
class SessionService:
    sessions: SessionRepository
    clock: Clock
    # A provider, not the codec: functions that only list or revoke sessions never
    # fetch the signing key.
    access_tokens: Callable[[], JwtCodec]
    # RefreshTokenReuse: one per session ended because its refresh token came back.
    counter: EventCounter
    lifetimes: SessionLifetimes = field(default_factory=SessionLifetimes)
    # The account's trail, for refresh-token reuse (None: not recorded).
    audit: AuditRecorder | None = None

    def start(self, user_id: str, client: ClientInfo, auth_time: datetime | None = None) -> TokenPair:
        """A new session for someone who just proved a factor, at `auth_time` (now when
        not given): its tokens are in sudo mode for the window that follows."""
        now = self.clock.now()
        proven_at = auth_time or now
        refresh_token = new_secret()
        expires_at = now + self.lifetimes.absolute
        session = Session(
            id=new_id("ses"),
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            expires_at=expires_at,
            ip=client.ip,
            user_agent=client.user_agent[:MAX_USER_AGENT_LENGTH],
            refresh_token_hash=hash_secret(refresh_token),
            idle_expires_at=min(now + self.lifetimes.idle, expires_at),
            auth_time=proven_at,
        )
        self.sessions.create(session)
        return self._pair(user_id, session.id, refresh_token, now, proven_at)

    def second_step(self, user_id: str) -> MfaChallenge:
        """No session yet: the first factor was right and the account has 2FA. The answer's
        short-lived token is redeemed with a code at POST /auth/login/2fa."""
        token = self.access_tokens().issue(JwtKind.MFA_CHALLENGE, user_id, self.clock.now(), MFA_CHALLENGE_LIFETIME)
        return MfaChallenge(mfa_token=token, expires_in=int(MFA_CHALLENGE_LIFETIME.total_seconds()))

    def refresh(self, presented: str, client: ClientInfo) -> TokenPair:
        """A new pair for a live refresh token; the presented one dies. Presenting a
        token that was already exchanged revokes its whole session (RFC 9700 §4.14.2):
        either the client or a thief holds a copy, and we cannot tell which."""
        if not presented or len(presented) > MAX_TOKEN_LENGTH:
            raise InvalidRefreshToken()
        self._can_sign()
        now = self.clock.now()
        record = self.sessions.get_refresh(hash_secret(presented))
        if record is None:
            raise InvalidRefreshToken()
        if record.rotated_at is not None:
            self.sessions.revoke(record.user_id, record.session_id, now)
            self._record_reuse(record.user_id, record.session_id, client)
            raise TokenReused()
        if not record.usable(now):
            raise InvalidRefreshToken("The session has expired; sign in again")
        refresh_token = new_secret()
        idle_expires_at = min(now + self.lifetimes.idle, record.expires_at)
        try:
            self.sessions.rotate(
                record,
                hash_secret(refresh_token),
                now,
                idle_expires_at,
                client.ip,
                client.user_agent[:MAX_USER_AGENT_LENGTH],
            )
        except RefreshAlreadyRotated:
            # Lost a race with another exchange of the same token: a reuse all the same.
            self.sessions.revoke(record.user_id, record.session_id, now)
            self._record_reuse(record.user_id, record.session_id, client)
            raise TokenReused() from None
        except SessionNotLive:
            raise InvalidRefreshToken("The session was signed out") from None
        # A refresh proves nothing about the person: the session's auth_time stays.
        return self._pair(record.user_id, record.session_id, refresh_token, now, record.auth_time)

    def live_session(self, user_id: str, session_id: str) -> Session:
        """The caller's session (one read), or 401 `invalid_token` when it has ended."""
        session = self.sessions.get(user_id, session_id) if session_id else None
        if session is None or not session.is_live(self.clock.now()):
            raise Unauthorized("invalid_token", "This session was signed out; sign in again")
        return session

    def reauthenticated(self, session: Session, client: ClientInfo) -> TokenPair:
        """A new pair for the same session, whose person proved a factor just now: the
        session's refresh token rotates (the current one is marked rotated, as by a
        refresh, so a copy of it is a reuse) and its auth_time becomes now, in one
        transaction."""
        self._can_sign()
        now = self.clock.now()
        # Two tries: a refresh of this session may rotate its token between the read
        # and the transaction; the person has proven a factor, so read again and retry.
        for _ in range(2):
            current = RefreshToken(
                token_hash=session.refresh_token_hash,
                session_id=session.id,
                user_id=session.user_id,
                expires_at=session.expires_at,
                idle_expires_at=session.idle_expires_at or session.expires_at,
                auth_time=session.auth_time,
            )
            refresh_token = new_secret()
            try:
                self.sessions.rotate(
                    current,
                    hash_secret(refresh_token),
                    now,
                    min(now + self.lifetimes.idle, session.expires_at),
                    client.ip,
                    client.user_agent[:MAX_USER_AGENT_LENGTH],
                    auth_time=now,
                )
            except (RefreshAlreadyRotated, SessionNotLive):
                session = self.live_session(session.user_id, session.id)
                continue
            return self._pair(session.user_id, session.id, refresh_token, now, now)
        raise Conflict("The session's tokens changed meanwhile; try again")

    def log_out(self, presented: str) -> None:
        """Revoke the session of a refresh token; unknown tokens are already logged out."""
        if not presented or len(presented) > MAX_TOKEN_LENGTH:
            return
        record = self.sessions.get_refresh(hash_secret(presented))
        if record is not None:
            self.sessions.revoke(record.user_id, record.session_id, self.clock.now())

    def live_sessions(self, user_id: str, limit: int, cursor: str | None) -> Page[Session]:
        """Most recently used first."""
        return self.sessions.live_page(user_id, self.clock.now(), limit, cursor)

    def is_live(self, user_id: str, session_id: str) -> bool:
        session = self.sessions.get(user_id, session_id) if session_id else None
        return session is not None and session.is_live(self.clock.now())

    def revoke(self, user_id: str, session_id: str) -> None:
        if not self.sessions.revoke(user_id, session_id, self.clock.now()):
            raise NotFound("No such session")

    def revoke_all(self, user_id: str, keep: str | None = None) -> int:
        now = self.clock.now()
        revoked = 0
        for session in self.sessions.list_for_user(user_id):
            if session.id != keep and session.is_live(now) and self.sessions.revoke(user_id, session.id, now):
                revoked += 1
        return revoked

    def _can_sign(self) -> None:
        """Read the signing key before writing anything: when it cannot be read
        (ServiceUnavailable), no session is left behind without its tokens, and no
        refresh token is rotated that its client never receives (its retry would then
        look like a reuse and end the session)."""
        self.access_tokens()

    def _pair(
        self, user_id: str, session_id: str, refresh_token: str, now: datetime, auth_time: datetime | None
    ) -> TokenPair:
        access_token = self.access_tokens().issue(
            JwtKind.ACCESS,
            user_id,
            now,
            ACCESS_TOKEN_LIFETIME,
            extra={"sid": session_id, "auth_time": epoch_seconds(auth_time)},
        )
        return TokenPair(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        )

    def _record_reuse(self, user_id: str, session_id: str, client: ClientInfo) -> None:
        self.counter.count(REUSE_METRIC)
        if self.audit is None:
            return
        actor = Actor("user", user_id)
        event = audit_event(
            user_id,
            self.clock.now(),
            actor,
            "session.token_reused",
            user_id,
            client.ip,
            client.user_agent,
            session_id=session_id,
        )
        self.audit.record(event)

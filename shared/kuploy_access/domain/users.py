"""The user account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    # None: the account has no password (verified through a resent link; "forgot
    # password" sets one). Before verification, the latest sign-up's, only so that login
    # can answer email_not_verified; verifying replaces it with the link's.
    password_hash: str | None
    email_verified: bool
    two_factor_enabled: bool
    created_at: datetime
    # The SHA-256 of each pending verification link (up to MAX_TRACKED_VERIFICATIONS):
    # all of them work until one verifies the address; then the others are deleted.
    pending_verification_hashes: frozenset[str] = frozenset()
    # Likewise the one password-reset link that works now; a reset or a password
    # change ends it.
    reset_token_hash: str | None = None
    # Two-factor: the active TOTP secret and a pending one (both sealed, never in the
    # clear), the last TOTP step accepted (a step is accepted once), recovery-code hashes.
    totp_secret_sealed: str | None = None
    totp_pending_sealed: str | None = None
    totp_last_step: int | None = None
    recovery_code_hashes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OrganizationMembership:
    """One organization as its member sees it in `GET /orgs` and `GET /me`."""

    org_id: str
    org_name: str
    role: str
    plan: str = "free"


MAX_NAME_LENGTH = 100
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


def visible_text(text: str | None) -> str:
    """Trimmed, without control or invisible characters."""
    if not text:
        return ""
    return "".join(ch for ch in text if ch.isprintable() and ch not in _INVISIBLE).strip()


def clean_name(name: str | None) -> str:
    """Display names: visible text, cut to 100 characters."""
    return visible_text(name)[:MAX_NAME_LENGTH].rstrip()


# An id no account has: looked up when an address has no account, so that unknown and
# known addresses cost the same reads (README, "Timing").
NOBODY = "usr_00000000000000000000000000"


def nobody(address: str, now: datetime) -> User:
    """The account an unknown address would have: the target of writes whose conditions
    refuse them, so that the request costs what a known address's does."""
    return User(NOBODY, address, "", None, False, False, now)

"""Two-factor authentication: TOTP exactly as RFC 6238 and the authenticator apps
people have (SHA-1, 6 digits, 30-second steps), and single-use recovery codes.

A code is accepted for its step and one step either side of now; the step it matched
is returned so that the caller can record it and never accept that step again
(the record is a conditional write, so two logins racing with one code cannot both
win). pyotp computes the codes; this module decides which steps count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

ISSUER = "Kuploy"
STEP_SECONDS = 30
DIGITS = 6
# Steps either side of now that still count: clocks drift, people type slowly.
DRIFT_STEPS = 1
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length
RECOVERY_CODE_COUNT = 10
# 16 characters of a 32-letter alphabet: 80 bits each, shown as xxxx-xxxx-xxxx-xxxx.
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_CODE_LENGTH = 16
RECOVERY_CODE_BITS = RECOVERY_CODE_LENGTH * 5
# Codes handed out before: 10 characters (50 bits), kept as plain SHA-256. Still
# accepted until used or replaced; new ones are never made.
LEGACY_RECOVERY_CODE_LENGTH = 10
# The stored form of a code under the keyed hash, told apart from a legacy SHA-256 hex.
KEYED_RECOVERY_PREFIX = "k1:"
_CODE = re.compile(r"[0-9]{6}")
MFA_CHALLENGE_LIFETIME = timedelta(minutes=5)
WRONG_CODES_PER_CHALLENGE = 5


def new_totp_secret() -> str:
    """160 bits from the CSPRNG, base32 without padding (what authenticator apps expect)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def provisioning_uri(secret: str, email: str) -> str:
    import pyotp

    uri: str = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=email, issuer_name=ISSUER)
    return uri


def qr_svg(data: str) -> str:
    """An SVG QR code of `data` (segno), scaled for a phone camera at arm's length."""
    import io

    import segno

    # A standalone SVG document (with its namespace), so that it also works as an
    # <img src="data:image/svg+xml,…">, not only inlined in a page.
    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        out, kind="svg", scale=5, border=4, dark="#000", light="#fff", xmldecl=False, svgns=True
    )
    return out.getvalue().decode("utf-8")


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_for_step(secret: str, step: int) -> str:
    import pyotp

    code: str = pyotp.HOTP(secret, digits=DIGITS).at(step)
    return code


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The step within the drift window whose code this is, or None."""
    code = code.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        return None
    current = step_at(now)
    matched = None
    # Every candidate is compared, in constant time, so timing says nothing about which.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_for_step(secret, step), code) and matched is None:
            matched = step
    return matched


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    return codes


def normalize_recovery_code(code: str) -> str | None:
    """Forgiving about case, spaces and hyphens, and about the letters people confuse
    with digits (Crockford's base32: i, l → 1, o → 0); None when it cannot be one."""
    cleaned = code.strip().lower().replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(str.maketrans("ilo", "110"))
    if len(cleaned) not in (RECOVERY_CODE_LENGTH, LEGACY_RECOVERY_CODE_LENGTH):
        return None
    if any(ch not in _RECOVERY_ALPHABET for ch in cleaned):
        return None
    return cleaned


def hash_recovery_code(code: str, keyed_hash: Callable[[str], str]) -> str | None:
    """The stored form of a code: `k1:` and its keyed hash (HMAC-SHA256 under a key held
    in Secrets Manager, `keyed_hash`), so that a copy of the table alone cannot be used
    to test guesses offline. A code of the old 10-character format answers the plain
    SHA-256 it was stored under, so that codes handed out before keep working."""
    normalized = normalize_recovery_code(code)
    if normalized is None:
        return None
    if len(normalized) == LEGACY_RECOVERY_CODE_LENGTH:
        return hashlib.sha256(normalized.encode("ascii")).hexdigest()
    return KEYED_RECOVERY_PREFIX + keyed_hash(normalized)


@dataclass(frozen=True)
class MfaChallenge:
    """The answer of a correct password on an account with 2FA: no tokens yet."""

    mfa_token: str
    expires_in: int

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
from dataclasses import dataclass
from datetime import datetime, timedelta

ISSUER = "Kuploy"
STEP_SECONDS = 30
DIGITS = 6
# Steps either side of now that still count: clocks drift, people type slowly.
DRIFT_STEPS = 1
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length
RECOVERY_CODE_COUNT = 10
# 10 characters of a 32-letter alphabet: 50 bits each, shown as xxxxx-xxxxx.
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_LENGTH = 10
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
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize_recovery_code(code: str) -> str | None:
    """Forgiving about case, spaces and hyphens, and about the letters people confuse
    with digits (Crockford's base32: i, l → 1, o → 0); None when it cannot be one."""
    cleaned = code.strip().lower().replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(str.maketrans("ilo", "110"))
    if len(cleaned) != _RECOVERY_LENGTH or any(ch not in _RECOVERY_ALPHABET for ch in cleaned):
        return None
    return cleaned


def hash_recovery_code(code: str) -> str | None:
    normalized = normalize_recovery_code(code)
    if normalized is None:
        return None
    return hashlib.sha256(normalized.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class MfaChallenge:
    """The answer of a correct password on an account with 2FA: no tokens yet."""

    mfa_token: str
    expires_in: int

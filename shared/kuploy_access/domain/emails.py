"""Email address rules: syntax through email-validator, one canonical form, and a
confusable skeleton.

The canonical form is what every comparison (sign-up, login, invitations) uses:

- the local part NFC-normalised (RFC 6532 §3.1; email-validator does it) and then
  lower-cased with `str.lower`, so `Ada@…` and `ada@…` are one account. Not
  `casefold()`: it maps `ß` to `ss`, `ſ` to `s`, `ﬁ` to `fi`, which are different
  mailboxes, and so would hand one person's account to another's address;
- the domain through IDNA 2008 with the UTS #46 mapping (email-validator, `idna`): one
  Unicode form per domain, lower case, whether it was typed as `BÜCHER.de` or as its
  A-label `xn--bcher-kva.de`.

NFC keeps canonically equivalent spellings together: the Kelvin sign (U+212A) *is*
`K` to Unicode (a singleton decomposition), so `\u212a@x` and `k@x` are one address,
as they are to every mail system that normalises.

Addresses that only look alike (Cyrillic `а` for Latin `a`, `rn` for `m`) stay
distinct addresses, but share a skeleton (`email_skeleton`): sign-up refuses an address
whose skeleton an existing account already holds, rather than merging the two.
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache
from typing import Any

from kuploy_access.domain.errors import InvalidEmail

MAX_EMAIL_LENGTH = 254


def canonical_email(raw: str) -> str:
    """Validate syntax (no DNS lookups) and answer the canonical address."""
    # email_validator pulls in dnspython; only the routes that accept new addresses
    # pay for it, and only on first use.
    from email_validator import EmailNotValidError, validate_email

    if len(raw) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("The email address is too long")
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None
    # Lower-casing can undo NFC (`İ` lowers to `i` + a combining dot): normalise again.
    local = unicodedata.normalize("NFC", result.local_part.lower())
    address = f"{local}@{result.domain}"
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("The email address is too long")
    return address


# What a link that would verify a look-alike of a verified address answers (the
# verification link and the reset link alike): 400 invalid_token with this detail.
LOOK_ALIKE_REFUSAL = "This address looks like the address of another account, verified first; it cannot be registered"


def email_skeleton(canonical: str) -> str:
    """The confusable skeleton (Unicode TR39 §4, ICU's SpoofChecker) of a canonical
    address, as a SHA-256 hex digest: two addresses share it when they look alike
    (`pаypal@x` with a Cyrillic `а`, `rn@x` and `m@x`, `I1l@x` and `lll@x`).

    Hashed so that the guard's key has one length whatever the skeleton's (a character
    may map to several). Depends on ICU's confusables data: a new ICU version may move
    a few skeletons, which only weakens the guard for the addresses it moves.
    """
    skeleton = _spoof_checker().getSkeleton(0, canonical)
    return hashlib.sha256(str(skeleton).encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _spoof_checker() -> Any:
    # ICU is loaded only by the sign-up path, on its first use.
    import icu

    return icu.SpoofChecker()

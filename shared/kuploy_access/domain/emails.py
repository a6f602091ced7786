"""Email address rules: syntax through email-validator, one case-folded form.

Every comparison (sign-up, login, invitations) goes through `canonical_email`, so
`Ada@Example.com` and `ada@example.com` are the same account.
"""

from __future__ import annotations

from kuploy_access.domain.errors import InvalidEmail

MAX_EMAIL_LENGTH = 254


def canonical_email(raw: str) -> str:
    """Validate syntax (no DNS lookups) and answer the case-folded address."""
    # email_validator pulls in dnspython; only the routes that accept new addresses
    # pay for it, and only on first use.
    from email_validator import EmailNotValidError, validate_email

    if len(raw) > MAX_EMAIL_LENGTH:
        raise InvalidEmail("The email address is too long")
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None
    return result.normalized.casefold()

"""Domain errors. Each carries the stable `code` of API.md and its HTTP status.

The HTTP layer maps every one of these to a problem document in one place
(`kuploy_access.http.problems`), so services raise meaning, not status codes.
"""

from __future__ import annotations


class DomainError(Exception):
    status: int = 400
    code: str = "validation_error"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"
    title = "The request did not pass validation"


class InvalidEmail(ValidationFailed):
    code = "invalid_email"
    title = "That is not a valid email address"


class PasswordTooShort(ValidationFailed):
    code = "password_too_short"
    title = "The password is too short"


class PasswordTooLong(ValidationFailed):
    code = "validation_error"
    title = "The password is too long"


class PasswordTooCommon(ValidationFailed):
    code = "password_too_common"
    title = "That password is too common"


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    title = "Wrong email or password"


class EmailNotVerified(DomainError):
    status = 403
    code = "email_not_verified"
    title = "Verify your email address before signing in"


class InvalidToken(DomainError):
    """A one-time token in a body is unknown, used, malformed or of another kind."""

    status = 400
    code = "invalid_token"
    title = "The token is invalid or was already used"


class TokenExpired(DomainError):
    status = 400
    code = "token_expired"
    title = "The token has expired"


class Unauthorized(DomainError):
    """No usable credentials on a protected route."""

    status = 401
    code = "unauthorized"
    title = "Authentication required"

    def __init__(self, code: str = "unauthorized", detail: str | None = None) -> None:
        super().__init__(detail)
        self.code = code


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class TokenReused(DomainError):
    """A refresh token that was already exchanged: the session is revoked."""

    status = 401
    code = "token_reused"
    title = "This refresh token was already used; the session is signed out"


class InvalidRefreshToken(DomainError):
    status = 401
    code = "invalid_token"
    title = "The refresh token is not valid"


class WrongPassword(DomainError):
    """Inside a signed-in route: 403, so clients do not mistake it for an expired session."""

    status = 403
    code = "invalid_credentials"
    title = "The current password is wrong"


class Forbidden(DomainError):
    """A member of the organization whose role (or a key whose scopes) lacks the permission."""

    status = 403
    code = "forbidden"
    title = "Your role in this organization does not allow this"


class OwnerProtected(DomainError):
    status = 403
    code = "owner_protected"
    title = "The owner cannot leave, be removed or be demoted; transfer ownership first"


class AlreadyMember(Conflict):
    code = "already_member"
    title = "That person is already a member of this organization"


class AlreadyInvited(Conflict):
    code = "already_invited"
    title = "That address already has a pending invitation to this organization"


class InvitationExpired(DomainError):
    status = 410
    code = "invitation_expired"
    title = "This invitation has expired; ask for a new one"


class InvitationUsed(DomainError):
    status = 410
    code = "invitation_used"
    title = "This invitation was already used"


class InvitationEmailMismatch(DomainError):
    status = 403
    code = "invitation_email_mismatch"
    title = "This invitation was sent to another email address"


class ApiKeyNotAllowed(DomainError):
    status = 403
    code = "api_key_not_allowed"
    title = "This route is for users only; API keys cannot call it"


class InvalidCode(DomainError):
    """A wrong, malformed or already used 2FA code at sign-in."""

    status = 401
    code = "invalid_code"
    title = "The code is wrong or was already used"


class WrongCode(DomainError):
    """Inside a signed-in route: 403, so clients do not mistake it for an expired session."""

    status = 403
    code = "invalid_code"
    title = "The code is wrong or was already used"


class TwoFactorRequired(DomainError):
    status = 403
    code = "two_factor_required"
    title = "This organization requires two-factor authentication; turn it on in your account"


class InvalidMfaToken(DomainError):
    status = 401
    code = "invalid_token"
    title = "The sign-in challenge is not valid; sign in again"


class ReauthenticationRequired(DomainError):
    """Sudo mode: a sensitive action with a token whose factor was proven too long ago."""

    status = 403
    code = "reauthentication_required"
    title = "Confirm it is you: this action needs a recent sign-in"


class ProviderNotConfigured(NotFound):
    """A sign-in provider the platform has not configured (or that does not exist)."""

    code = "provider_not_configured"
    title = "This sign-in provider is not configured"


class LastSignInMethod(Conflict):
    """Unlinking would leave the account with no way to sign in."""

    code = "last_sign_in_method"
    title = "This is the account's last way to sign in; set a password or link another provider first"


class IdentityNotLinked(NotFound):
    title = "No account of this provider is linked"


class CsrfFailed(DomainError):
    """A request that signs in with the browser's refresh cookie but whose `X-CSRF-Token`
    header is missing or differs from the CSRF cookie: it may come from another site."""

    status = 403
    code = "csrf_failed"
    title = "The request's CSRF token is missing or does not match its cookie; reload the page"


# Seconds a client is asked to wait after a 503: the retries behind it have already
# spent a few seconds; a throttled table or a failing dependency rarely recovers faster.
SERVICE_UNAVAILABLE_RETRY_AFTER = 5


class ServiceUnavailable(DomainError):
    """A dependency (DynamoDB throttled, a transaction that kept conflicting, Secrets
    Manager or KMS unreachable) did not answer after bounded retries. Nothing was half
    done (every multi-item write is one transaction), so the same request may be sent
    again after `Retry-After`."""

    status = 503
    code = "service_unavailable"
    title = "The service is temporarily unavailable; try again shortly"
    retry_after = SERVICE_UNAVAILABLE_RETRY_AFTER  # seconds, sent as Retry-After

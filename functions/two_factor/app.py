"""Two-factor authentication of the signed-in account: `/me/2fa/setup`, `/enable`,
`/disable`, `/recovery-codes` (all in sudo mode), and the account's security log."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import Client, SignedInUser, SudoUser
from kuploy_access.http.openapi_docs import route
from kuploy_access.http.params import Cursor, Limit
from kuploy_access.http.schemas.audit import AuditEventList
from kuploy_access.http.schemas.two_factor import CodeRequest, DisableRequest, RecoveryCodes, Setup
from kuploy_access.wiring import security_log_service, two_factor_service

app = create_app()

SUDO_CODE_PROBLEMS = ("invalid_code", "api_key_not_allowed", "reauthentication_required")


@app.post(
    "/me/2fa/setup",
    operation_id="startTwoFactorSetup",
    **route(
        "two-factor",
        "Start enrolling an authenticator (nothing is active yet)",
        (200, "The pending secret"),
        description="Answers a new secret, its otpauth:// URI and an SVG QR code of that URI. Calling it again "
        "replaces the pending secret. Sudo mode.",
        s403=("api_key_not_allowed", "reauthentication_required"),
        s409="conflict",
    ),
)
def setup(user: SudoUser) -> Setup:
    return Setup.model_validate(two_factor_service().setup(user.id))


@app.post(
    "/me/2fa/enable",
    operation_id="enableTwoFactor",
    **route(
        "two-factor",
        "Turn two-factor authentication on with a code of the new authenticator",
        (200, "Recovery codes"),
        description="Answers 10 recovery codes, shown this once. The code used here counts as used. Every other "
        "session of the account ends. Sudo mode.",
        s403=SUDO_CODE_PROBLEMS,
        s409="conflict",
        s429="rate_limited",
    ),
)
def enable(body: CodeRequest, user: SudoUser, client: Client) -> RecoveryCodes:
    codes = two_factor_service().enable(user.id, body.code, client, keep_session=user.session_id)
    return RecoveryCodes(recovery_codes=codes)


@app.post(
    "/me/2fa/disable",
    operation_id="disableTwoFactor",
    **route(
        "two-factor",
        "Turn two-factor authentication off (password and a code)",
        (204, "Off"),
        description="Every other session of the account ends. Sudo mode.",
        s403=("invalid_credentials", *SUDO_CODE_PROBLEMS),
        s409="conflict",
        s429="rate_limited",
    ),
)
def disable(body: DisableRequest, user: SudoUser, client: Client) -> Response[None]:
    two_factor_service().disable(user.id, body.password, body.code, client, keep_session=user.session_id)
    return Response(status_code=204)


@app.post(
    "/me/2fa/recovery-codes",
    operation_id="replaceRecoveryCodes",
    **route(
        "two-factor",
        "Replace the recovery codes (the old ones stop working)",
        (200, "New recovery codes"),
        description="Every other session of the account ends. Sudo mode.",
        s403=SUDO_CODE_PROBLEMS,
        s409="conflict",
        s429="rate_limited",
    ),
)
def replace_recovery_codes(body: CodeRequest, user: SudoUser, client: Client) -> RecoveryCodes:
    codes = two_factor_service().new_recovery_codes(user.id, body.code, client, keep_session=user.session_id)
    return RecoveryCodes(recovery_codes=codes)


@app.get(
    "/me/audit-log",
    operation_id="listMyAuditLog",
    **route(
        "accounts",
        "My account's own audit trail",
        (200, "Events, newest first"),
        description="Sign-ins and their failures, lockouts and unlocks, password resets and changes, refresh-token "
        "reuse, re-authentication, 2FA changes and recovery-code uses; newest first, the organization audit log's "
        "event shape.",
        s403="api_key_not_allowed",
    ),
)
def audit_log(user: SignedInUser, limit: Limit = 50, cursor: Cursor = None) -> AuditEventList:
    return AuditEventList.of(security_log_service().page(user.id, limit, cursor))


@app.get(
    "/me/security-log",
    operation_id="listMySecurityLog",
    **route(
        "accounts",
        "The same trail as GET /me/audit-log (its first name, kept for existing clients)",
        (200, "Events, newest first"),
        s403="api_key_not_allowed",
    ),
)
def security_log(user: SignedInUser, limit: Limit = 50, cursor: Cursor = None) -> AuditEventList:
    return audit_log(user, limit, cursor)


lambda_handler = lambda_entry(app)

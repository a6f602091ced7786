"""Stored keys are data: each builder of adapters/dynamodb/keys.py, pinned as written.

A failure here means items already in a table would no longer be found. Change a key
only with a migration of what is stored, then change the pin.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kuploy_access.adapters.dynamodb import keys
from kuploy_access.domain.identities import Provider
from kuploy_access.domain.one_time_tokens import TokenKind
from kuploy_access.domain.rate_limits import RateLimit
from kuploy_access.domain.resources import ResourceKind

SHARED = Path(__file__).resolve().parents[2] / "shared"
HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("built", "stored"),
    [
        (keys.user_pk("usr_01abc"), "USER#usr_01abc"),
        (keys.email_guard_pk("ada@example.com"), "EMAIL#ada@example.com"),
        (keys.email_skeleton_guard_pk(HASH), f"EMAILSKELETON#{HASH}"),
        (keys.one_time_token_pk(TokenKind.EMAIL_VERIFICATION, HASH), f"TOKEN#email_verification#{HASH}"),
        (keys.one_time_token_pk(TokenKind.PASSWORD_RESET, HASH), f"TOKEN#password_reset#{HASH}"),
        (keys.one_time_token_pk(TokenKind.ACCOUNT_UNLOCK, HASH), f"TOKEN#account_unlock#{HASH}"),
        (keys.session_sk("ses_01abc"), "SESSION#ses_01abc"),
        (keys.refresh_token_pk(HASH), f"REFRESH#{HASH}"),
        (keys.one_time_token_pk(TokenKind.LOGIN_CODE, HASH), f"TOKEN#login_code#{HASH}"),
        (keys.identity_pk(Provider.GITHUB, "583231"), "IDENTITY#github#583231"),
        (
            keys.identity_pk(Provider.GOOGLE, "107691503500"),
            "IDENTITY#google#107691503500",
        ),
        (keys.identity_pk(Provider.GITLAB, "4242"), "IDENTITY#gitlab#4242"),
        (keys.account_identity_sk(Provider.GITHUB), "IDENTITY#github"),
        (keys.account_identity_sk(Provider.GOOGLE), "IDENTITY#google"),
        (keys.account_identity_sk(Provider.GITLAB), "IDENTITY#gitlab"),
        (keys.oauth_flow_pk(HASH), f"OAUTHFLOW#{HASH}"),
        (
            keys.rate_counter_pk(RateLimit("login-pair", 5, timedelta(minutes=15)), "ada@example.com|203.0.113.7", AT),
            # sha256 of the key, cut to 32; the 15-minute window holding AT (05:00:00 UTC)
            "RATE#login-pair#df4f94c5bb86c0f28bfb217576108ff9#1772600400",
        ),
        (keys.login_failures_pk("ada@example.com"), "LOGINFAIL#b5fc85e55755f9e0d030a10ab4429b6b"),
        (keys.mfa_challenge_pk("chl_01abc"), "MFA#chl_01abc"),
        (keys.org_pk("org_01abc"), "ORG#org_01abc"),
        (keys.member_sk("usr_01abc"), "MEMBER#usr_01abc"),
        (keys.invitation_sk("inv_01abc"), "INVITATION#inv_01abc"),
        (keys.invitee_sk("grace@example.com"), "INVITEE#grace@example.com"),
        (keys.invitee_gsi1pk("grace@example.com"), "INVITEE#grace@example.com"),
        (keys.invitation_link_pk(HASH), f"INVTOKEN#{HASH}"),
        (keys.resource_sk(ResourceKind.PROJECT, "", "prj_1"), "PRJ#prj_1"),
        (keys.resource_sk(ResourceKind.APPLICATION, "prj_1", "app_1"), "APP#prj_1#app_1"),
        (keys.resource_sk(ResourceKind.DEPLOYMENT, "app_1", "dep_1"), "DEP#app_1#dep_1"),
        (keys.resource_sk(ResourceKind.DATABASE, "", "db_1"), "DB#db_1"),
        (keys.resource_sk(ResourceKind.NOTIFICATION_CHANNEL, "", "nch_1"), "NCH#nch_1"),
        (keys.audit_pk("org_01abc"), "AUDIT#org_01abc"),
        (keys.audit_pk("usr_01abc"), "AUDIT#usr_01abc"),
        (keys.event_sk("evt_01abc"), "EVT#evt_01abc"),
        (keys.api_key_pk(HASH), f"APIKEY#{HASH}"),
        (keys.org_api_keys_gsi1pk("org_01abc"), "ORGKEYS#org_01abc"),
        (keys.api_key_gsi1sk("key_01abc"), "KEY#key_01abc"),
        (keys.idempotency_pk(HASH), f"IDEMPOTENCY#{HASH}"),
    ],
)
def test_a_builder_writes_the_key_as_stored(built: str, stored: str) -> None:
    assert built == stored


@pytest.mark.parametrize(
    ("constant", "stored"),
    [
        (keys.PROFILE_SK, "PROFILE"),
        (keys.EMAIL_GUARD_SK, "EMAIL"),
        (keys.EMAIL_SKELETON_GUARD_SK, "EMAILSKELETON"),
        (keys.ONE_TIME_TOKEN_SK, "TOKEN"),
        (keys.REFRESH_TOKEN_SK, "REFRESH"),
        (keys.IDENTITY_SK, "IDENTITY"),
        (keys.OAUTH_FLOW_SK, "OAUTHFLOW"),
        (keys.COUNTER_SK, "COUNTER"),
        (keys.ORG_SK, "ORG"),
        (keys.INVITATION_LINK_SK, "TOKEN"),
        (keys.API_KEY_SK, "APIKEY"),
        (keys.IDEMPOTENCY_SK, "IDEMPOTENCY"),
    ],
)
def test_a_fixed_sort_key_is_as_stored(constant: str, stored: str) -> None:
    assert constant == stored


@pytest.mark.parametrize(
    ("prefix", "stored"),
    [
        (keys.USER_PK_PREFIX, "USER#"),
        (keys.EMAIL_GUARD_PK_PREFIX, "EMAIL#"),
        (keys.EMAIL_SKELETON_GUARD_PK_PREFIX, "EMAILSKELETON#"),
        (keys.SESSION_SK_PREFIX, "SESSION#"),
        (keys.REFRESH_TOKEN_PK_PREFIX, "REFRESH#"),
        (keys.IDENTITY_PK_PREFIX, "IDENTITY#"),
        (keys.ACCOUNT_IDENTITY_SK_PREFIX, "IDENTITY#"),
        (keys.OAUTH_FLOW_PK_PREFIX, "OAUTHFLOW#"),
        (keys.RATE_COUNTER_PK_PREFIX, "RATE#"),
        (keys.rate_counter_pk_prefix(RateLimit("login-ip", 50, timedelta(minutes=15))), "RATE#login-ip#"),
        (keys.LOGIN_FAILURES_PK_PREFIX, "LOGINFAIL#"),
        (keys.ORG_PK_PREFIX, "ORG#"),
        (keys.MEMBER_SK_PREFIX, "MEMBER#"),
        (keys.INVITATION_SK_PREFIX, "INVITATION#"),
        (keys.INVITEE_SK_PREFIX, "INVITEE#"),
        (keys.INVITATION_LINK_PK_PREFIX, "INVTOKEN#"),
        (keys.resource_sk_prefix(ResourceKind.PROJECT), "PRJ#"),
        (keys.resource_sk_prefix(ResourceKind.DEPLOYMENT, "app_1"), "DEP#app_1#"),
        (keys.AUDIT_PK_PREFIX, "AUDIT#"),
        (keys.EVENT_SK_PREFIX, "EVT#"),
        (keys.API_KEY_PK_PREFIX, "APIKEY#"),
        (keys.API_KEY_GSI1SK_PREFIX, "KEY#"),
        (keys.IDEMPOTENCY_PK_PREFIX, "IDEMPOTENCY#"),
    ],
)
def test_a_prefix_is_what_its_keys_begin_with(prefix: str, stored: str) -> None:
    assert prefix == stored


def test_every_one_time_token_kind_and_resource_kind_has_its_own_key() -> None:
    tokens = {keys.one_time_token_pk(kind, HASH) for kind in TokenKind}
    resources = {keys.resource_sk_prefix(kind) for kind in ResourceKind}
    assert len(tokens) == len(TokenKind)
    assert len(resources) == len(ResourceKind)


def test_every_provider_has_its_own_keys() -> None:
    identities = {keys.identity_pk(provider, "42") for provider in Provider}
    account_sides = {keys.account_identity_sk(provider) for provider in Provider}
    assert len(identities) == len(account_sides) == len(Provider)


def test_the_module_imports_nothing_of_the_domain_or_pynamodb_at_run_time() -> None:
    """The authorizer reads API keys through it: its cold start pays for every import."""
    program = (
        "import sys; import kuploy_access.adapters.dynamodb.keys; "
        "print(sorted(m for m in sys.modules if m.startswith(('kuploy_access.domain', 'pynamodb', 'botocore'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SHARED), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

"""Settings read from the environment once per container (set by template.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from kuploy_access.domain.sessions import SessionLifetimes


@dataclass(frozen=True)
class Settings:
    table_name: str
    public_base_url: str
    sender_email: str
    signing_key_secret_id: str
    totp_key_secret_id: str
    region: str
    session_lifetimes: SessionLifetimes
    invitation_lifetime: timedelta = timedelta(days=7)
    audit_retention: timedelta = timedelta(days=400)
    # Always-202 answers (forgot password, resend verification) take at least this long.
    quiet_answer_seconds: float = 0.3


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "kuploy-access"),
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:3000"),
        sender_email=os.environ.get("SENDER_EMAIL", "no-reply@kuploy.dev"),
        signing_key_secret_id=os.environ.get("SIGNING_KEY_SECRET_ID", "kuploy-access/signing-key"),
        totp_key_secret_id=os.environ.get("TOTP_KEY_SECRET_ID", "kuploy-access/totp-key"),
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        session_lifetimes=SessionLifetimes(
            absolute=timedelta(days=float(os.environ.get("SESSION_ABSOLUTE_DAYS", "30"))),
            idle=timedelta(days=float(os.environ.get("SESSION_IDLE_DAYS", "7"))),
        ),
        invitation_lifetime=timedelta(days=float(os.environ.get("INVITATION_DAYS", "7"))),
        audit_retention=timedelta(days=float(os.environ.get("AUDIT_RETENTION_DAYS", "400"))),
        quiet_answer_seconds=float(os.environ.get("QUIET_ANSWER_SECONDS", "0.3")),
    )

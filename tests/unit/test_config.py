"""Settings: no silent defaults for what a deployed function needs. A missing variable
stops the function at cold start with a message naming it."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from kuploy_access.config import (
    REQUIRED_VARIABLES,
    MissingSetting,
    read_settings,
)

ROOT = Path(__file__).resolve().parents[2]

COMPLETE = {
    "TABLE_NAME": "kuploy-access-prod",
    "PUBLIC_BASE_URL": "https://access.example.com",
    "SENDER_EMAIL": "no-reply@example.com",
    "SIGNING_KEY_SECRET_ID": "arn:aws:secretsmanager:eu-west-1:1:secret:signing",
    "TOTP_KEY_SECRET_ID": "arn:aws:secretsmanager:eu-west-1:1:secret:totp",
    "AWS_REGION": "eu-west-1",
}


def test_a_complete_environment():
    settings = read_settings(COMPLETE)
    assert settings.table_name == "kuploy-access-prod"
    assert settings.public_base_url == "https://access.example.com"
    assert settings.sender_email == "no-reply@example.com"
    assert settings.signing_key_secret_id == COMPLETE["SIGNING_KEY_SECRET_ID"]
    assert settings.totp_key_secret_id == COMPLETE["TOTP_KEY_SECRET_ID"]
    assert settings.region == "eu-west-1"


def test_tunables_keep_their_defaults_and_can_be_set():
    defaults = read_settings(COMPLETE)
    assert defaults.session_lifetimes.absolute == timedelta(days=30)
    assert defaults.session_lifetimes.idle == timedelta(days=7)
    assert defaults.invitation_lifetime == timedelta(days=7)
    assert defaults.audit_retention == timedelta(days=400)
    assert defaults.quiet_answer_seconds == 0.3
    assert defaults.sudo_mode_window == timedelta(minutes=10)

    tuned = read_settings(
        COMPLETE
        | {
            "SESSION_ABSOLUTE_DAYS": "14",
            "SESSION_IDLE_DAYS": "2",
            "INVITATION_DAYS": "3",
            "AUDIT_RETENTION_DAYS": "90",
            "QUIET_ANSWER_SECONDS": "0.5",
            "SUDO_MODE_MINUTES": "5",
        }
    )
    assert tuned.session_lifetimes.absolute == timedelta(days=14)
    assert tuned.session_lifetimes.idle == timedelta(days=2)
    assert tuned.invitation_lifetime == timedelta(days=3)
    assert tuned.audit_retention == timedelta(days=90)
    assert tuned.quiet_answer_seconds == 0.5
    assert tuned.sudo_mode_window == timedelta(minutes=5)


def test_the_edge_secret_is_optional_and_kept_out_of_the_repr():
    """No edge (the local server, the tests): empty, and the source IP is the client."""
    assert read_settings(COMPLETE).edge_origin_secret == ""
    assert read_settings(COMPLETE | {"EDGE_ORIGIN_SECRET": "  "}).edge_origin_secret == ""
    settings = read_settings(COMPLETE | {"EDGE_ORIGIN_SECRET": "s3cretFromTheEdge"})
    assert settings.edge_origin_secret == "s3cretFromTheEdge"
    assert "s3cretFromTheEdge" not in repr(settings)
    assert "EDGE_ORIGIN_SECRET" not in REQUIRED_VARIABLES


@pytest.mark.parametrize("name", ["TABLE_NAME", "PUBLIC_BASE_URL", "SENDER_EMAIL"])
@pytest.mark.parametrize("absent", ["unset", "blank"])
def test_a_missing_setting_is_named(name: str, absent: str):
    environ = {k: v for k, v in COMPLETE.items() if k != name} | ({name: "  "} if absent == "blank" else {})
    with pytest.raises(MissingSetting) as refused:
        read_settings(environ)
    assert refused.value.names == (name,)
    assert str(refused.value).startswith(f"missing environment variable: {name}. ")
    assert "template.yaml" in str(refused.value)


def test_every_missing_setting_is_named_at_once():
    with pytest.raises(MissingSetting) as refused:
        read_settings({"SIGNING_KEY_SECRET_ID": "s"})
    assert refused.value.names == ("TABLE_NAME", "PUBLIC_BASE_URL", "SENDER_EMAIL", "AWS_REGION")
    assert str(refused.value).startswith(
        "missing environment variables: TABLE_NAME, PUBLIC_BASE_URL, SENDER_EMAIL, AWS_REGION (or AWS_DEFAULT_REGION). "
    )


def test_the_region_comes_from_aws_region_or_aws_default_region():
    without = {k: v for k, v in COMPLETE.items() if k != "AWS_REGION"}
    assert read_settings(without | {"AWS_DEFAULT_REGION": "ap-south-1"}).region == "ap-south-1"
    assert (
        read_settings(without | {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "ap-south-1"}).region == "eu-west-1"
    )
    with pytest.raises(MissingSetting, match=r"AWS_REGION \(or AWS_DEFAULT_REGION\)") as refused:
        read_settings(without)
    assert refused.value.names == ("AWS_REGION",)


@pytest.mark.parametrize(
    ("name", "attribute"),
    [("SIGNING_KEY_SECRET_ID", "signing_key_secret_id"), ("TOTP_KEY_SECRET_ID", "totp_key_secret_id")],
)
def test_a_missing_secret_id_is_named_when_read(name: str, attribute: str):
    """The operator's command shares the settings but opens no secret."""
    settings = read_settings({k: v for k, v in COMPLETE.items() if k != name} | {name: ""})
    with pytest.raises(MissingSetting, match=f"missing environment variable: {name}") as refused:
        getattr(settings, attribute)
    assert refused.value.names == (name,)


def test_the_idempotency_key_secret_is_read_only_by_the_functions_that_keep_answers():
    """The four create functions get IDEMPOTENCY_KEY_SECRET_ID (template.yaml); the others
    do without, and only the ledger reads it."""
    given = read_settings(COMPLETE | {"IDEMPOTENCY_KEY_SECRET_ID": "arn:aws:secretsmanager:eu-west-1:1:secret:idem"})
    assert given.idempotency_key_secret_id == "arn:aws:secretsmanager:eu-west-1:1:secret:idem"
    with pytest.raises(MissingSetting, match="missing environment variable: IDEMPOTENCY_KEY_SECRET_ID"):
        _ = read_settings(COMPLETE).idempotency_key_secret_id


def test_the_required_variables():
    assert set(REQUIRED_VARIABLES) == set(COMPLETE) - {"AWS_REGION"}


# --- cold start, in a fresh interpreter as Lambda starts one --------------------------------


def _cold_start(code: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}", "PATH": "/usr/bin:/bin", **environ}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)


AUTHORIZER_COLD_START = (
    "import importlib.util\n"
    f"spec = importlib.util.spec_from_file_location('app', {str(ROOT / 'functions/authorizer/app.py')!r})\n"
    "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
)


def test_a_function_without_its_settings_stops_at_cold_start_naming_them():
    started = _cold_start(AUTHORIZER_COLD_START, {k: v for k, v in COMPLETE.items() if k != "TABLE_NAME"})
    assert started.returncode != 0
    assert "MissingSetting: missing environment variable: TABLE_NAME" in started.stderr


def test_a_function_with_its_settings_starts():
    started = _cold_start(AUTHORIZER_COLD_START, COMPLETE)
    assert started.returncode == 0, started.stderr


def test_the_operator_command_needs_no_secret_ids():
    """README: TABLE_NAME, SENDER_EMAIL and PUBLIC_BASE_URL (and the shell's region)."""
    environ = {k: v for k, v in COMPLETE.items() if k not in ("SIGNING_KEY_SECRET_ID", "TOTP_KEY_SECRET_ID")}
    started = _cold_start("from kuploy_access.wiring import admin_service\nadmin_service()\n", environ)
    assert started.returncode == 0, started.stderr

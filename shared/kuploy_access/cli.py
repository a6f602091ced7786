"""`kuploy-access`: the platform operator's command line.

    kuploy-access admin reset-2fa EMAIL [--reason TEXT] [--operator NAME]
        Turn off two-factor authentication for the account of EMAIL (lost
        authenticator, no recovery codes), sign it out everywhere, write the event to
        its security log and email the person.

Against the deployed stack: run with AWS credentials and TABLE_NAME (the stack's
TableName output), SENDER_EMAIL and PUBLIC_BASE_URL in the environment; the region is
AWS_REGION, or the AWS config's (profile) when that is not set. Against the
local server (`make dev`): add `--local http://127.0.0.1:3000`; the server runs the
same code on its embedded table.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import urllib.request

from kuploy_access.config import REGION_VARIABLES, MissingSetting


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kuploy-access", description="Kuploy Access operator commands")
    groups = parser.add_subparsers(dest="group", required=True)
    admin = groups.add_parser("admin", help="act on an account for its owner")
    commands = admin.add_subparsers(dest="command", required=True)
    reset = commands.add_parser("reset-2fa", help="turn two-factor authentication off for an account")
    reset.add_argument("email")
    reset.add_argument("--reason", default="", help="why (kept in the account's security log)")
    reset.add_argument("--operator", default=None, help="who is doing it (default: your login name)")
    reset.add_argument("--local", metavar="URL", help="the local server (make dev) instead of AWS")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    operator = args.operator or os.environ.get("USER") or os.environ.get("LOGNAME") or _login_name()
    request = {"email": args.email, "operator": operator, "reason": args.reason}
    outcome = _on_local_server(args.local, request) if args.local else _on_aws(request)
    if "error" in outcome:
        print(f"kuploy-access: {outcome['error']}", file=sys.stderr)
        return 1
    state = "was on, now off" if outcome["was_enabled"] else "was already off"
    print(
        f"{outcome['email']} ({outcome['user_id']}): two-factor authentication {state}; "
        f"{outcome['sessions_revoked']} session(s) signed out; the person was emailed."
    )
    return 0


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def _region_from_aws_config() -> None:
    """An operator's shell names its region in the AWS config (profile) more often than in
    AWS_REGION; the functions' settings read the variable, so it is set from the config."""
    if any(os.environ.get(name) for name in REGION_VARIABLES):
        return
    from botocore.session import get_session

    region = get_session().get_config_variable("region")
    if region:
        os.environ["AWS_REGION"] = str(region)


def _on_aws(request: dict[str, str]) -> dict[str, object]:
    from kuploy_access.domain.errors import DomainError

    _region_from_aws_config()
    try:
        from kuploy_access.wiring import admin_service

        done = admin_service().reset_two_factor(request["email"], request["operator"], request["reason"])
    except MissingSetting as missing:
        named = ", ".join(missing.names)
        return {"error": f'{named} not set: the command is in README, under "Two-factor authentication"'}
    except DomainError as error:
        return {"error": error.detail}
    return {
        "user_id": done.user_id,
        "email": done.email,
        "was_enabled": done.was_enabled,
        "sessions_revoked": done.sessions_revoked,
    }


def _on_local_server(base_url: str, request: dict[str, str]) -> dict[str, object]:
    if not base_url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        return {"error": "--local only talks to a local server on this machine"}
    call = urllib.request.Request(  # noqa: S310 - a loopback URL, checked above
        base_url.rstrip("/") + "/_dev/admin/reset-2fa",
        data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(call, timeout=30) as answer:  # noqa: S310 # nosec B310 - the loopback URL checked above
            result: dict[str, object] = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        result = json.loads(error.read() or b"{}") or {"error": f"HTTP {error.code}"}
    except OSError as error:
        return {"error": f"cannot reach {base_url}: {error}"}
    return result


if __name__ == "__main__":
    raise SystemExit(main())

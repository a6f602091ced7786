"""`make dev`: the whole API on http://127.0.0.1:3000, AWS embedded.

    python -m devserver [--port 3000] [--host 127.0.0.1] [--state FILE]

Routes come from template.yaml. Sent emails are printed here with their links and
listed at GET /_dev/emails. With --state, the table's items and the signing key are
written to FILE on shutdown and read back at start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devserver.template import PROJECT_ROOT, api_spec

DEV_EMAILS_PATH = "/_dev/emails"
# Every DynamoDB call the server made so far, by operation: {"count", "operations"}.
DEV_DYNAMODB_CALLS_PATH = "/_dev/dynamodb-calls"
# The operator command (`bin/kuploy-access admin reset-2fa EMAIL --local URL`) reaches
# the embedded table through here; loopback callers only.
DEV_ADMIN_RESET_2FA_PATH = "/_dev/admin/reset-2fa"


def _prepare_environment(port: int, host: str, template_env: dict[str, Any]) -> dict[str, str]:
    from devserver.embedded_aws import LOCAL_ENVIRONMENT

    environment = dict(LOCAL_ENVIRONMENT)
    public_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - comparison, not a bind
    environment["PUBLIC_BASE_URL"] = os.environ.get("PUBLIC_BASE_URL", f"http://{public_host}:{port}")
    # Literal (non-intrinsic) variables of the template's Globals apply locally too.
    for name, value in template_env.items():
        if isinstance(value, str) and name not in environment:
            environment[name] = value
    for name, value in environment.items():
        if name in ("PUBLIC_BASE_URL",) or name not in os.environ or name.startswith("AWS_"):
            os.environ[name] = value
    sys.path.insert(0, str(PROJECT_ROOT / "shared"))
    return environment


def _print_email(email: Any) -> None:
    rule = "-" * 72
    print(f"\n{rule}\n  email to {email.to}: {email.subject}\n{rule}\n{email.text}\n{rule}\n", flush=True)


def _admin_reset_two_factor(client_ip: str, body: bytes) -> tuple[int, dict[str, object]]:
    """The same operator command as on AWS (kuploy_access.cli), run on the embedded table."""
    if not client_ip.startswith("127.") and client_ip != "::1":
        return 403, {"error": "operator commands are for this machine only"}
    from kuploy_access.cli import _on_aws

    try:
        request = json.loads(body or b"{}")
        outcome = _on_aws({k: str(request.get(k) or "") for k in ("email", "operator", "reason")})
    except ValueError:
        return 400, {"error": "send JSON {email, operator, reason}"}
    return (404 if "error" in outcome else 200), outcome


def make_handler(gateway: Any, outbox: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kuploy-local"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

        def _serve(self) -> None:
            raw_path, _, raw_query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            if raw_path == DEV_EMAILS_PATH and self.command == "GET":
                self._write(200, [("Content-Type", "application/json")], json.dumps(outbox.all()).encode())
                return
            if raw_path == DEV_DYNAMODB_CALLS_PATH and self.command == "GET":
                from devserver.embedded_aws import dynamodb_calls

                calls = dynamodb_calls.snapshot()
                payload = json.dumps({"count": len(calls), "operations": calls}).encode()
                self._write(200, [("Content-Type", "application/json")], payload)
                return
            if raw_path == DEV_ADMIN_RESET_2FA_PATH and self.command == "POST":
                status, answer = _admin_reset_two_factor(self.client_address[0], body)
                self._write(status, [("Content-Type", "application/json")], json.dumps(answer).encode())
                return
            response = gateway.handle(
                self.command, raw_path, raw_query, list(self.headers.items()), body, self.client_address[0]
            )
            self._write(response.status, response.headers, response.body)

        def _write(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--state", help="keep the table's items in FILE across restarts")
    args = parser.parse_args(argv)

    api = api_spec()
    environment = _prepare_environment(args.port, args.host, api.environment)

    from devserver.embedded_aws import embedded_aws, restore_state, save_state
    from devserver.gateway import LocalGateway

    with embedded_aws(api.table, environment, state_file=args.state) as outbox:
        if args.state:
            restored = restore_state(args.state, environment["TABLE_NAME"])
            print(f"state: {restored} items read from {args.state}", flush=True)
        outbox.listeners.append(_print_email)
        gateway = LocalGateway(api)
        gateway.load_all()
        ThreadingHTTPServer.request_queue_size = 128  # bursts of parallel clients
        server = ThreadingHTTPServer((args.host, args.port), make_handler(gateway, outbox))
        server.daemon_threads = True
        stopping = threading.Event()

        def stop(signum: int, _frame: Any) -> None:
            if not stopping.is_set():
                stopping.set()
                threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        routes = sorted({f"{r.method:6} {r.path}" for r in api.routes})
        print(f"Kuploy Access on {environment['PUBLIC_BASE_URL']}  ({len(routes)} routes)", flush=True)
        for line in routes:
            print(f"  {line}", flush=True)
        print(f"  GET    {DEV_EMAILS_PATH}   (local only: emails sent so far)", flush=True)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            if args.state:
                save_state(
                    args.state,
                    environment["TABLE_NAME"],
                    environment["SIGNING_KEY_SECRET_ID"],
                    environment["TOTP_KEY_SECRET_ID"],
                )
                print(f"state: written to {args.state}", flush=True)
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

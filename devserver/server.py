"""`make dev`: the whole API on http://127.0.0.1:3000, AWS embedded.

    python -m devserver [--port 3000] [--host 127.0.0.1] [--state FILE] [--function-log FILE]

Routes come from template.yaml. Sent emails are printed here with their links and
listed at GET /_dev/emails. With --state, the table's items and the signing key are
written to FILE on shutdown and read back at start. With --function-log, what the
functions write (their JSON logs, EMF metrics, tracebacks: CloudWatch's share on AWS)
goes to FILE instead of the terminal (devserver.function_output).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devserver.environment import prepare_local_environment
from devserver.template import PROJECT_ROOT, api_spec

if TYPE_CHECKING:
    from devserver.console_files import ConsoleFiles
    from devserver.embedded_aws import Outbox
    from devserver.gateway import LocalGateway
    from devserver.local_providers import LocalProviders


def _print_email(email: Any) -> None:
    from devserver.function_output import terminal

    rule = "-" * 72
    text = f"\n{rule}\n  email to {email.to}: {email.subject}\n{rule}\n{email.text}\n{rule}\n"
    # The terminal's, even though the function that sends it is running: the inbox
    # stand-in, never part of a function's log.
    print(text, file=terminal(), flush=True)


def start_local_providers_for(public_base_url: str) -> LocalProviders:
    """Local stand-ins for GitHub, Google and GitLab, turned on in this process's
    environment (a variable the shell set wins), with flows returning to the local
    sign-in page (README, "Sign in with GitHub, Google and GitLab") or to the console."""
    from devserver.console_files import console_root
    from devserver.dev_sign_in import LOCAL_PROVIDERS_VARIABLE, return_address
    from devserver.local_providers import start_local_providers

    providers = start_local_providers()
    for name, value in providers.environment.items():
        os.environ.setdefault(name, value)
    allowed = os.environ.get("OAUTH_REDIRECT_ALLOWLIST", "").split()
    # The console's root too: it starts provider sign-ins and links with redirect_to = itself.
    local = [return_address(public_base_url), console_root(public_base_url)]
    os.environ["OAUTH_REDIRECT_ALLOWLIST"] = " ".join(dict.fromkeys([*allowed, *local]))
    urls = {"github": providers.github, "google": providers.google, "gitlab": providers.gitlab}
    os.environ[LOCAL_PROVIDERS_VARIABLE] = json.dumps(urls)
    return providers


def make_handler(
    gateway: LocalGateway, outbox: Outbox, console: ConsoleFiles | None = None
) -> type[BaseHTTPRequestHandler]:
    from devserver.console_files import ConsoleFiles
    from devserver.dev_routes import DYNAMODB_CALLS_HEADER, dev_route
    from devserver.embedded_aws import dynamodb_calls

    console_files = console or ConsoleFiles()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kuploy-local"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

        def _serve(self) -> None:
            raw_path, _, raw_query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            client_ip = self.client_address[0]
            headers = list(self.headers.items())
            dynamodb_calls.start_request()
            response = (
                dev_route(self.command, raw_path, raw_query, client_ip, body, outbox)
                or console_files.answer(self.command, raw_path, headers)
                or gateway.handle(self.command, raw_path, raw_query, headers, body, client_ip)
            )
            extra = [(DYNAMODB_CALLS_HEADER, dynamodb_calls.request_calls())]
            self._write(response.status, [*response.headers, *extra], response.body)

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

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, QUERY, a made-up one) goes to the gateway too, which
            # answers one it has no route for as API Gateway does (404 Not Found); the
            # standard library's handler would answer 501 by itself.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

    return Handler


def main(argv: list[str] | None = None) -> int:
    # Imported here, as the rest of the server: the environment is prepared first.
    from devserver.containers import DEFAULT_MAX_COPIES

    parser = argparse.ArgumentParser(prog="devserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--state", help="keep the table's items in FILE across restarts")
    parser.add_argument("--function-log", help="write the functions' output (their logs) to FILE")
    parser.add_argument(
        "--max-copies",
        type=int,
        default=int(os.environ.get("MAX_COPIES", str(DEFAULT_MAX_COPIES))),
        help="warm copies of each function at most (Lambda's reserved concurrency); more requests wait",
    )
    args = parser.parse_args(argv)
    if args.function_log:
        from devserver.function_output import send_function_output_to

        send_function_output_to(Path(args.function_log))

    api = api_spec()
    environment = prepare_local_environment(api, args.port, args.host)
    sys.path.insert(0, str(PROJECT_ROOT / "shared"))
    providers = start_local_providers_for(environment["PUBLIC_BASE_URL"])

    from devserver.console_files import ConsoleFiles, console_root
    from devserver.dev_routes import DEV_EMAILS_PATH, DEV_TABLE_KEYS_PATH
    from devserver.dev_sign_in import DEV_SIGN_IN_PATH
    from devserver.embedded_aws import create_client_secrets, embedded_aws, restore_state, save_state
    from devserver.gateway import LocalGateway
    from devserver.stream_consumers import StreamConsumers

    streams = bool(api.stream_sources)
    with providers, embedded_aws(api.table, environment, state_file=args.state, streams=streams) as outbox:
        create_client_secrets(providers.client_secrets)
        if args.state:
            restored = restore_state(args.state, environment["TABLE_NAME"])
            print(f"state: {restored} items read from {args.state}", flush=True)
        outbox.listeners.append(_print_email)
        gateway = LocalGateway(api, max_copies=args.max_copies)
        gateway.load_all()
        # The table stream's consumers (the organization purge) run in the background, as
        # their event source mappings do; each function is imported on its first batch.
        consumers = StreamConsumers(api.stream_sources, environment["TABLE_NAME"], gateway.invoke).start()
        ThreadingHTTPServer.request_queue_size = 128  # bursts of parallel clients
        console = ConsoleFiles(public_base_url=environment["PUBLIC_BASE_URL"])
        server = ThreadingHTTPServer((args.host, args.port), make_handler(gateway, outbox, console))
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
        print(f"  console: {console_root(environment['PUBLIC_BASE_URL'])}", flush=True)
        for line in routes:
            print(f"  {line}", flush=True)
        print(f"  GET    {DEV_EMAILS_PATH}   (local only: emails sent so far)", flush=True)
        print(f"  GET    {DEV_TABLE_KEYS_PATH}  (local only: the key of every item in the table)", flush=True)
        for source in api.stream_sources:
            print(f"  stream -> {source.function.logical_id} (the table's stream, in the background)", flush=True)
        print(f"  GET    {DEV_SIGN_IN_PATH}  (local only: sign in with the local GitHub, Google, GitLab)", flush=True)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            consumers.stop()
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

"""No password, token or key ever reaches a log line.

Everything is captured: stdout and stderr (capsys: print, tracebacks, the EMF metrics
lines), every record of the logging module at DEBUG (caplog, plus a handler that keeps
each record's `extra` fields and exception), and what every stream handler already
installed writes (the Powertools JSON logger holds the stdout of the moment it was
created).

Two depths: the service as configured (its own loggers at DEBUG, the libraries as
they come), and with the libraries' own debug logging switched on as well, as an
operator does with POWERTOOLS_DEBUG=true to troubleshoot.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import ACCESS_HEADER, access_claims, forge_jwt


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    """One moto world for the module (creating one costs more than most tests here)."""
    with support.moto_world() as outbox:
        yield outbox


@pytest.fixture
def aws(world) -> Any:
    """Overrides conftest's: the shared world, emptied, with an outbox of this test's emails."""
    support.wipe_table()
    return support.OutboxSince(world)


PASSWORD = "Quartz-Ladder-Nebula-47"
WRONG_PASSWORD = "Quartz-Ladder-Nebula-48"
SERVICE_LOGGER = "kuploy-access"
POWERTOOLS_PACKAGE_LOGGER = "aws_lambda_powertools"


@dataclass
class Captured:
    text: str = ""


class RecordText(logging.Handler):
    """Every record as text: message, arguments, extra fields and exception."""

    def __init__(self, include_library_debug: bool) -> None:
        super().__init__(logging.DEBUG)
        self.include_library_debug = include_library_debug
        self.parts: list[str] = []

    def wanted(self, record: logging.LogRecord) -> bool:
        # Without the library switch, Powertools' package logger writes nowhere (it
        # does not propagate and has a NullHandler); pytest may still route its records
        # here depending on test order, so leave them out explicitly.
        return self.include_library_debug or not record.name.startswith(POWERTOOLS_PACKAGE_LOGGER)

    def emit(self, record: logging.LogRecord) -> None:
        if not self.wanted(record):
            return
        self.parts.append(repr(record.__dict__))
        try:
            self.parts.append(record.getMessage())
        except Exception:  # a bad format string is still text we want to see
            self.parts.append(repr((record.msg, record.args)))
        if record.exc_info:
            self.parts.append(logging.Formatter().formatException(record.exc_info))

    def text(self) -> str:
        return "\n".join(self.parts)


@contextmanager
def capture_everything(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, include_library_debug: bool = False
) -> Iterator[Captured]:
    caplog.set_level(logging.DEBUG)
    records = RecordText(include_library_debug)
    levels: dict[str, int] = {}
    attached = [logging.getLogger(), logging.getLogger(SERVICE_LOGGER)]
    for name in [SERVICE_LOGGER] + ([POWERTOOLS_PACKAGE_LOGGER] if include_library_debug else []):
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.DEBUG)
    if include_library_debug:
        attached.append(logging.getLogger(POWERTOOLS_PACKAGE_LOGGER))
    for logger in attached:
        logger.addHandler(records)

    streams = io.StringIO()
    swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
    loggers = [
        logging.getLogger(),
        *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]
    seen: set[int] = set()
    for logger in loggers:
        for handler in logger.handlers:
            # pytest's own capture handlers are StreamHandlers too; caplog covers them.
            ours = isinstance(handler, logging.StreamHandler) and not type(handler).__module__.startswith("_pytest")
            if ours and id(handler) not in seen:
                seen.add(id(handler))
                # Not setStream(): it flushes the old stream, which may be a closed capture.
                swapped.append((handler, handler.stream))
                handler.stream = streams
    capsys.readouterr()
    caplog.clear()
    result = Captured()
    try:
        yield result
    finally:
        for handler, stream in swapped:
            handler.stream = stream
        for logger in attached:
            logger.removeHandler(records)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        out, err = capsys.readouterr()
        logged = [
            f"{r.levelname} {r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records if records.wanted(r)
        ]
        result.text = "\n".join([out, err, *logged, records.text(), streams.getvalue()])


def full_journey(client: GatewayClient) -> dict[str, str]:
    """Sign-up (twice), verification (page, form and API), logins good and bad, /me."""
    email = "secret.keeper@example.com"
    assert (
        client.request("POST", "/auth/signup", {"email": email, "password": PASSWORD, "name": "Keeper"}).status == 202
    )
    assert client.request("POST", "/auth/signup", {"email": email, "password": PASSWORD}).status == 202
    token = client.last_link(email, "/verify-email")
    assert client.request("GET", f"/verify-email?token={token}").status == 200
    assert client.request("POST", "/auth/resend-verification", {"email": email}).status == 202
    resent = client.last_link(email, "/verify-email")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # The sign-up's link through the page's form (the resent one would set no password).
    assert client.request("POST", "/verify-email", raw=f"token={quote(token)}".encode(), headers=form).status == 200
    assert client.request("POST", "/auth/verify-email", {"token": resent}).status == 400
    assert client.request("POST", "/auth/verify-email", {"token": token}).status == 400

    assert client.request("POST", "/auth/login", {"email": email, "password": WRONG_PASSWORD}).status == 401
    assert client.request("POST", "/auth/login", {"email": "nobody@example.com", "password": PASSWORD}).status == 401
    # Field errors must not echo what was typed either.
    assert client.request("POST", "/auth/signup", {"email": email, "password": PASSWORD, "role": "x"}).status == 422
    assert client.request("POST", "/auth/login", {"email": email, "password": [PASSWORD]}).status == 422
    answer = client.request("POST", "/auth/login", {"email": email, "password": PASSWORD})
    assert answer.status == 200
    tokens = answer.json()

    assert client.request("GET", "/me", token=tokens["access_token"]).status == 200
    assert client.request("PATCH", "/me", {"name": "Keeper 2"}, token=tokens["access_token"]).status == 200
    key = support.signing_key()
    expired = forge_jwt(ACCESS_HEADER, access_claims("usr_x", now=datetime.now(UTC) - timedelta(hours=1)), key)
    assert client.request("GET", "/me", token=expired).status == 401
    tampered = tokens["access_token"][:-3] + "AAA"
    assert client.request("GET", "/me", token=tampered).status == 401
    return {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "verification token": token,
        "resent verification token": resent,
        "access token": tokens["access_token"],
        "access token signature": tokens["access_token"].rsplit(".", 1)[1],
        "refresh token": tokens["refresh_token"],
        "expired token signature": expired.rsplit(".", 1)[1],
        "tampered token": tampered,
        "signing key": key.decode(),
    }


def assert_nothing_leaked(secrets: dict[str, str], text: str) -> None:
    assert len(text) > 200  # the journey did log (metrics, refusals)
    leaked = {}
    for name, value in secrets.items():
        if value in text:
            at = text.index(value)
            leaked[name] = text[max(0, at - 160) : at].splitlines()[-1]
    assert leaked == {}, f"secrets found in the captured output (with what precedes them): {leaked}"


def test_no_secret_reaches_any_log_or_output(aws, capsys, caplog):
    with capture_everything(capsys, caplog) as captured:
        secrets = full_journey(GatewayClient(aws))
    assert_nothing_leaked(secrets, captured.text)


def test_no_secret_reaches_the_logs_with_library_debug_logging_on(aws, capsys, caplog):
    """POWERTOOLS_DEBUG=true (Powertools' troubleshooting switch) turns on its package
    logger at DEBUG; the secrets must stay out of that too."""
    with capture_everything(capsys, caplog, include_library_debug=True) as captured:
        secrets = full_journey(GatewayClient(aws))
    assert_nothing_leaked(secrets, captured.text)


class ThroughTheEdge(GatewayClient):
    """Every request as the console's CloudFront forwards it: with the edge's secret."""

    def request(self, *args: Any, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        edge = {"X-Kuploy-Edge": EDGE_SECRET, "X-Kuploy-Viewer-Address": "198.51.100.44"}
        return super().request(*args, headers=edge | (headers or {}), **kwargs)


EDGE_SECRET = "Edge0Secret1Never2Logged3Anywhere4At5All6Ever7X"


def test_the_edge_secret_reaches_no_log_either(aws, capsys, caplog, monkeypatch):
    """Deployed behind CloudFront, every request carries EDGE_ORIGIN_SECRET in a header;
    the authorizer and the handlers take an address from it and log neither."""
    from kuploy_access.config import settings

    monkeypatch.setenv("EDGE_ORIGIN_SECRET", EDGE_SECRET)
    settings.cache_clear()
    try:
        with capture_everything(capsys, caplog, include_library_debug=True) as captured:
            secrets = full_journey(ThroughTheEdge(aws))
    finally:
        monkeypatch.delenv("EDGE_ORIGIN_SECRET")
        settings.cache_clear()
    assert_nothing_leaked({"edge secret": EDGE_SECRET, **secrets}, captured.text)


def test_a_crash_does_not_leak_the_body_either(aws, capsys, caplog):
    """An unexpected error is logged with its traceback; the request's secrets stay out."""
    client = GatewayClient(aws)
    body = ('{"email": "crash@example.com", "password": "' + PASSWORD + '", "name": ' + "1" * 5000 + "}").encode()
    with capture_everything(capsys, caplog) as captured:
        answer = client.request("POST", "/auth/signup", raw=body)
    assert answer.status < 600
    assert PASSWORD not in captured.text


def test_the_capture_sees_what_the_service_logs(aws, capsys, caplog):
    """Control for the tests above: the service's logger, extras and prints all reach the capture."""
    client = GatewayClient(aws)
    with capture_everything(capsys, caplog) as captured:
        client.request("POST", "/auth/signup", {"email": "canary@example.com", "password": PASSWORD})
        logging.getLogger(SERVICE_LOGGER).debug("canary %s", "c4n4ry-log")
        logging.getLogger(SERVICE_LOGGER).info("plain", extra={"field": "c4n4ry-extra"})
        logging.getLogger("kuploy_access.services.signup").warning("c4n4ry-module")
        print("c4n4ry-print")
    for canary in ("c4n4ry-log", "c4n4ry-extra", "c4n4ry-module", "c4n4ry-print", "SignUps"):
        assert canary in captured.text, canary
    # The Powertools JSON line itself (its handler's stream), not only caplog's copy.
    assert '"message":"plain"' in captured.text.replace(" ", "")


def browser_journey(client: GatewayClient) -> dict[str, str]:
    """A console's session: sign-in with the refresh token as a cookie, a refresh that
    spends it with the CSRF echo, a refused one, sign-out (docs/api.md, "Browser sessions")."""
    email = "cookie.keeper@example.com"
    client.sign_up_and_verify(email, PASSWORD)
    cookie_mode = {"X-Token-Delivery": "cookie"}

    def cookies_of(path: str, body: dict[str, str], headers: dict[str, str]) -> dict[str, str]:
        sent = {"Content-Type": "application/json"} | headers
        answer = client.gateway.handle("POST", path, "", list(sent.items()), json.dumps(body).encode(), "203.0.113.9")
        assert answer.status == 200, answer.body
        pairs = [value.split(";")[0] for name, value in answer.headers if name.lower() == "set-cookie"]
        return dict(pair.split("=", 1) for pair in pairs)

    first = cookies_of("/auth/login", {"email": email, "password": PASSWORD}, cookie_mode)
    jar = "; ".join(f"{name}={value}" for name, value in first.items())
    second = cookies_of("/auth/refresh", {}, {"Cookie": jar, "X-CSRF-Token": first["__Host-kuploy_csrf"]})
    reused = {"Cookie": jar, "X-CSRF-Token": first["__Host-kuploy_csrf"]}
    assert client.request("POST", "/auth/refresh", {}, headers=reused).status == 401
    assert client.request("POST", "/auth/logout", {}, headers={"Cookie": jar, "X-CSRF-Token": "forged"}).status == 403
    return {
        "password": PASSWORD,
        "refresh cookie": first["__Secure-kuploy_refresh"],
        "csrf cookie": first["__Host-kuploy_csrf"],
        "rotated refresh cookie": second["__Secure-kuploy_refresh"],
        "rotated csrf cookie": second["__Host-kuploy_csrf"],
    }


@pytest.mark.parametrize("include_library_debug", [False, True])
def test_the_browser_sessions_cookies_reach_no_log(aws, capsys, caplog, include_library_debug):
    with capture_everything(capsys, caplog, include_library_debug) as captured:
        secrets = browser_journey(GatewayClient(aws))
    assert_nothing_leaked(secrets, captured.text)

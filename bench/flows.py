"""Sign-up, verify, login, GET /me, refresh, logout and a failed login in-process on
moto: DynamoDB requests and time.

Requests go through the local gateway (devserver.gateway.LocalGateway), so each one
is the real payload 2.0 event, the authorizer in front of protected routes, and the
real handler, with the table built from template.yaml.

DynamoDB requests are counted by botocore itself: a `before-call.dynamodb` handler
joins botocore's built-in handlers (the way moto hooks in), so every botocore
session created afterwards, including the per-thread sessions of PynamoDB's
connections and the one its TransactWrite uses, reports every DynamoDB API call.
"""

from __future__ import annotations

import io
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from bench import capacity
from bench.project import prepare_in_process_imports, progress

PASSWORD = "correct horse battery staple 42"
WRONG_PASSWORD = "correct horse battery staple 43"
# One bare argon2id verify with the parameters login uses, timed in every run right after
# the login itself: login's reference, measured beside it.
ARGON2_REFERENCE = "argon2id verify (reference)"
OPERATIONS = (
    "sign-up",
    "verify email",
    "login",
    "GET /me",
    "authorizer alone",
    "refresh",
    "logout",
    "failed login",
    "login after a failure",
    "failed login, unknown address",
    "forgot password, known address",
    "forgot password, unknown address",
    "2FA verify (TOTP code)",
    ARGON2_REFERENCE,
)
# Operations whose time must not tell a known address from an unknown one (README,
# "Timing"): (known, unknown).
TIMING_PAIRS = (
    ("failed login", "failed login, unknown address"),
    ("forgot password, known address", "forgot password, unknown address"),
)


@dataclass
class DynamoDBCalls:
    """Every DynamoDB API call botocore makes, by operation name, in order."""

    operations: list[str] = field(default_factory=list)

    def __call__(self, event_name: str = "", **_: Any) -> None:
        # before-call.dynamodb.<Operation>. Returning anything but None would
        # short-circuit the call with that value as the response.
        self.operations.append(event_name.rsplit(".", 1)[-1])


@dataclass
class DynamoDBTimes:
    """Time spent inside each DynamoDB call (moto, in-process) and the items a Query
    or Scan read (its ScannedCount), so that our own work can be told from moto's."""

    started: float = 0.0
    seconds: list[float] = field(default_factory=list)
    scanned: list[int] = field(default_factory=list)

    def before(self, **_: Any) -> None:
        self.started = time.perf_counter()

    def after(self, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        self.seconds.append(time.perf_counter() - self.started)
        if parsed and "ScannedCount" in parsed:
            self.scanned.append(int(parsed["ScannedCount"]))


_calls = DynamoDBCalls()
_times = DynamoDBTimes()
_installed = False


def dynamodb_times() -> DynamoDBTimes:
    return _times


def install_counter() -> DynamoDBCalls:
    """Hook every botocore session created from now on. Call before any session exists."""
    global _installed
    if not _installed:
        import botocore.handlers

        botocore.handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", _calls))
        # From before-call to after-call: serialising, moto's work, parsing.
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", _times.before))
        # The capacity meter reads moto's items before and after each call: inside the
        # timed window, so that it counts as DynamoDB's time, never as our own.
        capacity.install()
        botocore.handlers.BUILTIN_HANDLERS.append(("after-call.dynamodb", _times.after))
        _installed = True
    return _calls


@dataclass
class Sample:
    seconds: float
    operations: tuple[str, ...]
    units: capacity.Units = field(default_factory=capacity.Units)
    # Time spent inside the DynamoDB calls (moto in-process, and the capacity meter).
    dynamodb_seconds: float = 0.0


@dataclass
class Mark:
    """Where the counters stood when an operation started."""

    calls: int
    units: int
    times: int

    @classmethod
    def now(cls) -> Mark:
        return cls(len(_calls.operations), len(capacity.install().units), len(_times.seconds))

    def sample(self, seconds: float) -> Sample:
        return Sample(
            seconds,
            tuple(_calls.operations[self.calls :]),
            capacity.install().since(self.units),
            sum(_times.seconds[self.times :]),
        )


@dataclass
class FlowResult:
    operation: str
    samples: list[Sample]

    @property
    def median_ms(self) -> float:
        return statistics.median(s.seconds for s in self.samples) * 1000

    @property
    def min_ms(self) -> float:
        return min(s.seconds for s in self.samples) * 1000

    @property
    def own_median_ms(self) -> float:
        """Our own work: the time outside the DynamoDB calls (moto's share left out)."""
        return statistics.median(s.seconds - s.dynamodb_seconds for s in self.samples) * 1000

    @property
    def units(self) -> capacity.Units:
        """The most any sample consumed, reads and writes each (item sizes vary a little)."""
        return capacity.Units(max(s.units.read for s in self.samples), max(s.units.write for s in self.samples))

    @property
    def request_counts(self) -> list[int]:
        return sorted({len(s.operations) for s in self.samples})

    @property
    def max_requests(self) -> int:
        return max(len(s.operations) for s in self.samples)

    @property
    def breakdown(self) -> str:
        """The operations of the most common shape, e.g. 'GetItem×2, TransactWriteItems'."""
        shapes = Counter(s.operations for s in self.samples)
        operations = shapes.most_common(1)[0][0]
        counts = Counter(operations)
        return ", ".join(f"{name}×{n}" if n > 1 else name for name, n in counts.items()) or "none"


class _Sink(io.TextIOBase):
    """Handlers log and emit metrics to stdout, as on Lambda; the report stays readable."""

    def write(self, text: str) -> int:
        return len(text)


@dataclass
class _Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def run(runs: int = 20) -> list[FlowResult]:
    calls = install_counter()
    prepare_in_process_imports()

    from devserver.embedded_aws import LOCAL_ENVIRONMENT, embedded_aws
    from devserver.events import LambdaContext, authorizer_event, build_event
    from devserver.gateway import LocalGateway, load_handler
    from devserver.template import api_spec

    api = api_spec()
    environment = dict(LOCAL_ENVIRONMENT)
    samples: dict[str, list[Sample]] = {name: [] for name in OPERATIONS}

    with redirect_stdout(_Sink()), embedded_aws(api.table, environment) as outbox:
        gateway = LocalGateway(api)
        gateway.load_all()  # Lambda's init phase: imports happen before the first request
        if api.authorizer is None:
            raise SystemExit("template.yaml declares no authorizer")
        authorizer = load_handler(api.authorizer.function)
        me_route = next(r for r in api.routes if r.route_key == "GET /me")

        def timed(operation: str, call: Callable[[], _Answer], expected: int, record: bool) -> _Answer:
            mark = Mark.now()
            started = time.perf_counter()
            answer = call()
            elapsed = time.perf_counter() - started
            if answer.status != expected:
                raise RuntimeError(f"{operation}: HTTP {answer.status}, expected {expected}: {answer.body[:300]!r}")
            if record:
                samples[operation].append(mark.sample(elapsed))
            return answer

        def request(
            method: str, path: str, body: Any = None, token: str | None = None, ip: str = "203.0.113.9"
        ) -> Callable[[], _Answer]:
            headers = [("Content-Type", "application/json"), ("User-Agent", "kuploy-bench")]
            if token is not None:
                headers.append(("Authorization", f"Bearer {token}"))
            payload = json.dumps(body).encode() if body is not None else b""

            def call() -> _Answer:
                answer = gateway.handle(method, path, "", headers, payload, ip)
                return _Answer(answer.status, answer.body)

            return call

        def authorize(token: str) -> Callable[[], _Answer]:
            headers = [("authorization", f"Bearer {token}"), ("user-agent", "kuploy-bench")]
            event = authorizer_event(build_event(me_route, "GET", "/me", "", headers, b"", "203.0.113.9", {}), [])

            def call() -> _Answer:
                answer = authorizer(event, LambdaContext(api.authorizer.function.logical_id))  # type: ignore[union-attr]
                principal = answer["context"]["principal_type"]
                return _Answer(200 if principal == "user" else 401, json.dumps(answer).encode())

            return call

        from kuploy_access.adapters.password_hasher import Argon2PasswordHasher

        hasher = Argon2PasswordHasher()
        reference_hash = hasher.hash(PASSWORD)

        def bare_verify() -> _Answer:
            return _Answer(200 if hasher.verify(reference_hash, PASSWORD) else 401, b"")

        # Run 0 warms every container (schemas, the signing key, the password list) and is not recorded.
        for index in range(runs + 1):
            record = index > 0
            email = f"bench-{index}@example.com"
            body = {"email": email, "password": PASSWORD, "name": f"Bench {index}"}
            timed("sign-up", request("POST", "/auth/signup", body), 202, record)
            token = _verification_token(outbox.all(), email)
            timed("verify email", request("POST", "/auth/verify-email", {"token": token}), 200, record)
            login = timed("login", request("POST", "/auth/login", {"email": email, "password": PASSWORD}), 200, record)
            access_token = str(login.json()["access_token"])
            timed(ARGON2_REFERENCE, bare_verify, 200, record)
            timed("GET /me", request("GET", "/me", token=access_token), 200, record)
            timed("authorizer alone", authorize(access_token), 200, record)
            refresh_token = str(login.json()["refresh_token"])
            refreshed = timed(
                "refresh", request("POST", "/auth/refresh", {"refresh_token": refresh_token}), 200, record
            )
            refresh_token = str(refreshed.json()["refresh_token"])
            timed("logout", request("POST", "/auth/logout", {"refresh_token": refresh_token}), 204, record)
            # A wrong password reads and bumps the throttle counters (per account and per
            # client IP); the next good login also clears the account's count. Each run
            # has its own client IP so the per-IP limit never turns these into 429s.
            # Known and unknown addresses take turns going first: moto copies the whole
            # table for each transaction and the table grows as the run goes, so a fixed
            # order would hand the same twin the larger table every time (bench/README in
            # the report: the 5.2 % of issue 15 was that order, not the address).
            ip = f"198.18.{index // 250}.{index % 250 + 1}"
            wrong = {"email": email, "password": WRONG_PASSWORD}
            nobody = {"email": f"nobody-{index}@example.com", "password": WRONG_PASSWORD}
            failed_pair = [
                ("failed login", request("POST", "/auth/login", wrong, ip=ip)),
                ("failed login, unknown address", request("POST", "/auth/login", nobody, ip=ip)),
            ]
            forgot_pair = [
                ("forgot password, known address", request("POST", "/auth/password/forgot", {"email": email})),
                (
                    "forgot password, unknown address",
                    request("POST", "/auth/password/forgot", {"email": f"nobody-{index}@example.com"}),
                ),
            ]
            if index % 2:
                failed_pair.reverse()
                forgot_pair.reverse()
            for operation, call in failed_pair:
                timed(operation, call, 401, record)
            right = {"email": email, "password": PASSWORD}
            timed("login after a failure", request("POST", "/auth/login", right, ip=ip), 200, record)
            for operation, call in forgot_pair:
                timed(operation, call, 202, record)
            _two_factor_sign_in(request, timed, outbox, index, record)
        if not calls.operations:
            raise RuntimeError("the botocore hook saw no DynamoDB call at all; the counts would be wrong")
    progress(f"flows: {runs} recorded runs of each operation")
    return [FlowResult(name, samples[name]) for name in OPERATIONS]


def _two_factor_sign_in(
    request: Callable[..., Callable[[], _Answer]],
    timed: Callable[[str, Callable[[], _Answer], int, bool], _Answer],
    outbox: Any,
    index: int,
    record: bool,
) -> None:
    """An account with TOTP on: enabled with the current step's code, signed in with the
    next step's (within the drift window, and not used yet). A step boundary passing
    between the two leaves both within the window."""
    import pyotp

    from kuploy_access.domain.two_factor import DIGITS, STEP_SECONDS

    email = f"bench-2fa-{index}@example.com"
    request("POST", "/auth/signup", {"email": email, "password": PASSWORD})()
    request("POST", "/auth/verify-email", {"token": _verification_token(outbox.all(), email)})()
    credentials = {"email": email, "password": PASSWORD}
    token = str(request("POST", "/auth/login", credentials)().json()["access_token"])
    secret = str(request("POST", "/me/2fa/setup", None, token=token)().json()["secret"])
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = time.time()
    enabled = request("POST", "/me/2fa/enable", {"code": totp.at(now)}, token=token)()
    if enabled.status != 200:
        raise RuntimeError(f"2FA enable: HTTP {enabled.status}: {enabled.body[:300]!r}")
    challenge = request("POST", "/auth/login", credentials)().json()
    second = {"mfa_token": challenge["mfa_token"], "code": totp.at(now + STEP_SECONDS)}
    timed("2FA verify (TOTP code)", request("POST", "/auth/login/2fa", second), 200, record)


def _verification_token(emails: list[dict[str, str]], to: str) -> str:
    for email in reversed(emails):
        if email["to"] == to:
            found = re.search(r"/verify-email\?token=([A-Za-z0-9_\-]+)", email["text"])
            if found:
                return found.group(1)
    raise RuntimeError(f"no verification email to {to}")

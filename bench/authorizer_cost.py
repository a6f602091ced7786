"""The authorizer on the platform's hot path, in-process on moto: time per call for a
user JWT and for an API key (the container's key cache cold, and warm), beside a bare
`jwt.decode` of the same JWT measured in the same run, and the DynamoDB requests each
authorization makes.

The cold-cache key path includes one GetItem, answered in-process by moto; its time is
also shown without the time spent inside that call.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

from bench import capacity
from bench.flows import PASSWORD, _Answer, _Sink, _verification_token, dynamodb_times, install_counter
from bench.project import forget_containers, prepare_in_process_imports, progress

CALLS = 3000


@dataclass
class Measured:
    label: str
    per_call_us: list[float]
    requests: list[int]
    inside_dynamodb_us: list[float]
    units: list[capacity.Units]

    @property
    def median_us(self) -> float:
        return statistics.median(self.per_call_us)

    @property
    def median_without_dynamodb_us(self) -> float:
        return statistics.median(t - d for t, d in zip(self.per_call_us, self.inside_dynamodb_us, strict=True))

    @property
    def request_counts(self) -> list[int]:
        return sorted(set(self.requests))

    @property
    def typical_requests(self) -> int:
        """The most common count: a key's usage mark (one UpdateItem per key per minute at
        most, domain/api_keys.py) lands in whichever call crosses the minute."""
        return Counter(self.requests).most_common(1)[0][0]

    @property
    def typical_units(self) -> capacity.Units:
        typical = [u for u, n in zip(self.units, self.requests, strict=True) if n == self.typical_requests]
        return capacity.Units(max(u.read for u in typical), max(u.write for u in typical))


@dataclass
class AuthorizerResults:
    reference: Measured
    jwt: Measured
    key_cold: Measured
    key_warm: Measured
    typo_key: Measured

    def ratio(self, measured: Measured) -> float:
        return measured.median_us / self.reference.median_us


def run(calls: int = CALLS, warm_up: int = 50) -> AuthorizerResults:
    counted = install_counter()
    prepare_in_process_imports()
    forget_containers()

    from devserver.embedded_aws import LOCAL_ENVIRONMENT, embedded_aws
    from devserver.events import LambdaContext, authorizer_event, build_event
    from devserver.gateway import LocalGateway, load_handler
    from devserver.template import api_spec

    api = api_spec()
    with redirect_stdout(_Sink()), embedded_aws(api.table, dict(LOCAL_ENVIRONMENT)) as outbox:
        gateway = LocalGateway(api)
        gateway.load_all()

        def call(method: str, path: str, body: Any = None, token: str | None = None) -> _Answer:
            headers = [("Content-Type", "application/json")] + ([("Authorization", f"Bearer {token}")] if token else [])
            payload = json.dumps(body).encode() if body else b""
            answer = gateway.handle(method, path, "", headers, payload, "203.0.113.9")
            return _Answer(answer.status, answer.body)

        email = "authorizer-bench@example.com"
        call("POST", "/auth/signup", {"email": email, "password": PASSWORD})
        call("POST", "/auth/verify-email", {"token": _verification_token(outbox.all(), email)})
        jwt_token = str(call("POST", "/auth/login", {"email": email, "password": PASSWORD}).json()["access_token"])
        org_id = call("POST", "/orgs", {"name": "Bench"}, jwt_token).json()["id"]
        created = call("POST", f"/orgs/{org_id}/api-keys", {"description": "bench", "preset": "deploy"}, jwt_token)
        api_key = str(created.json()["key"])
        typo = api_key[:-1] + ("A" if api_key[-1] != "A" else "B")

        if api.authorizer is None:
            raise SystemExit("template.yaml declares no authorizer")
        handler = load_handler(api.authorizer.function)
        module = sys.modules[handler.__module__]
        route = next(r for r in api.routes if r.route_key == "GET /orgs/{org_id}")
        context = LambdaContext(api.authorizer.function.logical_id)

        def event(token: str) -> dict[str, Any]:
            headers = [("authorization", f"Bearer {token}"), ("user-agent", "kuploy-bench")]
            built = build_event(route, "GET", f"/orgs/{org_id}", "", headers, b"", "203.0.113.9", {"org_id": org_id})
            return authorizer_event(built, [])

        def authorize(token: str, expected: str) -> Callable[[], None]:
            prepared = event(token)

            def once() -> None:
                answer = handler(prepared, context)
                if answer["context"]["principal_type"] != expected:
                    raise RuntimeError(f"authorizer answered {answer['context']} for a {expected} token")

            return once

        def cold_cache(then: Callable[[], None]) -> Callable[[], None]:
            def once() -> None:
                module.authorizer.forget_keys()
                then()

            return once

        import jwt as pyjwt

        from kuploy_access.domain.access_tokens import ISSUER, JwtKind
        from kuploy_access.wiring import jwt_codec

        signing_key = jwt_codec()._key

        def bare_decode() -> None:
            pyjwt.decode(jwt_token, signing_key, algorithms=["HS256"], audience=JwtKind.ACCESS.audience, issuer=ISSUER)

        jobs = {
            "bare jwt.decode (reference)": bare_decode,
            "authorizer, user JWT": authorize(jwt_token, "user"),
            "authorizer, API key, cold cache": cold_cache(authorize(api_key, "api_key")),
            "authorizer, API key, warm cache": authorize(api_key, "api_key"),
            "authorizer, mistyped API key": authorize(typo, "anonymous"),
        }
        for job in jobs.values():  # warm-up: imports, the signing key, the usage mark
            for _ in range(warm_up):
                job()
        results = {label: _measure(label, job, calls, counted.operations) for label, job in jobs.items()}
    progress(f"authorizer: {calls} calls of each")
    values = list(results.values())
    return AuthorizerResults(*values)


def _measure(label: str, job: Callable[[], None], calls: int, operations: list[str]) -> Measured:
    times = dynamodb_times()
    meter = capacity.install()
    per_call: list[float] = []
    requests: list[int] = []
    inside: list[float] = []
    units: list[capacity.Units] = []
    # Interleaving would be fairer on a noisy machine; each call is microseconds, so
    # batches of consecutive calls are measured and their medians compared instead.
    for _ in range(calls):
        before_ops, before_times, before_units = len(operations), len(times.seconds), len(meter.units)
        started = time.perf_counter()
        job()
        elapsed = time.perf_counter() - started
        per_call.append(elapsed * 1e6)
        requests.append(len(operations) - before_ops)
        inside.append(sum(times.seconds[before_times:]) * 1e6)
        units.append(meter.since(before_units))
    return Measured(label, per_call, requests, inside, units)


def describe(results: AuthorizerResults) -> list[list[str]]:
    rows = []
    for measured in (results.reference, results.jwt, results.key_warm, results.key_cold, results.typo_key):
        counts = measured.request_counts
        rows.append(
            [
                measured.label,
                f"{measured.median_us:.1f}",
                f"{results.ratio(measured):.2f}",
                f"{measured.median_without_dynamodb_us:.1f}",
                "/".join(str(c) for c in counts),
            ]
        )
    return rows

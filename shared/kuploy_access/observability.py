"""Logs, metrics and traces, configured once for every function: the resolver's entry
(`http.api.lambda_entry`) and the authorizer's both wrap their handler in `instrumented`.

- `logger`: Powertools' JSON logger, service `kuploy-access`, level from
  POWERTOOLS_LOG_LEVEL (template parameter LogLevel). The package's own module loggers
  (`logging.getLogger(__name__)` under `kuploy_access`) write through its handler, so
  their lines are JSON too and carry the same keys: the API Gateway request id as
  `correlation_id`, and once the caller is known `principal_type`, `principal_id` and
  `org_id` (`log_principal`), all cleared when the next request starts.
- `metrics`: CloudWatch metrics as EMF (namespace Kuploy/Access), flushed as each
  request ends; `EmfCounter` is the services' `EventCounter`.
- the X-Ray SDK's Tracer, only when XRAY_SDK_TRACING=true (`traced`).

The authorizer imports this: nothing here may load pydantic, argon2, pyotp or PynamoDB.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.filters import SuppressFilter
from aws_lambda_powertools.metrics import MetricUnit

from kuploy_access.domain.principal import ANONYMOUS, Principal

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "kuploy-access"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Kuploy/Access"
PACKAGE = "kuploy_access"
# What `domain.ids.new_id` makes: a route's `org_id` is logged only when it is shaped like
# one, since the client chose that part of the path.
_ID_SHAPE = re.compile(r"[a-z]{2,8}_[0-9a-z]{26}")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Powertools keeps one metric set per process. Lambda runs one invocation per process,
# but the local server runs many at once on threads: adding and publishing take turns,
# so one request's flush never finds the set another just emptied.
_metric_set_turn = threading.Lock()


def _structure_package_logs() -> None:
    """The modules' own loggers write through the JSON logger's handler (and formatter,
    with its request keys). Root's handlers, Lambda's plain-text one among them, skip
    their records, as Powertools arranges for its own child loggers; pytest's capture
    handler is left alone so that `caplog` still sees them."""
    package = logging.getLogger(PACKAGE)
    if logger.registered_handler not in package.handlers:
        package.addHandler(logger.registered_handler)
    package.setLevel(logger.log_level)
    for handler in logging.root.handlers:
        if type(handler).__module__ != "_pytest.logging":
            handler.addFilter(SuppressFilter(PACKAGE))


_structure_package_logs()
# Libraries that echo what they send at DEBUG (items, bodies, URLs): quiet even when an
# operator turns Lambda's application log level to DEBUG.
for _library in ("botocore", "pynamodb", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)
# Powertools' resolver logs each route call with its parsed body at DEBUG, which
# would put passwords in CloudWatch whenever someone turns POWERTOOLS_DEBUG on.
logging.getLogger("aws_lambda_powertools.event_handler").setLevel(logging.INFO)


def count(metric: str, **dimensions: str) -> None:
    """One more `metric` (a CloudWatch count). Without dimensions it joins the request's
    EMF document, published as the request ends; with them it is published at once in a
    document of its own (EMF gives every metric of a document the same dimensions)."""
    if not dimensions:
        add_to_count(metric, 1)
        return
    with single_metric(
        name=metric, unit=MetricUnit.Count, value=1, namespace=NAMESPACE, default_dimensions={"service": SERVICE}
    ) as one:
        for name, value in dimensions.items():
            one.add_dimension(name=name, value=value)


def add_to_count(metric: str, value: float) -> None:
    """`value` more of the count `metric` in the request's EMF document."""
    with _metric_set_turn:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)


class EmfCounter:
    """`EventCounter` (services/ports/metrics.py) as CloudWatch metrics."""

    def count(self, metric: str, **dimensions: str) -> None:
        count(metric, **dimensions)


def log_principal(principal: Principal, org_id: str = "") -> None:
    """Who is calling, on every later line of this request: the principal's type and id
    (a user's or an API key's) and the organization (an API key's, else the route's
    `org_id`). Ids only: never a token, a key, or an email address (personal data)."""
    if principal.type == ANONYMOUS:
        return
    keys = {"principal_type": principal.type, "principal_id": principal.id}
    organization = principal.org_id or (org_id if _ID_SHAPE.fullmatch(org_id) else "")
    if organization:
        keys["org_id"] = organization
    logger.append_keys(**keys)


def traced(handler: Handler) -> Handler:
    """Powertools Tracer (X-Ray SDK subsegments for every AWS call), when switched on.

    The X-Ray SDK creates two botocore clients while it is imported, which costs more
    than importing boto3 itself (`make bench`). Lambda's active tracing (template:
    `Tracing: Active`) traces every invocation without it; set XRAY_SDK_TRACING=true
    (template parameter XRaySdkTracing) to add per-call subsegments at that price.
    """
    if os.environ.get("XRAY_SDK_TRACING", "false").lower() != "true":
        return handler
    from aws_lambda_powertools import Tracer

    wrapped: Handler = Tracer(service=SERVICE).capture_lambda_handler(handler, capture_response=False)
    return wrapped


def _publishing_metrics(handler: Handler) -> Handler:
    """`metrics.log_metrics` without its warning for a request that counted nothing,
    which is most of them (a page view, a user's JWT at the authorizer), and without
    serialising an empty document for them."""

    @functools.wraps(handler)
    def publish(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return handler(event, context)
        finally:
            with _metric_set_turn:
                if metrics.metric_set:
                    metrics.flush_metrics()

    return publish


def instrumented(handler: Handler) -> Handler:
    """A function's entry: each invocation's log keys (cold start, function, and the API
    Gateway request id as `correlation_id`; the previous request's keys cleared), the
    request's metrics published as it ends, and the trace when switched on."""
    with_logs: Handler = logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP,
        clear_state=True,
        # Never the whole event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: its body
        # holds passwords and its headers tokens and keys.
        log_event=False,
    )(_publishing_metrics(traced(handler)))
    return with_logs

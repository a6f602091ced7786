"""Concurrent requests on threads of one process, each seeing its own event in
Powertools' HTTP API resolver.

Lambda runs one invocation per execution environment at a time, and Powertools'
resolver relies on that: `resolve()` keeps the current event and context on the
`BaseRouter` class (`BaseRouter.current_event = ...`), one slot shared by every
resolver in the process. The local server runs concurrent requests on threads of one
process, so they would read each other's caller, path and body. Loading a separate
copy of the handler module per concurrent request (devserver.containers) keeps each
copy's own state apart, but not this one: every copy shares the class. Separate
processes would, but the integration tests drive the handlers in-process (moto, the
services' clock and the wiring patched in the test's own process).

Only public names of Powertools are used. `current_event` and `lambda_context` are
documented, assignable attributes of the resolver (`app.current_event`); like
Powertools' own `HttpResolverLocal` (event_handler/http_resolver.py, written for
ASGI servers for the same reason), this turns them into properties backed by a
ContextVar, here on `APIGatewayHttpResolver`, the resolver for payload 2.0, whose event
class is `APIGatewayProxyEventV2`. `resolve` (and `resolve_async`) are wrapped only to
record the event they are given: the handler's, after its own changes to it. Outside a
`resolve` call the attributes behave as before.

tests/integration/test_devserver_isolation.py sends concurrent requests through the
local gateway; it fails if a change in Powertools makes this stop working.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine, Mapping
from contextvars import ContextVar
from typing import Any

_install_lock = threading.Lock()
_installed = False


class _Invocation:
    """One `resolve` call's event and context."""

    __slots__ = ("context", "event")

    def __init__(self, event: Any, context: Any) -> None:
        self.event = event
        self.context = context


_current: ContextVar[_Invocation | None] = ContextVar("kuploy_local_invocation", default=None)


def isolate_concurrent_invocations() -> None:
    """Give each thread's `resolve` call its own event and context (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _install()
        _installed = True


def _install() -> None:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
    from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

    def invocation_of(event: Mapping[str, Any], context: Any) -> _Invocation:
        # The very dictionary `resolve` reads (Powertools unwraps a data class it is given).
        raw = event.raw_event if isinstance(event, BaseProxyEvent) else event
        return _Invocation(APIGatewayProxyEventV2(raw if isinstance(raw, dict) else dict(raw)), context)

    resolve: Callable[..., dict[str, Any]] = APIGatewayHttpResolver.resolve

    def resolve_in_own_invocation(self: Any, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        token = _current.set(invocation_of(event, context))
        try:
            return resolve(self, event, context)
        finally:
            _current.reset(token)

    replacements: dict[str, Any] = {
        "resolve": resolve_in_own_invocation,
        "current_event": _per_invocation("current_event", "event", BaseRouter),
        "lambda_context": _per_invocation("lambda_context", "context", BaseRouter),
    }
    resolve_async: Callable[..., Coroutine[Any, Any, dict[str, Any]]] | None = getattr(
        APIGatewayHttpResolver, "resolve_async", None
    )
    if resolve_async is not None:
        original_async = resolve_async

        async def resolve_async_in_own_invocation(self: Any, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
            token = _current.set(invocation_of(event, context))
            try:
                return await original_async(self, event, context)
            finally:
                _current.reset(token)

        replacements["resolve_async"] = resolve_async_in_own_invocation
    for name, value in replacements.items():
        setattr(APIGatewayHttpResolver, name, value)


def _per_invocation(attribute: str, slot: str, base_router: type) -> property:
    """The running `resolve` call's value; outside one, what Powertools stored (the
    instance's own value if one was assigned, else the one on BaseRouter)."""

    def read(resolver: Any) -> Any:
        invocation = _current.get()
        if invocation is not None:
            return getattr(invocation, slot)
        own = vars(resolver)
        if attribute in own:
            return own[attribute]
        return getattr(base_router, attribute)

    def write(resolver: Any, value: Any) -> None:
        invocation = _current.get()
        if invocation is not None:
            setattr(invocation, slot, value)
        else:
            vars(resolver)[attribute] = value

    return property(read, write)

"""Lambda SnapStart: what an environment restored from a snapshot must not keep.

With SnapStart on (template.yaml's SnapStart parameter, README "Cold starts"), Lambda runs
a function's init once, when a version is published, and starts every new environment of
that version from a snapshot of it, for as long as the version lives. Whatever the process
held at the snapshot is then held, identically, by every environment restored from it.
The hooks below run before the snapshot (so that it holds no secret at all) and again after
each restore (so that nothing the snapshot may still hold is trusted), and drop:

- every secret cached per container: the JWT signing key and the TOTP key material
  (adapters.signing_key), the providers' OAuth client secrets, and what the wiring derived
  from them (its JwtCodec, its AesGcmSecretBox and their keys);
- every AWS client and the connections it pooled: the wiring's adapters and services,
  PynamoDB's connection on each item class, the transactions' connection, and a function's
  own (the authorizer's key-table client). Sockets opened before a snapshot are not open
  after it, and each client is rebuilt on first use with the credentials of the restored
  environment;
- the authorizer's API-key records (through the hooks its module adds): that cache is
  bounded by time.monotonic(), and how that clock runs across a snapshot is the platform's
  business, so a record read before it is never trusted after it; a revoked key must not
  pass for longer than KEY_CACHE_SECONDS after the revocation, snapshot or not;
- `random`'s state, reseeded from os.urandom: no code of ours draws from it (botocore's
  retry jitter does), but a generator seeded before a snapshot repeats itself in every
  environment restored from it.

Left alone, on purpose: `secrets` (every token, key, code, nonce and id we make), which
reads os.urandom on each call and keeps no state in the process, so a restored environment
draws fresh values (AWS's "Handling uniqueness with Lambda SnapStart" names
random.SystemRandom and /dev/urandom as snapshot-safe); nothing we run uses uuid1. The
settings (the version's environment variables, the same in every environment) and the
imported modules, which are what the snapshot is for.

Everything dropped is built again on first use, as in a new container. The registry is the
Lambda runtime's `snapshot_restore_py`, which exists only there: elsewhere (tests, the local
server) `register` registers nothing.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator
from typing import Any, Protocol

Hook = Callable[[], None]


class HookRegistry(Protocol):
    """`snapshot_restore_py`'s registration functions (or a test's stand-in)."""

    def register_before_snapshot(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...

    def register_after_restore(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...


def lambda_registry() -> HookRegistry | None:
    """The Lambda runtime's hook registry, or None where the runtime is not (its library ships
    with Lambda's Python runtimes only)."""
    try:
        import snapshot_restore_py
    except ImportError:
        return None
    registry: HookRegistry = snapshot_restore_py
    return registry


def register(*own: Hook, registry: HookRegistry | None = None) -> bool:
    """Registers `forget_container_state` and a function's `own` hooks (what its module
    holds) before the snapshot and after each restore. False where there is no registry."""
    registry = registry if registry is not None else lambda_registry()
    if registry is None:
        return False
    for hook in (forget_container_state, *own):
        registry.register_before_snapshot(hook)
        registry.register_after_restore(hook)
    return True


def forget_container_state() -> None:
    """What a restored environment must fetch, build or draw anew, each on first use."""
    from kuploy_access import wiring
    from kuploy_access.adapters.signing_key import forget_signing_keys

    for factory in vars(wiring).values():
        if callable(getattr(factory, "cache_clear", None)) and getattr(factory, "__module__", "") == wiring.__name__:
            factory.cache_clear()
    forget_signing_keys()
    # Only what this function has loaded: importing these would load PynamoDB (or, for the
    # OAuth package, Authlib) into a function that has no use for them.
    client_secret = sys.modules.get("kuploy_access.adapters.oauth.client_secret")
    if client_secret is not None:
        client_secret.forget_client_secrets()
    transactions = sys.modules.get("kuploy_access.adapters.dynamodb.transactions")
    if transactions is not None:
        transactions.table_connection.cache_clear()
    models = sys.modules.get("kuploy_access.adapters.dynamodb.models")
    if models is not None:
        for item_class in _with_subclasses(models.TableItem):
            item_class._connection = None
    random.seed()


def _with_subclasses(cls: Any) -> Iterator[Any]:
    yield cls
    for subclass in cls.__subclasses__():
        yield from _with_subclasses(subclass)

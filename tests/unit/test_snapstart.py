"""SnapStart's hooks (kuploy_access.snapstart), run through a stand-in for the Lambda
runtime's `snapshot_restore_py`: after them, nothing cached before a snapshot is used
after it. Each test plays the snapshot and the restore itself: the hooks registered before
the snapshot, a change in the world, the hooks registered after the restore."""

from __future__ import annotations

import importlib
import importlib.util
import random
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kuploy_access import snapstart, wiring
from kuploy_access.adapters import signing_key
from kuploy_access.domain.api_keys import new_key
from kuploy_access.domain.principal import ANONYMOUS, API_KEY
from kuploy_access.services.authorizer import Authorizer
from tests.unit.fakes import FakeKeys
from tests.unit.metric_fakes import CountedEvents

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FakeRegistry:
    """What `snapshot_restore_py` offers, keeping the hooks for the test to run."""

    def __init__(self) -> None:
        self.before: list[Callable[[], None]] = []
        self.after: list[Callable[[], None]] = []

    def register_before_snapshot(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.before.append(lambda: func(*args, **kwargs))
        return func

    def register_after_restore(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.after.append(lambda: func(*args, **kwargs))
        return func

    def snapshot(self) -> None:
        # The runtime runs before-snapshot hooks in the reverse order of registration.
        for hook in reversed(self.before):
            hook()

    def restore(self) -> None:
        for hook in self.after:
            hook()


class FrozenMonotonic:
    """A clock that does not move: the snapshot's time, whenever it is restored."""

    def __call__(self) -> float:
        return 1000.0


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def fresh_container() -> Iterator[None]:
    snapstart.forget_container_state()
    yield
    snapstart.forget_container_state()


def test_nothing_registers_outside_lambda(registry):
    assert "snapshot_restore_py" not in sys.modules
    assert snapstart.lambda_registry() is None
    assert snapstart.register() is False


def test_a_revoked_key_is_not_accepted_from_a_record_read_before_the_snapshot(registry):
    keys = FakeKeys()
    key = new_key()
    keys.add(key)
    authorizer = Authorizer(
        codec=wiring.jwt_codec, keys=lambda: keys, log=_Quiet(), counter=CountedEvents(), monotonic=FrozenMonotonic()
    )
    snapstart.register(authorizer.forget_keys, registry=registry)
    assert authorizer.authorize(key, NOW).type == API_KEY  # read into the container's cache

    registry.snapshot()
    keys.add(key, revoked_at=NOW)  # revoked while the snapshot sat in storage
    registry.restore()

    principal = authorizer.authorize(key, NOW)
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "invalid_token"
    assert len(keys.finds) == 2


def test_without_the_hook_the_cached_record_would_still_pass():
    """What the hook prevents: the clock stood still, so the record looks fresh."""
    keys = FakeKeys()
    key = new_key()
    keys.add(key)
    authorizer = Authorizer(
        codec=wiring.jwt_codec, keys=lambda: keys, log=_Quiet(), counter=CountedEvents(), monotonic=FrozenMonotonic()
    )
    authorizer.authorize(key, NOW)
    keys.add(key, revoked_at=NOW)
    assert authorizer.authorize(key, NOW).type == API_KEY


def test_secrets_clients_and_seeds_are_dropped_after_a_restore(registry, fresh_container):
    from kuploy_access.adapters.dynamodb import models, transactions

    # The module, not the function the package re-exports under the same name.
    client_secret = importlib.import_module("kuploy_access.adapters.oauth.client_secret")

    snapstart.register(registry=registry)
    wiring.clock()
    wiring.secret_box()
    wiring.mailer()
    signing_key._keys["kuploy-access/signing"] = b"read before the snapshot"
    client_secret._secrets["kuploy-access/oauth/github"] = "read before the snapshot"
    connection = transactions.table_connection()
    models.UserItem._connection = connection
    random.seed(42)
    seeded = random.getstate()

    registry.restore()

    assert all(f.cache_info().currsize == 0 for f in _wiring_factories())
    assert signing_key._keys == {}
    assert client_secret._secrets == {}
    assert transactions.table_connection() is not connection
    assert models.UserItem._connection is None
    assert models.TableItem._connection is None
    assert random.getstate() != seeded


def test_the_snapshot_itself_holds_no_secret(registry, fresh_container):
    snapstart.register(registry=registry)
    signing_key._keys["kuploy-access/signing"] = b"fetched during init"
    wiring.secret_box()
    registry.snapshot()
    assert signing_key._keys == {}
    assert wiring.secret_box.cache_info().currsize == 0


def test_what_was_dropped_is_built_again_on_first_use(registry, fresh_container):
    snapstart.register(registry=registry)
    before = wiring.clock()
    registry.snapshot()
    registry.restore()
    assert wiring.clock() is not before
    assert wiring.clock() is wiring.clock()


def _load_function(name: str, monkeypatch: pytest.MonkeyPatch, registry: FakeRegistry) -> ModuleType:
    runtime = ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = registry.register_before_snapshot  # type: ignore[attr-defined]
    runtime.register_after_restore = registry.register_after_restore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    monkeypatch.syspath_prepend(str(ROOT / "functions" / name))
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"{name}_app_snapstart_{uuid.uuid4().hex}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_authorizer_registers_its_key_cache_and_client(monkeypatch, registry, fresh_container):
    app = _load_function("authorizer", monkeypatch, registry)
    assert len(registry.before) == len(registry.after) == 3
    keys = FakeKeys()
    key = new_key()
    keys.add(key)
    monkeypatch.setattr(app.authorizer, "_keys", lambda: keys)
    monkeypatch.setattr(app.authorizer, "monotonic", FrozenMonotonic())
    app.key_lookup()
    assert app.authorizer.authorize(key, NOW).type == API_KEY

    registry.snapshot()
    keys.add(key, revoked_at=NOW)
    registry.restore()

    assert app.key_lookup.cache_info().currsize == 0
    assert app.authorizer.authorize(key, NOW).type == ANONYMOUS


def test_the_login_function_registers_the_container_hooks(monkeypatch, registry):
    _load_function("login", monkeypatch, registry)
    assert len(registry.before) == len(registry.after) == 1


def _wiring_factories() -> list[Any]:
    return [
        value
        for value in vars(wiring).values()
        if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == wiring.__name__
    ]


class _Quiet:
    def info(self, msg: str, *, extra: Any = None) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

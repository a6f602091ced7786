"""Integration tests: the real adapters and handlers on moto, the table from template.yaml."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from devserver.embedded_aws import LOCAL_ENVIRONMENT, Outbox, embedded_aws
from devserver.template import api_spec


@pytest.fixture
def aws() -> Iterator[Outbox]:
    """A fresh moto world per test: table, signing key, SES sender; yields the outbox."""
    from tests.integration.support import forget_containers

    environment = {name: os.environ.get(name, value) for name, value in LOCAL_ENVIRONMENT.items()}
    with embedded_aws(api_spec().table, environment) as outbox:
        yield outbox
    # Per-container caches would outlive this moto world.
    forget_containers()


@pytest.fixture
def service_clock() -> Iterator[Any]:
    """The services' clock, clear of a rate-limit window's edge; tests may move it."""
    from tests.integration.support import service_clock

    with service_clock() as clock:
        yield clock


@pytest.fixture
def cheap_password_hashing(aws, monkeypatch) -> None:
    """Real argon2id at a tiny cost, for tests about sessions, resets and limits rather
    than about hashing (the login and sign-up tests keep the production parameters).
    Takes `aws` so that the services it patches belong to the moto world of the test."""
    from kuploy_access import wiring
    from kuploy_access.adapters.password_hasher import Argon2PasswordHasher

    cheap = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
    monkeypatch.setattr(wiring, "password_hasher", lambda: cheap)
    for name in ("signup_service", "login_service", "password_service"):
        monkeypatch.setattr(getattr(wiring, name)(), "hasher", cheap)

"""Integration tests: the real adapters and handlers on moto, the table from template.yaml."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devserver.embedded_aws import LOCAL_ENVIRONMENT, Outbox, embedded_aws
from devserver.template import api_spec


@pytest.fixture
def aws() -> Iterator[Outbox]:
    """A fresh moto world per test: table, signing key, SES sender; yields the outbox."""
    from kuploy_access import wiring
    from kuploy_access.adapters.signing_key import forget_signing_keys

    environment = {name: os.environ.get(name, value) for name, value in LOCAL_ENVIRONMENT.items()}
    with embedded_aws(api_spec().table, environment) as outbox:
        yield outbox
    # Per-container caches would outlive this moto world.
    for factory in (
        wiring.password_hasher,
        wiring.jwt_codec,
        wiring.signup_service,
        wiring.login_service,
        wiring.account_service,
    ):
        factory.cache_clear()
    forget_signing_keys()

"""A provider's OAuth client secret, from Secrets Manager, fetched once per container.

Plain botocore, as adapters/signing_key.py: the OAuth function has no other use for
boto3's import chain."""

from __future__ import annotations

import threading
from typing import Any

from kuploy_access.config import settings

_lock = threading.Lock()
_secrets: dict[str, str] = {}


def _secrets_client() -> Any:
    from botocore.config import Config
    from botocore.session import get_session

    # Read while a callback waits (the function has 29 s in all): not botocore's 60 s
    # defaults, and one retry.
    quick = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
    return get_session().create_client("secretsmanager", region_name=settings().region, config=quick)


def client_secret(secret_id: str) -> str:
    """Cached for the life of the container: rotating a client secret is a deploy."""
    with _lock:
        if secret_id not in _secrets:
            _secrets[secret_id] = str(_secrets_client().get_secret_value(SecretId=secret_id)["SecretString"])
        return _secrets[secret_id]


def forget_client_secrets() -> None:
    """For tests that start a fresh (moto) account."""
    with _lock:
        _secrets.clear()

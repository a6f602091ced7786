"""The JWT signing key, from Secrets Manager, fetched once per container.

Plain botocore rather than boto3 or the Powertools Parameters utility: the
authorizer imports this, and both of those pull in boto3's import chain
(s3transfer and more), which `make bench` shows as a third of its cold import.
"""

from __future__ import annotations

import threading
from typing import Any

from kuploy_access.config import settings

_lock = threading.Lock()
_keys: dict[str, bytes] = {}


def _secrets_client() -> Any:
    from botocore.session import get_session

    return get_session().create_client("secretsmanager", region_name=settings().region)


def signing_key(secret_id: str) -> bytes:
    """Cached for the life of the container: rotating the key is a deploy (new containers)."""
    with _lock:
        if secret_id not in _keys:
            value = _secrets_client().get_secret_value(SecretId=secret_id)["SecretString"]
            _keys[secret_id] = str(value).encode("utf-8")
        return _keys[secret_id]


def forget_signing_keys() -> None:
    """For tests that start a fresh (moto) account."""
    with _lock:
        _keys.clear()

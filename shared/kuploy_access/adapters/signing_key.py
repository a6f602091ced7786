"""The JWT signing key, from Secrets Manager, fetched once per container.

Plain botocore rather than boto3 or the Powertools Parameters utility: the
authorizer imports this, and both of those pull in boto3's import chain
(s3transfer and more), which `make bench` shows as a third of its cold import.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kuploy_access.adapters.retry_policy import SECRETS_MANAGER, botocore_client
from kuploy_access.config import settings
from kuploy_access.domain.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_keys: dict[str, bytes] = {}


def _secrets_client() -> Any:
    return botocore_client("secretsmanager", settings().region, SECRETS_MANAGER)


def signing_key(secret_id: str) -> bytes:
    """Cached for the life of the container: rotating the key is a deploy (new containers).

    Fails closed: when Secrets Manager (or the KMS key that protects the secret) does not
    give the secret, whatever the reason, ServiceUnavailable; nothing is cached, so the
    next request asks again. No token is signed, checked, sealed or opened without it."""
    with _lock:
        if secret_id not in _keys:
            try:
                value = _secrets_client().get_secret_value(SecretId=secret_id)["SecretString"]
            except Exception as error:
                logger.error("secret unavailable", extra={"error_code": _error_code(error)})
                raise ServiceUnavailable("A key the service needs could not be read; try again shortly") from error
            _keys[secret_id] = str(value).encode("utf-8")
        return _keys[secret_id]


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


def forget_signing_keys() -> None:
    """For tests that start a fresh (moto) account."""
    with _lock:
        _keys.clear()

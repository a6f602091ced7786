"""The JWT signing key, from Secrets Manager, fetched once per container."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.utilities import parameters

# Cached for the life of the container: rotating the key means deploying (new
# containers), which keeps the authorizer at zero AWS calls per request.
ONE_DAY = 86_400


@lru_cache(maxsize=4)
def signing_key(secret_id: str) -> bytes:
    value = parameters.get_secret(secret_id, max_age=ONE_DAY)
    key = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return key

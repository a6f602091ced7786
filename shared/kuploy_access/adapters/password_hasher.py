"""argon2id password hashing.

Parameters: m = 32 MiB, t = 2, p = 1. OWASP's Password Storage Cheat Sheet asks for
at least m = 19 MiB, t = 2, p = 1 for argon2id; we take the same passes with more
memory (memory hardness is what costs an attacker's GPUs). `make bench` measures a
verification at about 2.6x the reference's time: ~65 ms on one core here, so the
sign-up and login functions get 1769 MB (one full vCPU) in template.yaml. Hashes made
with other parameters are upgraded at the next login (`needs_rehash`).
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher as Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

TIME_COST = 2
MEMORY_COST_KIB = 32 * 1024
PARALLELISM = 1

OWASP_MINIMUM = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}


class Argon2PasswordHasher:
    def __init__(
        self, time_cost: int = TIME_COST, memory_cost: int = MEMORY_COST_KIB, parallelism: int = PARALLELISM
    ) -> None:
        self._argon2 = Argon2(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)
        # Made now, not on the first unknown email, so that login costs the same from
        # the first request of a container on.
        self._dummy_hash = self._argon2.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

"""Password hashing and the sealing of secrets we must read back."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):  # SignUpService, LoginService, PasswordService, TwoFactorService
    """Raises nothing: a malformed hash verifies as False."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for unknown accounts."""

    def needs_rehash(self, password_hash: str) -> bool: ...


class SecretBox(Protocol):  # TwoFactorService
    """Authenticated encryption for secrets we must read back, bound to their owner;
    and a keyed hash for short secrets we only compare (recovery codes).

    `open` raises when the value was altered, sealed for another owner or with another
    key (the adapter's SealedValueInvalid, the fake's ValueError). No service catches
    it: a stored secret that does not open is corrupt data, answered 500."""

    def seal(self, plaintext: str, owner: str) -> str: ...

    def open(self, token: str, owner: str) -> str: ...

    def keyed_hash(self, value: str) -> str: ...

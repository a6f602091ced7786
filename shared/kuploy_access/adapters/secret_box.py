"""AES-256-GCM for the few secrets we must be able to read back (TOTP secrets).

The key is derived (HKDF-SHA256) from a secret in Secrets Manager, fetched once per
container through the same adapter as the signing key. Each value is sealed with a
fresh 96-bit nonce and bound to its owner (associated data = the account id), so a
ciphertext copied onto another account does not open.
"""

from __future__ import annotations

import base64
import secrets
from functools import cached_property

from kuploy_access.adapters.signing_key import signing_key

_VERSION = "v1"
_NONCE_BYTES = 12


class SealedValueInvalid(Exception):
    """Tampered with, sealed for another owner, or sealed with another key."""


class AesGcmSecretBox:
    def __init__(self, key_secret_id: str) -> None:
        self._key_secret_id = key_secret_id

    @cached_property
    def _aead(self):  # type: ignore[no-untyped-def]
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kuploy-access totp v1").derive(
            signing_key(self._key_secret_id)
        )
        return AESGCM(key)

    def seal(self, plaintext: str, owner: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), owner.encode("utf-8"))
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def open(self, token: str, owner: str) -> str:
        from cryptography.exceptions import InvalidTag

        version, _, body = token.partition(".")
        if version != _VERSION:
            raise SealedValueInvalid("unknown format")
        try:
            raw = base64.urlsafe_b64decode(body)
            plaintext: bytes = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], owner.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise SealedValueInvalid("cannot open") from None
        return plaintext.decode("utf-8")

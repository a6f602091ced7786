"""AES-256-GCM for the few secrets we must be able to read back (TOTP secrets).

The key is derived (HKDF-SHA256) from a secret in Secrets Manager, fetched once per
container through the same adapter as the signing key. Each value is sealed with a
fresh 96-bit nonce and bound to its owner (associated data = the account id), so a
ciphertext copied onto another account does not open.

pycryptodomex (the `Cryptodome` namespace) rather than `cryptography`: PyJWT imports
`cryptography` whenever it is installed, which would put it on the authorizer's cold
start for nothing (HS256 does not need it).
"""

from __future__ import annotations

import base64
import secrets
from functools import cached_property

from kuploy_access.adapters.signing_key import signing_key

_VERSION = "v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_INFO = b"kuploy-access totp v1"


class SealedValueInvalid(Exception):
    """Tampered with, sealed for another owner, or sealed with another key."""


class AesGcmSecretBox:
    def __init__(self, key_secret_id: str) -> None:
        self._key_secret_id = key_secret_id

    @cached_property
    def _key(self) -> bytes:
        from Cryptodome.Hash import SHA256
        from Cryptodome.Protocol.KDF import HKDF

        key: bytes = HKDF(signing_key(self._key_secret_id), 32, b"", SHA256, context=_KEY_INFO)  # type: ignore[assignment]
        return key

    def seal(self, plaintext: str, owner: str) -> str:
        from Cryptodome.Cipher import AES

        nonce = secrets.token_bytes(_NONCE_BYTES)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=_TAG_BYTES)
        cipher.update(owner.encode("utf-8"))
        sealed, tag = cipher.encrypt_and_digest(plaintext.encode("utf-8"))
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed + tag).decode('ascii')}"

    def open(self, token: str, owner: str) -> str:
        from Cryptodome.Cipher import AES

        version, _, body = token.partition(".")
        if version != _VERSION:
            raise SealedValueInvalid("unknown format")
        try:
            raw = base64.urlsafe_b64decode(body)
            if len(raw) < _NONCE_BYTES + _TAG_BYTES:
                raise ValueError("too short")
            nonce, sealed, tag = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:-_TAG_BYTES], raw[-_TAG_BYTES:]
            cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=_TAG_BYTES)
            cipher.update(owner.encode("utf-8"))
            plaintext: bytes = cipher.decrypt_and_verify(sealed, tag)
        except ValueError:
            raise SealedValueInvalid("cannot open") from None
        return plaintext.decode("utf-8")

"""AES-256-GCM for the few secrets we must be able to read back (TOTP secrets), and
HMAC-SHA256 for the short ones we only compare (recovery codes).

Both keys are derived (HKDF-SHA256, each with its own label) from one secret in
Secrets Manager, fetched once per container through the same adapter as the signing
key. Each value is sealed with a fresh 96-bit nonce and bound to its owner (associated
data = the account id), so a ciphertext copied onto another account does not open.
A keyed hash stored in the table can only be tested against guesses by someone who
also holds the secret: a copy of the table alone is not enough.

A box for another purpose (`key_info`; the first answers to Idempotency-Keys use one)
seals with a key derived under its own label, so a value sealed for one purpose never
opens as another.

pycryptodomex (the `Cryptodome` namespace) rather than `cryptography`: PyJWT imports
`cryptography` whenever it is installed, which would put it on the authorizer's cold
start for nothing (HS256 does not need it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cached_property

from kuploy_access.adapters.signing_key import signing_key

_VERSION = "v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_INFO = b"kuploy-access totp v1"
_HASH_KEY_INFO = b"kuploy-access recovery codes v1"


class SealedValueInvalid(Exception):
    """Tampered with, sealed for another owner, or sealed with another key."""


class AesGcmSecretBox:
    def __init__(self, key_secret_id: str, *, key_info: bytes = _KEY_INFO) -> None:
        self._key_secret_id = key_secret_id
        self._key_info = key_info

    def ready(self) -> None:
        """Fetch the secret and derive the sealing key now, so that a Secrets Manager
        failure stops a caller before it changes anything (the idempotency ledger, before
        it claims a key and the route creates)."""
        _ = self._key

    @cached_property
    def _key(self) -> bytes:
        from Cryptodome.Hash import SHA256
        from Cryptodome.Protocol.KDF import HKDF

        key: bytes = HKDF(signing_key(self._key_secret_id), 32, b"", SHA256, context=self._key_info)  # type: ignore[assignment]
        return key

    @cached_property
    def _hash_key(self) -> bytes:
        from Cryptodome.Hash import SHA256
        from Cryptodome.Protocol.KDF import HKDF

        key: bytes = HKDF(signing_key(self._key_secret_id), 32, b"", SHA256, context=_HASH_KEY_INFO)  # type: ignore[assignment]
        return key

    def keyed_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

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

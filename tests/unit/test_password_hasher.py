"""argon2id at or above OWASP's minimum. Each argon2 call costs tens of milliseconds: few of them."""

from __future__ import annotations

import re

import argon2
import pytest

from kuploy_access.adapters.password_hasher import OWASP_MINIMUM, Argon2PasswordHasher

PASSWORD = "correct horse battery staple"
ENCODED = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


@pytest.fixture(scope="module")
def hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher()


@pytest.fixture(scope="module")
def stored(hasher: Argon2PasswordHasher) -> str:
    return hasher.hash(PASSWORD)


def test_hash_is_argon2id_with_at_least_owasp_parameters(stored):
    match = ENCODED.match(stored)
    assert match, stored
    memory, time_cost, parallelism = (int(group) for group in match.groups())
    assert memory >= 19 * 1024 == 19456
    assert time_cost >= 2
    assert parallelism == 1
    assert OWASP_MINIMUM == {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}


def test_hash_is_salted_and_does_not_contain_the_password(hasher, stored):
    assert PASSWORD not in stored
    assert hasher.hash(PASSWORD) != stored


def test_verify_right_and_wrong(hasher, stored):
    assert hasher.verify(stored, PASSWORD) is True
    assert hasher.verify(stored, PASSWORD + "!") is False


def test_long_passwords_are_not_truncated(hasher):
    base = "x" * 255
    stored = hasher.hash(base + "a")
    assert hasher.verify(stored, base + "b") is False


@pytest.mark.parametrize("garbage", ["", "garbage", "$argon2id$v=19$m=65536", "fake$v1$secret", "$2b$12$abcdef"])
def test_verify_of_garbage_hash_is_false(hasher, garbage):
    assert hasher.verify(garbage, PASSWORD) is False


def test_own_hash_needs_no_rehash(hasher, stored):
    assert hasher.needs_rehash(stored) is False


def test_hash_with_other_parameters_needs_rehash_and_still_verifies(hasher):
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    old = weak.hash(PASSWORD)
    assert hasher.needs_rehash(old) is True
    # The parameters live in the hash: an old hash keeps working until it is rehashed.
    assert hasher.verify(old, PASSWORD) is True


def test_garbage_hash_needs_rehash(hasher):
    assert hasher.needs_rehash("not a hash") is True


def test_verify_dummy_does_not_raise_and_answers_nothing(hasher):
    assert hasher.verify_dummy(PASSWORD) is None
    assert hasher.verify_dummy("") is None

"""An unknown address's login spends one argon2id check with exactly the parameters of a
real account's (issue 16, the timing side of account enumeration): the dummy hash is made
by the same hasher, so memory, passes, lanes, salt and output lengths are the ones a
stored hash carries, and a verification of either costs the same work."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters

from kuploy_access.adapters import password_hasher
from kuploy_access.adapters.password_hasher import Argon2PasswordHasher


@pytest.mark.parametrize(
    ("time_cost", "memory_kib", "parallelism"),
    [
        (password_hasher.TIME_COST, password_hasher.MEMORY_COST_KIB, password_hasher.PARALLELISM),
        (1, 8, 1),
        (3, 16, 2),
    ],
)
def test_the_dummy_hash_carries_the_configured_parameters(time_cost, memory_kib, parallelism):
    hasher = Argon2PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    stored = extract_parameters(hasher.hash("correct horse battery staple 42"))
    # The dummy is private on purpose (nothing else may use it); read here to pin it.
    dummy = extract_parameters(hasher._dummy_hash)
    assert dummy == stored
    assert (dummy.time_cost, dummy.memory_cost, dummy.parallelism) == (time_cost, memory_kib, parallelism)


def test_the_default_hasher_is_the_configured_one():
    default = extract_parameters(Argon2PasswordHasher()._dummy_hash)
    assert (default.time_cost, default.memory_cost, default.parallelism) == (
        password_hasher.TIME_COST,
        password_hasher.MEMORY_COST_KIB,
        password_hasher.PARALLELISM,
    )

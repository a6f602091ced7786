"""argon2id verify time: the project's parameters beside OWASP's reference.

Both go through the project's own hasher class (kuploy_access.adapters.password_hasher),
so the only difference is the parameters; verifications alternate so both see the
same machine.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from bench.project import prepare_in_process_imports, progress

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB (19456 KiB), t=2, p=1.
OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1


@dataclass
class Argon2Setting:
    label: str
    memory_kib: int
    time_cost: int
    parallelism: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def description(self) -> str:
        return f"m={self.memory_kib} KiB ({self.memory_kib / 1024:g} MiB), t={self.time_cost}, p={self.parallelism}"


@dataclass
class Argon2Results:
    ours: Argon2Setting
    owasp: Argon2Setting
    repeats: int

    @property
    def ratio(self) -> float:
        return self.ours.median_ms / self.owasp.median_ms

    @property
    def at_least_owasp(self) -> bool:
        return (
            self.ours.memory_kib >= self.owasp.memory_kib
            and self.ours.time_cost >= self.owasp.time_cost
            and self.ours.parallelism >= self.owasp.parallelism
        )


def run(repeats: int = 15) -> Argon2Results:
    prepare_in_process_imports()
    from argon2 import extract_parameters

    from kuploy_access.adapters import password_hasher

    ours = Argon2Setting(
        "ours",
        password_hasher.MEMORY_COST_KIB,
        password_hasher.TIME_COST,
        password_hasher.PARALLELISM,
    )
    owasp = Argon2Setting("OWASP reference", OWASP_MEMORY_KIB, OWASP_TIME_COST, OWASP_PARALLELISM)
    password = "correct horse battery staple 42"
    hashers = []
    for setting in (ours, owasp):
        hasher = password_hasher.Argon2PasswordHasher(
            time_cost=setting.time_cost, memory_cost=setting.memory_kib, parallelism=setting.parallelism
        )
        encoded = hasher.hash(password)
        stored = extract_parameters(encoded)
        if (stored.memory_cost, stored.time_cost, stored.parallelism) != (
            setting.memory_kib,
            setting.time_cost,
            setting.parallelism,
        ):
            raise RuntimeError(f"{setting.label}: the hash carries {stored}, not the parameters asked for")
        if not hasher.verify(encoded, password):
            raise RuntimeError(f"{setting.label}: a fresh hash does not verify")
        hashers.append((setting, hasher, encoded))

    # The project's own default must be what the module constants say.
    default_hash = password_hasher.Argon2PasswordHasher().hash(password)
    default = extract_parameters(default_hash)
    if (default.memory_cost, default.time_cost, default.parallelism) != (
        ours.memory_kib,
        ours.time_cost,
        ours.parallelism,
    ):
        raise RuntimeError(f"Argon2PasswordHasher() hashes with {default}, not the module's constants")

    for _ in range(repeats):
        for setting, hasher, encoded in hashers:
            started = time.perf_counter()
            hasher.verify(encoded, password)
            setting.seconds.append(time.perf_counter() - started)
    progress(f"argon2: {repeats} alternating verifications of each")
    return Argon2Results(ours, owasp, repeats)

"""The cost of one argon2id hash with the configured parameters.

Floor: the same hash with argon2's minimum cost (t=1, 8 KiB), measured in the same run,
so the figure says what the chosen parameters add on this machine.
"""

from __future__ import annotations

import time
from dataclasses import replace

from chalicelib.config import load_settings
from chalicelib.passwords import SecretHasher


def best_ms(hasher: SecretHasher, runs: int = 15) -> float:
    """The fastest of ``runs`` hashes, in ms."""
    hasher.hash("warm-up-1A")
    best = float("inf")
    for i in range(runs):
        started = time.perf_counter()
        hasher.hash(f"Kuat-Sekali-{i}")
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    settings = load_settings({"SANDI_STAGE": "local"})
    chosen = best_ms(SecretHasher(settings))
    floor = best_ms(SecretHasher(replace(settings, argon2_time_cost=1, argon2_memory_cost=8)))
    print("argon2id, one hash (best of 15)")
    print(
        f"  t={settings.argon2_time_cost}, m={settings.argon2_memory_cost} KiB, p={settings.argon2_parallelism}"
        f"   {chosen:7.1f} ms"
    )
    print(f"  floor t=1, m=8 KiB, p=1              {floor:7.1f} ms  (chosen = {chosen / floor:.0f}x floor)")


if __name__ == "__main__":
    main()

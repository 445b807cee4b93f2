"""The breached-password list: its size, and what reading it costs the first step in a
container that sets a password (a fresh interpreter each run, as a cold container).

Floor: the same fresh interpreter importing the same module without reading the list.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from chalicelib import breached

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, time
t0 = time.perf_counter()
from chalicelib import breached
t1 = time.perf_counter()
if {read}:
    breached.is_breached("Kopi susu gula aren")
t2 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "read_ms": (t2 - t1) * 1000}}))
"""


def _run(read: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(read=read)], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def measure(runs: int = 9) -> dict[str, float]:
    reads = [_run(True)["read_ms"] for _ in range(runs)]
    floors = [_run(False)["read_ms"] for _ in range(runs)]
    return {
        "passwords": float(breached.size()),
        "file_kib": breached.LIST.stat().st_size / 1024,
        "read_ms": statistics.median(reads),
        "floor_ms": statistics.median(floors),
    }


def main() -> None:
    print(json.dumps(measure(), indent=2))


if __name__ == "__main__":
    main()

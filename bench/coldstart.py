"""Cold import time of the app against the floor of its unavoidable libraries.

A Lambda cold start pays for importing ``app``; botocore dominates it. The floor is
``import boto3, pynamodb.models, chalice`` alone, measured in the same run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLOOR = "import boto3, pynamodb.models, chalice"
APP = "import app"


def best_of(statement: str, runs: int = 10) -> float:
    """The fastest wall time of a fresh interpreter running ``statement``, in ms."""
    env = {**os.environ, "SANDI_STAGE": "local", "AWS_DEFAULT_REGION": "ap-southeast-3"}
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=env, check=True)  # warm the disk cache
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=env, check=True)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def measure() -> dict[str, float]:
    """Interpreter alone, the library floor, and the app."""
    bare = best_of("pass")
    floor = best_of(FLOOR)
    app = best_of(APP)
    return {"python": bare, "floor": floor, "app": app}


def main() -> None:
    figures = measure()
    bare, floor, app = figures["python"], figures["floor"], figures["app"]
    print("Cold import, best of 10 fresh interpreters")
    print(f"  python -c pass                         {bare:7.1f} ms")
    print(f"  {FLOOR:<38} {floor:7.1f} ms  (floor)")
    print(f"  {APP:<38} {app:7.1f} ms  ({(app - floor) / (floor - bare) * 100:+.0f}% over the floor's imports)")


if __name__ == "__main__":
    main()

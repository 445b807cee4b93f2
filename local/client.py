"""A local stack as tests, benchmarks and scripts reach it: start one in a child process
(``python -m local.devstack``, the entry point of ``make run``) on free ports, and talk
to its emulator. Apart from the server (``local/devstack.py``), which imports none of it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
REGION = "ap-southeast-3"


@dataclass(frozen=True)
class Urls:
    """Where a running stack answers."""

    api: str
    inbox: str
    emulator: str


def emulator_client(service: str, endpoint: str) -> Any:
    """A boto3 client of a running stack's emulator at ``endpoint`` (fake credentials)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=os.environ.get("SANDI_REGION", REGION),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(log_path: Path, start_timeout: float = 60, extra_env: dict[str, str] | None = None) -> Iterator[Urls]:
    """``python -m local.devstack`` on free ports, healthy, stopped on exit (``extra_env``: more variables)."""
    import subprocess
    import urllib.request

    ports = {"SANDI_API_PORT": free_port(), "SANDI_INBOX_PORT": free_port(), "SANDI_EMULATOR_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDI_")}
    env.update({k: str(v) for k, v in ports.items()})
    env.update(extra_env or {})
    urls = Urls(*(f"http://127.0.0.1:{ports[k]}" for k in ports))
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "local.devstack"], cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.time() + start_timeout
            while not _healthy(urllib.request, urls.api):
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("local stack did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield urls
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _healthy(request: Any, api: str) -> bool:
    try:
        with request.urlopen(api + "/v1/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False

"""boto3 clients, created lazily and once per container.

This is the only module that imports boto3. A Lambda container reuses its clients
across invocations; a request that sends no SMS never pays for the SNS client.
Endpoints are never configured here: botocore honours ``AWS_ENDPOINT_URL`` locally.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()  # guards client creation only; it holds no request state


def client(service: str, region: str) -> Any:
    """The shared boto3 client for ``service`` in ``region``."""
    key = f"{service}@{region}"
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            cfg = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
            _clients[key] = boto3.session.Session().client(service, region_name=region, config=cfg)
        return _clients[key]


def reset_clients() -> None:
    """Forget every client (tests start a fresh emulator between cases)."""
    with _lock:
        _clients.clear()


def read_secret_parameter(name: str, region: str) -> str:
    """A SecureString from SSM Parameter Store (deployed stages keep the secret there)."""
    response = client("ssm", region).get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])

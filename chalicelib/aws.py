"""One botocore session per container, and every AWS client made from it.

botocore parses its endpoint rules and each service model once per *session*; a second
session parses them all again. PynamoDB builds a session per connection and boto3 one
per ``boto3.client`` call, so the container used to parse the same files several times
at its first request. Here there is one session, one client per service and region
(SES, SNS, SSM, ...), and one DynamoDB client that every PynamoDB connection uses.

botocore alone is imported (boto3 adds nothing a client needs). Endpoints are never
configured here: botocore honours ``AWS_ENDPOINT_URL`` locally.
"""

from __future__ import annotations

import threading
from typing import Any

# Timeouts and retries of every client: a member's phone waits on them.
CONNECT_TIMEOUT = 2
READ_TIMEOUT = 5
ATTEMPTS = 3  # the first try and two retries, botocore's "standard" mode

_session: Any = None
_clients: dict[str, Any] = {}
_lock = threading.Lock()  # guards creation only; it holds no request state


def session() -> Any:
    """The container's botocore session (its loader caches every parsed model)."""
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                import botocore.session

                _session = botocore.session.get_session()
    return _session


def _config(**extra: Any) -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
        **extra,
    )


def client(service: str, region: str) -> Any:
    """The shared client for ``service`` in ``region``."""
    key = f"{service}@{region}"
    found = _clients.get(key)
    if found is not None:
        return found
    shared = session()
    with _lock:
        if key not in _clients:
            # PynamoDB validates its own requests, so its client skips botocore's check.
            extra = {"parameter_validation": False, "max_pool_connections": 10} if service == "dynamodb" else {}
            _clients[key] = shared.create_client(service, region_name=region, config=_config(**extra))
        return _clients[key]


def share(connection: Any) -> Any:
    """Make a PynamoDB ``Connection`` send through the container's DynamoDB client.

    PynamoDB uses ``connection._client`` while it has credentials and would otherwise
    build a session and a client of its own for every model class. Called before each
    use (a dictionary lookup), so a connection follows ``reset_clients``.
    """
    shared = client("dynamodb", connection.region)
    if connection._client is not shared:
        connection._client = shared
    return connection


def reset_clients() -> None:
    """Forget every client and the session (tests start a fresh emulator between cases)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None


def read_secret_parameter(name: str, region: str) -> str:
    """A SecureString from SSM Parameter Store (deployed stages keep the secret there)."""
    response = client("ssm", region).get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])

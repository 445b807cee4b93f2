"""The collaborators a flow works with, built once per container.

Flows receive a ``Deps`` instead of reaching for globals, so tests hand in their own
clock or sender. ``get_deps`` builds the production set lazily on first use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from chalicelib import aws, metrics
from chalicelib.clock import Clock, system_clock
from chalicelib.config import Settings, get_settings
from chalicelib.delivery import Sender
from chalicelib.delivery.aws import AwsSender, SesEmailSender, SnsSmsSender
from chalicelib.keys import Keys
from chalicelib.passwords import SecretHasher
from chalicelib.staff_auth import KeySet, jwks_url, key_set
from chalicelib.storage.models import bind
from chalicelib.storage.store import Store

log = logging.getLogger(__name__)


@dataclass
class Deps:
    """Settings, keys, storage, delivery, hashing and time for one container."""

    settings: Settings
    store: Store
    sender: Sender
    clock: Clock
    secret: str
    # Where the secret is re-read from (SSM): a rotation reaches running containers
    # within ``secret_refresh_seconds``, or at once when a token names an unknown version.
    secret_source: Callable[[], str] | None = None

    def __post_init__(self) -> None:
        self._keys = Keys.from_secret(self.secret)
        self._loaded_at = time.monotonic()
        self._reload_lock = threading.Lock()

    @property
    def keys(self) -> Keys:
        """Purpose keys derived from the stage secret (re-read now and then)."""
        if self.secret_source is not None and time.monotonic() - self._loaded_at > self.settings.secret_refresh_seconds:
            self.reload_keys()
        return self._keys

    def reload_keys(self, unless_younger_than: float = 0.0) -> None:
        """Read the secret again (a failure keeps the keys in use: they are still valid)."""
        if self.secret_source is None or time.monotonic() - self._loaded_at < unless_younger_than:
            return
        with self._reload_lock:
            try:
                self._keys = Keys.from_secret(self.secret_source())
            except Exception as exc:  # SSM unreachable or a bad document: keep serving
                log.warning("secret reload failed: %s", type(exc).__name__)
            self._loaded_at = time.monotonic()

    @cached_property
    def staff_keys(self) -> KeySet:
        """The staff pool's signing keys (fetched once per container)."""
        s = self.settings
        return key_set(jwks_url(s.region, s.staff_pool_id, s.staff_jwks_url))

    @cached_property
    def hasher(self) -> SecretHasher:
        """argon2id hashing with this stage's parameters."""
        return SecretHasher(self.settings)


def build_deps(settings: Settings, sender: Sender | None = None, clock: Clock | None = None) -> Deps:
    """Production collaborators for ``settings`` (tests may override sender and clock)."""
    from pynamodb.connection import Connection

    bind(settings)
    metrics.set_stage(settings.stage)
    source = None
    if not settings.secret_key:
        source = lambda: aws.read_secret_parameter(settings.secret_ssm_param, settings.region)  # noqa: E731
    secret = settings.secret_key or source()  # type: ignore[misc]
    if sender is None:
        sender = AwsSender(
            SesEmailSender(
                lambda: aws.client("ses", settings.region), settings.ses_sender, settings.ses_configuration_set
            ),
            SnsSmsSender(lambda: aws.client("sns", settings.region), settings.sms_sender_id),
        )
    connection = Connection(region=settings.region)
    store = Store(lambda: aws.share(connection))
    return Deps(
        settings=settings, store=store, sender=sender, clock=clock or system_clock, secret=secret, secret_source=source
    )


_deps: Deps | None = None
_lock = threading.Lock()


def get_deps() -> Deps:
    """The container's collaborators, built on first use."""
    global _deps
    if _deps is None:
        with _lock:
            if _deps is None:
                _deps = build_deps(get_settings())
    return _deps


def current_deps() -> Deps | None:
    """The container's collaborators if they were built (tests: the ones they set)."""
    return _deps


def set_deps(deps: Deps | None) -> None:
    """Replace the container's collaborators (tests)."""
    global _deps
    _deps = deps

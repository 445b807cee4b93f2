"""Password and PIN hashing with argon2id (parameters from Settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from chalicelib.config import Settings


class SecretHasher:
    """argon2id hashing and verification of passwords and PINs."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._hasher: PasswordHasher | None = None
        self._dummy: str | None = None

    @property
    def hasher(self) -> PasswordHasher:
        """The argon2id hasher, built on first use."""
        if self._hasher is None:
            from argon2 import PasswordHasher, Type

            s = self._settings
            self._hasher = PasswordHasher(
                time_cost=s.argon2_time_cost,
                memory_cost=s.argon2_memory_cost,
                parallelism=s.argon2_parallelism,
                type=Type.ID,
            )
        return self._hasher

    def hash(self, secret: str) -> str:
        """An argon2id hash of ``secret``."""
        return self.hasher.hash(secret)

    def verify(self, stored: str | None, secret: str) -> bool:
        """Whether ``secret`` matches ``stored``; with no hash, still pays for one."""
        from argon2.exceptions import InvalidHashError, VerificationError

        target = stored or self.dummy_hash()
        try:
            ok = self.hasher.verify(target, secret)
        except (VerificationError, InvalidHashError):
            return False
        return bool(ok) and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with other parameters than today's."""
        return self.hasher.check_needs_rehash(stored)

    def dummy_hash(self) -> str:
        """A hash to verify against when there is nothing real, so timing tells nothing."""
        if self._dummy is None:
            import secrets

            self._dummy = self.hash(secrets.token_urlsafe(32))  # of a secret nobody has
        return self._dummy

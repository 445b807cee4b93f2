"""One module per journey, imported on first use.

A Lambda container pays at cold start only for the journeys its first request needs:
``flows.registration`` is imported when a registration route first runs.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the lazy attributes are, for the type checker
    from chalicelib.flows import (  # noqa: F401
        admin,
        authenticator,
        contact_change,
        contact_review,
        email_recovery,
        member,
        operations,
        passkeys,
        password_reset,
        pin_reset,
        registration,
        sessions,
    )


def __getattr__(name: str) -> ModuleType:
    if name.startswith("_"):
        raise AttributeError(name)
    return importlib.import_module(f"{__name__}.{name}")

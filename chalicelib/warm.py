"""Container init: what requests need, done once before the first one.

Two kinds of init, chosen by Lambda's ``AWS_LAMBDA_INITIALIZATION_TYPE``:

- **SnapStart** (``snap-start``): the init phase is snapshotted once per published
  version and every new container restores that snapshot, so priming costs a member
  nothing. ``prime(full=True)`` runs in a ``register_before_snapshot`` hook and loads
  everything any journey uses: the botocore session with the DynamoDB, SES, SNS and
  SSM models parsed and their clients made, every flow module, argon2, jwt, the
  authenticator's libraries.
- **Ordinary cold start** (``on-demand``, the local stage, tests): every container pays
  for its own init, so ``prime(full=False)`` at import does only what *every* request
  needs (the session, the DynamoDB model and client, the tables' connections) and a
  journey's own libraries load on its first use: a sign-in never loads SES.

Nothing unique is made here. Codes, ids, tokens, salts, nonces and keys are drawn
from the OS CSPRNG (``secrets``, ``os.urandom``) at the moment they are used, and no
code path uses the ``random`` module, so two containers restored from one snapshot
share no random state (tests/test_warm.py forks a primed process to show it). The
stage secret is read from SSM on first use, after restore, never at init: a rotated
secret is picked up by new containers without publishing a new version.

The garbage collector is off while init runs (``app.py`` turns it off before its first
import) and what init built is frozen before the first request (and, under SnapStart,
before the snapshot): init builds only long-lived objects, so a collection there would
free nothing and only spend the member's time walking them.
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Callable
from typing import Any

from chalicelib import aws
from chalicelib.config import Settings
from chalicelib.storage.models import ALL_MODELS, bind

# Imported by the full prime only: what some journeys use.
JOURNEY_MODULES = (
    "chalicelib.flows.registration",
    "chalicelib.flows.sessions",
    "chalicelib.flows.password_reset",
    "chalicelib.flows.pin_reset",
    "chalicelib.flows.email_recovery",
    "chalicelib.flows.contact_change",
    "chalicelib.flows.member",
    "chalicelib.flows.authenticator",
    "chalicelib.flows.admin",
    "chalicelib.flows.contact_review",
    "chalicelib.flows.passkeys",
    "chalicelib.breached",
    "chalicelib.challenges.feedback",
    "chalicelib.flows.operations",
    "chalicelib.totp",
    "argon2",
    "jwt",
    "webauthn",  # the whole package (~40 ms beside boto3): an ordinary cold start loads only what its step needs
    "cryptography.hazmat.primitives.ciphers.aead",
)
JOURNEY_SERVICES = ("ses", "sns", "ssm")


def snapstart() -> bool:
    """True in a SnapStart init phase (the runtime will call the snapshot hooks)."""
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"


def prime(settings: Settings, full: bool) -> dict[str, Any]:
    """Load what requests need; ``full`` also what only some journeys need. What was done."""
    bind(settings)
    aws.client("dynamodb", settings.region)
    for model in ALL_MODELS:
        model._get_connection()  # the table's connection, on the shared client
    done: dict[str, Any] = {"services": ["dynamodb"], "modules": []}
    if full:
        for service in JOURNEY_SERVICES:
            aws.client(service, settings.region)
            done["services"].append(service)
        for name in JOURNEY_MODULES:
            importlib.import_module(name)
            done["modules"].append(name)
        importlib.import_module("chalicelib.breached").size()  # the list, read into the snapshot
    return done


def at_init(settings: Settings) -> None:
    """Prime for this kind of init: in a snapshot hook under SnapStart, else now; then
    freeze what init built and turn the collector on (app.py turned it off)."""
    if snapstart():
        from snapshot_restore_py import register_before_snapshot  # provided by the runtime

        register_before_snapshot(lambda: _frozen(lambda: prime(settings, full=True)))
    else:
        prime(settings, full=False)
    settle_collector()


def settle_collector() -> None:
    """Move everything init built into the collector's permanent generation (it is never
    scanned again: a full collection no longer walks botocore's models) and turn the
    collector back on for the requests."""
    gc.freeze()
    gc.enable()


def _frozen(work: Callable[[], Any]) -> None:
    """``work`` with the collector off, then frozen like init: the snapshot is taken after
    the freeze, so every restored container starts with it."""
    gc.disable()
    try:
        work()
    finally:
        settle_collector()

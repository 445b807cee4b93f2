"""Rotate a stage's signing secret: `make rotate-secret STAGE=dev` (or `STAGE=local`).

Reads the stage's secret document from SSM (``/sandi-<stage>/secret-key``, named like the stack), adds a new
signing version and makes it current, keeps the previous version (tokens it signed stay
valid until they expire: 15 minutes) and drops any older one. The lookup secret is kept
as it is, so NIK claims, destinations, limits, pending codes, refresh tokens and sealed
authenticator secrets are untouched. A first-wave plain-string secret is converted: it
stays the lookup secret and its signing version ``v1``.

Running containers pick the new version up within ``SANDI_SECRET_REFRESH_SECONDS`` (60
by default), or at once when they meet a token of a version they do not know yet.
Run it again after the access-token lifetime to retire the version the leak concerned.

`STAGE=local` rotates the running `make run` stack (its emulator's SSM); any other stage
uses the AWS credentials of the shell.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
from typing import Any

from chalicelib.keys import parse_secret
from local.client import emulator_client


def parameter_name(stage: str) -> str:
    """The stage's secret parameter (the deployed stages' config uses the same name)."""
    return f"/sandi-{stage}/secret-key"


def new_document(lookup: str | None = None) -> str:
    """A fresh secret document (the lookup secret given or new)."""
    version = _version_id()
    document = {
        "lookup": lookup or secrets.token_urlsafe(48),
        "signing": {"current": version, "versions": {version: secrets.token_urlsafe(48)}},
    }
    return json.dumps(document)


def _version_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def rotated(secret: str) -> tuple[str, str, list[str]]:
    """(the new document, the new version, the versions dropped)."""
    lookup, current, versions = parse_secret(secret)
    version = _version_id()
    kept = {current: versions[current], version: secrets.token_urlsafe(48)}
    document = {"lookup": lookup, "signing": {"current": version, "versions": kept}}
    return json.dumps(document), version, sorted(set(versions) - set(kept))


def rotate(ssm: Any, name: str) -> tuple[str, list[str]]:
    """Rotate the parameter in place; (the new version, the versions dropped)."""
    current = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    document, version, dropped = rotated(current)
    ssm.put_parameter(Name=name, Value=document, Type="SecureString", Overwrite=True)
    return version, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default="ap-southeast-3", help="the stage's region (never the profile's default)")
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("SANDI_EMULATOR_PORT", "4566")))
    args = parser.parse_args(argv)
    if args.stage == "local":
        ssm = emulator_client("ssm", f"http://127.0.0.1:{args.emulator_port}")
    else:
        import boto3

        ssm = boto3.client("ssm", region_name=args.region)
    try:
        version, dropped = rotate(ssm, parameter_name(args.stage))
    except Exception as exc:
        print(f"rotation failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"signing version {version} is current; previous kept; dropped: {', '.join(dropped) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

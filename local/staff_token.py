"""Print a staff bearer token for the running local stack:
`make staff-token STAFF=agent01 ROLE=agent|supervisor`.

Creates the staff user in the emulated Cognito pool if needed (in exactly that group),
signs them in against the pool and prints the access token.
"""

from __future__ import annotations

import argparse
import os
import sys

from local.client import emulator_client
from local.staff_pool import LOCAL_PASSWORD, staff_token


def main(argv: list[str] | None = None) -> int:
    """Sign a staff user in against the local pool and print the token."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("staff", nargs="?", default="agent01")
    parser.add_argument("--role", default="agent", choices=("agent", "supervisor"))
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("SANDI_EMULATOR_PORT", "4566")))
    args = parser.parse_args(argv)
    cognito = emulator_client("cognito-idp", f"http://127.0.0.1:{args.emulator_port}")
    try:
        print(staff_token(cognito, "local", args.staff, args.role))
    except Exception as exc:
        print(f"is `make run` running? ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    print(f"(user {args.staff}, group {args.role}, password {LOCAL_PASSWORD})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

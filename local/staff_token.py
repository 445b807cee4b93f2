"""Print a staff bearer token for the running local stack: `make staff-token STAFF=agent01`.

The local stage makes its secret per process, so the token is minted by the running
stack itself (its inbox server, local only) rather than by this process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request


def main(argv: list[str] | None = None) -> int:
    """Ask the local stack for a token and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("staff", nargs="?", default="agent01")
    parser.add_argument("--role", default="agent")
    parser.add_argument("--inbox-port", type=int, default=int(os.environ.get("SANDI_INBOX_PORT", "8025")))
    args = parser.parse_args(argv)
    request = urllib.request.Request(
        f"http://127.0.0.1:{args.inbox_port}/api/staff-token",
        data=json.dumps({"staff": args.staff, "role": args.role}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(json.load(response)["token"])
    except OSError as exc:
        print(f"is `make run` running? ({exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Cleanup cost with 100,000 live and 1,000 expired flows, in-process against moto.

Figure: items read per expired item purged (floor: 1.0, reading only what is deleted),
and DynamoDB round trips of the run, against a full scan's page count as the
alternative it avoids.
"""

from __future__ import annotations

import time
from typing import Any

REGION = "ap-southeast-3"


def measure(live: int = 100_000, expired: int = 1_000) -> dict[str, Any]:
    from bench.journeys import use_in_process_emulator  # import order: after the environment is set

    use_in_process_emulator()
    from moto import mock_aws

    from bench.journeys import meter  # import order: after the environment is set
    from chalicelib import cleanup  # import order: after the environment is set
    from chalicelib.config import load_settings  # import order: after the environment is set
    from chalicelib.storage.flows import new_flow  # import order: after the environment is set
    from chalicelib.storage.models import FlowModel, create_tables  # import order: after the environment is set

    now = 1_795_300_000.0
    with mock_aws():
        create_tables(load_settings({"SANDI_STAGE": "local", "AWS_DEFAULT_REGION": REGION}))
        started = time.perf_counter()
        with FlowModel.batch_write() as batch:
            for i in range(live + expired):
                at, lifetime = (now - 7200, 1800) if i < expired else (now, 3600 + i % 86400)
                batch.save(new_flow("registration", state="profile", now=at, lifetime=lifetime, lang="id", data={}))
        loaded = time.perf_counter() - started
        with meter() as m:
            started = time.perf_counter()
            report = cleanup.run(now, batch=expired * 2)
            seconds = time.perf_counter() - started
        pages = (live + expired) * 400 // (1024 * 1024) + 1  # a scan reads 1 MB pages of ~400 B items
    return {
        "live": live,
        "expired": expired,
        "read": report.read,
        "purged": sum(report.purged.values()),
        "round_trips": int(m["round_trips"]),
        "seconds": seconds,
        "load_seconds": loaded,
        "scan_items": live + expired,
        "scan_pages": pages,
    }


def main() -> None:
    r = measure()
    print(f"cleanup: {r['live']} live + {r['expired']} expired flows")
    print(
        f"  read {r['read']} index entries, purged {r['purged']}: {r['read'] / max(r['purged'], 1):.2f} reads per purge"
    )
    print(f"  {r['round_trips']} DynamoDB round trips, {r['seconds']:.1f} s in the emulator")
    print(f"  a full scan would read {r['scan_items']} items ({r['scan_items'] / max(r['purged'], 1):.0f} per purge)")


if __name__ == "__main__":
    main()

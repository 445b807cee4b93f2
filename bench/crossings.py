"""How many times a warm registration start crosses between the project's own modules.

A call from a function of one project module (``app``, ``chalicelib.*``) into a
function of another counts as one crossing (returns are not counted); the number of
distinct project modules the request runs code in is printed beside it. Traced with
``sys.setprofile`` in-process against moto, after a warm-up request (a warm container),
so imports and first-use set-up are not counted. `python -m bench.crossings`.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

from bench.journeys import REGION, use_in_process_emulator


def _module(frame: Any) -> str | None:
    name = frame.f_globals.get("__name__", "")
    return name if name == "app" or name.startswith("chalicelib") else None


def trace_registration_start() -> tuple[int, list[str], Counter[tuple[str, str]]]:
    """(crossings, modules touched, crossings per module pair) of one warm registration start."""
    use_in_process_emulator()
    from email.utils import parseaddr

    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import aws  # import order: after the environment is set
    from chalicelib.config import load_settings  # import order: after the environment is set
    from chalicelib.deps import build_deps, set_deps  # import order: after the environment is set
    from chalicelib.storage.models import create_tables  # import order: after the environment is set

    settings = load_settings({"SANDI_STAGE": "local", "AWS_DEFAULT_REGION": REGION})
    pairs: Counter[tuple[str, str]] = Counter()
    touched: set[str] = set()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        callee = _module(frame)
        if callee is None:
            return
        touched.add(callee)
        caller = _module(frame.f_back) if frame.f_back is not None else None
        if caller is not None and caller != callee:
            pairs[(caller, callee)] += 1

    with mock_aws():
        aws.reset_clients()
        create_tables(settings)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=parseaddr(settings.ses_sender)[1])
        from app import app  # import order: after the environment is set

        with Client(app, stage_name="local") as client:
            set_deps(build_deps(settings))
            headers = {"Content-Type": "application/json"}
            for n, traced in ((0, False), (1, True)):
                body = json.dumps({"email": f"lintas{n}@example.com"}).encode()
                if traced:
                    sys.setprofile(profile)
                try:
                    answer = client.http.post("/v1/registrations", headers=headers, body=body)
                finally:
                    sys.setprofile(None)
                assert answer.status_code == 201, answer.body
            set_deps(None)
    return sum(pairs.values()), sorted(touched), pairs


def main() -> None:
    crossings, modules, pairs = trace_registration_start()
    print(f"registration start (warm): {crossings} crossings between {len(modules)} project modules")
    for (caller, callee), count in pairs.most_common(12):
        print(f"  {count:3d}  {caller} -> {callee}")


if __name__ == "__main__":
    main()

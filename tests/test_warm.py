"""Container init and SnapStart: what is primed, and that restored copies share no randomness.

A SnapStart restore starts many containers from one memory image. ``os.fork`` after
the runtime's before-snapshot hooks ran makes the same thing on one machine: two
processes with byte-identical memory. Everything the app draws at random must still
differ between them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json, os, sys
import snapshot_restore_py
import gc
import app  # the init phase: routes, and under SnapStart only the hook registration

hooks = snapshot_restore_py.get_before_snapshot()
before = {"hooks": len(hooks), "ses_loaded": "chalicelib.flows.registration" in sys.modules}
collector = {"after_import": [gc.isenabled(), gc.get_freeze_count() > 1000]}
frozen_at_import = gc.get_freeze_count()
for func, args, kwargs in hooks:  # what the runtime does before taking the snapshot
    func(*args, **kwargs)
collector["after_hooks"] = [gc.isenabled(), gc.get_freeze_count() >= frozen_at_import]
from chalicelib import aws
primed = {
    "modules": sorted(m for m in ("chalicelib.flows.registration", "chalicelib.flows.sessions", "argon2", "jwt")
                      if m in sys.modules),
    "clients": sorted(aws._clients),
}

def draw():
    from chalicelib import limits, tokens, totp
    from chalicelib.challenges import codes as otp
    from chalicelib.config import get_settings
    from chalicelib.storage.flows import new_flow_id
    from chalicelib.passwords import SecretHasher
    return {
        "code": otp.generate_code(),
        "code_id": otp.new_code_id(),
        "flow_id": new_flow_id(),
        "refresh_token": tokens.new_refresh_token(),
        "access_token": tokens.issue_access_token(b"k" * 32, "i", "a", "acc", "ses", 1.0, 60),
        "argon2_salt": SecretHasher(get_settings()).hash("Sama-Sama-1").split("$")[-2],
        "totp_secret": totp.new_secret(),
        "sealed_secret": totp.seal(b"k" * 32, "acc", "JBSWY3DPEHPK3PXP"),
        "recovery_codes": totp.new_recovery_codes(),
        "limit_stamp": limits._stamp(1.0),
    }

copies = []
for _ in range(2):  # two containers restored from the same snapshot
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, json.dumps(draw()).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    copies.append(json.loads(data))
print(json.dumps({"before": before, "primed": primed, "copies": copies, "collector": collector}))
"""


def _run(initialization: str) -> dict[str, object]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SANDI_", "AWS_"))},
        "SANDI_STAGE": "dev",
        "SANDI_SECRET_KEY": "a-fixed-stage-secret-as-read-from-ssm",
        "SANDI_STAFF_POOL_ID": "ap-southeast-3_test",
        "SANDI_STAFF_CLIENT_ID": "console",
        "AWS_DEFAULT_REGION": "ap-southeast-3",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization,
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_snapstart_primes_every_journey_in_the_snapshot_hook_and_copies_share_no_randomness() -> None:
    result = _run("snap-start")
    before, primed, copies = result["before"], result["primed"], result["copies"]
    assert before == {"hooks": 1, "ses_loaded": False}  # import only registers the hook
    assert primed["modules"] == ["argon2", "chalicelib.flows.registration", "chalicelib.flows.sessions", "jwt"]  # type: ignore[index]
    assert {"dynamodb@ap-southeast-3", "ses@ap-southeast-3", "sns@ap-southeast-3"} <= set(primed["clients"])  # type: ignore[index]
    first, second = copies  # type: ignore[misc]
    for name, value in first.items():
        if value is not None:
            assert value != second[name], f"two restored containers drew the same {name}"
    assert set(first["recovery_codes"]).isdisjoint(second["recovery_codes"])


def test_init_runs_without_the_collector_and_leaves_it_on_with_init_frozen() -> None:
    """What init built is frozen before the first request (and before the snapshot), and
    the collector is on for the requests, under SnapStart and on an ordinary cold start."""
    for initialization in ("snap-start", "on-demand"):
        collector = _run(initialization)["collector"]
        assert collector == {"after_import": [True, True], "after_hooks": [True, True]}, initialization


def test_an_ordinary_cold_start_primes_only_what_every_request_needs() -> None:
    result = _run("on-demand")
    assert result["before"] == {"hooks": 0, "ses_loaded": False}
    primed = result["primed"]
    assert primed["clients"] == ["dynamodb@ap-southeast-3"]  # type: ignore[index]
    assert primed["modules"] == []  # type: ignore[index]


def test_every_model_and_endpoint_file_is_parsed_once_per_container() -> None:
    """One botocore session: PynamoDB and every client share its loader cache."""
    script = r"""
import collections, json
import botocore.loaders
parsed = collections.Counter()
original = botocore.loaders.JSONFileLoader.load_file
def counted(self, file_path):
    parsed[file_path] += 1
    return original(self, file_path)
botocore.loaders.JSONFileLoader.load_file = counted
from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.warm import prime
from chalicelib.storage.models import ALL_MODELS
prime(get_settings(), full=True)  # every client, every model's connection
for model in ALL_MODELS:
    assert model._get_connection().connection.client is aws.client("dynamodb", get_settings().region)
print(json.dumps({"files": len(parsed), "twice": [p for p, n in parsed.items() if n > 1]}))
"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SANDI_", "AWS_"))},
        "SANDI_STAGE": "local",
        "SANDI_SECRET_KEY": "k",
        "AWS_DEFAULT_REGION": "ap-southeast-3",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["files"] >= 4 and result["twice"] == []

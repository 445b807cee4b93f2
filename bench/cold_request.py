"""The cold request: a fresh interpreter imports the app and answers one request.

What a member waits for when their request lands on a new Lambda container is the
import *and* the first request, so both are measured together, in a fresh process,
through the Lambda handler entry point (``app.app(event, context)`` with an API
Gateway proxy event), against the local stack's emulator.

The floor is a fresh interpreter making the very same AWS calls with plain boto3
through one session: the calls are recorded from the app (an unmeasured run), then
replayed. Sign-in includes one argon2id verification on both sides.

Two measurements of the same runs, which must agree within their noise: from outside
(the parent times the whole process, interpreter start to exit) and from inside (the
child's import and first-request split). The collector's own time in each child is
recorded too, for the app as it ships (collector off during init, init frozen) and as it
was before (collector on): its share of init is the reason the two measurements once
disagreed. A restore is measured as well: a process primed as for a SnapStart snapshot,
forked, answers its first request, against a warm request of the same process.

    python -m bench.cold_request      # prints the table; bench.run writes it to docs
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHILD = ROOT / "bench" / "cold_child.py"
SECRET = "bench-cold-request-secret-not-for-any-real-stage"
TARGET = 1.05
RESTORE_TARGET = 2.0  # a restored container's first request against a warm one


def _event(path: str, body: dict[str, Any], resource: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Accept-Language": "id", "X-Forwarded-For": "203.0.113.7"}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": "POST",
            "path": "/api" + path,
            "stage": "api",
            "requestId": "bench",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _child(mode: str, job: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run one fresh interpreter; its wall time and what it printed (split, status, peak memory)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(job, f)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), mode, f.name], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = proc.communicate()
    wall = (time.perf_counter() - started) * 1000
    os.unlink(f.name)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed: {err.decode()[-2000:]}")
    return {"wall_ms": wall, **json.loads(out.decode().strip().splitlines()[-1])}


def _wipe_counters(dynamodb: Any) -> None:
    """Limits and lockouts back to zero, untimed, so every run is a first try."""
    for item in dynamodb.scan(TableName="sandi-local-counters", ProjectionExpression="counter_key")["Items"]:
        dynamodb.delete_item(TableName="sandi-local-counters", Key={"counter_key": item["counter_key"]})


def _passkey(urls: Any, who: Any, token: str) -> tuple[Any, dict[str, str]]:
    """A passkey for ``who`` (added through the stack), an event maker for its sign-in
    (fresh options each time, the counter rising), and the floor's signature job."""
    import base64
    import hashlib

    import requests
    from cryptography.hazmat.primitives import serialization

    from tests.webauthn_device import SoftwareAuthenticator, unb64

    phone = SoftwareAuthenticator(origin=urls.api.replace("127.0.0.1", "localhost"))
    headers = {"Authorization": f"Bearer {token}"}
    started = requests.post(
        urls.api + "/v1/me/passkeys/options", json={"password": who.password}, headers=headers
    ).json()
    made = phone.create(started["options"])
    added = requests.post(
        urls.api + "/v1/me/passkeys", json={"flow_id": started["flow_id"], "credential": made}, headers=headers
    )
    assert added.status_code == 201, added.text

    def event(_: int) -> dict[str, Any]:
        options = requests.post(urls.api + "/v1/sessions/passkey/options", json={}).json()
        credential = phone.get(options["options"], origin="http://localhost:8000")  # the child's local origin
        return _event("/v1/sessions/passkey", {"flow_id": options["flow_id"], "credential": credential})

    sample = phone.get({"challenge": "AAAA", "rpId": "localhost"}, counter=0)
    data = (
        unb64(sample["response"]["authenticatorData"])
        + hashlib.sha256(unb64(sample["response"]["clientDataJSON"])).digest()
    )
    pem = (
        phone.credentials[0]
        .key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    ecdsa = {
        "public_pem": pem.decode(),
        "data": base64.b64encode(data).decode(),
        "signature": base64.b64encode(unb64(sample["response"]["signature"])).decode(),
    }
    return event, ecdsa


def _journeys(who: Any, hasher: Any, settings: Any, passkey: tuple[Any, dict[str, str]]) -> dict[str, Any]:
    """name -> (event maker for run i, argon2 job for the floor or None, the floor's extra work)."""
    argon2 = {
        "time_cost": settings.argon2_time_cost,
        "memory_cost": settings.argon2_memory_cost,
        "parallelism": settings.argon2_parallelism,
        "hash": hasher.hash(who.password),
        "secret": who.password,
        "after_call": 1,  # the app verifies after reading the login and reserving the try
    }
    nik_body = {"full_name": who.full_name, "nik": who.nik, "birth_date": who.birth_date}
    return {
        "registration start": (lambda i: _event("/v1/registrations", {"email": f"dingin{i}@example.com"}), None, {}),
        "sign-in (password)": (
            lambda i: _event("/v1/sessions", {"login": who.email, "password": who.password}),
            argon2,
            {},
        ),
        "forgot-PIN start": (lambda i: _event("/v1/pin-resets", nik_body), None, {}),
        # the floor checks the one ES256 signature with cryptography; the app also loads
        # py_webauthn on a container's first passkey step (primed under SnapStart: restore)
        "sign-in (passkey)": (passkey[0], None, {"ecdsa": passkey[1]}),
    }


def measure(runs: int = 9) -> dict[str, Any]:
    """Median wall and peak memory of app and floor per journey, runs interleaved."""
    import compileall

    # As the package ships it: bytecode beside every module (Lambda cannot write it).
    compileall.compile_file(str(ROOT / "app.py"), quiet=2)
    compileall.compile_dir(str(ROOT / "chalicelib"), quiet=2)
    from chalicelib.config import load_settings  # import order: after the environment is set
    from chalicelib.passwords import SecretHasher  # import order: after the environment is set
    from local.client import emulator_client, running  # import order: after the environment is set
    from tests.conftest import person
    from tests.stack_client import StackClient

    settings = load_settings({"SANDI_STAGE": "local", "SANDI_SECRET_KEY": SECRET})
    with running(ROOT / ".bench-devstack.log", extra_env={"SANDI_SECRET_KEY": SECRET}) as urls:
        who = person(903)
        token = StackClient(urls).register(who)["session"]["access_token"]  # type: ignore[arg-type]
        passkey = _passkey(urls, who, token)
        dynamodb = emulator_client("dynamodb", urls.emulator)
        config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["local"]["environment_variables"]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SANDI_", "AWS_"))},
            **config,
            "SANDI_SECRET_KEY": SECRET,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_REGION": settings.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": urls.emulator,
            "PYTHONPATH": str(ROOT),
        }
        results: dict[str, Any] = {}
        calls_dir = Path(tempfile.mkdtemp())
        for name, (event, argon2, extra) in _journeys(who, SecretHasher(settings), settings, passkey).items():
            calls_path = str(calls_dir / (name.split()[0] + ".json"))
            _wipe_counters(dynamodb)
            recorded = _child("record", {"event": event(0), "calls_path": calls_path}, env)
            assert recorded["status"] in (200, 201), recorded
            app_runs, floor_runs, before_runs, restores = [], [], [], []
            for i in range(1, runs + 1):
                _wipe_counters(dynamodb)
                app_runs.append(_child("app", {"event": event(i), "calls_path": calls_path}, env))
                _wipe_counters(dynamodb)
                floor_runs.append(_child("floor", {"calls_path": calls_path, "argon2": argon2, **extra}, env))
                _wipe_counters(dynamodb)
                before_runs.append(_child("app-collector-on", {"event": event(100 + i), "calls_path": calls_path}, env))
                _wipe_counters(dynamodb)
                restores.append(_child("restore", {"event": event(200 + i), "warm_event": event(300 + i)}, env))
            assert all(r["status"] in (200, 201) for r in app_runs + restores), [r["status"] for r in app_runs]
            calls = json.loads(Path(calls_path).read_text())
            summary = _summary(app_runs, floor_runs, [f"{c['service']}.{c['operation']}" for c in calls])
            summary["before_gc_ms"] = statistics.median(r["gc_ms"] for r in before_runs)
            summary["before_import_ms"] = statistics.median(r["import_ms"] for r in before_runs)
            summary["before_wall_ms"] = statistics.median(r["wall_ms"] for r in before_runs)
            summary["restore_first_ms"] = statistics.median(r["request_ms"] for r in restores)
            summary["restore_warm_ms"] = statistics.median(r["warm_ms"] for r in restores)
            results[name] = summary
        return results


def _summary(app_runs: list[dict[str, Any]], floor_runs: list[dict[str, Any]], calls: list[str]) -> dict[str, Any]:
    def med(rows: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in rows))

    def paired(key: Any) -> list[float]:
        """Each app run against the floor run made right after it: the machine's drift
        (a virtual machine's neighbours, its clock) hits both sides of a pair alike."""
        return [key(a) / key(f) for a, f in zip(app_runs, floor_runs, strict=True)]

    app_ms, floor_ms = med(app_runs, "wall_ms"), med(floor_runs, "wall_ms")
    outside = paired(lambda r: r["wall_ms"])
    inside = paired(lambda r: r["import_ms"] + r["request_ms"])
    half = len(outside) // 2
    ratio = float(statistics.median(outside))
    return {
        "app_ms": app_ms,
        "floor_ms": floor_ms,
        "ratio": ratio,
        "inside_ratio": float(statistics.median(inside)),
        # the paired ratio's own run-to-run noise: first half of the runs against the second
        "noise": abs(statistics.median(outside[:half]) - statistics.median(outside[half:])),
        "gc_ms": med(app_runs, "gc_ms"),
        "app_mib": med(app_runs, "peak_mib"),
        "floor_mib": med(floor_runs, "peak_mib"),
        "app_import_ms": med(app_runs, "import_ms"),
        "app_request_ms": med(app_runs, "request_ms"),
        "floor_import_ms": med(floor_runs, "import_ms"),
        "floor_request_ms": med(floor_runs, "request_ms"),
        "calls": calls,
        "runs": len(app_runs),
    }


def table(results: dict[str, Any]) -> str:
    """Markdown: one row per journey, app against floor, from outside and from inside."""
    lines = [
        "| fresh process, first request | app wall | floor wall | outside ratio | inside ratio | noise | "
        "app import / request | floor import / calls | collector in the app's init (before) | app peak | "
        "floor peak | AWS calls (both sides) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        verdict = "ok" if max(r["ratio"], r["inside_ratio"]) <= TARGET else f"over {TARGET}"
        agree = "agree" if abs(r["ratio"] - r["inside_ratio"]) <= max(r["noise"], 0.01) else "DISAGREE"
        lines.append(
            f"| {name} | {r['app_ms']:.0f} ms | {r['floor_ms']:.0f} ms | **{r['ratio']:.2f}x** ({verdict}) | "
            f"{r['inside_ratio']:.2f}x ({agree}) | ±{r['noise']:.2f} | "
            f"{r['app_import_ms']:.0f} / {r['app_request_ms']:.0f} ms | "
            f"{r['floor_import_ms']:.0f} / {r['floor_request_ms']:.0f} ms | "
            f"{r['gc_ms']:.0f} ms ({r['before_gc_ms']:.0f} ms of {r['before_import_ms']:.0f} ms import) | "
            f"{r['app_mib']:.0f} MiB | {r['floor_mib']:.0f} MiB | {', '.join(r['calls'])} |"
        )
    return "\n".join(lines)


def restore_table(results: dict[str, Any]) -> str:
    """Markdown: a restored (forked, primed) container's first request against a warm one."""
    lines = [
        "| restored container | first request | warm request | ratio |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        ratio = r["restore_first_ms"] / r["restore_warm_ms"]
        verdict = "ok" if ratio <= RESTORE_TARGET else f"over {RESTORE_TARGET}"
        lines.append(
            f"| {name} | {r['restore_first_ms']:.1f} ms | {r['restore_warm_ms']:.1f} ms | "
            f"**{ratio:.2f}x** ({verdict}) |"
        )
    return "\n".join(lines)


def main() -> None:
    results = measure()
    print(f"Cold request, median of {next(iter(results.values()))['runs']} fresh interpreters (target <= {TARGET}x)")
    print(table(results))
    print(f"\nRestore (goal <= {RESTORE_TARGET}x of a warm request)")
    print(restore_table(results))


if __name__ == "__main__":
    main()

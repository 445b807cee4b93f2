"""One fresh interpreter's cold request, run by bench/cold_request.py (not imported).

    python bench/cold_child.py app    JOB.json   # import app, one request via the handler
    python bench/cold_child.py record JOB.json   # the same, writing the AWS calls it made
    python bench/cold_child.py floor  JOB.json   # plain boto3, one session, those calls
    python bench/cold_child.py app-collector-on JOB.json   # the app as before issue 29 (gc on at init)
    python bench/cold_child.py restore JOB.json  # primed as for a SnapStart snapshot, forked, two requests

Prints one JSON line: the import/first-request split (ms) and the answer's status.
Kept free of project imports on the floor side: the floor is what a hand-written
Lambda with boto3 would load.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

started = time.perf_counter()
mode, job_path = sys.argv[1], sys.argv[2]
with open(job_path) as f:
    job = json.load(f)

# The collector's own time (every collection, whoever triggers it) until the answer.
collector = {"ms": 0.0, "n": 0, "since": 0.0}


def _watch(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        collector["since"] = time.perf_counter()
    else:
        collector["ms"] += (time.perf_counter() - collector["since"]) * 1000
        collector["n"] += 1


gc.callbacks.append(_watch)
if mode == "app-collector-on":  # the app as it was: nothing turns the collector off or freezes
    gc.disable = lambda: None  # type: ignore[assignment]
    gc.freeze = lambda: None  # type: ignore[assignment]


class Context:
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    function_name = "sandi-bench-APIHandler"
    memory_limit_in_mb = 1024

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15000


def run_app(record: bool) -> dict[str, object]:
    calls: list[dict[str, object]] = []
    if record:  # on the shared session before the app makes any client (unmeasured run)
        from chalicelib import aws  # import order: after the environment is set

        def keep(params: dict[str, object], model: object, **_: object) -> None:
            service = model.service_model.service_name  # type: ignore[attr-defined]
            calls.append({"service": service, "operation": model.name, "params": params})  # type: ignore[attr-defined]

        aws.session().register("before-parameter-build", keep)
    import app  # import order: after the environment is set

    imported = time.perf_counter()
    answer = app.app(job["event"], Context())
    done = time.perf_counter()
    if record:
        with open(job["calls_path"], "w") as f:
            json.dump(calls, f)
    return {
        "import_ms": (imported - started) * 1000,
        "request_ms": (done - imported) * 1000,
        "status": answer["statusCode"],
        "gc_ms": collector["ms"],
        "gc_n": collector["n"],
    }


def run_restore() -> dict[str, object]:
    """A SnapStart container: init with everything primed (the before-snapshot hook), then
    a fork stands for a container restored from that snapshot. Its first request against
    a second, warm request of the same process."""
    import app  # import order: after the environment is set
    from chalicelib import warm  # import order: after the environment is set
    from chalicelib.config import get_settings  # import order: after the environment is set

    warm._frozen(lambda: warm.prime(get_settings(), full=True))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the restored container
        os.close(read)
        timings = []
        for event in (job["event"], job["warm_event"]):
            begun = time.perf_counter()
            answer = app.app(event, Context())
            timings.append(((time.perf_counter() - begun) * 1000, answer["statusCode"]))
        os.write(write, json.dumps(timings).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    (first_ms, first_status), (warm_ms, _) = json.loads(os.read(read, 65536).decode())
    return {"import_ms": 0.0, "request_ms": first_ms, "warm_ms": warm_ms, "status": first_status}


def run_floor() -> dict[str, object]:
    import boto3
    from botocore import xform_name
    from botocore.exceptions import ClientError

    imported = time.perf_counter()
    session = boto3.session.Session()
    clients: dict[str, object] = {}
    if job.get("argon2"):
        from argon2 import PasswordHasher

        a = job["argon2"]
        hasher = PasswordHasher(time_cost=a["time_cost"], memory_cost=a["memory_cost"], parallelism=a["parallelism"])
    with open(job["calls_path"]) as f:
        calls = json.load(f)
    for i, call in enumerate(calls):
        service = call["service"]
        if service not in clients:
            clients[service] = session.client(service)
        try:
            getattr(clients[service], xform_name(call["operation"]))(**call["params"])
        except ClientError:
            pass  # a refused condition is still the same round trip
        if job.get("argon2") and i == job["argon2"]["after_call"]:
            hasher.verify(a["hash"], a["secret"])
        if job.get("ecdsa") and i == 0:  # a passkey's signature, checked after the one read
            verify_ecdsa(job["ecdsa"])
    done = time.perf_counter()
    return {"import_ms": (imported - started) * 1000, "request_ms": (done - imported) * 1000, "status": 0}


def verify_ecdsa(e: dict[str, str]) -> None:
    """What a hand-written passkey sign-in must do at least: one ES256 signature check."""
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(e["public_pem"].encode())
    key.verify(base64.b64decode(e["signature"]), base64.b64decode(e["data"]), ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr,call-arg]


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM starts afresh at exec, unlike ru_maxrss)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


if mode == "floor":
    result = run_floor()
elif mode == "restore":
    result = run_restore()
else:
    result = run_app(record=mode == "record")
print(json.dumps({**result, "peak_mib": peak_mib()}), flush=True)
# A Lambda container is never torn down after its first request: neither side pays an
# interpreter shutdown (garbage collection of every module) in the measured time.
os._exit(0)

"""`make bench`: every benchmark against its floor, written to docs/PERFORMANCE.md.

Figures are ratios against a floor measured in the same run (these machines are
noisy). Plots are PNGs beside the report. The load test is `make load` (bench.load);
its last result is included when `--with-load` is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

from bench import (
    argon2_cost,
    breached_cost,
    cleanup_cost,
    cold_request,
    cost,
    forgot_email_timing,
    journeys,
    login_timing,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _plot_steps(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["step"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6), sharey=True)
    y = range(len(names))
    left.barh(y, [r["round_trips"] for r in rows], color="#4c72b0", label="round trips")
    left.barh(y, [r["floor"] for r in rows], color="none", edgecolor="black", label="floor: writes per state change")
    left.axvline(2, color="red", linestyle="--", label="target: 2")
    left.set_yticks(list(y), names)
    left.invert_yaxis()
    left.set_xlabel("DynamoDB round trips per step")
    left.legend(loc="lower right")
    right.barh(y, [r["p99_ms"] for r in rows], color="#dd8452", label="p99")
    right.barh(y, [r["p50_ms"] for r in rows], color="#55a868", label="p50")
    right.set_xlabel("handler time, ms (emulator time subtracted)")
    right.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_cold(cold: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(cold)
    fig, ax = plt.subplots(figsize=(8, 3))
    y = range(len(names))
    app_import = [cold[n]["app_import_ms"] for n in names]
    app_rest = [cold[n]["app_ms"] - cold[n]["app_import_ms"] for n in names]
    ax.barh([i - 0.2 for i in y], app_import, height=0.38, color="#55a868", label="app: start + import (init)")
    ax.barh([i - 0.2 for i in y], app_rest, left=app_import, height=0.38, color="#8fd19e", label="app: first request")
    ax.barh([i + 0.2 for i in y], [cold[n]["floor_ms"] for n in names], height=0.38, color="#4c72b0", label="floor")
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.set_xlabel("ms, fresh process to first answer (median)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def report(with_load: bool, runs: int) -> str:
    cold = cold_request.measure(runs=15)
    print("cold request measured")
    rows = journeys.summarize(journeys.measure(runs))
    print("journeys measured")
    argon_chosen = argon2_cost.best_ms(argon2_cost.SecretHasher(argon2_cost.load_settings({"SANDI_STAGE": "local"})))
    clean = cleanup_cost.measure()
    print("cleanup measured")
    breached = breached_cost.measure()
    print("breached list measured")
    timing_local, timing_http = login_timing.in_process(), login_timing.over_http()
    print("sign-in timing measured")
    forgot = forgot_email_timing.over_http()
    print("forgot-email timing measured")
    load = None
    if with_load:
        from bench import load as load_test  # import order: after the environment is set

        load = load_test.run(180, 8)
        print("load measured")
    _plot_steps(rows, DOCS / "steps.png")
    _plot_cold(cold, DOCS / "coldrequest.png")
    email = cost.per_verification(rows, "password reset start", "password reset verify", "email")
    sms = cost.per_verification(rows, "phone", "phone verify", "sms")
    plain = [r for r in rows if not r["argon2"]]
    secret = [r for r in rows if r["argon2"]]
    step_rows = [
        [
            r["step"],
            r["round_trips"],
            r["floor"],
            f"{r['round_trips'] / max(r['floor'], 1):.1f}",
            f"{r['rru']:.1f} / {r['wru']:.1f}",
            f"{r['reported']:.1f}",
            f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
        ]
        for r in plain + secret
    ]
    parts = [
        "# Performance",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, by `make bench` (regenerate with it). Each figure stands next to a "
        "floor measured in the same run.",
        "",
        "## Cold request",
        "",
        "What a member waits for when a request lands on a new container: a fresh interpreter imports the app and "
        "answers one request through the Lambda handler entry point (`app.app(event, context)`, an API Gateway "
        "proxy event) against the local stack's emulator. The floor is a fresh interpreter making the same AWS calls "
        "(recorded from the app, then replayed) with plain boto3 through one session; the sign-in floor also "
        "verifies one argon2id hash. 15 fresh processes each, app and floor interleaved; the ratio is the median of "
        "the 15 pairs' own ratios (a pair runs back to back, so the machine's drift hits both sides alike); "
        "neither side pays an interpreter shutdown (a container is not torn down after its first request). "
        "The app's sources are compiled first, as the package ships them (`make package` adds the `.pyc` files). "
        "Before issue 11 (as the issue measured it, registration start): 0.90 s against 0.49 s, 1.85x.",
        "",
        cold_request.table(cold),
        "",
        "Outside ratio: the whole process as the parent times it (interpreter start to exit). Inside ratio: the "
        "child's own import + first-request split, app against floor. The two agree within the run's noise (each "
        "side's median over the first half of the runs against the second half). *Collector*: the garbage "
        "collector's own time in the app's process until its answer, now (off during init, what init built frozen: "
        "app.py, chalicelib/warm.py) and as before issue 29 (the same app with the collector left on, measured in "
        "the same run); a collection during init frees nothing and landed at random in one import or another, which "
        "is why the two measurements once disagreed (1.10x inside, 1.25-1.35x outside).",
        "",
        "A restored container (SnapStart): a process primed as the before-snapshot hook primes it, forked, answers "
        "its first request; beside it a second, warm request of the same process (goal: within 2x).",
        "",
        cold_request.restore_table(cold),
        "",
        "Import / request is the split inside the app's process: *import* is the init phase (interpreter start, "
        "`import app`, and priming: the botocore session, the DynamoDB model and client, the tables' connections; "
        "chalicelib/warm.py); *request* is the first answer (the journey's own modules: SES for an email, argon2 "
        "for a secret). Under SnapStart the init is snapshotted with every journey primed, so a restored "
        "container starts at the request column with the models already parsed.",
        "",
        "![cold request](coldrequest.png)",
        "",
        "## DynamoDB round trips, capacity and handler time per step",
        "",
        f"{runs} passes over every journey, in-process against moto. Round trips counted at botocore; every call "
        "is sent with `ReturnConsumedCapacity=TOTAL` and what comes back is summed, but moto reports a fixed value "
        "per call, so the read / write units column applies DynamoDB's on-demand rules for items under 1 KB (1 unit "
        "per write or consistent read, 2 per transactional item). Handler time is wall time minus time inside AWS "
        "calls. Floor: one write per "
        "state change. Steps that check a password or PIN are listed last; their time is mostly argon2 "
        f"(one hash: {argon_chosen:.0f} ms with the configured parameters).",
        "",
        _table(
            [
                "step",
                "round trips",
                "floor",
                "ratio",
                "read / write units",
                "emulator-reported units",
                "p50 ms",
                "p99 ms",
            ],
            step_rows,
        ),
        "",
        f"Steps above two round trips: {', '.join(r['step'] for r in rows if r['round_trips'] > 2) or 'none'}: "
        'each kept with its measured options in docs/decisions.md ("Three round trips, step by step"): a login '
        "or a bearer token names the account, which must be read before the attempt is reserved on it, and the "
        "reservation must be written before argon2 compares.",
        "",
        "![steps](steps.png)",
        "",
        "## The breached-password list",
        "",
        f"{int(breached['passwords']):,} passwords in a {breached['file_kib']:.0f} KiB file "
        "(`chalicelib/data/breached_passwords.txt.gz`). Reading it costs the first password-setting step of a "
        f"container **{breached['read_ms']:.0f} ms** (median of 9 fresh interpreters; floor, the same interpreter "
        f"not reading it: {breached['floor_ms']:.2f} ms); sign-ins and every other step never read it, and "
        "SnapStart reads it before the snapshot.",
        "",
        "## Cleanup",
        "",
        f"{clean['live']:,} live and {clean['expired']:,} expired flows: the run read **{clean['read']:,}** index "
        f"entries and purged **{clean['purged']:,}** ({clean['read'] / max(clean['purged'], 1):.2f} reads per purge; "
        f"floor 1.00) in {clean['round_trips']:,} round trips and {clean['seconds']:.1f} s against the emulator. A "
        f"full scan would read all {clean['scan_items']:,} items "
        f"({clean['scan_items'] / max(clean['purged'], 1):.0f} per purge).",
        "",
        "## Sign-in timing by path (no account oracle)",
        "",
        "Five wrong sign-ins, each answered `401`, interleaved so drift hits every path alike; lockout counters put "
        "back between requests (untimed), so each is a first wrong try; production argon2 parameters. The fifth "
        "path is a login nobody ever tried (a new address each time: its guard item does not exist yet). Before the "
        "fix (issue 9, over loopback): wrong password for a known login p50 70 ms / 57 ms, unknown login 44 ms / "
        "37 ms, a 20-26 ms gap; a first try answered about 4 ms slower than a real account's wrong try (issue 24).",
        "",
        "In-process against moto (the emulator's own time included, as an attacker sees it):",
        "",
        login_timing.table(timing_local),
        "",
        "Over HTTP against the local stack (`python -m local.devstack`, loopback):",
        "",
        login_timing.table(timing_http),
        "",
        "## Forgot-email timing",
        "",
        "`POST /v1/email-recoveries` for a member's number and a stranger's, interleaved, over HTTP against the local "
        "stack (send caps lifted for the run; the dev stack's outbox sender, another function in AWS, runs after "
        "the measurement). Since issue 28 the request writes one outbox item on both paths, "
        "never calls SNS, and reads only the four account attributes it needs (a member's whole account took ~4 ms "
        "longer to read and decode than a miss); before, a member's number also waited for SNS's Publish "
        "(measured then: member 64.0 ms, stranger 59.9 ms, a 4.0 ms gap against 0.2 ms of noise).",
        "",
        forgot_email_timing.table(forgot),
        "",
        "## Cost per verification (AWS list prices)",
        "",
        "One verification = the send step and the verify step. Lambda at 1024 MB for the measured handler time plus "
        f"assumed in-region latencies ({cost.AWS_LATENCY_MS['dynamodb']:.0f} ms per DynamoDB round trip, "
        f"{cost.AWS_LATENCY_MS['message']:.0f} ms per SES/SNS call); API Gateway REST; DynamoDB on-demand.",
        "",
        _table(
            ["", "email code", "SMS code"],
            [
                ["Lambda", f"${email['lambda']:.7f}", f"${sms['lambda']:.7f}"],
                ["API Gateway", f"${email['api_gateway']:.7f}", f"${sms['api_gateway']:.7f}"],
                ["DynamoDB", f"${email['dynamodb']:.7f}", f"${sms['dynamodb']:.7f}"],
                ["**Sandi total**", f"**${email['compute_total']:.6f}**", f"**${sms['compute_total']:.6f}**"],
                [
                    "message fee (apart)",
                    f"${email['message']:.5f} (SES)",
                    f"${sms['message']:.4f} (SNS, Indonesia; assumed, unverified)",
                ],
                ["hosted verification service, fee alone", f"${email['hosted_fee']:.2f}", f"${sms['hosted_fee']:.2f}"],
            ],
        ),
        "",
        f"Sandi's own cost is about **{email['hosted_fee'] / email['compute_total']:,.0f}x** below a hosted "
        "verification fee (before either's message fees). Prices: "
        + ", ".join(f"{k} ${v:g}" for k, v in cost.PRICES.items())
        + ".",
    ]
    if load:
        parts += [
            "",
            "## Load (local stack, loopback)",
            "",
            f"{load['clients']} simulated clients for {load['seconds']} s (registrations with codes from the inbox, "
            f"sign-ins right and wrong, password resets): **{load['requests']:,} requests, "
            f"{load['throughput']:.1f} req/s**, latency p50 {load['p50_ms']:.0f} ms, p95 {load['p95_ms']:.0f} ms, "
            f"p99 {load['p99_ms']:.0f} ms (one process serving, the emulator serialized: this measures the code path "
            f"under contention, not AWS capacity). Unintended errors: **{load['errors']}**. Afterwards: "
            f"{load['tables']['accounts']} accounts, {load['tables']['orphaned_claims']} orphaned claims, "
            f"{load['tables']['accounts_without_4_claims']} accounts without their four claims, "
            f"{load['tables']['duplicated_niks']} duplicated NIKs; the most messages any one address or number "
            f"received: {load['most_to_one']} (cap: 10 per 24 h). Hot keys (national budgets on): of "
            f"{load['writes']:,} writes, the hottest key that is not one member's own is {load['hot_key']} with "
            f"{load['hot_share']:.2%} (limit 1%; with one budget item and one index key, as before issue 26: "
            f"{load['unsharded_key']} at {load['unsharded_share']:.2%}). Writes by table: {load['writes_by_table']}.",
            "",
            _table(
                ["", "first minute", "last minute"],
                [["p50 latency", f"{load['first_minute_p50_ms']:.0f} ms", f"{load['last_minute_p50_ms']:.0f} ms"]],
            ),
            "",
            "A flat stack answers the last minute as fast as the first: the inbox takes only new messages after "
            "each emulator request and the emulator's transactions copy only their own items "
            "(local/emulator_fixes.py). Before that change (issue 11; the same 3-minute test, same machine): "
            "first minute 556 ms, last minute 901 ms, 8.5 req/s.",
        ]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-load", action="store_true")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    text = report(args.with_load, args.runs)
    (DOCS / "PERFORMANCE.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

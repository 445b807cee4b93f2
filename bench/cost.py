"""What one verification costs in AWS list prices, from measured work.

A verification is the send step and the verify step of a code (two requests), as
measured in bench.journeys for "password reset start" + "password reset verify" (email)
and "phone" + "phone verify" (SMS). Prices are us-east-1 on-demand list prices as
published by AWS (Jakarta differs by a few percent); the message fee is shown apart.
"""

from __future__ import annotations

from typing import Any

PRICES = {
    "lambda_gb_second": 0.0000166667,
    "lambda_request": 0.20 / 1e6,
    "api_gateway_request": 3.50 / 1e6,  # REST API, first 333 M a month
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "ses_email": 0.10 / 1000,
    # An unverified assumption (not confirmed from AWS's price list; cross-border prices to
    # Indonesia are reported far higher): read the Indonesia row before budgeting.
    "sns_sms_indonesia": 0.0400,
    "hosted_verify_fee": 0.05,  # a hosted verification service's fee per verification, before channel fees
}
LAMBDA_GB = 1.0  # 1024 MB, as configured
AWS_LATENCY_MS = {"dynamodb": 6.0, "message": 60.0}  # assumed in-region latencies replacing the emulator's


def per_verification(rows: list[dict[str, Any]], send: str, verify: str, channel: str) -> dict[str, float]:
    """Dollar cost of one verification made of the ``send`` and ``verify`` steps."""
    steps = [r for r in rows if r["step"] in (send, verify)]
    duration_ms = sum(
        r["p50_ms"] + r["round_trips"] * AWS_LATENCY_MS["dynamodb"] + r["messages"] * AWS_LATENCY_MS["message"]
        for r in steps
    )
    lam = duration_ms / 1000 * LAMBDA_GB * PRICES["lambda_gb_second"] + len(steps) * PRICES["lambda_request"]
    api = len(steps) * PRICES["api_gateway_request"]
    ddb = sum(r["rru"] for r in steps) * PRICES["dynamodb_rru"] + sum(r["wru"] for r in steps) * PRICES["dynamodb_wru"]
    message = PRICES["ses_email"] if channel == "email" else PRICES["sns_sms_indonesia"]
    return {
        "lambda": lam,
        "api_gateway": api,
        "dynamodb": ddb,
        "compute_total": lam + api + ddb,
        "message": message,
        "duration_ms": duration_ms,
        "hosted_fee": PRICES["hosted_verify_fee"],
    }

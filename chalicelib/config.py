"""Settings: one frozen object built from the environment.

This is the only module that reads ``os.environ``. Every limit in ``API.md`` is a
setting so a stage can tune it without a code change.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    """Every tunable of the service, with the defaults of ``API.md``."""

    stage: str = "local"
    region: str = "ap-southeast-3"
    table_prefix: str = "sandi-local-"
    secret_key: str = ""
    secret_ssm_param: str = ""
    secret_refresh_seconds: int = 60  # how often a container re-reads the secret (a rotation's reach)

    # delivery
    ses_sender: str = "Sandi <no-reply@sandi.local>"
    sms_sender_id: str = "SANDI"
    sms_autofill_domain: str = ""
    sms_android_hash: str = ""
    app_name: str = "Sandi"

    # codes
    code_ttl: int = 300
    code_max_attempts: int = 5
    resend_cooldown: int = 60
    max_sends_per_flow: int = 5
    max_sends_per_destination: int = 10
    destination_window: int = 86400
    delivery_retry_after: int = 30

    # anti-abuse (per hour unless named otherwise); client-address limits and the
    # global SMS budget are switched off in the local stage, where every client is 127.0.0.1
    # Client limits are per IPv4 address (a carrier NAT exit: up to ~1,000 phones at once)
    # or per IPv6 /64 (one subscriber) at ``ipv6_share`` of the IPv4 figure: docs/CAPACITY.md.
    client_limits_enabled: int = 1
    ipv6_share: float = 0.1
    sms_budget_enabled: int = 1
    sms_per_client_per_hour: int = 600
    sms_per_prefix_per_hour: int = 30
    # national budgets survive the planning point (1 million sign-ups in a day, 10% in the
    # peak hour: ~100,000 SMS and emails an hour), split over shards so no item is hot
    sms_budget_per_hour: int = 150000
    email_budget_enabled: int = 1
    email_per_client_per_hour: int = 600
    email_budget_per_hour: int = 300000
    budget_shards: int = 32
    identity_attempts_per_nik: int = 5
    identity_attempts_per_client: int = 120
    # registration's profile step answers whether a NIK/KPJ has an account: bounded like forgot-PIN
    profile_attempts_per_flow: int = 5
    profile_attempts_per_value: int = 5
    # the phone step answers 409 for a member's number: numbers per flow and per client address
    phone_numbers_per_flow: int = 5
    phone_numbers_per_client: int = 20
    # sign-in throttle per client address (counted before the check; off locally)
    signin_per_client_per_minute: int = 300
    signin_per_client_per_hour: int = 3000
    ses_decoy_address: str = "success@simulator.amazonses.com"
    ses_configuration_set: str = ""  # its SNS event destination brings delivery receipts ("": none)
    ses_feedback_topic: str = ""

    # flows
    flow_ttl: int = 1800
    second_factor_ttl: int = 300
    registration_flow_ttl: int = 3600

    # identity rules
    kpj_length: int = 11

    # sessions
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 86400
    session_max_age: int = 90 * 86400
    token_issuer: str = "sandi"
    token_audience: str = "sandi-app"

    # argon2id, OWASP's first recommended option: 19 MiB, 2 passes, 1 lane
    argon2_time_cost: int = 2
    argon2_memory_cost: int = 19456
    argon2_parallelism: int = 1

    # sign-in
    max_failed_logins: int = 5
    lock_seconds: int = 900
    max_lock_seconds: int = 3600
    login_guard_ttl: int = 90 * 86400
    max_pin_failures: int = 10

    # HTTP
    max_body_bytes: int = 16384

    # passkeys (WebAuthn): the relying party, the web origins it accepts, and the apps
    # allowed to use its passkeys (comma-separated lists)
    passkey_rp_id: str = "localhost"
    passkey_origins: str = "http://localhost:8000"  # https://<rp id> in deployed stages
    android_packages: str = ""  # com.example.sandi,...
    android_cert_fingerprints: str = ""  # SHA-256 of each signing certificate, AA:BB:... (release and debug)
    ios_app_ids: str = ""  # <TEAMID>.<bundle id>,...
    passkey_ttl: int = 300
    max_passkeys: int = 10

    # call center: the stage's Cognito staff pool (the template sets these; the local
    # stack creates the pool in the emulator and sets them itself)
    staff_pool_id: str = ""
    staff_client_id: str = ""
    staff_jwks_url: str = ""  # empty: Cognito's own address for the pool
    staff_idp_endpoint: str = ""  # empty: https://cognito-idp.<region>.amazonaws.com/ (the console signs in there)

    # operations
    audit_retention_days: int = 400
    audit_page_size: int = 50
    cleanup_minutes: int = 15
    cleanup_batch: int = 200

    def table(self, name: str) -> str:
        """The DynamoDB table name for a logical table in this stage."""
        return f"{self.table_prefix}{name}"


def _env_name(field_name: str) -> str:
    return "SANDI_" + field_name.upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``SANDI_*`` variables (and the AWS region variables)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(_env_name(f.name))
        if raw is None or raw == "":
            continue
        values[f.name] = int(raw) if f.type == "int" else raw
    if "region" not in values:
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
    stage = str(values.get("stage", Settings.stage))
    values.setdefault("table_prefix", f"sandi-{stage}-")
    values.setdefault("ses_feedback_topic", f"sandi-{stage}-ses-feedback")
    if stage == "local":
        values.setdefault("client_limits_enabled", 0)
        values.setdefault("sms_budget_enabled", 0)
        values.setdefault("email_budget_enabled", 0)
    if not values.get("secret_key") and not values.get("secret_ssm_param"):
        if stage != "local":
            raise RuntimeError("SANDI_SECRET_KEY or SANDI_SECRET_SSM_PARAM must be set outside the local stage")
        # The local stage keeps its data in memory, so a key made per process loses nothing.
        values["secret_key"] = secrets.token_urlsafe(32)
    return Settings(**values)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this container, read once."""
    return load_settings()

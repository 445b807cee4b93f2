"""`make preflight STAGE=dev BUCKET=... SENDER=...`: is this AWS account ready for a deploy?

Checks, in the README checklist's order, what a first deployment needs and what a
failed one left behind, and prints each step as ``ok`` or what to do (the exact command,
with its region). Reads only: it changes nothing in the account. Exit status 1 when a
step is not ready.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from infra.build_template import TABLES

ROOT = Path(__file__).resolve().parent.parent
UNRESERVED_MINIMUM = 100  # Lambda keeps this much of the account's concurrency unreserved
TABLE_SUFFIXES = tuple(suffix for _, suffix, *_ in TABLES)  # every table the template creates (and retains)
BROKEN_STACK = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "CREATE_FAILED")

Clients = Callable[[str], Any]  # a boto3 client per service name, in the stage's region


@dataclass(frozen=True)
class Step:
    """One line of the report: ``ok`` or what to do."""

    name: str
    ok: bool
    say: str


def reserved_concurrency(stage: str) -> int:
    """The sum of the stage's reserved concurrency (.chalice/config.json)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    functions = config["stages"].get(stage, {}).get("lambda_functions", {})
    return sum(int(f.get("reserved_concurrency", 0)) for f in functions.values())


def concurrency_needed(stage: str) -> int:
    """The account's Lambda concurrency quota the stage needs: what it reserves plus the
    100 Lambda keeps unreserved (nothing beyond the new-account default when it reserves none)."""
    reserved = reserved_concurrency(stage)
    return reserved + UNRESERVED_MINIMUM if reserved else 0


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def region_enabled(aws: Clients, region: str) -> Step:
    status = aws("account").get_region_opt_status(RegionName=region)["RegionOptStatus"]
    if status in ("ENABLED", "ENABLED_BY_DEFAULT"):
        return Step("region enabled", True, f"{region}: {status}")
    return Step(
        "region enabled",
        False,
        f"{region} is {status}: aws account enable-region --region-name {region} (then wait until ENABLED)",
    )


def lambda_quota(aws: Clients, stage: str, region: str) -> Step:
    needed = concurrency_needed(stage)
    limit = int(aws("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"])
    if limit >= needed:
        return Step("Lambda concurrency", True, f"quota {limit}, stage needs {needed}")
    return Step(
        "Lambda concurrency",
        False,
        f"quota {limit}, stage {stage} reserves {reserved_concurrency(stage)} (+{UNRESERVED_MINIMUM} unreserved): "
        f"aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 "
        f"--desired-value {max(needed, 1000)} --region {region}",
    )


def ses_identity(aws: Clients, sender: str, region: str) -> Step:
    domain = sender.rpartition("@")[2]
    name = "SES identity"
    if not domain or domain.endswith((".example", ".local", ".invalid", ".test")):
        return Step(name, False, f"{sender!r} is a placeholder: deploy with SenderAddress=no-reply@<your domain>")
    try:
        identity = aws("sesv2").get_email_identity(EmailIdentity=domain)
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise
        return Step(
            name,
            False,
            f"{domain} is not an SES identity: aws sesv2 create-email-identity --email-identity {domain} "
            f"--region {region} (publish the three DKIM CNAMEs it prints)",
        )
    missing = []
    if not identity.get("VerifiedForSendingStatus"):
        missing.append("not verified for sending")
    if identity.get("DkimAttributes", {}).get("Status") != "SUCCESS":
        missing.append("DKIM not verified (publish the CNAMEs)")
    mail_from = identity.get("MailFromAttributes", {})
    if mail_from.get("MailFromDomainStatus") != "SUCCESS":
        missing.append(
            "custom MAIL FROM not verified: aws sesv2 put-email-identity-mail-from-attributes "
            f"--email-identity {domain} --mail-from-domain mail.{domain} --region {region} (MX and SPF records)"
        )
    if missing:
        return Step(name, False, f"{domain}: " + "; ".join(missing))
    return Step(name, True, f"{domain}: verified, DKIM, MAIL FROM {mail_from.get('MailFromDomain')}")


def ses_production(aws: Clients, region: str) -> Step:
    if aws("sesv2").get_account().get("ProductionAccessEnabled"):
        return Step("SES production access", True, "out of the sandbox")
    return Step(
        "SES production access",
        False,
        "SES is in the sandbox (mail only to verified addresses): aws sesv2 put-account-details "
        f"--production-access-enabled --mail-type TRANSACTIONAL --website-url <url> --use-case-description "
        f"'one-time codes and security notices' --region {region}",
    )


def sms_sandbox(aws: Clients, region: str) -> Step:
    if not aws("sns").get_sms_sandbox_account_status()["IsInSandbox"]:
        return Step("SNS SMS sandbox", True, "out of the SMS sandbox")
    return Step(
        "SNS SMS sandbox",
        False,
        f"SMS go only to verified numbers: request production SMS for {region} in the SNS console "
        "(Text messaging > Exit SMS sandbox; a support case, answered in about a day)",
    )


def sms_spend(aws: Clients, budget_usd: float, region: str) -> Step:
    attributes = aws("sns").get_sms_attributes(attributes=["MonthlySpendLimit"])["attributes"]
    limit = float(attributes.get("MonthlySpendLimit") or 1)  # AWS's default is USD 1
    if limit >= budget_usd and limit > 1:
        return Step("SNS SMS spend limit", True, f"USD {limit:g}/month (stack budget {budget_usd:g})")
    return Step(
        "SNS SMS spend limit",
        False,
        f"USD {limit:g}/month: ask AWS support for an SMS spend quota of USD {budget_usd:g}, then "
        f"aws sns set-sms-attributes --attributes MonthlySpendLimit={budget_usd:g},DefaultSMSType=Transactional "
        f"--region {region}",
    )


def bucket(aws: Clients, name: str, region: str) -> Step:
    if not name:
        return Step("artifact bucket", False, f"no BUCKET given: aws s3 mb s3://<name> --region {region}")
    try:
        location = aws("s3").get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    except ClientError as exc:
        if _code(exc) not in ("NoSuchBucket", "404", "AccessDenied", "403"):
            raise
        return Step(
            "artifact bucket", False, f"s3://{name} is missing or not yours: aws s3 mb s3://{name} --region {region}"
        )
    if location != region:
        return Step("artifact bucket", False, f"s3://{name} is in {location}: use a bucket in {region}")
    return Step("artifact bucket", True, f"s3://{name} in {region}")


def secret(aws: Clients, stage: str, region: str) -> Step:
    name = f"/sandi-{stage}/secret-key"
    found = aws("ssm").describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    if found and found[0].get("Type") == "SecureString":
        return Step("stage secret", True, f"{name} (SecureString)")
    make = (
        f"aws ssm put-parameter --region {region} --type SecureString --name {name} --value "
        "\"$(.venv/bin/python -c 'from local.rotate_secret import new_document; print(new_document())')\""
    )
    if found:
        return Step(
            "stage secret", False, f"{name} is a {found[0].get('Type')}, not a SecureString: delete it, then {make}"
        )
    return Step("stage secret", False, make)


def stack_state(aws: Clients, stage: str, region: str) -> tuple[Step, bool]:
    """(the step, whether a stack exists)."""
    stack = f"sandi-{stage}"
    try:
        status = aws("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        return Step("stack", True, f"{stack} does not exist yet: a first create"), False
    if status in BROKEN_STACK:
        return (
            Step(
                "stack",
                False,
                f"{stack} is {status} (a failed first create): aws cloudformation delete-stack --stack-name {stack} "
                f"--region {region} && aws cloudformation wait stack-delete-complete --stack-name {stack} "
                f"--region {region}; then run make preflight again for what it kept",
            ),
            True,
        )
    return Step("stack", True, f"{stack} is {status}: an update"), True


def leftovers(aws: Clients, stage: str, region: str) -> list[Step]:
    """What a failed first create keeps (tables, the staff pool, the key's alias: retained
    on purpose) and would make the next create fail with "already exists"."""
    stack = f"sandi-{stage}"
    steps = []
    tables = set(aws("dynamodb").list_tables().get("TableNames", []))
    kept = [f"{stack}-{s}" for s in TABLE_SUFFIXES if f"{stack}-{s}" in tables]
    if kept:
        commands = " && ".join(
            f"aws dynamodb update-table --table-name {t} --no-deletion-protection-enabled --region {region} && "
            f"aws dynamodb delete-table --table-name {t} --region {region}"
            for t in kept
        )
        steps.append(Step("left-over tables", False, f"{len(kept)} tables of a failed create (empty): {commands}"))
    pools = aws("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    for pool in (p for p in pools if p["Name"] == f"{stack}-staff"):
        steps.append(
            Step(
                "left-over staff pool",
                False,
                f"pool {pool['Id']}: aws cognito-idp update-user-pool --user-pool-id {pool['Id']} "
                f"--deletion-protection INACTIVE --region {region} (keeping its other settings) && "
                f"aws cognito-idp delete-user-pool --user-pool-id {pool['Id']} --region {region}",
            )
        )
    aliases = aws("kms").list_aliases()["Aliases"]
    for alias in (a for a in aliases if a["AliasName"] == f"alias/{stack}-events"):
        steps.append(
            Step(
                "left-over key alias",
                False,
                f"aws kms delete-alias --alias-name {alias['AliasName']} --region {region} && aws kms "
                f"schedule-key-deletion --key-id {alias.get('TargetKeyId')} --pending-window-in-days 7 "
                f"--region {region}",
            )
        )
    return steps or [Step("left-overs", True, "nothing of an earlier create is in the way")]


def account_singletons(aws: Clients, account_settings: str, region: str) -> Step:
    """The SNS SMS log groups are one per account and region: a second stage must not create them."""
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=f"sns/{region}/")["logGroups"]
    exists = any(g["logGroupName"].endswith("/DirectPublishToPhoneNumber") for g in groups)
    if exists and account_settings == "create":
        return Step(
            "account-wide settings",
            False,
            "the SNS SMS log groups exist (another stack or an earlier set-up owns them): deploy with "
            "--parameter-overrides AccountSettings=existing",
        )
    if not exists and account_settings == "existing":
        return Step(
            "account-wide settings", False, "no SNS SMS log groups: the first stack needs AccountSettings=create"
        )
    return Step("account-wide settings", True, f"AccountSettings={account_settings}")


def run(
    aws: Clients,
    *,
    stage: str,
    region: str,
    bucket_name: str,
    sender: str,
    sms_budget_usd: float = 500,
    account_settings: str = "create",
) -> list[Step]:
    """Every step, in the README checklist's order."""
    checks: list[tuple[str, Callable[[], Step | list[Step]]]] = [
        ("region enabled", lambda: region_enabled(aws, region)),
        ("Lambda concurrency", lambda: lambda_quota(aws, stage, region)),
        ("SES identity", lambda: ses_identity(aws, sender, region)),
        ("SES production access", lambda: ses_production(aws, region)),
        ("SNS SMS sandbox", lambda: sms_sandbox(aws, region)),
        ("SNS SMS spend limit", lambda: sms_spend(aws, sms_budget_usd, region)),
        ("artifact bucket", lambda: bucket(aws, bucket_name, region)),
        ("stage secret", lambda: secret(aws, stage, region)),
    ]
    steps: list[Step] = []
    for name, check in checks:
        steps += _guarded(name, check)
    stack, exists = _stack_or_error(aws, stage, region)
    steps.append(stack)
    if not exists:
        steps += _guarded("left-overs", lambda: leftovers(aws, stage, region))
        steps += _guarded("account-wide settings", lambda: account_singletons(aws, account_settings, region))
    return steps


def _guarded(name: str, check: Callable[[], Step | list[Step]]) -> list[Step]:
    """A check that could not ask (no permission, no credentials) says so, and the rest go on."""
    try:
        result = check()
    except (ClientError, BotoCoreError) as exc:
        return [Step(name, False, _why_not(exc))]
    return result if isinstance(result, list) else [result]


def _stack_or_error(aws: Clients, stage: str, region: str) -> tuple[Step, bool]:
    try:
        return stack_state(aws, stage, region)
    except (ClientError, BotoCoreError) as exc:
        return Step("stack", False, _why_not(exc)), True


def _why_not(exc: Exception) -> str:
    """Why a check could not ask AWS, and what to do about it."""
    if isinstance(exc, NoCredentialsError):
        return "could not check: no AWS credentials (set AWS_PROFILE, or run where the deploying role is)"
    why = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return f"could not check ({why}): the deploying role needs read access to it"


def report(steps: list[Step]) -> str:
    """The steps as a table: ok, or what to do."""
    width = max(len(s.name) for s in steps)
    return "\n".join(f"{s.name:<{width}}  {'ok  ' if s.ok else 'TODO'}  {s.say}" for s in steps)


def _clients(region: str) -> Clients:
    """A boto3 client per service in ``region`` (credentials from the environment)."""
    import boto3

    session = boto3.session.Session(region_name=region)
    clients: dict[str, Any] = {}

    def aws(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service)
        return clients[service]

    return aws


def main(argv: list[str] | None = None, aws: Clients | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=["dev", "prod"])
    parser.add_argument("--region", default="ap-southeast-3")
    parser.add_argument("--bucket", default="")
    parser.add_argument("--sender", default="", help="SenderAddress, e.g. no-reply@example.co.id")
    parser.add_argument("--sms-budget", type=float, default=500)
    parser.add_argument("--account-settings", default="create", choices=["create", "existing"])
    args = parser.parse_args(argv)
    steps = run(
        aws or _clients(args.region),
        stage=args.stage,
        region=args.region,
        bucket_name=args.bucket,
        sender=args.sender,
        sms_budget_usd=args.sms_budget,
        account_settings=args.account_settings,
    )
    print(report(steps))
    ready = all(s.ok for s in steps)
    print("\nready to deploy" if ready else "\nnot ready: do each TODO above, then run make preflight again")
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())

"""`make preflight`: an account's readiness, as an operator reads it. What the emulator
answers (tables, pools, keys, log groups, the bucket, the secret, an unknown SES
identity, SMS attributes, a missing stack) comes from moto; what it lacks (region
opt-in, Lambda's account settings, SES's account and MAIL FROM status, the SMS sandbox,
a rolled-back stack) from botocore's Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from local import preflight
from tests.conftest import REGION


class Account:
    """A client per service: moto's, with the operations moto lacks answered by a stub."""

    def __init__(self) -> None:
        # moto has no MAIL FROM status for SES identities: a verified identity is stubbed,
        # an unknown one (NotFoundException) is moto's own answer
        self.stubbed = {
            "account": {"get_region_opt_status"},
            "lambda": {"get_account_settings"},
            "sesv2": {"get_account", "get_email_identity"},
            "sns": {"get_sms_sandbox_account_status"},
            "cloudformation": set(),  # moto: "Stack with id ... does not exist"
        }
        self.answers: dict[tuple[str, str], dict[str, Any] | str] = {}

    def answer(self, service: str, operation: str, response: dict[str, Any] | str) -> None:
        """What a stubbed operation returns (a string: that error code)."""
        self.answers[(service, operation)] = response

    def __call__(self, service: str) -> Any:
        real = boto3.client(service, region_name=REGION)
        return _Mixed(real, self, service)


class _Mixed:
    def __init__(self, real: Any, account: Account, service: str) -> None:
        self._real, self._account, self._service = real, account, service

    def __getattr__(self, operation: str) -> Any:
        if operation not in self._account.stubbed.get(self._service, ()):
            return getattr(self._real, operation)

        def call(**kwargs: Any) -> Any:
            client = boto3.client(self._service, region_name=REGION)
            answer = self._account.answers[(self._service, operation)]
            with Stubber(client) as stub:
                if isinstance(answer, str):
                    stub.add_client_error(operation, service_error_code=answer, service_message=f"{answer}: x")
                else:
                    stub.add_response(operation, answer, kwargs or None)
                return getattr(client, operation)(**kwargs)

        return call


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        yield Account()


def ready(account: Account, stage: str = "dev") -> None:
    """An account that has done every step of the README checklist."""
    account.answer("account", "get_region_opt_status", {"RegionName": REGION, "RegionOptStatus": "ENABLED"})
    account.answer("lambda", "get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 1000}})
    account.answer("sesv2", "get_account", {"ProductionAccessEnabled": True})
    account.answer("sns", "get_sms_sandbox_account_status", {"IsInSandbox": False})
    account.answer(
        "sesv2",
        "get_email_identity",
        {
            "VerifiedForSendingStatus": True,
            "DkimAttributes": {"Status": "SUCCESS"},
            "MailFromAttributes": {
                "MailFromDomain": "mail.bpjs.example.co.id",
                "MailFromDomainStatus": "SUCCESS",
                "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
            },
        },
    )
    boto3.client("sns", region_name=REGION).set_sms_attributes(attributes={"MonthlySpendLimit": "500"})
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket="sandi-artifacts", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/sandi-{stage}/secret-key", Value="{}", Type="SecureString"
    )


def run(account: Account, stage: str = "dev", **kw: Any) -> dict[str, preflight.Step]:
    args = {"stage": stage, "region": REGION, "bucket_name": "sandi-artifacts", "sender": "no-reply@bpjs.example.co.id"}
    args.update(kw)
    return {s.name: s for s in preflight.run(account, **args)}


def test_a_ready_account_is_all_ok(account: Account) -> None:
    ready(account, "prod")
    steps = run(account, "prod")
    assert all(s.ok for s in steps.values()), preflight.report(list(steps.values()))
    assert "needs 551" in steps["Lambda concurrency"].say  # prod reserves 451, +100 unreserved
    print(preflight.report(list(steps.values())))


def test_a_new_account_gets_one_command_per_missing_step(account: Account) -> None:
    account.answer("account", "get_region_opt_status", {"RegionName": REGION, "RegionOptStatus": "DISABLED"})
    account.answer("lambda", "get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 10}})
    account.answer("sesv2", "get_account", {"ProductionAccessEnabled": False})
    account.answer("sns", "get_sms_sandbox_account_status", {"IsInSandbox": True})
    steps = run(account, "prod", sender="no-reply@sandi.example", bucket_name="sandi-nowhere")
    todo = {name for name, s in steps.items() if not s.ok}
    assert todo == {
        "region enabled",
        "Lambda concurrency",
        "SES identity",
        "SES production access",
        "SNS SMS sandbox",
        "SNS SMS spend limit",
        "artifact bucket",
        "stage secret",
    }
    assert "aws account enable-region --region-name ap-southeast-3" in steps["region enabled"].say
    assert "--desired-value 1000" in steps["Lambda concurrency"].say and "L-B99A9384" in steps["Lambda concurrency"].say
    assert "placeholder" in steps["SES identity"].say
    assert "USD 1/month" in steps["SNS SMS spend limit"].say  # AWS's default, unless raised
    assert "/sandi-prod/secret-key" in steps["stage secret"].say
    for step in steps.values():
        if not step.ok and "aws " in step.say:
            assert "--region" in step.say, step  # an opt-in region is never the profile's default


def test_dev_needs_no_concurrency_beyond_a_new_account(account: Account) -> None:
    ready(account)
    account.answer("lambda", "get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 10}})
    assert run(account)["Lambda concurrency"].ok


def test_an_unverified_domain_says_what_to_publish(account: Account) -> None:
    ready(account)
    account.stubbed["sesv2"].discard("get_email_identity")  # moto: no such identity
    steps = run(account, sender="no-reply@lain.example.co.id")
    assert not steps["SES identity"].ok
    assert "create-email-identity --email-identity lain.example.co.id" in steps["SES identity"].say


def test_a_failed_first_create_names_what_it_left_behind(account: Account) -> None:
    ready(account)
    from chalicelib.config import load_settings
    from chalicelib.storage.models import create_tables

    create_tables(
        load_settings(
            {
                "SANDI_STAGE": "dev",
                "SANDI_TABLE_PREFIX": "sandi-dev-",
                "SANDI_SECRET_KEY": "x",
                "AWS_DEFAULT_REGION": REGION,
            }
        )
    )
    boto3.client("cognito-idp", region_name=REGION).create_user_pool(PoolName="sandi-dev-staff")
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    boto3.client("kms", region_name=REGION).create_alias(AliasName="alias/sandi-dev-events", TargetKeyId=key)
    steps = run(account)
    assert not steps["left-over tables"].ok and "sandi-dev-accounts" in steps["left-over tables"].say
    assert "--no-deletion-protection-enabled" in steps["left-over tables"].say
    assert "delete-user-pool" in steps["left-over staff pool"].say
    assert "delete-alias --alias-name alias/sandi-dev-events" in steps["left-over key alias"].say
    # the other stage's names are not this stage's left-overs
    assert run(account, "prod")["left-overs"].ok


def test_a_rolled_back_stack_must_be_deleted_first(account: Account) -> None:
    ready(account)
    account.stubbed["cloudformation"].add("describe_stacks")
    account.answer(
        "cloudformation",
        "describe_stacks",
        {
            "Stacks": [
                {"StackName": "sandi-dev", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "ROLLBACK_COMPLETE"}
            ]
        },
    )
    step = run(account)["stack"]
    assert not step.ok and "aws cloudformation delete-stack --stack-name sandi-dev --region ap-southeast-3" in step.say


def test_a_second_stage_in_the_account_must_not_create_the_singletons(account: Account) -> None:
    ready(account)
    boto3.client("logs", region_name=REGION).create_log_group(
        logGroupName=f"sns/{REGION}/123456789012/DirectPublishToPhoneNumber"
    )
    assert "AccountSettings=existing" in run(account)["account-wide settings"].say
    assert run(account, account_settings="existing")["account-wide settings"].ok


def test_dkim_and_mail_from_pending_are_named(account: Account) -> None:
    ready(account)
    account.answer(
        "sesv2",
        "get_email_identity",
        {
            "VerifiedForSendingStatus": True,
            "DkimAttributes": {"Status": "PENDING"},
            "MailFromAttributes": {
                "MailFromDomain": "mail.bpjs.example.co.id",
                "MailFromDomainStatus": "PENDING",
                "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
            },
        },
    )
    say = run(account)["SES identity"].say
    assert "DKIM not verified" in say and "put-email-identity-mail-from-attributes" in say


def test_a_check_it_may_not_read_says_so_and_the_rest_go_on(account: Account) -> None:
    ready(account)
    account.answer("sns", "get_sms_sandbox_account_status", "AuthorizationError")
    steps = run(account)
    assert "could not check (AuthorizationError)" in steps["SNS SMS sandbox"].say
    assert steps["stage secret"].ok


def test_the_command_prints_a_table_and_fails_until_ready(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    ready(account)
    argv = ["--stage", "dev", "--bucket", "sandi-artifacts", "--sender", "no-reply@bpjs.example.co.id"]
    assert preflight.main(argv, aws=account) == 0
    assert "ready to deploy" in capsys.readouterr().out
    assert preflight.main(["--stage", "dev", "--bucket", "none", "--sender", "no-reply@x.example"], aws=account) == 1
    out = capsys.readouterr().out
    assert "TODO" in out and "not ready" in out and "placeholder" in out


def test_no_credentials_is_said_plainly() -> None:
    from botocore.exceptions import NoCredentialsError

    def aws(service: str) -> Any:
        class Client:
            def __getattr__(self, name: str) -> Any:
                def call(**kwargs: Any) -> Any:
                    raise NoCredentialsError()

                return call

        return Client()

    steps = {s.name: s for s in preflight.run(aws, stage="dev", region=REGION, bucket_name="b", sender="a@b.co.id")}
    assert "no AWS credentials" in steps["region enabled"].say and "no AWS credentials" in steps["stack"].say

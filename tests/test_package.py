"""The deployable artifact: built without credentials, slim, and valid CloudFormation."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra import build_template
from tests.conftest import ROOT


def test_committed_template_matches_its_generator() -> None:
    assert json.loads(build_template.OUT.read_text()) == build_template.build()


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(out), "AWS_DEFAULT_REGION": "ap-southeast-3"}  # no credentials
    subprocess.run(
        [sys.executable, "-m", "local.package", "--stage", "prod", "--out", str(out)], cwd=ROOT, env=env, check=True
    )
    return out


def test_package_is_slim_and_ships_no_sdk(package: Path) -> None:
    zip_path = package / "deployment.zip"
    # cryptography (AES-GCM for the authenticator secret) is most of it: ~4 MB of native
    # code; the compiled bytecode adds ~2.3 MB and saves compiling at every cold start.
    assert zip_path.stat().st_size < 12_000_000
    names = zipfile.ZipFile(zip_path).namelist()
    assert "app.py" in names and "chalicelib/flows/registration.py" in names
    assert not any(n.startswith(("botocore/", "boto3/")) for n in names)
    assert not any(n.startswith(("tests/", "local/", "bench/")) for n in names)


def test_template_declares_tables_topic_schedule_and_least_privilege(package: Path) -> None:
    template = json.loads((package / "sam.json").read_text())
    resources = template["Resources"]
    tables = {k: v for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table"}
    assert len(tables) == 9
    for table in tables.values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
    assert resources["FlowsTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "expires_at"
    assert any(v["Type"] == "AWS::SNS::Topic" for v in resources.values())
    assert "CleanupEvent" in resources["Cleanup"]["Properties"]["Events"]
    for role in ("ApiHandlerRole", "CleanupRole", "SesFeedbackRole", "SmsReceiptsRole"):
        statements = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        actions = [a for s in statements for a in s["Action"]]
        assert actions and not any(a == "*" or a.endswith(":*") for a in actions)  # named actions only


def _grants(statements: list[dict[str, Any]]) -> set[str]:
    """``service:Action:resource`` of a role's statements, tables by logical name (as
    chalicelib/permissions.py writes them); platform statements (own logs, DLQ) apart."""
    from infra.build_template import TABLE_LOGICAL

    by_logical = {logical: suffix for suffix, logical in TABLE_LOGICAL.items()}
    found = set()
    for statement in statements:
        if statement["Sid"] in ("OwnLogs", "DeadLetters", "OutboxStream"):
            continue
        resource = statement["Resource"]
        if isinstance(resource, dict) and "Fn::GetAtt" in resource:
            name = by_logical[resource["Fn::GetAtt"][0]]
        elif isinstance(resource, dict) and "/index/" in resource.get("Fn::Sub", ""):
            logical, index = resource["Fn::Sub"].removeprefix("${").split(".Arn}/index/")
            name = f"{by_logical[logical]}/{index}"
        else:
            name = "*"
        found |= {f"{action}:{name}" for action in statement["Action"]}
    return found


def test_every_role_grants_exactly_what_its_function_calls(package: Path) -> None:
    from chalicelib.permissions import CALLS, granted

    resources = json.loads((package / "sam.json").read_text())["Resources"]
    roles = {"APIHandler": "ApiHandlerRole", "Cleanup": "CleanupRole", "SesFeedback": "SesFeedbackRole"}
    roles["SmsReceipts"] = "SmsReceiptsRole"
    roles["OutboxSender"] = "OutboxSenderRole"
    assert set(roles) == set(CALLS)
    for function, role in roles.items():
        assert resources[function]["Properties"]["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        statements = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        assert len(resources[role]["Properties"]["Policies"]) == 1
        assert _grants(statements) == granted(function), function
        logs = next(s for s in statements if s["Sid"] == "OwnLogs")
        assert (
            logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"] and function in logs["Resource"]["Fn::Sub"]
        )
    # the cleanup and receipt functions never see accounts or claims
    for function in ("Cleanup", "SesFeedback", "SmsReceipts", "OutboxSender"):
        assert not any(g.split(":")[2] in ("accounts", "claims") for g in granted(function))


def test_guard_rails_are_in_front(package: Path) -> None:
    resources = json.loads((package / "sam.json").read_text())["Resources"]
    stage = json.loads((ROOT / "infra" / "stages.json").read_text())["prod"]
    settings = resources["RestAPI"]["Properties"]["MethodSettings"][0]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (
        stage["throttle_rate"],
        stage["throttle_burst"],
    )
    rules = {r["Name"]: r for r in resources["ApiFirewall"]["Properties"]["Rules"]}
    rate = rules["RatePerClientIp"]["Statement"]["RateBasedStatement"]
    assert rate == {"Limit": stage["waf_requests_per_5_min_per_ip"], "AggregateKeyType": "IP"}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= set(rules)
    assert "restapis/${RestAPI}/stages/api" in resources["ApiFirewallOnStage"]["Properties"]["ResourceArn"]["Fn::Sub"]
    groups = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Logs::LogGroup"]
    assert groups and all(g["RetentionInDays"] == stage["log_retention_days"] for g in groups)
    for function in ("APIHandler", "Cleanup", "SesFeedback", "SmsReceipts", "OutboxSender"):
        assert resources[function]["Properties"]["ReservedConcurrentExecutions"] > 0
        assert any(g["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${" + function + "}"} for g in groups)
    assert "WafBlocksAlarm" in resources


def test_the_security_scanner_passes_or_every_finding_is_justified(package: Path) -> None:
    checkov = ROOT / ".venv-scan" / "bin" / "checkov"
    assert checkov.exists(), "make test installs checkov in .venv-scan (requirements-scan.txt)"
    command = [str(checkov), "-f", str(package / "sam.json"), "--framework", "cloudformation", "--skip-download"]
    command += ["-o", "json"]  # --skip-download: no call to the vendor's API, nothing leaves the machine
    done = subprocess.run(command, capture_output=True, text=True)
    report = json.loads(done.stdout)
    assert report["summary"]["failed"] == 0, [
        (f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]
    ]
    decisions = (ROOT / "docs" / "decisions.md").read_text()
    assert report["summary"]["passed"] > 0 and report["results"]["skipped_checks"]
    for skipped in report["results"]["skipped_checks"]:
        assert skipped["check_result"]["suppress_comment"], skipped["check_id"]
        assert skipped["check_id"] in decisions, f"{skipped['check_id']} is not justified in docs/decisions.md"


def test_cfn_lint_passes(package: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(package / "sam.json")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_staff_pool_and_its_authorizer(package: Path) -> None:
    resources = json.loads((package / "sam.json").read_text())["Resources"]
    pool = resources["StaffUserPool"]["Properties"]
    assert pool["MfaConfiguration"] == "ON" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert pool["UserPoolAddOns"]["AdvancedSecurityMode"] == "ENFORCED"
    client = resources["StaffUserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False and client["AccessTokenValidity"] <= 60
    groups = {v["Properties"]["GroupName"] for v in resources.values() if v["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert groups == {"agent", "supervisor"}
    body = resources["RestAPI"]["Properties"]["DefinitionBody"]
    authorizer = body["securityDefinitions"]["StaffPool"]["x-amazon-apigateway-authorizer"]
    assert authorizer["providerARNs"] == [{"Fn::GetAtt": ["StaffUserPool", "Arn"]}]
    admin_ops = [op for path, ops in body["paths"].items() if path.startswith("/v1/admin/") for op in ops.values()]
    assert admin_ops and all(
        op.get("security") == [{"StaffPool": ["aws.cognito.signin.user.admin"]}] for op in admin_ops
    )
    member_ops = [op for path, ops in body["paths"].items() if path.startswith("/v1/me") for op in ops.values()]
    assert member_ops and not any("security" in op for op in member_ops)


def test_the_ses_topic_uses_a_customer_key_that_ses_may_use(package: Path) -> None:
    resources = json.loads((package / "sam.json").read_text())["Resources"]
    assert resources["SesFeedbackTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "EventTopicKey"}
    key = resources["EventTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    by_sid = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    for sid, service in (
        ("SesPublishesEvents", "ses.amazonaws.com"),
        ("SnsDeliversEvents", "sns.amazonaws.com"),
        ("CloudWatchPublishesAlarms", "cloudwatch.amazonaws.com"),
    ):
        statement = by_sid[sid]
        assert statement["Principal"] == {"Service": service}
        assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]  # nothing more
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    services = [s for s in key["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert len(services) == 3  # no other service may use the key


def test_functions_run_on_a_snapstart_runtime_with_snapstart_on(package: Path) -> None:
    resources = json.loads((package / "sam.json").read_text())["Resources"]
    functions = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {"APIHandler", "Cleanup", "SesFeedback", "SmsReceipts", "OutboxSender"}
    for props in functions.values():
        major, minor = props["Runtime"].removeprefix("python").split(".")
        assert (int(major), int(minor)) >= (3, 12)  # the Python runtimes SnapStart supports
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"} and props["AutoPublishAlias"] == "live"
    # API Gateway calls the published alias (SnapStart applies to versions, not $LATEST).
    api = json.dumps(resources["RestAPI"])
    assert "${APIHandler.Arn}" not in api and "${APIHandlerAliaslive}" in api
    assert resources["APIHandlerInvokePermission"]["Properties"]["FunctionName"] == {"Ref": "APIHandlerAliaslive"}


def test_the_package_carries_bytecode_for_the_runtime_python(package: Path) -> None:
    runtime = json.loads((package / "sam.json").read_text())["Resources"]["APIHandler"]["Properties"]["Runtime"]
    tag = "cpython-" + runtime.removeprefix("python").replace(".", "")
    assert tag == sys.implementation.cache_tag  # the venv's Python is the runtime's
    names = set(zipfile.ZipFile(package / "deployment.zip").namelist())
    for module in ("app", "chalicelib/flows/registration", "pynamodb/models", "email_validator/syntax"):
        folder, _, stem = module.rpartition("/")
        assert f"{folder + '/' if folder else ''}__pycache__/{stem}.{tag}.pyc" in names, module


def test_delivery_receipts_reach_their_handlers(package: Path) -> None:
    resources = json.loads((package / "sam.json").read_text())["Resources"]
    destination = resources["EmailEventsToTopic"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "EmailEvents"}
    events = destination["EventDestination"]
    assert sorted(events["MatchingEventTypes"]) == ["bounce", "complaint", "delivery", "deliveryDelay", "reject"]
    assert events["SnsDestination"]["TopicARN"] == {"Ref": "SesFeedbackTopic"}
    api_env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api_env["SANDI_SES_CONFIGURATION_SET"] == {"Ref": "EmailEvents"}
    filters = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Logs::SubscriptionFilter"]
    assert len(filters) == 2 and all(f["DestinationArn"] == {"Ref": "SmsReceiptsAliaslive"} for f in filters)
    # the stack that owns the account's SMS log groups subscribes to its own; another names them
    owned = [f["LogGroupName"]["Fn::If"] for f in filters]
    assert all(condition == "OwnsAccountSettings" for condition, _, _ in owned)
    groups = {resources[mine["Ref"]]["Properties"]["LogGroupName"]["Fn::Sub"] for _, mine, _ in owned}
    assert groups == {theirs["Fn::Sub"] for _, _, theirs in owned}
    assert groups == {
        "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber",
        "sns/${AWS::Region}/${AWS::AccountId}/DirectPublishToPhoneNumber/Failure",
    }


def test_operators_get_alarms_and_a_dashboard(package: Path) -> None:
    resources = json.loads((package / "sam.json").read_text())["Resources"]
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert {
        "SmsFailureRateAlarm",
        "SesBounceRateAlarm",
        "SmsBudgetAlarm",
        "Api5xxAlarm",
        "DynamoWriteThrottleAlarm",
    } <= set(alarms)
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "OpsAlarmTopic"}] and "Runbook" in alarm["AlarmDescription"]
    readme = (ROOT / "README.md").read_text()
    for name in alarms:
        assert f"`{name}`" in readme, f"{name} has no runbook line in the README"
    body = json.dumps(resources["OpsDashboard"]["Properties"]["DashboardBody"])
    from chalicelib.metrics import NAMES

    assert all(name in body for name in NAMES)

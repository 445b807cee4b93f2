"""What AWS will see: the SAM transform of each stage's package, linted, and the
cross-file facts that a green emulator run cannot show (issue 22)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.sam import INLINE_TEMPLATE_LIMIT, transform
from local.preflight import UNRESERVED_MINIMUM, concurrency_needed
from tests.conftest import ROOT

STAGES = ("dev", "prod")


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each stage's `make package` output, built without credentials."""
    out = {}
    for stage in STAGES:
        folder = tmp_path_factory.mktemp(f"package-{stage}")
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "AWS_DEFAULT_REGION": "ap-southeast-3"}
        subprocess.run(
            [sys.executable, "-m", "local.package", "--stage", stage, "--out", str(folder)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        out[stage] = folder
    return out


@pytest.fixture(scope="module")
def expanded(packages: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Each stage's template as CloudFormation expands it (the SAM transform)."""
    return {stage: transform(json.loads((folder / "sam.json").read_text())) for stage, folder in packages.items()}


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


@pytest.mark.parametrize("stage", STAGES)
def test_the_expanded_template_lints_clean(stage: str, expanded: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / f"{stage}.json"
    path.write_text(json.dumps(expanded[stage]))
    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr  # no waiver: every finding is fixed


@pytest.mark.parametrize("stage", STAGES)
def test_exactly_one_api_stage_and_it_is_the_guarded_one(stage: str, expanded: dict[str, dict[str, Any]]) -> None:
    template = expanded[stage]
    stages = _of_type(template, "AWS::ApiGateway::Stage")
    assert [s["Properties"]["StageName"] for s in stages.values()] == ["api"]
    for deployment in _of_type(template, "AWS::ApiGateway::Deployment").values():
        assert "StageName" not in deployment["Properties"]  # SAM's extra "Stage" stage
    guarded = template["Resources"]["ApiFirewallOnStage"]["Properties"]["ResourceArn"]["Fn::Sub"]
    assert guarded.endswith("/stages/api")
    api = template["Resources"]["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert api["Name"] == {"Fn::Sub": "${AWS::StackName}"}  # alarms read the API by a per-stack name


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_responses_live_inside_the_api_definition(stage: str, expanded: dict[str, dict[str, Any]]) -> None:
    template = expanded[stage]
    assert not _of_type(template, "AWS::ApiGateway::GatewayResponse")  # they would race the deployment
    responses = template["Resources"]["RestAPI"]["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    expected = {
        "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"),  # an unknown route
        "UNAUTHORIZED": ("401", "unauthenticated"),
        "ACCESS_DENIED": ("403", "forbidden"),
        "WAF_FILTERED": ("403", "forbidden"),
        "THROTTLED": ("429", "rate_limited"),
        "DEFAULT_5XX": ("500", "internal_error"),
    }
    for kind, (status, code) in expected.items():
        body = json.loads(responses[kind]["responseTemplates"]["application/json"])
        assert (responses[kind]["statusCode"], body["error"]["code"]) == (status, code), kind
    assert responses["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"]
    firewall = template["Resources"]["ApiFirewall"]["Properties"]
    rate_rule = next(r for r in firewall["Rules"] if r["Name"] == "RatePerClientIp")
    custom = rate_rule["Action"]["Block"]["CustomResponse"]
    assert custom["ResponseCode"] == 429
    body = json.loads(firewall["CustomResponseBodies"][custom["CustomResponseBodyKey"]]["Content"])
    assert body["error"]["code"] == "rate_limited"


def test_every_auth_flow_the_console_starts_is_allowed_on_the_deployed_client(
    expanded: dict[str, dict[str, Any]],
) -> None:
    script = (ROOT / "chalicelib" / "static" / "console" / "console.js").read_text()
    flows = set(re.findall(r'AuthFlow:\s*"([A-Z_]+)"', script))
    assert flows  # the console does sign in somewhere
    for template in expanded.values():
        allowed = template["Resources"]["StaffUserPoolClient"]["Properties"]["ExplicitAuthFlows"]
        assert {f"ALLOW_{flow}" for flow in flows} <= set(allowed)
        invitation = template["Resources"]["StaffUserPool"]["Properties"]["AdminCreateUserConfig"]
        assert "InviteMessageTemplate" in invitation  # by email: the pool has no SMS role


def _readme_commands(prefix: str) -> list[str]:
    """Every shell command in the README that starts with ``prefix``, continuation lines joined."""
    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip().startswith(prefix)]


def test_the_readme_deploys_the_template_the_way_its_size_needs(packages: dict[str, Path]) -> None:
    deploys = _readme_commands("aws cloudformation deploy")
    assert deploys
    for folder in packages.values():
        size = (folder / "sam.json").stat().st_size
        if size > INLINE_TEMPLATE_LIMIT:
            assert all("--s3-bucket" in d for d in deploys), f"a {size}-byte template cannot be deployed inline"
    for deploy in deploys:
        assert "CAPABILITY_IAM" in deploy and "SenderAddress=" in deploy


def test_every_aws_command_in_the_readme_names_its_region() -> None:
    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    commands = re.findall(r"`?(aws [a-z0-9-]+ [a-z0-9-]+[^`\n]*(?:\n   [^`\n]*)*)", text)
    assert len(commands) > 10
    for command in commands:
        assert "--region" in command or "enable-region" in command or "get-region-opt-status" in command, command


def _quota_row(name: str) -> dict[str, int]:
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(f"| {name} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    return {"dev": int(cells[2]), "prod": int(cells[3])}


def test_reserved_concurrency_fits_the_quota_the_readme_asks_for(packages: dict[str, Path]) -> None:
    asked = _quota_row("Lambda concurrent executions")
    for stage, folder in packages.items():
        functions = _of_type(json.loads((folder / "sam.json").read_text()), "AWS::Serverless::Function")
        reserved = sum(f["Properties"].get("ReservedConcurrentExecutions", 0) for f in functions.values())
        needed = reserved + UNRESERVED_MINIMUM if reserved else 0
        assert needed == concurrency_needed(stage)  # what make preflight checks is what the package reserves
        assert needed <= asked[stage], f"{stage} reserves {reserved}: the README must ask for at least {needed}"
    assert asked["dev"] <= 10  # dev deploys into a new account as it comes


def _emitted() -> dict[str, set[str]]:
    """Each metric the code emits, with the dimension names it passes."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for name, args in re.findall(r'metrics\.count\(\s*"(\w+)"([^)]*)\)', path.read_text()):
            found.setdefault(name, set()).update(re.findall(r"(\w+)=", args))
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_every_metric_an_alarm_reads_is_emitted_with_its_stage(stage: str, expanded: dict[str, dict[str, Any]]) -> None:
    from chalicelib import metrics

    emitted = _emitted()
    template = expanded[stage]
    read = 0
    for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values():
        assert len([q for q in alarm["Properties"]["Metrics"] if "MetricStat" in q]) <= 10  # CloudWatch's limit
        for query in alarm["Properties"]["Metrics"]:
            metric = query.get("MetricStat", {}).get("Metric")
            if not metric or metric["Namespace"] != metrics.NAMESPACE:
                continue
            read += 1
            dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            assert metric["MetricName"] in emitted, metric["MetricName"]
            assert dims.get("stage") == {"Ref": "Stage"}
            others = set(dims) - {"stage"}
            assert others <= emitted[metric["MetricName"]], (metric["MetricName"], others)
            # an EMF line publishes exactly these dimension sets
            assert sorted(dims) in metrics._dimension_sets({d: "x" for d in emitted[metric["MetricName"]]})
    assert read >= 2
    stage_parameter = json.loads((ROOT / "infra" / "resources.json").read_text())["Parameters"]["Stage"]
    assert stage in stage_parameter["AllowedValues"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_package_knows_its_stage_and_asks_for_the_sender(stage: str, packages: dict[str, Path]) -> None:
    template = json.loads((packages[stage] / "sam.json").read_text())
    assert template["Parameters"]["Stage"]["Default"] == stage
    assert "Default" not in template["Parameters"]["SenderAddress"]  # no placeholder SES can never verify
    for function in ("APIHandler", "Cleanup"):
        variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["SANDI_SES_SENDER"] == {"Fn::Sub": "Sandi <${SenderAddress}>"}
        assert template["Resources"][function]["Properties"]["AutoPublishAliasAllProperties"] is True
    subscription = template["Resources"]["SesFeedback"]["Properties"]["Events"]["SesFeedbackSnsSubscription"]
    assert subscription["Properties"]["Topic"] == {"Ref": "SesFeedbackTopic"}
    for name in ("ApiUrl", "StaffUserPoolId", "SmsDeliveryStatusRoleArn", "SesFeedbackTopicArn", "OpsAlarmTopicArn"):
        assert name in template["Outputs"], name


def test_account_wide_singletons_are_created_by_one_stack_only(expanded: dict[str, dict[str, Any]]) -> None:
    template = expanded["prod"]
    for logical in ("SmsDeliveryLogs", "SmsFailureLogs", "SmsDeliveryStatusRole", "ApiGatewayLogsRole"):
        assert template["Resources"][logical]["Condition"] == "OwnsAccountSettings", logical
    account = template["Resources"]["ApiGatewayAccount"]
    assert account["Condition"] == "OwnsAccountSettings"
    # the API (and so its stage, with access logs) waits for the account's logging role
    assert "ApiGatewayAccountReady" in template["Resources"]["RestAPI"]["DependsOn"]
    role = template["Resources"]["SmsDeliveryStatusRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert "logs:CreateLogGroup" in role["Statement"][0]["Action"]


def test_a_custom_domain_serves_the_root_with_tls_1_2(expanded: dict[str, dict[str, Any]]) -> None:
    resources = expanded["prod"]["Resources"]
    domain = resources["ApiDomain"]
    assert domain["Condition"] == "HasCustomDomain"
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    mapping = resources["ApiDomainRoot"]["Properties"]
    assert "BasePath" not in mapping and mapping["Stage"] == "api"  # the root: /.well-known/ lives there

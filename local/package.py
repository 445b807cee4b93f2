"""`make package STAGE=dev`: the deployable artifact, built without AWS credentials.

Runs `chalice package --merge-template infra/resources.json`, then removes from the zip
what the Lambda Python runtime already provides (boto3, botocore and their
dependencies: see docs/decisions.md), adds compiled bytecode for the runtime's Python,
and points API Gateway at the function's SnapStart alias. Prints the sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import subprocess
import sys
import zipfile
from pathlib import Path

from infra.build_template import LIVE_ALIAS

ROOT = Path(__file__).resolve().parent.parent
# Provided by the AWS Lambda Python runtime.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


def slim(zip_path: Path) -> tuple[int, int]:
    """Drop runtime-provided packages from the zip; (bytes before, bytes after)."""
    before = zip_path.stat().st_size
    slimmed = zip_path.with_suffix(".slim.zip")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(slimmed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            top = info.filename.split("/")[0]
            name = top.split("-")[0] if top.endswith(".dist-info") else top
            if name.replace("python_", "") in RUNTIME_PROVIDED or top in RUNTIME_PROVIDED:
                continue
            if "__pycache__/" in info.filename:
                continue  # a working tree's bytecode: compile_bytecode makes fresh, checked-in-zip ones
            dst.writestr(info, src.read(info))
    slimmed.replace(zip_path)
    return before, zip_path.stat().st_size


def compile_bytecode(zip_path: Path) -> int:
    """Add each module's ``.pyc`` for this interpreter (the runtime's minor version).

    Lambda's ``/var/task`` is read-only, so without them every cold start compiles the
    app and its libraries from source. ``unchecked-hash`` pycs are used as they are: the
    zip is immutable. Returns how many were added.
    """
    import compileall
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(zip_path) as src:
            src.extractall(tmp)
        compileall.compile_dir(
            tmp, quiet=2, ddir="/var/task", invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        added = 0
        with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED) as dst:
            known = set(dst.namelist())
            for pyc in sorted(Path(tmp).rglob("*.pyc")):
                name = pyc.relative_to(tmp).as_posix()
                if name not in known:
                    dst.write(pyc, name)
                    added += 1
    return added


def invoke_live_alias(template_path: Path) -> None:
    """API Gateway invokes the function's published alias (SnapStart applies to versions);
    the SES feedback subscription names the stack's topic by reference.

    chalice writes the integration and the invoke permission for ``$LATEST``; SAM's
    ``AutoPublishAlias`` makes the alias ``APIHandlerAlias<name>`` (its Ref is the alias
    ARN), which both are pointed at here.
    """
    alias = f"APIHandlerAlias{LIVE_ALIAS}"
    template = json.loads(template_path.read_text())
    resources = template["Resources"]
    text = json.dumps(resources["RestAPI"])
    resources["RestAPI"] = json.loads(text.replace("${APIHandler.Arn}", "${" + alias + "}"))
    resources["APIHandlerInvokePermission"]["Properties"]["FunctionName"] = {"Ref": alias}
    # chalice names the SES feedback topic by a string built from the stage; the stack's
    # topic by reference cannot drift from the one SES publishes to.
    subscription = resources["SesFeedback"]["Properties"]["Events"]["SesFeedbackSnsSubscription"]
    subscription["Properties"]["Topic"] = {"Ref": "SesFeedbackTopic"}
    template_path.write_text(json.dumps(template, indent=2) + "\n")


def apply_stage(template_path: Path, stage: str) -> None:
    """The stage's guard rails (infra/stages.json): API throttling, the WAF rate per client
    address, log retention."""
    values = json.loads((ROOT / "infra" / "stages.json").read_text()).get(stage)
    if values is None:
        return
    template = json.loads(template_path.read_text())
    resources = template["Resources"]
    for setting in resources["RestAPI"]["Properties"]["MethodSettings"]:
        setting["ThrottlingRateLimit"] = values["throttle_rate"]
        setting["ThrottlingBurstLimit"] = values["throttle_burst"]
    for rule in resources["ApiFirewall"]["Properties"]["Rules"]:
        if "RateBasedStatement" in rule["Statement"]:
            rule["Statement"]["RateBasedStatement"]["Limit"] = values["waf_requests_per_5_min_per_ip"]
    for resource in resources.values():
        if resource["Type"] == "AWS::Logs::LogGroup":
            resource["Properties"]["RetentionInDays"] = values["log_retention_days"]
    # The package knows its stage: the metrics' dimension the alarms read.
    template["Parameters"]["Stage"].update(Default=stage, AllowedValues=[stage])
    template_path.write_text(json.dumps(template, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    out = Path(args.out or ROOT / "dist" / args.stage)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-southeast-3")}
    # chalice imports app.py to read the routes but does not apply the stage's variables
    # then: the app must know its stage (the staff routes get the Cognito authorizer).
    env["SANDI_STAGE"] = args.stage
    env.setdefault("SANDI_SECRET_SSM_PARAM", f"/sandi-{args.stage}/secret-key")
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run(
        [str(chalice), "package", "--stage", args.stage, "--merge-template", "infra/resources.json", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    before, after = slim(out / "deployment.zip")
    compiled = compile_bytecode(out / "deployment.zip")
    invoke_live_alias(out / "sam.json")
    apply_stage(out / "sam.json", args.stage)
    shipped = (out / "deployment.zip").stat().st_size
    print(
        f"{out}/sam.json and deployment.zip: {before / 1e6:.1f} MB as chalice built it, {after / 1e6:.2f} MB "
        f"without the SDK, {shipped / 1e6:.2f} MB shipped with {compiled} compiled modules"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`make package STAGE=dev`: the deployable artifact, built without AWS credentials.

Runs `chalice package --merge-template infra/resources.json`, then removes from the zip
what the Lambda Python runtime already provides (boto3, botocore and their
dependencies): see docs/decisions.md. Prints the sizes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import zipfile
from pathlib import Path

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
            dst.writestr(info, src.read(info))
    slimmed.replace(zip_path)
    return before, zip_path.stat().st_size


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
    env.setdefault("SANDI_SECRET_SSM_PARAM", f"/sandi/{args.stage}/secret-key")
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run(
        [str(chalice), "package", "--stage", args.stage, "--merge-template", "infra/resources.json", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    before, after = slim(out / "deployment.zip")
    print(f"{out}/sam.json and deployment.zip: {before / 1e6:.1f} MB as chalice built it, {after / 1e6:.2f} MB shipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What CloudFormation will see: the SAM transform of a packaged template, run offline.

`make package` writes SAM (`AWS::Serverless::*`); CloudFormation expands it with the
SAM translator before anything is created. The same translator (aws-sam-translator,
the library cfn-lint bundles) runs here, so tests lint and check the expanded template
(one API stage, gateway responses in the body, the alias wiring), not only the packaged
one.
"""

from __future__ import annotations

import copy
import os
from typing import Any

# What `aws cloudformation deploy` accepts inline; larger templates need --s3-bucket.
INLINE_TEMPLATE_LIMIT = 51_200


def transform(template: dict[str, Any], region: str = "ap-southeast-3") -> dict[str, Any]:
    """The CloudFormation template SAM expands ``template`` into (code from S3, as after
    ``aws cloudformation package``)."""
    from samtranslator.parser import parser
    from samtranslator.translator.translator import Translator

    document = copy.deepcopy(template)
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://sandi-artifacts/deployment.zip"
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator reads the partition from it
    try:
        translator = Translator(managed_policy_map={}, sam_parser=parser.Parser())
        expanded: dict[str, Any] = translator.translate(sam_template=document, parameter_values={})
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved
    return expanded

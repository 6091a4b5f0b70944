"""cfn-lint (pinned in requirements-infra.txt) on every template in infra/out, and on each after the SAM transform.

Zero errors. The one warning accepted is W3005 (a DependsOn that a Ref or GetAtt already implies), and only where the
CDK's own constructs write it: an L2 Lambda function or state machine depends on its role *and* the role's default
policy, so that the function never runs before its permissions exist; the role half is redundant, which cfn-lint
reports and CloudFormation ignores. Our own resources carry no such redundancy.
"""

from __future__ import annotations

import pytest
from cfnlint.api import lint
from infra_kit import OUT_DIR, STAGES, _expanded_text, template_path

REGIONS = ["us-east-1", "eu-west-1"]
ACCEPTED_WARNINGS = {"W3005"}
# Resources whose redundant DependsOn comes from an aws-cdk-lib construct, not from infra/.
CDK_WRITTEN_DEPENDS_ON = (
    "WorkflowRole",  # sfn.StateMachine
    "PreSignUpRole",  # lambda.Function
    "AWS679f53fac002430cb0da5b7982bd2287ServiceRole",  # custom_resources.AwsCustomResource's singleton function
    "CustomS3AutoDeleteObjectsCustomResourceProviderRole",  # s3.Bucket(auto_delete_objects=True)
    "CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756CServiceRole",  # s3_deployment.BucketDeployment
)


def test_every_stage_has_a_template() -> None:
    assert sorted(path.name for path in OUT_DIR.glob("*.template.json")) == sorted(f"{s}.template.json" for s in STAGES)


def _check(matches: list) -> None:  # type: ignore[type-arg]
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    unexpected = [
        str(m)
        for m in matches
        if not m.rule.id.startswith("E")
        and not (m.rule.id in ACCEPTED_WARNINGS and any(name in m.message for name in CDK_WRITTEN_DEPENDS_ON))
    ]
    assert unexpected == []


@pytest.mark.parametrize("stage", STAGES)
def test_the_template_lints_clean(stage: str) -> None:
    _check(lint(template_path(stage).read_text(), regions=REGIONS))


@pytest.mark.parametrize("stage", STAGES)
def test_the_template_after_the_sam_transform_lints_clean(stage: str) -> None:
    _check(lint(_expanded_text(stage), regions=REGIONS))

"""Least privilege from evidence: each function's role (and the workflow's) allows every AWS call recorded while the
app ran (infra/aws-calls.json, read with serverlesspresso.awscalls), on the deployed resource the call named, and
grants nothing the evidence or a documented margin does not account for; and no policy anywhere grants a `*` action,
a `service:*` action, or anything on resource `*` beyond the few actions AWS only grants on `*`.

The roles are read back from the stack deployed to moto, so every ARN is the resolved one.
"""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest
from iam_kit import Statement, allows, as_list, glob_matches, statements
from infra_kit import ACCOUNT, REGION, REPO, STAGES, Deployment, MotoCloud, expanded

from infra.access import MARGINS
from infra.chalice_app import read_functions
from infra.stages import stage_named
from serverlesspresso import awscalls

WORKFLOW = "statemachine"

# Actions IAM grants only on resource "*" (no resource-level permissions), each with who needs it.
ALLOWED_ON_ANY_RESOURCE = {
    # The IoT endpoint lookup (custom_resources.AwsCustomResource) at deploy time.
    "iot:DescribeEndpoint": "DescribeEndpoint has no resource type",
    # Cognito's SMS role: a text message to a phone number names no ARN.
    "sns:Publish": "Cognito sends sign-in codes by SMS, which has no resource ARN",
    # The workflow's logging (sfn.LogOptions): CloudWatch Logs' vended-log delivery is authorised on "*" only.
    "logs:CreateLogDelivery": "vended logs (Step Functions logging)",
    "logs:GetLogDelivery": "vended logs (Step Functions logging)",
    "logs:UpdateLogDelivery": "vended logs (Step Functions logging)",
    "logs:DeleteLogDelivery": "vended logs (Step Functions logging)",
    "logs:ListLogDeliveries": "vended logs (Step Functions logging)",
    "logs:PutResourcePolicy": "vended logs (Step Functions logging)",
    "logs:DescribeResourcePolicies": "vended logs (Step Functions logging)",
    "logs:DescribeLogGroups": "vended logs (Step Functions logging)",
}
# The AWS managed policy the CDK's own deploy-time functions (the IoT endpoint lookup, the bucket deployment, the
# bucket's auto-delete) attach for their logs; none of the shop's functions has a managed policy.
ALLOWED_MANAGED_POLICY = "AWSLambdaBasicExecutionRole"
CDK_PROVIDER_ROLES = (
    "AWS679f53fac002430cb0da5b7982bd2287ServiceRole",
    "CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756CServiceRole",
    "CustomS3AutoDeleteObjectsCustomResourceProviderRole",
)
# Lambda itself uses a function's role to put an event the function failed on its failure queue (an on-failure
# destination): granted by the CDK's SqsDestination, not a call of the app.
FAILURE_DESTINATION_ACTIONS = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
SAMPLE_IDS = {"{shopId}": "pop-up-bar", "{sub}": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "{orderId}": "order-1"}


def evidence() -> list[awscalls.Call]:
    return awscalls.load(awscalls.EVIDENCE)


def _document(document: Any) -> dict[str, Any]:
    """A role policy as moto returns it: a dict, JSON, or (for one made by its CloudFormation) a Python repr."""
    if isinstance(document, dict):
        return document
    try:
        parsed: dict[str, Any] = json.loads(document)
    except json.JSONDecodeError:
        parsed = ast.literal_eval(document)
    return parsed


def _fill(name: str) -> str:
    for placeholder, value in SAMPLE_IDS.items():
        name = name.replace(placeholder, value)
    return name


class DeployedStage:
    """A stage's roles, their policies and its resources' ARNs, as moto's IAM and services hold them."""

    def __init__(self, cloud: MotoCloud, deployment: Deployment) -> None:
        self.cloud = cloud
        self.stage = stage_named(deployment.stage)
        outputs = deployment.outputs
        self.table_arn = cloud.client("dynamodb").describe_table(TableName=outputs["TableName"])["Table"]["TableArn"]
        self.state_machine_arn = outputs["StateMachineArn"]
        machine = cloud.client("stepfunctions").describe_state_machine(stateMachineArn=self.state_machine_arn)
        self.workflow_role = machine["roleArn"]
        failures = outputs["FunctionFailuresQueueUrl"].rsplit("/", 1)[-1]
        self.failure_queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{failures}"
        self.machine_name = machine["name"]

    def role_of(self, function: str) -> str:
        if function == WORKFLOW:
            return self.workflow_role
        name = self.stage.resource_name(function)
        config: dict[str, Any] = self.cloud.client("lambda").get_function_configuration(FunctionName=name)
        return str(config["Role"])

    def policy_statements(self, role_arn: str) -> list[Statement]:
        iam = self.cloud.client("iam")
        role_name = role_arn.rsplit("/", 1)[-1]
        found: list[Statement] = []
        for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
            found += statements(_document(document))
        assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == [], role_name
        return found

    def arn(self, resource: awscalls.Resource) -> str:
        kind, name = resource.type, resource.name
        if kind == "table":
            return self.table_arn
        if kind == "table-index":
            return f"{self.table_arn}/index/{resource.index}"
        if kind == "event-bus":
            return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"
        if kind == "state-machine":
            return self.state_machine_arn  # a task token's call names the workflow that issued it
        if kind == "execution":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{self.machine_name}:{SAMPLE_IDS['{orderId}']}"
        if kind == "iot-topic":
            return f"arn:aws:iot:{REGION}:{ACCOUNT}:topic/{_fill(name)}"
        if kind in ("iot-endpoint", "other"):
            return "*"
        raise AssertionError(f"unknown resource type in the evidence: {resource}")


@pytest.fixture(scope="module")
def deployed(moto_cloud: MotoCloud, deployments: dict[str, Deployment]) -> dict[str, DeployedStage]:
    return {stage: DeployedStage(moto_cloud, deployments[stage]) for stage in STAGES}


def test_the_evidence_names_only_functions_the_app_has() -> None:
    known = {f.name for f in read_functions()} | {WORKFLOW}
    assert sorted({call.function for call in evidence()} - known) == []


@pytest.mark.parametrize("stage", STAGES)
def test_every_recorded_call_is_allowed_on_its_resource(deployed: dict[str, DeployedStage], stage: str) -> None:
    deployment = deployed[stage]
    denied = []
    for call in evidence():
        resource = deployment.arn(call.resource)
        if not allows(deployment.policy_statements(deployment.role_of(call.function)), call.action, resource):
            denied.append(f"{awscalls.describe(call)} ({resource})")
    assert denied == [], "denied by the synthesized policies"


@pytest.mark.parametrize("stage", STAGES)
def test_nothing_is_granted_that_the_evidence_does_not_record_or_a_margin_explain(
    deployed: dict[str, DeployedStage], stage: str
) -> None:
    deployment = deployed[stage]
    recorded = [(c.function, c.action, deployment.arn(c.resource)) for c in evidence()]
    unexplained = []
    for function in read_functions():
        for statement in deployment.policy_statements(deployment.role_of(function.name)):
            for action in as_list(statement["Action"]):
                if action.startswith("logs:"):
                    continue  # its own log group's streams (test_each_function_role_names_only_its_own_log_group)
                for resource in as_list(statement["Resource"]):
                    if action in FAILURE_DESTINATION_ACTIONS and resource == deployment.failure_queue_arn:
                        continue
                    seen = any(
                        f == function.name and a.lower() == action.lower() and glob_matches(resource, arn)
                        for f, a, arn in recorded
                    )
                    if not seen and (function.name, action) not in MARGINS:
                        unexplained.append(f"{function.name}: {action} on {resource}")
    assert unexplained == [], "granted but neither recorded nor in infra/access.py MARGINS"


def test_every_margin_is_still_needed() -> None:
    """A margin the evidence now records is no longer a margin: it goes, so the list stays the real exceptions."""
    recorded = {(c.function, c.action) for c in evidence()}
    assert sorted(set(MARGINS) & recorded) == []


@pytest.mark.parametrize("stage", STAGES)
def test_the_workflow_role_allows_exactly_what_its_tasks_call(deployed: dict[str, DeployedStage], stage: str) -> None:
    """The definition itself is the workflow's evidence: each task's service integration and the resource it names."""
    deployment = deployed[stage]
    definition = json.loads((REPO / "statemachine.json").read_text())
    integrations = {
        "arn:aws:states:::dynamodb:getItem": "dynamodb:GetItem",
        "arn:aws:states:::dynamodb:updateItem": "dynamodb:UpdateItem",
        "arn:aws:states:::events:putEvents": "events:PutEvents",
        "arn:aws:states:::events:putEvents.waitForTaskToken": "events:PutEvents",
    }
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    needed = set()
    for state in definition["States"].values():
        if state["Type"] == "Task":
            action = integrations[state["Resource"]]
            needed.add((action, deployment.table_arn if action.startswith("dynamodb:") else bus))
    granted = deployment.policy_statements(deployment.workflow_role)
    assert all(allows(granted, action, resource) for action, resource in needed)
    data_actions = {a for s in granted for a in as_list(s["Action"]) if a not in ALLOWED_ON_ANY_RESOURCE}
    assert data_actions == {action for action, _ in needed}


def _broad_grants(stage: str) -> list[str]:
    found = []
    for logical_id, resource in expanded(stage)["Resources"].items():
        properties = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
            for managed in properties.get("ManagedPolicyArns", []):
                text = json.dumps(managed)
                if ALLOWED_MANAGED_POLICY not in text or not logical_id.startswith(CDK_PROVIDER_ROLES):
                    found.append(f"{logical_id}: managed policy {text}")
        elif "PolicyDocument" in properties:  # AWS::IAM::Policy, and resource policies: buckets, queues, topics
            documents.append(properties["PolicyDocument"])
        for statement in (s for d in documents for s in statements(d)):
            if statement.get("Effect") != "Allow":
                continue  # a Deny on `sqs:*` (enforcing TLS) narrows, it grants nothing
            actions = as_list(statement.get("Action", []))
            for action in actions:
                if action == "*" or action.endswith(":*"):
                    found.append(f"{logical_id}: {action}")
            if "*" in as_list(statement.get("Resource", [])):
                found += [f"{logical_id}: {a} on *" for a in actions if a not in ALLOWED_ON_ANY_RESOURCE]
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_no_policy_grants_every_action_a_whole_service_or_data_on_every_resource(stage: str) -> None:
    assert _broad_grants(stage) == []


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_role_names_only_its_own_log_group(deployed: dict[str, DeployedStage], stage: str) -> None:
    deployment = deployed[stage]
    for function in read_functions():
        name = deployment.stage.resource_name(function.name)
        granted = deployment.policy_statements(deployment.role_of(function.name))
        own = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}:log-stream:x"
        other = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}-other:log-stream:x"
        assert allows(granted, "logs:PutLogEvents", own)
        assert not allows(granted, "logs:PutLogEvents", other)
        assert not allows(granted, "logs:CreateLogGroup", "*")

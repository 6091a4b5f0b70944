"""A Lambda function's log group, created before the function, and the only log rights its role gets: writing to it."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

RETENTION = logs.RetentionDays.ONE_MONTH


def function_log_group(
    scope: Construct, construct_id: str, function_name: str
) -> tuple[logs.LogGroup, iam.PolicyStatement]:
    name = f"/aws/lambda/{function_name}"
    log_group = logs.LogGroup(
        scope, construct_id, log_group_name=name, retention=RETENTION, removal_policy=RemovalPolicy.DESTROY
    )
    # Spelled out rather than the log group's Arn attribute, so the grant is the group's streams and nothing else,
    # whatever form that attribute takes. No logs:CreateLogGroup: the group exists before the function.
    streams = Stack.of(scope).format_arn(
        service="logs", resource="log-group", resource_name=f"{name}:*", arn_format=ArnFormat.COLON_RESOURCE_NAME
    )
    return log_group, iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[streams])

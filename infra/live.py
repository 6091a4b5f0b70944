"""Live updates on IoT Core: the data endpoint looked up in the account, and the custom authorizer clients connect
through (the app's `iot_authorizer` function, the ID token as the MQTT password)."""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iot as iot
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.stages import Stage


def topic_arn_prefix(scope: Construct) -> str:
    """`arn:aws:iot:<region>:<account>:topic/`: only the backend publishes, each function on its own topics."""
    return Stack.of(scope).format_arn(service="iot", resource="topic", resource_name="")


def data_endpoint(scope: Construct) -> str:
    """The account's `iot:Data-ATS` endpoint address, asked of IoT at deploy time (it differs by account and region)."""
    call = cr.AwsSdkCall(
        service="Iot",
        action="describeEndpoint",
        parameters={"endpointType": "iot:Data-ATS"},
        physical_resource_id=cr.PhysicalResourceId.of(f"iot-data-ats-endpoint-{Aws.REGION}"),
    )
    lookup = cr.AwsCustomResource(
        scope,
        "IotDataEndpoint",
        on_create=call,
        on_update=call,
        # DescribeEndpoint has no resource to scope to: IAM allows it on "*" only.
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
        install_latest_aws_sdk=False,
    )
    return lookup.get_response_field("endpointAddress")


def custom_authorizer(scope: Construct, stage: Stage, function: lambda_.IFunction) -> iot.CfnAuthorizer:
    authorizer = iot.CfnAuthorizer(
        scope,
        "LiveAuthorizer",
        authorizer_name=stage.resource_name("iot"),
        authorizer_function_arn=function.function_arn,
        # Browsers cannot sign a token with a key of ours: the ID token itself is the proof, verified by the function.
        signing_disabled=True,
        status="ACTIVE",
        enable_caching_for_http=False,
    )
    lambda_.CfnPermission(
        scope,
        "LiveAuthorizerInvoke",
        action="lambda:InvokeFunction",
        function_name=function.function_arn,
        principal="iot.amazonaws.com",
        source_arn=authorizer.attr_arn,
    )
    return authorizer

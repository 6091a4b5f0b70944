"""The Chalice app on AWS: Chalice's CDK construct packages it; each function gets its own role and log group, and
each rule and schedule a retry policy and a dead-letter queue, as Chalice alone does not."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from chalice.cdk import Chalice
from constructs import Construct

from infra import access
from infra.chalice_app import PROJECT_DIR, ChaliceFunction, read_functions
from infra.function_logs import function_log_group
from infra.stages import Stage

# Where the construct leaves `chalice package`'s output (it writes to the working directory otherwise).
BUILD_DIR = PROJECT_DIR / "infra" / ".build"

# EventBridge retries a delivery to Lambda only when the asynchronous Invoke itself fails (throttled, missing
# permission); after an hour an order's event is stale, since every wait times out within the shop's timeouts.
DELIVERY_RETRY_ATTEMPTS = 20
DELIVERY_MAX_EVENT_AGE = Duration.hours(1)
# A function that raises is retried twice by Lambda, then the event goes to the failure queue: a malformed event is
# refused rather than skipped (docs/decisions.md), and waits there to be read.
FUNCTION_RETRY_ATTEMPTS = 2
# The schedule runs every minute: the next run does what a failed one did not.
SCHEDULE_RETRY_ATTEMPTS = 0
SCHEDULE_MAX_EVENT_AGE = Duration.minutes(1)
DEAD_LETTER_RETENTION = Duration.days(14)

ERROR_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class Deployed:
    chalice: Chalice
    functions: dict[str, lambda_.IFunction]
    roles: dict[str, iam.Role]
    rest_api_id: str
    dead_letter_queues: tuple[sqs.Queue, ...]
    alarm_topic: sns.Topic


class ChaliceBackend(Construct):
    """The REST/GraphQL API and every Lambda function of app.py, with their roles, rules and failure handling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        environment: Mapping[str, str],
        resources: access.SharedResources,
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        functions = read_functions()
        roles_and_logs = {f.name: self._role(stage, f, resources) for f in functions}
        roles = {name: role for name, (role, _) in roles_and_logs.items()}
        chalice = _package(self, stage, environment)
        for function in functions:
            self._adopt(chalice, stage, function, *roles_and_logs[function.name])
        imported = {
            f.name: lambda_.Function.from_function_attributes(
                self,
                f"{f.logical_id}Ref",
                function_arn=chalice.get_resource(f.logical_id).get_att("Arn").to_string(),
                role=roles[f.name],
                same_environment=True,
            )
            for f in functions
        }
        delivery_dlq = self._queue("EventDeliveryDeadLetters", stage.resource_name("event-delivery-dlq"))
        failure_queue = self._queue("FunctionFailures", stage.resource_name("function-failures"))
        for function in functions:
            if function.invoked_asynchronously:
                self._wire_async(stage, function, imported[function.name], delivery_dlq, failure_queue)
        for function in functions:
            # Grants made by the constructs above (the failure queue's) land in the role's default policy: the function
            # must not run before it exists.
            default_policy = roles[function.name].node.try_find_child("DefaultPolicy")
            if default_policy is not None:
                chalice.get_resource(function.logical_id).node.add_dependency(default_policy)
        rest_api = chalice.get_resource("RestAPI")
        _configure_rest_api(rest_api)
        topic = self._alarms(stage, (delivery_dlq, failure_queue), alarm_email)
        self.deployed = Deployed(
            chalice=chalice,
            functions=imported,
            roles=roles,
            rest_api_id=rest_api.ref,
            dead_letter_queues=(delivery_dlq, failure_queue),
            alarm_topic=topic,
        )

    def _role(
        self, stage: Stage, function: ChaliceFunction, resources: access.SharedResources
    ) -> tuple[iam.Role, logs.LogGroup]:
        log_group, write_logs = function_log_group(
            self, f"{function.logical_id}Logs", stage.resource_name(function.name)
        )
        statements = [write_logs]
        grants = access.grants_for(function.name)
        if grants is None:
            Annotations.of(self).add_warning_v2(
                "serverlesspresso:ungranted-function",
                f"{function.name} has no entry in infra/access.py: it may only write its logs",
            )
        else:
            statements += access.statements(grants, resources)
        role = iam.Role(
            self,
            f"{function.logical_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            inline_policies={"access": iam.PolicyDocument(statements=statements)},
        )
        return role, log_group

    def _adopt(
        self, chalice: Chalice, stage: Stage, function: ChaliceFunction, role: iam.Role, log_group: logs.LogGroup
    ) -> None:
        resource = chalice.get_resource(function.logical_id)
        # Named as `chalice deploy` names them, so each role can name its log group without naming the function.
        resource.add_property_override("FunctionName", stage.resource_name(function.name))
        resource.add_property_override("Role", role.role_arn)
        # Chalice's own rules have no retry policy or dead-letter queue; the same patterns are wired below.
        resource.add_property_deletion_override("Events")
        # Its first log lines need the group; the role names the group without referring to it.
        resource.node.add_dependency(log_group)

    def _queue(self, construct_id: str, name: str) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            retention_period=DEAD_LETTER_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )

    def _wire_async(
        self,
        stage: Stage,
        function: ChaliceFunction,
        handler: lambda_.IFunction,
        delivery_dlq: sqs.IQueue,
        failure_queue: sqs.IQueue,
    ) -> None:
        scheduled = function.schedule_expression is not None
        rule = events.Rule(
            self,
            f"{function.logical_id}Rule",
            rule_name=stage.resource_name(function.name),
            event_pattern=_event_pattern(function.event_pattern) if function.event_pattern is not None else None,
            schedule=events.Schedule.expression(function.schedule_expression) if function.schedule_expression else None,
        )
        rule.add_target(
            targets.LambdaFunction(
                handler,
                dead_letter_queue=delivery_dlq,
                retry_attempts=SCHEDULE_RETRY_ATTEMPTS if scheduled else DELIVERY_RETRY_ATTEMPTS,
                max_event_age=SCHEDULE_MAX_EVENT_AGE if scheduled else DELIVERY_MAX_EVENT_AGE,
            )
        )
        lambda_.EventInvokeConfig(
            self,
            f"{function.logical_id}AsyncInvoke",
            function=handler,
            qualifier="$LATEST",
            on_failure=destinations.SqsDestination(failure_queue),
            retry_attempts=SCHEDULE_RETRY_ATTEMPTS if scheduled else FUNCTION_RETRY_ATTEMPTS,
            max_event_age=SCHEDULE_MAX_EVENT_AGE if scheduled else DELIVERY_MAX_EVENT_AGE,
        )

    def _alarms(self, stage: Stage, queues: tuple[sqs.Queue, ...], alarm_email: str | None) -> sns.Topic:
        topic = sns.Topic(self, "Alarms", topic_name=stage.resource_name("alarms"), enforce_ssl=True)
        if alarm_email:
            sns.Subscription(
                self, "AlarmEmail", topic=topic, protocol=sns.SubscriptionProtocol.EMAIL, endpoint=alarm_email
            )
        for queue in queues:
            alarm = cloudwatch.Alarm(
                self,
                f"{queue.node.id}Alarm",
                alarm_name=f"{queue.queue_name}-not-empty",
                alarm_description="An event could not be delivered or handled: read it in the queue, fix, redrive.",
                metric=queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return topic


def _package(scope: Construct, stage: Stage, environment: Mapping[str, str]) -> Chalice:
    """`chalice package` through the construct, with roles left to us; its output goes to infra/.build."""
    stage_config: dict[str, Any] = {
        "environment_variables": dict(environment),
        # Every function's role is set below; Chalice's generated policy would cover app.py only.
        "manage_iam_role": False,
        # Required with manage_iam_role false; every function's Role is overridden in _adopt, so this never deploys.
        "iam_role_arn": "set-per-function-in-infra-backend",
    }
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    # The construct takes its Chalice stage from its scope's path: the stack, whose id is the stage's name.
    stack = Stack.of(scope)
    return _in_directory(
        BUILD_DIR, lambda: Chalice(stack, "Chalice", source_dir=str(PROJECT_DIR), stage_config=stage_config)
    )


def _in_directory(directory: Path, build: Any) -> Any:
    import os

    previous = Path.cwd()
    os.chdir(directory)
    try:
        return build()
    finally:
        os.chdir(previous)


def clean_build_dir() -> None:
    shutil.rmtree(BUILD_DIR, ignore_errors=True)


def _event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    fields = {
        "source": "source",
        "detail-type": "detail_type",
        "detail": "detail",
        "account": "account",
        "region": "region",
        "resources": "resources",
        "id": "id",
        "time": "time",
        "version": "version",
    }
    unknown = set(pattern) - set(fields)
    if unknown:
        raise ValueError(f"event pattern fields the deploy does not map: {sorted(unknown)}")
    return events.EventPattern(**{fields[key]: value for key, value in pattern.items()})


def _error_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


# What API Gateway answers itself, in the app's error shape. None echoes a header: the default body of
# MISSING_AUTHENTICATION_TOKEN ($context.error.message) repeats the caller's Authorization header.
GATEWAY_RESPONSES: dict[str, tuple[int | None, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", "there is no such route"),
    "REQUEST_TOO_LARGE": (413, "payload_too_large", "the request body is too large"),
    "THROTTLED": (429, "overloaded", "too many requests right now; try again soon"),
    "DEFAULT_4XX": (None, "bad_request", "the request was refused before it reached the app"),
    "DEFAULT_5XX": (None, "internal_error", "something went wrong on our side"),
}


def _configure_rest_api(rest_api: Any) -> None:
    responses: dict[str, Any] = {}
    for response_type, (status, code, message) in GATEWAY_RESPONSES.items():
        response: dict[str, Any] = {
            "ResponseParameters": {"Headers": {"Content-Type": f"'{ERROR_CONTENT_TYPE}'"}},
            "ResponseTemplates": {ERROR_CONTENT_TYPE: _error_body(code, message)},
        }
        if status is not None:
            response["StatusCode"] = str(status)
        responses[response_type] = response
    rest_api.add_property_override("GatewayResponses", responses)
    # A pop-up bar's traffic is a few requests a second; the cap keeps a runaway client from running up the bill.
    rest_api.add_property_override(
        "MethodSettings",
        [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200}],
    )

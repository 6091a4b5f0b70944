"""The order workflow: statemachine.json as a Standard state machine, its role allowing only what its tasks call."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.chalice_app import PROJECT_DIR
from infra.stages import Stage

DEFINITION = PROJECT_DIR / "statemachine.json"


def order_workflow(scope: Construct, stage: Stage, table: dynamodb.ITable, bus: events.IEventBus) -> sfn.StateMachine:
    role = iam.Role(scope, "WorkflowRole", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    # Its tasks: getItem (the shop) and updateItem (the capacity counter, the order number), putEvents.
    role.add_to_policy(
        iam.PolicyStatement(actions=["dynamodb:GetItem", "dynamodb:UpdateItem"], resources=[table.table_arn])
    )
    role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus.event_bus_arn]))
    log_group = logs.LogGroup(
        scope,
        "WorkflowLogs",
        # Step Functions' vended logs need a resource policy; this prefix keeps it within CloudWatch's size limit.
        log_group_name=f"/aws/vendedlogs/states/{stage.resource_name('orders')}",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return sfn.StateMachine(
        scope,
        "OrderWorkflow",
        state_machine_name=stage.resource_name("orders"),
        state_machine_type=sfn.StateMachineType.STANDARD,
        # Inline rather than an S3 asset, so the template (and `cdk diff`) shows the workflow it deploys.
        definition_body=sfn.DefinitionBody.from_string(DEFINITION.read_text()),
        definition_substitutions={"TableName": table.table_name, "EventBusName": bus.event_bus_name},
        role=role,
        # Errors only, without execution data: inputs and outputs carry task tokens and customers' ids.
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ERROR, include_execution_data=False),
    )

"""The single DynamoDB table: keys and indexes as chalicelib/adapters/dynamodb.py declares them."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.stages import Stage

# (index, partition key, sort key): GSI1 a shop's orders by time, GSI2 a customer's, GSI3 the sparse board index.
INDEXES = (("GSI1", "GSI1PK", "GSI1SK"), ("GSI2", "GSI2PK", "GSI2SK"), ("GSI3", "GSI3PK", "GSI3SK"))
# Code windows carry it (epoch seconds, a day after the window ends), so DynamoDB deletes them for free.
TTL_ATTRIBUTE = "expiresAt"


def shop_table(scope: Construct, stage: Stage) -> dynamodb.Table:
    string = dynamodb.AttributeType.STRING
    table = dynamodb.Table(
        scope,
        "Table",
        table_name=stage.resource_name("table"),
        partition_key=dynamodb.Attribute(name="PK", type=string),
        sort_key=dynamodb.Attribute(name="SK", type=string),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=TTL_ATTRIBUTE,
        deletion_protection=stage.keeps_data,
        removal_policy=stage.data_removal_policy,
    )
    for index_name, partition_key, sort_key in INDEXES:
        table.add_global_secondary_index(
            index_name=index_name,
            partition_key=dynamodb.Attribute(name=partition_key, type=string),
            sort_key=dynamodb.Attribute(name=sort_key, type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return table

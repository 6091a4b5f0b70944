"""Least privilege: the AWS actions each function may call, each on the one resource it calls it on.

Every function has its own role. The grants here say what the code in chalicelib/ does; the IAM evidence test
(tests/infra/test_infra_iam_evidence.py) checks them against the calls recorded while the test suite runs
(infra/aws-calls.json), so a call the code starts making fails a test instead of a customer's order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import aws_iam as iam

GET_ITEM = "dynamodb:GetItem"
PUT_ITEM = "dynamodb:PutItem"
UPDATE_ITEM = "dynamodb:UpdateItem"
QUERY = "dynamodb:Query"
SCAN = "dynamodb:Scan"
# An order's changes: read it (and its shop, code window, daily count), write it with its version, in a transaction
# with the daily count when a slot is given back. TransactWriteItems has no IAM action of its own: each item in it
# needs its item action (PutItem, UpdateItem).
ORDER_WRITES = (GET_ITEM, PUT_ITEM, UPDATE_ITEM)


@dataclass(frozen=True)
class Grants:
    table: tuple[str, ...] = ()
    # Indexes the function queries (Query on an index is its own resource: <table arn>/index/<name>).
    indexes: tuple[str, ...] = ()
    put_events: bool = False  # events:PutEvents on the bus
    resume_workflow: bool = False  # states:SendTaskSuccess with a task token of the order workflow
    start_workflow: bool = False  # states:StartExecution of the order workflow
    publish_live: bool = False  # iot:Publish and iot:RetainPublish on the shop and user topics


FUNCTION_GRANTS: dict[str, Grants] = {
    # REST commands and GraphQL: every order and shop change, the read side's queries (shop listing by time, a
    # customer's orders, the board), the events each change causes and the resumed waits.
    "api_handler": Grants(
        table=(*ORDER_WRITES, QUERY, SCAN), indexes=("GSI1", "GSI2", "GSI3"), put_events=True, resume_workflow=True
    ),
    "start_order_workflow": Grants(start_workflow=True),
    "order_manager_workflow_started": Grants(table=ORDER_WRITES, put_events=True, resume_workflow=True),
    "order_manager_waiting_completion": Grants(table=ORDER_WRITES, put_events=True, resume_workflow=True),
    "order_manager_timed_out": Grants(table=ORDER_WRITES, put_events=True, resume_workflow=True),
    "order_manager_shop_unavailable": Grants(table=ORDER_WRITES, put_events=True, resume_workflow=True),
    # Scans for orders whose events a crash left in their outbox, and for unfinished orders to re-offer.
    "flush_outboxes": Grants(table=(*ORDER_WRITES, SCAN), put_events=True, resume_workflow=True),
    # Journeys and views; the retained store state and board it publishes when it writes a newer view.
    "read_side_projection": Grants(table=(GET_ITEM, PUT_ITEM, QUERY, SCAN), indexes=("GSI3",), publish_live=True),
    "live_updates": Grants(table=(GET_ITEM, QUERY), indexes=("GSI3",), publish_live=True),
    # Verifies the token against Cognito's public keys over HTTPS: no AWS call at all.
    "iot_authorizer": Grants(),
}


@dataclass(frozen=True)
class SharedResources:
    """The ARNs the grants name."""

    table_arn: str
    bus_arn: str
    state_machine_arn: str
    live_topic_arns: tuple[str, ...]


def grants_for(function_name: str) -> Grants | None:
    return FUNCTION_GRANTS.get(function_name)


def statements(grants: Grants, resources: SharedResources) -> list[iam.PolicyStatement]:
    found: list[iam.PolicyStatement] = []
    if grants.table:
        found.append(_allow(grants.table, [resources.table_arn]))
    if grants.indexes:
        found.append(_allow([QUERY], [f"{resources.table_arn}/index/{name}" for name in grants.indexes]))
    if grants.put_events:
        found.append(_allow(["events:PutEvents"], [resources.bus_arn]))
    if grants.resume_workflow:
        # Task tokens are authorised against the state machine that issued them.
        found.append(_allow(["states:SendTaskSuccess"], [resources.state_machine_arn]))
    if grants.start_workflow:
        found.append(_allow(["states:StartExecution"], [resources.state_machine_arn]))
    if grants.publish_live:
        found.append(_allow(["iot:Publish", "iot:RetainPublish"], list(resources.live_topic_arns)))
    return found


def _allow(actions: Iterable[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=sorted(set(actions)), resources=resources)

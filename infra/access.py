"""Least privilege: the AWS actions each function may call, each on the one resource it calls it on.

Every function has its own role. The grants here are what the code in chalicelib/ can call, which is what the test
suite's run recorded (infra/aws-calls.json, `make aws-calls`) plus the few calls of a crash's repair path that no
run of the scenario reaches (MARGINS). tests/infra/test_infra_iam_evidence.py checks both ways: every recorded call
is allowed on its resource, and nothing is granted that the evidence does not record or a margin does not explain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aws_cdk import aws_iam as iam

GET_ITEM = "dynamodb:GetItem"
PUT_ITEM = "dynamodb:PutItem"
UPDATE_ITEM = "dynamodb:UpdateItem"
QUERY = "dynamodb:Query"
SCAN = "dynamodb:Scan"
# TransactWriteItems has no IAM action of its own: each item in it needs its own action (PutItem, UpdateItem).
ORDER_CHANGE = (GET_ITEM, PUT_ITEM, UPDATE_ITEM)

SHOP_TOPICS = "serverlesspresso/shops/*"  # chalicelib.domain.live.TOPIC_ROOT
BOARD_TOPICS = f"{SHOP_TOPICS}/board"
CONFIG_TOPICS = f"{SHOP_TOPICS}/config"
ADMIN_TOPICS = f"{SHOP_TOPICS}/admin"
USER_TOPICS = "serverlesspresso/users/*"


@dataclass(frozen=True)
class Grants:
    table: tuple[str, ...] = ()
    # Indexes the function queries (a Query on an index is authorised on <table arn>/index/<name>).
    indexes: tuple[str, ...] = ()
    put_events: bool = False  # events:PutEvents on the bus
    resume_workflow: bool = False  # states:SendTaskSuccess with a task token of the order workflow
    start_workflow: bool = False  # states:StartExecution of the order workflow
    publish_topics: tuple[str, ...] = ()  # iot:Publish on these topics (IAM wildcards: `*` spans levels)
    retain: bool = False  # and iot:RetainPublish, for the present state a late subscriber gets at once


# An order-manager callback changes the order through OrderService._change: it reads the order, saves it (PutItem, or
# a transaction with the daily count's UpdateItem), resumes a waiting workflow, and publishes what the order's outbox
# holds, clearing it (PutEvents, UpdateItem): also an outbox a crashed writer left, whichever callback comes next.
_ORDER_CALLBACK = Grants(table=ORDER_CHANGE, put_events=True, resume_workflow=True)

FUNCTION_GRANTS: dict[str, Grants] = {
    # REST commands and GraphQL: order and shop changes, the read side's queries (a shop's orders by time, a
    # customer's orders, the board), the events each change causes and the waits it resumes.
    "api_handler": Grants(
        table=(*ORDER_CHANGE, QUERY), indexes=("GSI1", "GSI2", "GSI3"), put_events=True, resume_workflow=True
    ),
    "start_order_workflow": Grants(start_workflow=True),
    "order_manager_workflow_started": _ORDER_CALLBACK,
    "order_manager_waiting_completion": _ORDER_CALLBACK,
    "order_manager_timed_out": _ORDER_CALLBACK,
    "order_manager_shop_unavailable": _ORDER_CALLBACK,
    # Scans for outboxes a crash left and for unfinished orders, publishes and clears the outboxes, re-offers outcomes.
    "flush_outboxes": Grants(table=(SCAN, UPDATE_ITEM), put_events=True, resume_workflow=True),
    # Journeys and views; when it writes a newer view, the shop's retained store state and board.
    "read_side_projection": Grants(
        table=(GET_ITEM, PUT_ITEM, QUERY), indexes=("GSI3",), publish_topics=(BOARD_TOPICS, CONFIG_TOPICS), retain=True
    ),
    # Forwards each event to its topics as it comes; nothing retained, nothing read.
    "live_updates": Grants(publish_topics=(ADMIN_TOPICS, BOARD_TOPICS, USER_TOPICS)),
    # Verifies the token against Cognito's public keys over HTTPS: no AWS call at all.
    "iot_authorizer": Grants(),
}

# Granted though the recorded run does not make the call, and why: (function, action) -> reason.
_OUTBOX = "publishes an outbox a crashed writer left behind, whichever callback comes next (OrderService._change)"
MARGINS: Mapping[tuple[str, str], str] = {
    ("order_manager_workflow_started", "events:PutEvents"): _OUTBOX,
    ("order_manager_workflow_started", UPDATE_ITEM): "clears that outbox once its events are on the bus",
    ("order_manager_timed_out", "events:PutEvents"): _OUTBOX,
    ("order_manager_shop_unavailable", "events:PutEvents"): _OUTBOX,
    ("order_manager_timed_out", "states:SendTaskSuccess"): "resumes a wait still pending on the order (_change)",
    ("order_manager_shop_unavailable", "states:SendTaskSuccess"): "resumes a wait still pending on the order (_change)",
}


@dataclass(frozen=True)
class SharedResources:
    """The ARNs the grants name."""

    table_arn: str
    bus_arn: str
    state_machine_arn: str
    topic_arn_prefix: str  # arn:aws:iot:<region>:<account>:topic/


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
    if grants.publish_topics:
        actions = ["iot:Publish", "iot:RetainPublish"] if grants.retain else ["iot:Publish"]
        found.append(_allow(actions, [resources.topic_arn_prefix + topic for topic in grants.publish_topics]))
    return found


def _allow(actions: Iterable[str], resources: list[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=sorted(set(actions)), resources=resources)

"""The Workflow port against moto's executing Step Functions (and its in-memory fake): one execution per name, and the
callback pattern end to end."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.memory import RecordingWorkflow
from chalicelib.adapters.stepfunctions import StepFunctionsWorkflow

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/contract-test"


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    # execute_state_machine: moto runs the ASL (its default backend accepts any token silently).
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


class WaitingMachine:
    """A machine whose one task hands its token to an SQS queue and waits for it (waitForTaskToken)."""

    def __init__(self, timeout_seconds: int = 60) -> None:
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.create_queue(QueueName="tokens")["QueueUrl"]
        definition = {
            "StartAt": "WaitForBarista",
            "States": {
                "WaitForBarista": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": self.queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                    "TimeoutSeconds": timeout_seconds,
                    "End": True,
                }
            },
        }
        self.arn = self.sfn.create_state_machine(name="waiting", definition=json.dumps(definition), roleArn=ROLE)[
            "stateMachineArn"
        ]

    def executions(self) -> list[dict[str, Any]]:
        return list(self.sfn.list_executions(stateMachineArn=self.arn)["executions"])

    def start(self) -> tuple[str, str]:
        execution = self.sfn.start_execution(stateMachineArn=self.arn, input="{}")["executionArn"]
        return execution, self._token()

    def _token(self) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, WaitTimeSeconds=1).get("Messages", [])
            if messages:
                return str(json.loads(messages[0]["Body"])["token"])
        raise AssertionError("the execution never handed out its task token")

    def finished(self, execution: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return dict(described)
            time.sleep(0.05)
        raise AssertionError("the execution is still running")


def test_resume_with_an_unknown_token_returns_false(aws: None) -> None:
    workflow = StepFunctionsWorkflow(boto3.client("stepfunctions", region_name=REGION))

    assert workflow.resume("not-a-token-anyone-waits-on", "COMPLETED") is False


def test_resume_hands_the_outcome_to_the_waiting_execution(aws: None) -> None:
    machine = WaitingMachine()
    execution, token = machine.start()
    workflow = StepFunctionsWorkflow(machine.sfn)

    assert workflow.resume(token, "DRINK_CHOSEN") is True

    finished = machine.finished(execution)
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["output"]) == {"outcome": "DRINK_CHOSEN"}


def test_a_token_is_accepted_once(aws: None) -> None:
    machine = WaitingMachine()
    execution, token = machine.start()
    workflow = StepFunctionsWorkflow(machine.sfn)
    assert workflow.resume(token, "COMPLETED") is True
    machine.finished(execution)

    assert workflow.resume(token, "CANCELLED") is False
    assert json.loads(machine.sfn.describe_execution(executionArn=execution)["output"]) == {"outcome": "COMPLETED"}


def test_resume_after_the_wait_timed_out_returns_false(aws: None) -> None:
    machine = WaitingMachine(timeout_seconds=1)
    execution, token = machine.start()

    assert machine.finished(execution, timeout=10)["status"] == "FAILED"
    assert StepFunctionsWorkflow(machine.sfn).resume(token, "COMPLETED") is False


# ----- starting: one execution per name -------------------------------------------------------------------------


class Started:
    """One implementation of the port, and a way to see what it started and to end an execution."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "memory":
            self.fake = RecordingWorkflow()
            self.workflow: Any = self.fake
            return
        self.machine = WaitingMachine()
        self.workflow = StepFunctionsWorkflow(self.machine.sfn, self.machine.arn)

    def names(self) -> list[str]:
        if self.kind == "memory":
            return list(self.fake.executions)
        return [execution["name"] for execution in self.machine.executions()]

    def input_of(self, name: str) -> Any:
        if self.kind == "memory":
            return json.loads(self.fake.executions[name])
        arn = next(e["executionArn"] for e in self.machine.executions() if e["name"] == name)
        return json.loads(self.machine.sfn.describe_execution(executionArn=arn)["input"])

    def finish(self, name: str) -> None:
        if self.kind == "memory":
            self.fake.finish(name)
            return
        arn = next(e["executionArn"] for e in self.machine.executions() if e["name"] == name)
        self.machine.sfn.stop_execution(executionArn=arn)
        self.machine.finished(arn)


@pytest.fixture(params=["memory", "stepfunctions"])
def started(request: pytest.FixtureRequest, aws: None) -> Started:
    return Started(request.param)


NEW_ORDER = {"id": "event-1", "detail-type": "Validator.NewOrder", "detail": {"orderId": "order-1", "shopId": "s"}}


def test_start_names_the_execution_and_hands_it_the_input(started: Started) -> None:
    assert started.workflow.start("order-1", NEW_ORDER) is True

    assert started.names() == ["order-1"]
    assert started.input_of("order-1") == NEW_ORDER


def test_a_second_start_under_the_same_name_with_another_input_starts_nothing(started: Started) -> None:
    started.workflow.start("order-1", NEW_ORDER)

    republished = {**NEW_ORDER, "id": "event-2"}  # the outbox publishes again: a new event id
    assert started.workflow.start("order-1", republished) is False

    assert started.names() == ["order-1"]
    assert started.input_of("order-1") == NEW_ORDER


def test_an_identical_start_of_a_running_execution_is_a_success_that_starts_nothing(started: Started) -> None:
    # EventBridge redelivers the same event: Step Functions (Standard) answers the identical request as a success.
    started.workflow.start("order-1", NEW_ORDER)

    assert started.workflow.start("order-1", dict(reversed(list(NEW_ORDER.items())))) is True

    assert started.names() == ["order-1"]


def test_no_start_under_the_name_of_a_finished_execution(started: Started) -> None:
    started.workflow.start("order-1", NEW_ORDER)
    started.finish("order-1")

    assert started.workflow.start("order-1", NEW_ORDER) is False

    assert started.names() == ["order-1"]


def test_other_orders_get_their_own_executions(started: Started) -> None:
    started.workflow.start("order-1", NEW_ORDER)
    assert started.workflow.start("order-2", {**NEW_ORDER, "detail": {"orderId": "order-2"}}) is True

    assert sorted(started.names()) == ["order-1", "order-2"]


def test_start_without_a_state_machine_says_which_setting_is_missing(aws: None) -> None:
    workflow = StepFunctionsWorkflow(boto3.client("stepfunctions", region_name=REGION))

    with pytest.raises(RuntimeError, match="STATE_MACHINE_ARN"):
        workflow.start("order-1", NEW_ORDER)

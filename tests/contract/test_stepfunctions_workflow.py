"""StepFunctionsWorkflow against moto's executing Step Functions: the callback pattern end to end."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

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

"""Step Functions adapter: starts an order's execution under the order's id; resumes a workflow on a task token."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

# The token's wait already ended (answered, timed out, or the execution stopped): nothing to resume.
_GONE = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class StepFunctionsWorkflow:
    def __init__(self, client: Any, state_machine_arn: str | None = None) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def start(self, name: str, workflow_input: Mapping[str, Any]) -> bool:
        if not self._state_machine_arn:
            raise RuntimeError("set STATE_MACHINE_ARN (the order workflow) to start executions")
        try:
            self._client.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=name,
                # Canonical, so a redelivery of the same event is the identical request Step Functions accepts twice.
                input=json.dumps(workflow_input, sort_keys=True, separators=(",", ":")),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def resume(self, task_token: str, outcome: str) -> bool:
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps({"outcome": outcome}))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _GONE:
                return False
            raise
        return True

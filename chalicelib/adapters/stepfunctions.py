"""Step Functions adapter: resumes a workflow waiting on a task token (the callback pattern)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

# The token's wait already ended (answered, timed out, or the execution stopped): nothing to resume.
_GONE = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class StepFunctionsWorkflow:
    def __init__(self, client: Any) -> None:
        self._client = client

    def resume(self, task_token: str, outcome: str) -> bool:
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps({"outcome": outcome}))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _GONE:
                return False
            raise
        return True

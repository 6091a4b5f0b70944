"""The evidence of AWS calls stays true: the scenario behind `make aws-calls` runs on a recording local shop, and every
call it makes must be in the committed infra/aws-calls.json (and everything listed must still be made). The same run
shows a NewOrder put on the bus again starting no second workflow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from serverlesspresso import awscalls
from tests.support.stack import REPO_ROOT

RUN_AGAIN = "run `make aws-calls` and commit infra/aws-calls.json"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    report = tmp_path_factory.mktemp("aws-calls") / "report.json"
    ran = subprocess.run(
        [sys.executable, "-m", "serverlesspresso.scenario", "evidence", "--report", str(report)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, f"the scenario failed:\n{ran.stderr[-4000:]}"
    loaded: dict[str, Any] = json.loads(Path(report).read_text())
    return loaded


def _made(scenario: dict[str, Any]) -> list[awscalls.Call]:
    return [awscalls.Call.from_json(call) for call in scenario["calls"]]


def test_every_aws_call_made_is_in_the_committed_evidence(scenario: dict[str, Any]) -> None:
    missing = awscalls.unlisted(_made(scenario), awscalls.load())
    assert not missing, f"calls made that infra/aws-calls.json does not list ({RUN_AGAIN}):\n" + "\n".join(
        awscalls.describe(call) for call in missing
    )


def test_every_call_the_evidence_lists_is_still_made(scenario: dict[str, Any]) -> None:
    stale = awscalls.unlisted(awscalls.load(), _made(scenario))
    assert not stale, f"calls infra/aws-calls.json lists that nothing makes any more ({RUN_AGAIN}):\n" + "\n".join(
        awscalls.describe(call) for call in stale
    )


def test_the_scenario_runs_every_function_and_the_workflow(scenario: dict[str, Any]) -> None:
    assert sorted(scenario["invoked"]) == scenario["functions"]
    assert "statemachine" in scenario["calls_by_function"]


def test_a_new_order_put_on_the_bus_again_starts_no_second_workflow(scenario: dict[str, Any]) -> None:
    orders = scenario["orders"]
    # One execution per order, although start_order_workflow was asked twice more than there are orders.
    assert scenario["executions"] == len(orders)
    assert scenario["start_execution_calls"] >= len(orders) + 2  # more if a delivery was retried
    assert scenario["already_started"] >= 2
    assert scenario["dead_letters"] == {}
    assert sorted(orders.values()) == sorted(
        ["COMPLETED", "COMPLETED", "CANCELLED", "CANCELLED", "CANCELLED", "REJECTED", "TIMED_OUT", "TIMED_OUT"]
    )

"""kill -9 under load, again and again: nothing acknowledged is lost, nothing is stuck, and the read side converges."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.crash import CrashRun
from tests.support.stack import Stack

# Affordable on two cores (about 2-3 minutes); bench/crash_soak.py runs longer soaks with the same harness.
KILLS = int(os.environ.get("CRASH_KILLS", "20"))
JOURNEYS_PER_BURST = int(os.environ.get("CRASH_JOURNEYS", "3"))


def test_kill_9_under_concurrent_journeys_loses_nothing_and_converges(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "data")
    stack.start()
    try:
        report = CrashRun(stack, kills=KILLS, journeys=JOURNEYS_PER_BURST, progress=print).run()
    finally:
        stack.stop()
    print(report.summary())
    assert report.kills == KILLS
    assert report.acknowledged_orders >= KILLS  # every burst got orders in before its kill
    assert report.lost == []
    assert report.stuck == []
    assert report.disagreements == []
    assert report.errors == []

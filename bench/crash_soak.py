"""Crash soak: `kill -9` a local stack under concurrent journeys, many times, and check nothing is lost or stuck.

The same harness as tests/integration/test_crash_recovery.py (tests/support/crash.py), for longer runs:

    python bench/crash_soak.py                          # 100 kills, 4 journeys per burst
    python bench/crash_soak.py --kills 300 --journeys 8 --seed 3 --json > soak.json

Each round starts a burst of journeys (place, drink, claim, complete, each with a new customer), kills `up` with
SIGKILL right after an answer (a completion, a placement, a drink choice) or at a random moment, restarts it on the
same data directory and checks, until they pass or --converge-timeout: every acknowledged order and completion is in
the write model, every order is final with OrderProcessor.OrderFinished in its journey, no order was refused for a
queue slot a restart failed to free, and GraphQL, the board and the retained MQTT board agree with the write model.
A last burst runs uninterrupted. Exits with 1 if anything was lost, stuck or disagreed. Figures are in
docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # tests.support and serverlesspresso, when run as `python bench/...`

from tests.support.crash import CrashRun  # noqa: E402
from tests.support.stack import Stack  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="kill -9 and restart this many times (default 100)")
    parser.add_argument("--journeys", type=int, default=4, help="concurrent journeys per burst (default 4)")
    parser.add_argument("--seed", type=int, default=7, help="for the kill timings (default 7)")
    parser.add_argument("--converge-timeout", type=float, default=30.0, help="seconds per restart (default 30)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and up.log")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="crash-soak-"))
    stack = Stack(work / "data")
    progress = (lambda _: None) if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        stack.start()
        run = CrashRun(stack, args.kills, args.journeys, args.seed, args.converge_timeout, progress)
        report = run.run()
    finally:
        stack.stop()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report.figures()) if args.json else report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

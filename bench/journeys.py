"""Journey benchmark: drive N full order journeys through a local Serverlesspresso stack and time every hop.

One journey, as a customer and a barista see it:

    place (POST /shops/{id}/orders, HTTP)      -> 201
    drink (PUT /orders/{id}/drink, HTTP)       -> 200
    numbered (async: GraphQL order(id) shows a pickup number)
    claim (POST /orders/{id}/claim, HTTP)      -> 200
    complete (POST /orders/{id}/complete, HTTP) -> 200
    finished (async: GraphQL shows COMPLETED and OrderProcessor.OrderFinished in the journey)

The asynchronous hops are measured by polling GraphQL every --poll-ms (default 20 ms), so they are
upper bounds with that resolution plus one GraphQL round trip.

By default the script starts its own `serverlesspresso up` on a free loopback port with a temporary
data directory, and always stops it (also on Ctrl-C). With --url and --data-dir it uses a stack that
is already running instead (loopback only). Needs only `requests` and the standard library.

    python bench/journeys.py --journeys 50 --concurrency 4
    python bench/journeys.py --journeys 40 --concurrency 1 --no-fsync --json
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # for serverlesspresso.identity when run as `python bench/journeys.py`

HOPS = ("place", "drink", "numbered", "claim", "complete", "finished", "total")
HOP_HELP = {
    "place": "POST /shops/{id}/orders (HTTP)",
    "drink": "PUT /orders/{id}/drink (HTTP)",
    "numbered": "drink response -> number visible in GraphQL (async)",
    "claim": "POST /orders/{id}/claim (HTTP)",
    "complete": "POST /orders/{id}/complete (HTTP)",
    "finished": "complete response -> COMPLETED + OrderFinished in GraphQL (async)",
    "total": "place request -> finished visible",
}
ORDER_QUERY = "query($id: ID!) { order(id: $id) { id state number journey { type } } }"
REST_LINE = re.compile(r"REST\s+(http://\S+)")
HANDLER_LINE = re.compile(r"INFO[\s-]+(\S+)\s+order=\S+ shop=\S+ \((\d+) ms\)")


class JourneyFailed(Exception):
    pass


class Interrupted(Exception):
    pass


# ----- the stack -------------------------------------------------------------------------------------


def require_loopback(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"error: --url must look like http://127.0.0.1:8000, not {url!r}")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except socket.gaierror as error:
        raise SystemExit(f"error: cannot resolve {parts.hostname}: {error}") from error
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"error: --url must be a loopback address (127.0.0.1, ::1, localhost), not {url!r}")
    return url.rstrip("/")


class OwnStack:
    """`serverlesspresso up` in a subprocess, on a free loopback port, with its own data directory."""

    def __init__(self, root: Path, no_fsync: bool, python: str) -> None:
        self.data_dir = root / "data"
        self.log_path = root / "up.log"
        self.no_fsync = no_fsync
        self.python = python
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float, stopping: threading.Event) -> str:
        command = [self.python, "-m", "serverlesspresso.cli", "up", "--host", "127.0.0.1", "--port", "0"]
        command += ["--mqtt-port", "0"]
        command += ["--data-dir", str(self.data_dir)] + (["--no-fsync"] if self.no_fsync else [])
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,  # Ctrl-C reaches us only; we stop the stack in order
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stopping.is_set():
            if self.process.poll() is not None:
                raise SystemExit(f"error: serverlesspresso up exited early:\n{self.log_path.read_text()}")
            match = REST_LINE.search(self.log_path.read_text(errors="replace"))
            if match:
                self.url = match.group(1).rstrip("/")
                try:
                    requests.get(f"{self.url}/.well-known/jwks.json", timeout=2).raise_for_status()
                    return self.url
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        if stopping.is_set():
            raise Interrupted
        raise SystemExit(f"error: serverlesspresso up did not start in {timeout:.0f} s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def startup_line(self) -> str:
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "started in" in line:
                return line.split("INFO", 1)[-1].strip()
        return ""

    def handler_times(self) -> dict[str, list[float]]:
        """Per-event handler time of the read side, from the stack's own log lines."""
        times: dict[str, list[float]] = {}
        for match in HANDLER_LINE.finditer(self.log_path.read_text(errors="replace")):
            times.setdefault(match.group(1), []).append(float(match.group(2)))
        return times


# ----- one journey -----------------------------------------------------------------------------------


@dataclass
class Journey:
    index: int
    hops: dict[str, float] = field(default_factory=dict)  # seconds
    error: str = ""
    order_id: str = ""
    claim_retries: int = 0  # 409 "still being numbered" answers before the claim went through


class Client:
    """One worker's HTTP session (requests.Session is not thread-safe)."""

    def __init__(self, base: str, poll_interval: float, stopping: threading.Event) -> None:
        self.base = base
        self.session = requests.Session()
        self.poll_interval = poll_interval
        self.stopping = stopping

    def call(self, method: str, path: str, token: str, deadline: float, body: Any = None) -> requests.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JourneyFailed(f"timed out before {method} {path}")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body)
        try:
            return self.session.request(
                method, self.base + path, headers=headers, data=data, timeout=min(remaining, 30)
            )
        except requests.RequestException as error:
            raise JourneyFailed(f"{method} {path}: {error}") from error

    def expect(
        self, status: int, method: str, path: str, token: str, deadline: float, body: Any = None
    ) -> dict[str, Any]:
        response = self.call(method, path, token, deadline, body)
        if response.status_code != status:
            raise JourneyFailed(f"{method} {path} -> {response.status_code} {response.text[:200]}")
        payload: dict[str, Any] = response.json()
        return payload

    def wait_for(
        self, order_id: str, token: str, deadline: float, what: str, predicate: Callable[[dict[str, Any]], bool]
    ) -> float:
        """Poll GraphQL until predicate(view); return the monotonic time the matching response arrived."""
        last: dict[str, Any] | None = None
        while True:
            if self.stopping.is_set():
                raise Interrupted
            sent = time.monotonic()
            result = self.expect(
                200, "POST", "/graphql", token, deadline, {"query": ORDER_QUERY, "variables": {"id": order_id}}
            )
            arrived = time.monotonic()
            if result.get("errors"):
                raise JourneyFailed(f"GraphQL errors: {result['errors']}")
            last = result["data"]["order"]
            if last is not None and predicate(last):
                return arrived
            if arrived >= deadline:
                raise JourneyFailed(f"timed out waiting for {what}; last view: {_short(last)}")
            time.sleep(max(0.0, min(self.poll_interval - (arrived - sent), deadline - arrived)))


def _short(view: dict[str, Any] | None) -> str:
    if view is None:
        return "none"
    return f"state={view['state']} number={view['number']} journey={[e['type'] for e in view['journey']]}"


def _finished(view: dict[str, Any]) -> bool:
    return view["state"] == "COMPLETED" and any(e["type"] == "OrderProcessor.OrderFinished" for e in view["journey"])


class ShopCode:
    """The shop's current QR code, shared by all workers and fetched again when a code window rolls over."""

    def __init__(self, client: Client, shop_id: str, admin: str) -> None:
        self._client, self._shop_id, self._admin = client, shop_id, admin
        self._lock = threading.Lock()
        self._code = ""

    def get(self, deadline: float, stale: str = "") -> str:
        with self._lock:
            if not self._code or self._code == stale:
                self._code = str(
                    self._client.expect(200, "GET", f"/shops/{self._shop_id}/code", self._admin, deadline)["code"]
                )
            return self._code


def run_journey(
    index: int,
    base: str,
    shop_id: str,
    code: ShopCode,
    tokens: Callable[[str, bool], str],
    admin: str,
    args: argparse.Namespace,
    stopping: threading.Event,
    clients: threading.local,
) -> Journey:
    journey = Journey(index)
    if stopping.is_set():
        journey.error = "interrupted"
        return journey
    client: Client | None = getattr(clients, "client", None)
    if client is None:
        client = clients.client = Client(base, args.poll_ms / 1000, stopping)
    customer = tokens(f"bench-customer-{uuid.uuid4().hex[:10]}", False)  # signing is not part of the journey
    deadline = time.monotonic() + args.timeout
    hops = journey.hops
    try:
        current = code.get(deadline)
        start = time.monotonic()
        response = client.call("POST", f"/shops/{shop_id}/orders", customer, deadline, {"code": current})
        if response.status_code == 400 and "invalid_code" in response.text:  # the code window rolled over
            current = code.get(deadline, stale=current)
            start = time.monotonic()
            response = client.call("POST", f"/shops/{shop_id}/orders", customer, deadline, {"code": current})
        if response.status_code != 201:
            raise JourneyFailed(f"place -> {response.status_code} {response.text[:200]}")
        journey.order_id = order_id = str(response.json()["orderId"])
        placed = time.monotonic()
        hops["place"] = placed - start

        client.expect(200, "PUT", f"/orders/{order_id}/drink", customer, deadline, {"drink": "Espresso"})
        chosen = time.monotonic()
        hops["drink"] = chosen - placed

        numbered = client.wait_for(order_id, customer, deadline, "a number", lambda v: v["number"] is not None)
        hops["numbered"] = numbered - chosen

        # The read side can show the number (from the workflow's event) before the order manager has
        # stored it with the barista task token; the API then answers 409 "still being numbered; try
        # again in a moment", as a barista's app would, we retry. The claim hop includes the retries.
        before = time.monotonic()
        while True:
            response = client.call("POST", f"/orders/{order_id}/claim", admin, deadline)
            if response.status_code == 200:
                break
            if response.status_code != 409 or "being numbered" not in response.text:
                raise JourneyFailed(f"claim -> {response.status_code} {response.text[:200]}")
            journey.claim_retries += 1
            if stopping.is_set():
                raise Interrupted
            time.sleep(args.poll_ms / 1000)
        claimed = time.monotonic()
        hops["claim"] = claimed - before

        client.expect(200, "POST", f"/orders/{order_id}/complete", admin, deadline)
        completed = time.monotonic()
        hops["complete"] = completed - claimed

        finished = client.wait_for(order_id, customer, deadline, "COMPLETED + OrderFinished", _finished)
        hops["finished"] = finished - completed
        hops["total"] = finished - start
    except JourneyFailed as error:
        journey.error = str(error)
    except Interrupted:
        journey.error = "interrupted"
    return journey


# ----- the run ---------------------------------------------------------------------------------------


class Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.done = self.failed = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def step(self, journey: Journey) -> None:
        with self._lock:
            self.done += 1
            self.failed += bool(journey.error) and journey.error != "interrupted"
            if not self.enabled:
                return
            tty = sys.stderr.isatty()
            if not tty and self.done != self.total and self.done % max(1, self.total // 10):
                return  # in a log file: about ten lines, not one per journey
            width = 30
            filled = width * self.done // self.total
            elapsed = time.monotonic() - self.started
            prefix = "\r" if tty else ""
            sys.stderr.write(
                f"{prefix}[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
                f"  {elapsed:5.1f} s  failed {self.failed}"
            )
            if self.done == self.total or not tty:
                sys.stderr.write("\n")
            sys.stderr.flush()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def summarise(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def token_factory(data_dir: Path) -> Callable[[str, bool], str]:
    from serverlesspresso.identity import LocalIdentityProvider

    identity = LocalIdentityProvider(data_dir)
    return lambda user, admin: identity.issue(user, admin=admin, ttl_seconds=3600)


def create_shop(base: str, admin: str, journeys: int, stopping: threading.Event) -> tuple[Client, str]:
    client = Client(base, 0.02, stopping)
    deadline = time.monotonic() + 60
    shop_id = f"bench-{uuid.uuid4().hex[:10]}"
    client.expect(201, "POST", "/shops", admin, deadline, {"shopId": shop_id, "name": f"Benchmark bar {shop_id}"})
    room = max(journeys, 10)
    settings = {"drinksPerCode": room, "maxOrdersInQueue": room, "codeIntervalSeconds": 86_400}
    client.expect(200, "PATCH", f"/shops/{shop_id}/settings", admin, deadline, settings)
    client.expect(200, "PUT", f"/shops/{shop_id}/store", admin, deadline, {"open": True})
    return client, shop_id


@contextmanager
def interruptible(stopping: threading.Event) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): stop starting journeys, let running ones notice, clean up. Second: hard stop."""

    def handle(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt
        stopping.set()
        sys.stderr.write(f"\n{signal.Signals(signum).name}: stopping...\n")

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(args: argparse.Namespace, stopping: threading.Event) -> tuple[dict[str, Any], OwnStack | None]:
    stack: OwnStack | None = None
    root: Path | None = None
    try:
        if args.url:
            base, data_dir = require_loopback(args.url), args.data_dir
        else:
            root = Path(tempfile.mkdtemp(prefix="serverlesspresso-bench-"))
            stack = OwnStack(root, args.no_fsync, args.python)
            sys.stderr.write(f"starting serverlesspresso up (log: {stack.log_path}) ...\n")
            base, data_dir = stack.start(args.startup_timeout, stopping), stack.data_dir
        tokens = token_factory(data_dir)
        admin = tokens(f"bench-barista-{uuid.uuid4().hex[:6]}", True)
        setup, shop_id = create_shop(base, admin, args.journeys, stopping)
        code = ShopCode(setup, shop_id, admin)

        progress = Progress(args.journeys, not args.no_progress)
        clients = threading.local()
        results: list[Journey] = []
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="journey") as pool:
            futures = [
                pool.submit(run_journey, i, base, shop_id, code, tokens, admin, args, stopping, clients)
                for i in range(args.journeys)
            ]
            for future in as_completed(futures):
                journey = future.result()
                results.append(journey)
                progress.step(journey)
        results.sort(key=lambda j: j.index)
        wall = time.monotonic() - started
        report = build_report(args, base, results, wall, stack)
        return report, stack
    finally:
        if stack is not None:
            sys.stderr.write("stopping serverlesspresso up ...\n")
            stack.stop()
            if args.keep:
                sys.stderr.write(f"kept the stack's data and log in {root}\n")
            elif root is not None:
                shutil.rmtree(root, ignore_errors=True)


def build_report(
    args: argparse.Namespace, base: str, results: list[Journey], wall: float, stack: OwnStack | None
) -> dict[str, Any]:
    ok = [j for j in results if not j.error]
    failed = [j for j in results if j.error and j.error != "interrupted"]
    report: dict[str, Any] = {
        "url": base,
        "ownStack": stack is not None,
        "noFsync": bool(args.no_fsync) if stack is not None else None,
        "journeys": args.journeys,
        "concurrency": args.concurrency,
        "pollMs": args.poll_ms,
        "completed": len(ok),
        "failed": len(failed),
        "interrupted": sum(j.error == "interrupted" for j in results),
        "claimRetries": sum(j.claim_retries for j in results),
        "journeysNeedingClaimRetry": sum(j.claim_retries > 0 for j in results),
        "wallSeconds": wall,
        "journeysPerSecond": len(ok) / wall if wall > 0 else 0.0,
        "hopsMs": {hop: summarise([j.hops[hop] * 1000 for j in ok]) for hop in HOPS if ok},
        "failures": [{"journey": j.index, "orderId": j.order_id, "error": j.error} for j in failed],
        "samplesMs": [
            {
                "journey": j.index,
                "orderId": j.order_id,
                "claimRetries": j.claim_retries,
                **{hop: round(j.hops[hop] * 1000, 1) for hop in HOPS},
            }
            for j in ok
        ],
    }
    if stack is not None:
        report["stackStartup"] = stack.startup_line()
        report["readSideHandlerMs"] = {
            event: {"count": len(times), **summarise(times)} for event, times in sorted(stack.handler_times().items())
        }
    return report


def render(report: dict[str, Any]) -> str:
    mode = "own stack" + (", --no-fsync" if report["noFsync"] else ", fsync on") if report["ownStack"] else "external"
    lines = [
        f"stack:        {report['url']} ({mode})",
        f"journeys:     {report['completed']} completed, {report['failed']} failed"
        + (f", {report['interrupted']} interrupted" if report["interrupted"] else "")
        + f" (of {report['journeys']}, concurrency {report['concurrency']}, GraphQL poll {report['pollMs']} ms)",
        f"claim 409s:   {report['claimRetries']} retries in {report['journeysNeedingClaimRetry']} journeys"
        " (number visible in GraphQL before the order manager could take a claim)",
        f"wall time:    {report['wallSeconds']:.2f} s",
        f"throughput:   {report['journeysPerSecond']:.2f} journeys/s",
        "",
        f"{'hop (ms)':<10} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}   what",
    ]
    for hop, stats in report["hopsMs"].items():
        cells = " ".join(f"{stats[q]:8.1f}" for q in ("p50", "p90", "p99", "max"))
        lines.append(f"{hop:<10} {cells}   {HOP_HELP[hop]}")
    handlers = report.get("readSideHandlerMs")
    if handlers:
        lines += ["", "read-side projection handler time per event, from the stack log (ms):"]
        lines.append(f"{'event':<34} {'count':>5} {'p50':>6} {'p90':>6} {'max':>6}")
        for event, stats in handlers.items():
            lines.append(f"{event:<34} {stats['count']:5d} {stats['p50']:6.0f} {stats['p90']:6.0f} {stats['max']:6.0f}")
    for failure in report["failures"][:10]:
        lines.append(f"FAILED journey {failure['journey']} ({failure['orderId'] or 'no order'}): {failure['error']}")
    if len(report["failures"]) > 10:
        lines.append(f"... and {len(report['failures']) - 10} more failures (see --json)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/journeys.py",
        description="Time full order journeys (place, drink, numbered, claim, complete, finished) against a "
        "local Serverlesspresso stack. Starts and stops its own `serverlesspresso up` unless --url is given.",
    )
    parser.add_argument("--journeys", type=int, default=50, help="number of journeys (default: 50)")
    parser.add_argument("--concurrency", type=int, default=4, help="journeys in flight at once (default: 4)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds allowed per journey (default: 60)")
    parser.add_argument("--poll-ms", type=float, default=20, help="GraphQL polling interval in ms (default: 20)")
    parser.add_argument("--no-fsync", action="store_true", help="pass --no-fsync to the stack this script starts")
    parser.add_argument("--url", help="use an already running stack at this loopback URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--data-dir", type=Path, help="that stack's --data-dir (for signing tokens); needs --url")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--keep", action="store_true", help="keep the started stack's data dir and log")
    parser.add_argument(
        "--startup-timeout", type=float, default=120, help="seconds to wait for the stack to start (default: 120)"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for `serverlesspresso up` (default: this)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.journeys < 1 or args.concurrency < 1 or args.timeout <= 0 or args.poll_ms <= 0:
        parser.error("--journeys, --concurrency, --timeout and --poll-ms must be positive")
    if bool(args.url) != bool(args.data_dir):
        parser.error("--url and --data-dir go together")
    if args.url and args.no_fsync:
        parser.error("--no-fsync applies only to a stack this script starts (not with --url)")
    if args.journeys > 10_000:
        parser.error("--journeys is at most 10000 (the shop's maxOrdersInQueue bound)")
    stopping = threading.Event()
    with interruptible(stopping):
        try:
            report, _ = run(args, stopping)
        except Interrupted:
            sys.stderr.write("interrupted before any journey ran\n")
            return 130
        except JourneyFailed as error:
            sys.stderr.write(f"error: setting up the benchmark shop failed: {error}\n")
            return 1
    print(json.dumps(report, indent=2) if args.json else render(report))
    if stopping.is_set():
        return 130
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""HTTP load benchmark: many customers at the same instant, and connections that never finish their request.

Two measurements against a local stack (its own `serverlesspresso up`, or --url, loopback only):

1. simultaneous: --clients connections opened at the same instant (a barrier), each sending one public
   GraphQL read (the shop's name, as the order app's first screen does) with `Connection: close`. Counts
   what each got (status, reset, timeout) and the latency from the barrier to the full answer.
2. half-open: --half-open connections that send a request head without its last line. Reports the `up`
   process's thread count before and while they are held (own stack only), how long a normal request takes
   meanwhile, and how many of them the server has closed after --hold seconds.

    python bench/http_load.py                          # 200 clients, 800 half-open connections
    python bench/http_load.py --clients 500 --half-open 0
    python bench/http_load.py --url http://127.0.0.1:8000 --pid 1234
"""

from __future__ import annotations

import argparse
import json
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import journeys  # noqa: E402 - the journey benchmark, beside this file

from tests.support.load import graphql_request, one_request, simultaneous  # noqa: E402


def simultaneous_figures(address: tuple[str, int], clients: int, timeout: float) -> dict[str, object]:
    outcomes, wall = simultaneous(address, graphql_request(address[0]), clients, timeout)
    latencies = sorted(o.seconds * 1000 for o in outcomes if o.status == "200")
    return {
        "clients": clients,
        "outcomes": dict(Counter(o.status for o in outcomes)),
        "wall_s": round(wall, 2),
        "latency_ms": journeys.summarise(latencies) if latencies else {},
    }


def threads_of(pid: int | None) -> int | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return None


def half_open(address: tuple[str, int], count: int, hold: float, pid: int | None) -> dict[str, object]:
    before = threads_of(pid)
    held: list[socket.socket] = []
    refused = 0
    for _ in range(count):
        try:
            connection = socket.create_connection(address, timeout=5)
            connection.sendall(f"GET /config.json HTTP/1.1\r\nHost: {address[0]}\r\nX-Slow: ".encode())
            held.append(connection)
        except OSError:
            refused += 1
    time.sleep(1.0)
    during = threads_of(pid)
    meanwhile = one_request(address, graphql_request(address[0]), 30)
    outcome, seconds = meanwhile.status, meanwhile.seconds
    time.sleep(max(0.0, hold - 1.0))
    closed = 0
    for connection in held:
        readable, _, _ = select.select([connection], [], [], 0)
        if readable:
            try:
                if connection.recv(1) == b"":
                    closed += 1
            except OSError:
                closed += 1
    for connection in held:
        connection.close()
    return {
        "half_open": count,
        "refused_at_connect": refused,
        "threads_before": before,
        "threads_while_held": during,
        "normal_request_meanwhile": {"outcome": outcome, "ms": round(seconds * 1000, 1)},
        "closed_by_server_after_s": hold,
        "closed_by_server": closed,
    }


def render(report: dict[str, object]) -> str:
    lines = [f"stack: {report['stack']}"]
    load = report.get("simultaneous")
    if isinstance(load, dict):
        lines.append(f"simultaneous: {load['clients']} clients -> {load['outcomes']} in {load['wall_s']} s")
        latency = load["latency_ms"]
        if latency:
            lines.append(
                "  latency of the answered (ms): "
                + "  ".join(f"{k} {v:.0f}" for k, v in latency.items() if k in ("p50", "p90", "p99", "max"))
            )
    held = report.get("half_open")
    if isinstance(held, dict):
        lines.append(
            f"half-open: {held['half_open']} connections ({held['refused_at_connect']} refused at connect); "
            f"threads of up {held['threads_before']} -> {held['threads_while_held']}"
        )
        meanwhile = held["normal_request_meanwhile"]
        assert isinstance(meanwhile, dict)
        lines.append(f"  a normal request meanwhile: {meanwhile['outcome']} in {meanwhile['ms']} ms")
        lines.append(f"  closed by the server after {held['closed_by_server_after_s']} s: {held['closed_by_server']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running stack (loopback only); default: start one")
    parser.add_argument("--pid", type=int, help="the running stack's `up` process, to count its threads")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--half-open", type=int, default=800)
    parser.add_argument("--hold", type=float, default=15.0, help="seconds to hold the half-open connections")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each simultaneous client waits")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    stack: journeys.OwnStack | None = None
    root: Path | None = None
    try:
        if args.url:
            base, pid = journeys.require_loopback(args.url), args.pid
        else:
            root = Path(tempfile.mkdtemp(prefix="serverlesspresso-http-load-"))
            stack = journeys.OwnStack(root, no_fsync=False, python=sys.executable)
            base = stack.start(60, threading.Event())
            pid = stack.process.pid if stack.process else None
        parts = urlsplit(base)
        address = (parts.hostname or "127.0.0.1", parts.port or 80)
        report: dict[str, object] = {"stack": base}
        if args.clients:
            report["simultaneous"] = simultaneous_figures(address, args.clients, args.timeout)
        if args.half_open:
            report["half_open"] = half_open(address, args.half_open, args.hold, pid)
        print(json.dumps(report, indent=2) if args.json else render(report))
        return 0
    finally:
        if stack is not None:
            stack.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

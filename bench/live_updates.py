#!/usr/bin/env python3
"""Live-update benchmark: event-to-subscriber latency while journeys run, and fan-out to many subscribers.

Starts its own `serverlesspresso up` (on free loopback ports), then:
1. latency: one admin subscriber (AWS IoT Device SDK v2 client) on a shop's admin and board topics
   while `bench/journeys.py` drives N journeys on that shop; for every message, latency is the time it
   arrived minus the event's own `at` (when the service or the workflow created it), so it covers the
   bus, the consumer, the publish and the broker;
2. fan-out: S subscribers on one shop's config topic; the store is opened and closed R times and each
   round's ConfigChanged is timed from its `at` to the first, median and last subscriber.
Everything stays on 127.0.0.1 and every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import journeys  # noqa: E402 - the journey benchmark, beside this file
from awscrt import mqtt  # noqa: E402

from chalicelib.domain.live import admin_topic, board_topic, config_topic  # noqa: E402
from serverlesspresso.watch import WatchTarget, connect  # noqa: E402

MQTT_LINE = re.compile(r"MQTT\s+(mqtt://\S+)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def _age_ms(payload: bytes, received: float) -> tuple[str, float]:
    message = json.loads(payload)
    at = datetime.fromisoformat(str(message["at"]).replace("Z", "+00:00")).timestamp()
    return str(message["type"]), (received - at) * 1000


def measure_latency(stack: journeys.OwnStack, mqtt_url: str, args: argparse.Namespace) -> dict[str, Any]:
    tokens = journeys.token_factory(stack.data_dir)
    admin = tokens("bench-live-admin", True)
    # The journey benchmark creates its own shop; subscribe to every shop's admin and board topics.
    latencies: dict[str, list[float]] = {}
    lock = threading.Lock()

    def on_message(topic: str, payload: bytes, retain: bool = False, **kwargs: Any) -> None:
        received = time.time()
        if retain:
            return  # a retained message is the present state, not a new event
        kind, age = _age_ms(payload, received)
        with lock:
            latencies.setdefault(f"{topic.rsplit('/', 1)[-1]}: {kind}", []).append(age)

    connection = connect(WatchTarget(mqtt_url, admin, ()))
    for topic in (admin_topic("+"), board_topic("+")):
        future, _ = connection.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, on_message)
        future.result(10)
    journey_args = journeys.build_parser().parse_args(
        ["--url", stack.url, "--data-dir", str(stack.data_dir), "--journeys", str(args.journeys),
         "--concurrency", str(args.concurrency), "--no-progress"]  # fmt: skip
    )
    stopping = threading.Event()
    started = time.monotonic()
    report, _ = journeys.run(journey_args, stopping)
    wall = time.monotonic() - started
    time.sleep(1)  # the last events are still on their way
    connection.disconnect().result(10)
    every = [v for values in latencies.values() for v in values]
    return {
        "journeys": report.get("journeys", args.journeys),
        "journeys_per_s": args.journeys / wall,
        "messages": len(every),
        "overall": _summary(every),
        "by_topic_and_type": {k: _summary(v) for k, v in sorted(latencies.items())},
    }


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def measure_fanout(stack: journeys.OwnStack, mqtt_url: str, args: argparse.Namespace) -> dict[str, Any]:
    tokens = journeys.token_factory(stack.data_dir)
    admin = tokens("bench-fanout-admin", True)
    client, shop_id = journeys.create_shop(stack.url, admin, 1, threading.Event())
    topic = config_topic(shop_id)
    token = tokens("bench-display", False)
    arrivals: dict[int, list[float]] = {}
    lock = threading.Lock()

    def on_message(topic: str, payload: bytes, retain: bool = False, **kwargs: Any) -> None:
        received = time.time()
        version = int(json.loads(payload)["detail"]["version"])
        with lock:
            arrivals.setdefault(version, []).append(received)

    connections = []
    started = time.monotonic()
    for index in range(args.subscribers):
        connection = connect(WatchTarget(mqtt_url, token, ()), client_id=f"display-{index}-{uuid.uuid4().hex[:6]}")
        connection.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, on_message)[0].result(10)
        connections.append(connection)
        if index % 50 == 49:
            sys.stderr.write(f"\r  {index + 1}/{args.subscribers} subscribers connected")
    sys.stderr.write("\n")
    connect_seconds = time.monotonic() - started
    time.sleep(1)
    rounds = []
    for round_number in range(args.rounds):
        response = client.call(
            "PUT", f"/shops/{shop_id}/store", admin, time.monotonic() + 30, {"open": round_number % 2 == 1}
        )
        version = int(response.json()["version"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if len(arrivals.get(version, [])) >= args.subscribers:
                    break
            time.sleep(0.01)
        events = config_change_times(stack, shop_id, version)
        with lock:
            times = sorted(arrivals.get(version, []))
        origin = events[0] if events else (times[0] if times else time.time())
        rounds.append(
            {
                "version": version,
                "received": len(times),
                "first_ms": (times[0] - origin) * 1000 if times else None,
                "median_ms": (statistics.median(times) - origin) * 1000 if times else None,
                "last_ms": (times[-1] - origin) * 1000 if times else None,
            }
        )
    for connection in connections:
        connection.disconnect().result(10)
    return {"subscribers": args.subscribers, "connect_seconds": connect_seconds, "rounds": rounds}


def config_change_times(stack: journeys.OwnStack, shop_id: str, version: int) -> list[float]:
    """The `at` of the ConfigChanged event of this shop version, from the stack's event archive."""
    archive = stack.data_dir / "events.jsonl"
    found = []
    for line in archive.read_text().splitlines():
        event = json.loads(line)
        detail = event.get("detail", {})
        if (
            event.get("detail-type") == "ConfigService.ConfigChanged"
            and detail.get("shopId") == shop_id
            and int(detail.get("version", -1)) == version
        ):
            found.append(datetime.fromisoformat(detail["at"]).timestamp())
    return found


def render(latency: dict[str, Any] | None, fanout: dict[str, Any] | None) -> str:
    lines = []
    if latency:
        lines.append(
            f"event -> subscriber latency while {latency['journeys']} journeys ran "
            f"({latency['journeys_per_s']:.2f} journeys/s, {latency['messages']} messages)"
        )
        lines.append(f"{'topic: type':<48}{'n':>6}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}  (ms)")
        rows = [("ALL", latency["overall"]), *latency["by_topic_and_type"].items()]
        for name, s in rows:
            if s.get("n"):
                lines.append(
                    f"{name:<48}{s['n']:>6}{s['p50']:>9.0f}{s['p90']:>9.0f}{s['p99']:>9.0f}{s['max']:>9.0f}"
                )
    if fanout:
        lines.append("")
        lines.append(
            f"fan-out: {fanout['subscribers']} subscribers on one topic "
            f"(connected and subscribed in {fanout['connect_seconds']:.1f} s); ConfigChanged `at` -> receipt"
        )
        lines.append(f"{'round':<8}{'received':>10}{'first':>10}{'median':>10}{'last':>10}  (ms)")
        for index, r in enumerate(fanout["rounds"], start=1):
            if r["received"]:
                lines.append(
                    f"{index:<8}{r['received']:>10}{r['first_ms']:>10.0f}{r['median_ms']:>10.0f}{r['last_ms']:>10.0f}"
                )
            else:
                lines.append(f"{index:<8}{0:>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/live_updates.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--journeys", type=int, default=30, help="journeys during the latency run (default: 30)")
    parser.add_argument("--concurrency", type=int, default=4, help="journeys in flight (default: 4)")
    parser.add_argument("--subscribers", type=int, default=500, help="fan-out subscribers (default: 500)")
    parser.add_argument("--rounds", type=int, default=5, help="fan-out publishes to time (default: 5)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if min(args.journeys, args.concurrency, args.subscribers, args.rounds) < 1 or args.subscribers > 2000:
        parser.error("counts must be positive; --subscribers is at most 2000")
    root = Path(tempfile.mkdtemp(prefix="serverlesspresso-live-bench-"))
    stack = journeys.OwnStack(root, no_fsync=False, python=sys.executable)
    try:
        sys.stderr.write(f"starting serverlesspresso up (log: {stack.log_path}) ...\n")
        stack.start(120, threading.Event())
        match = MQTT_LINE.search(stack.log_path.read_text())
        if match is None:
            raise SystemExit("error: the stack did not print its MQTT URL")
        mqtt_url = match.group(1)
        latency = None if args.skip_latency else measure_latency(stack, mqtt_url, args)
        fanout = None if args.skip_fanout else measure_fanout(stack, mqtt_url, args)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"latency": latency, "fanout": fanout}, indent=2) if args.json else render(latency, fanout))
    return 0


if __name__ == "__main__":
    sys.exit(main())

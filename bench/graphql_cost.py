"""GraphQL cost benchmark: what one expensive anonymous query costs, and what 8 of them do to placing orders.

Against a local stack (its own `serverlesspresso up`, or --url with --data-dir, loopback only):

1. history: --history full journeys on a new shop (completed orders: what `board` used to read in full);
2. board: the latency of one `board(shopId)` query, median of 5;
3. aliases: one anonymous request with --aliases `board` aliases (compact, as a probe would send it): its
   latency and what came back;
4. place: --orders `POST /shops/{id}/orders`, one after the other, first on an idle stack, then while
   --attackers threads each send the aliases request again and again;
5. the same with --allowed aliases, the largest request the limits let through.

    python bench/graphql_cost.py                     # 40 completed orders, 1,000 aliases, 8 attackers
    python bench/graphql_cost.py --history 10 --orders 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import journeys  # noqa: E402 - the journey benchmark, beside this file


def aliases_query(shop_id: str, count: int) -> str:
    return "{" + "".join(f'a{i}:board(shopId:"{shop_id}"){{ready}}' for i in range(count)) + "}"


def post_graphql(base: str, query: str, timeout: float) -> tuple[float, int, Any]:
    started = time.monotonic()
    response = requests.post(f"{base}/graphql", json={"query": query}, timeout=timeout)
    elapsed = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        body = response.text[:200]
    return elapsed, response.status_code, body


def describe(status: int, body: Any) -> str:
    if not isinstance(body, dict):
        return f"{status} {body!r}"
    if "error" in body:
        return f"{status} {body['error'].get('code')}"
    errors = body.get("errors") or []
    codes = sorted({str((e.get("extensions") or {}).get("code")) for e in errors})
    answered = len([v for v in (body.get("data") or {}).values() if v is not None])
    return f"{status}: {answered} fields answered, {len(errors)} errors {codes}"


def place_orders(base: str, shop_id: str, code: journeys.ShopCode, tokens: Any, count: int) -> list[float]:
    client = journeys.Client(base, 0.02, threading.Event())
    times = []
    for _ in range(count):
        customer = tokens(f"bench-customer-{uuid.uuid4().hex[:8]}", False)
        deadline = time.monotonic() + 120
        started = time.monotonic()
        client.expect(201, "POST", f"/shops/{shop_id}/orders", customer, deadline, {"code": code.get(deadline)})
        times.append(time.monotonic() - started)
    return times


def summary(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return f"p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms (n={len(ms)})"


def run(args: argparse.Namespace, base: str, data_dir: Path) -> list[str]:
    tokens = journeys.token_factory(data_dir)
    admin = tokens(f"bench-barista-{uuid.uuid4().hex[:6]}", True)
    setup, shop_id = journeys.create_shop(base, admin, args.history + 2 * args.orders + 10, threading.Event())
    code = journeys.ShopCode(setup, shop_id, admin)
    lines = [f"stack: {base}"]

    journey_args = journeys.build_parser().parse_args(["--timeout", "120"])
    stopping, clients = threading.Event(), threading.local()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(
            pool.map(
                lambda i: journeys.run_journey(i, base, shop_id, code, tokens, admin, journey_args, stopping, clients),
                range(args.history),
            )
        )
    failed = [j for j in done if j.error]
    lines.append(f"history: {len(done) - len(failed)} completed orders in {time.monotonic() - started:.0f} s")

    board = "{ board(shopId: " + json.dumps(shop_id) + ") { waiting inProduction ready } }"
    samples = [post_graphql(base, board, 60)[0] for _ in range(5)]
    lines.append(f"board: median {statistics.median(samples) * 1000:.0f} ms of 5")

    query = aliases_query(shop_id, args.aliases)
    elapsed, status, body = post_graphql(base, query, args.timeout)
    lines.append(f"{args.aliases} aliases ({len(query)} bytes): {elapsed:.2f} s, {describe(status, body)}")

    idle = place_orders(base, shop_id, code, tokens, args.orders)
    lines.append(f"POST /orders, idle: {summary(idle)}")

    lines += under_attack(base, shop_id, code, tokens, args, query, f"the {args.aliases}-alias request")
    if not args.allowed:
        return lines
    allowed = aliases_query(shop_id, args.allowed)
    elapsed, status, body = post_graphql(base, allowed, args.timeout)
    lines.append(f"{args.allowed} aliases ({len(allowed)} bytes): {elapsed:.2f} s, {describe(status, body)}")
    lines += under_attack(base, shop_id, code, tokens, args, allowed, f"the {args.allowed}-alias request")
    return lines


def under_attack(
    base: str, shop_id: str, code: journeys.ShopCode, tokens: Any, args: argparse.Namespace, query: str, what: str
) -> list[str]:
    """POST /orders latency while --attackers clients send `query` again and again."""
    stop = threading.Event()
    attacks: list[float] = []

    def attacker() -> None:
        while not stop.is_set():
            try:
                attacks.append(post_graphql(base, query, args.timeout)[0])
            except requests.RequestException:
                return

    threads = [threading.Thread(target=attacker, daemon=True) for _ in range(args.attackers)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    attacked = place_orders(base, shop_id, code, tokens, args.orders)
    stop.set()
    median = f", median {statistics.median(attacks):.2f} s" if attacks else ""
    return [
        f"POST /orders, while {args.attackers} clients send {what}: {summary(attacked)}",
        f"  {what} answered meanwhile: {len(attacks)}{median}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running stack (loopback only); needs --data-dir for tokens")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--history", type=int, default=40)
    parser.add_argument("--aliases", type=int, default=1000)
    parser.add_argument("--allowed", type=int, default=10, help="aliases of the largest allowed request (0: skip)")
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one aliases request may take")
    args = parser.parse_args(argv)

    stack: journeys.OwnStack | None = None
    root: Path | None = None
    try:
        if args.url:
            base, data_dir = journeys.require_loopback(args.url), args.data_dir
        else:
            root = Path(tempfile.mkdtemp(prefix="serverlesspresso-graphql-cost-"))
            stack = journeys.OwnStack(root, no_fsync=False, python=sys.executable)
            base, data_dir = stack.start(60, threading.Event()), stack.data_dir
        print("\n".join(run(args, base, data_dir)))
        return 0
    finally:
        if stack is not None:
            stack.stop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""The crash harness: bursts of concurrent journeys, `kill -9` in the middle, restart, check that nothing was lost.

Used by tests/integration/test_crash_recovery.py (a short run) and bench/crash_soak.py (as long as you like).

What counts:

* acknowledged: an order whose POST answered 201, a completion whose POST answered 200. Requests cut by the kill
  are not acknowledged, and may or may not have happened.
* lost: an acknowledged order the write model no longer has, or an acknowledged completion it does not show.
* stuck: after the restart converged (or its deadline passed), an order that is not in a final state, has no
  `OrderProcessor.OrderFinished` in its journey, or was refused for lack of capacity (a queue slot never given back).
* disagreement: an order whose GraphQL view's state differs from the write model's, a board (GraphQL or the retained
  MQTT `Board.Current`) that shows a number still waiting or in production, or a retained board that differs from
  GraphQL's.

The figures count orders (and boards), not messages: one order can be stuck for two reasons.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from chalicelib.domain.live import BOARD_SNAPSHOT_TYPE, board_topic
from tests.support.stack import Api, Stack

FINAL_STATES = frozenset({"COMPLETED", "CANCELLED", "TIMED_OUT", "REJECTED"})
FINISHED = "OrderProcessor.OrderFinished"
KILL_POINTS = ("after-complete", "after-place", "after-drink", "any-time")


class Killed(Exception):
    """The stack went away under a journey (the kill); the journey stops there."""


@dataclass
class Ledger:
    """What the stack acknowledged, across every burst and restart."""

    placed: dict[str, str] = field(default_factory=dict)  # order id -> customer token
    completed: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)  # answers no journey should ever get (5xx, say)
    journeys: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _acks: threading.Condition = field(default_factory=threading.Condition)
    _seen: dict[str, int] = field(default_factory=dict)

    def ack(self, kind: str, order_id: str, token: str = "") -> None:
        with self._acks:
            if kind == "place":
                self.placed[order_id] = token
            elif kind == "complete":
                self.completed.add(order_id)
            self._seen[kind] = self._seen.get(kind, 0) + 1
            self._acks.notify_all()

    def error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)

    def count(self, kind: str) -> int:
        with self._acks:
            return self._seen.get(kind, 0)

    def wait_for(self, kind: str, beyond: int, timeout: float) -> bool:
        with self._acks:
            return self._acks.wait_for(lambda: self._seen.get(kind, 0) > beyond, timeout)


@dataclass
class Round:
    kill_point: str
    journeys: int
    start_seconds: float = 0.0  # `up` started until it answered HTTP
    converge_seconds: float = 0.0  # it answered until the check that passed began (0: it agreed at once)


@dataclass
class Report:
    kills: int = 0
    journeys: int = 0
    acknowledged_orders: int = 0
    acknowledged_completions: int = 0
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.stuck or self.disagreements or self.errors)

    def figures(self) -> dict[str, Any]:
        converge = [r.converge_seconds for r in self.rounds] or [0.0]
        start = [r.start_seconds for r in self.rounds] or [0.0]
        return {
            "kills": self.kills,
            "journeys": self.journeys,
            "acknowledged_orders": self.acknowledged_orders,
            "acknowledged_completions": self.acknowledged_completions,
            "lost": _subjects(self.lost),
            "stuck": _subjects(self.stuck),
            "disagreements": _subjects(self.disagreements),
            "errors": len(self.errors),
            "restart_seconds_median": round(statistics.median(start), 2),
            "restart_seconds_max": round(max(start), 2),
            "converge_seconds_median": round(statistics.median(converge), 2),
            "converge_seconds_max": round(max(converge), 2),
            "seconds": round(self.seconds, 1),
        }

    def summary(self) -> str:
        lines = [json.dumps(self.figures())]
        for name in ("lost", "stuck", "disagreements", "errors"):
            for item in getattr(self, name)[:20]:
                lines.append(f"{name}: {item}")
        return "\n".join(lines)


def _subjects(problems: list[str]) -> int:
    """How many orders (or boards) the problems are about: each reads "<order id or board>: what"."""
    return len({problem.split(":", 1)[0] for problem in problems})


class CrashRun:
    """`kills` rounds of: a burst of `journeys` concurrent journeys, `kill -9` at a chosen moment, restart, check."""

    def __init__(
        self,
        stack: Stack,
        kills: int,
        journeys: int,
        seed: int = 7,
        converge_timeout: float = 30.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.stack = stack
        self.kills = kills
        self.journeys = journeys
        self.random = random.Random(seed)
        self.converge_timeout = converge_timeout
        self.progress = progress or (lambda _: None)
        self.ledger = Ledger()
        self.finished: set[str] = set()  # orders whose journey already showed OrderFinished

    def run(self) -> Report:
        started = time.monotonic()
        report = Report()
        api = Api(self.stack)
        self.admin = api.token("crash-barista", admin=True)
        # One code for the whole run, and exactly one queue slot per journey of a burst: a slot a restart failed to
        # give back makes the next burst's last order REJECTED, which the checks count as stuck.
        self.shop_id = api.new_shop(
            self.admin, drinksPerCode=10_000, codeIntervalSeconds=86_400, maxOrdersInQueue=self.journeys
        )
        for number in range(self.kills):
            point = KILL_POINTS[number % len(KILL_POINTS)]
            this = Round(point, self.journeys)
            self._burst_and_kill(point)
            report.kills += 1
            restart = time.monotonic()
            self.stack.start()
            this.start_seconds = time.monotonic() - restart
            answered = time.monotonic()
            this.converge_seconds = self._converge(report) - answered
            report.rounds.append(this)
            self.progress(
                f"kill {number + 1}/{self.kills} ({point}): restart {this.start_seconds:.1f} s, "
                f"converged {this.converge_seconds:.1f} s, {len(self.ledger.placed)} orders so far"
            )
        # Last, a burst nobody interrupts: every journey must finish, so every queue slot was given back.
        self._burst(self._journey_threads(), wait=True)
        self._converge(report)
        report.journeys = self.ledger.journeys
        report.acknowledged_orders = len(self.ledger.placed)
        report.acknowledged_completions = len(self.ledger.completed)
        report.errors = list(self.ledger.errors)
        report.seconds = time.monotonic() - started
        return report

    # ----- load ---------------------------------------------------------------------------------------------

    def _journey_threads(self) -> list[threading.Thread]:
        self.ledger.journeys += self.journeys
        return [threading.Thread(target=self._journey, daemon=True) for _ in range(self.journeys)]

    def _burst(self, threads: list[threading.Thread], wait: bool) -> None:
        for thread in threads:
            thread.start()
        if wait:
            for thread in threads:
                thread.join(120)

    def _burst_and_kill(self, point: str) -> None:
        threads = self._journey_threads()
        kind = {"after-complete": "complete", "after-place": "place", "after-drink": "drink"}.get(point)
        before = self.ledger.count(kind) if kind else 0
        self._burst(threads, wait=False)
        if kind is not None:
            self.ledger.wait_for(kind, before, timeout=20)
            time.sleep(self.random.uniform(0, 0.03))  # inside the asynchronous aftermath of that answer
        else:
            time.sleep(self.random.uniform(0.2, 1.0))
        self.stack.kill_hard()
        for thread in threads:
            thread.join(60)

    def _journey(self) -> None:
        api = Api(self.stack)
        customer = api.token(f"crash-{uuid.uuid4().hex[:10]}")
        try:
            code = self._ok(api.call("GET", f"/shops/{self.shop_id}/code", self.admin), 200)["code"]
            order_id = self._ok(api.call("POST", f"/shops/{self.shop_id}/orders", customer, {"code": code}), 201)[
                "orderId"
            ]
            self.ledger.ack("place", order_id, customer)
            self._ok(api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Espresso"}), 200)
            self.ledger.ack("drink", order_id)
            deadline = time.monotonic() + 30
            while True:
                order = self._ok(api.call("GET", f"/orders/{order_id}", customer), 200)
                if order.get("number") is not None:
                    break
                if order.get("state") in FINAL_STATES or time.monotonic() > deadline:
                    return  # rejected or never numbered: the checks say why
                time.sleep(0.05)
            while True:
                claimed = api.call("POST", f"/orders/{order_id}/claim", self.admin)
                if claimed.status_code != 409 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self._ok(claimed, 200)
            self._ok(api.call("POST", f"/orders/{order_id}/complete", self.admin), 200)
            self.ledger.ack("complete", order_id)
        except (requests.RequestException, Killed):
            return

    def _ok(self, response: requests.Response, status: int) -> dict[str, Any]:
        if response.status_code != status:
            if response.status_code >= 500:
                self.ledger.error(f"{response.request.method} {response.request.path_url}: {response.status_code}")
            raise Killed(response.text)
        body: dict[str, Any] = response.json()
        return body

    # ----- checks -------------------------------------------------------------------------------------------

    def _converge(self, report: Report) -> float:
        """Poll until every check passes; at the deadline, record what still fails. Returns when the last began."""
        deadline = time.monotonic() + self.converge_timeout
        api = Api(self.stack)
        while True:
            began = time.monotonic()
            problems = self._check(api)
            if not any(problems.values()) or began > deadline:
                break
            time.sleep(0.25)
        for name in ("lost", "stuck", "disagreements"):
            seen = getattr(report, name)
            seen.extend(problem for problem in problems[name] if problem not in seen)
        return began

    def _check(self, api: Api) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {"lost": [], "stuck": [], "disagreements": []}
        views = self._views(api)
        completed_numbers: set[int] = set()
        for order_id, customer in sorted(self.ledger.placed.items()):
            response = api.call("GET", f"/orders/{order_id}", customer)
            if response.status_code != 200:
                problems["lost"].append(f"{order_id}: acknowledged, now {response.status_code}")
                continue
            order = response.json()
            state = order["state"]
            if state == "COMPLETED" and order.get("number") is not None:
                completed_numbers.add(order["number"])
            if order_id in self.ledger.completed and state != "COMPLETED":
                problems["lost"].append(f"{order_id}: completion acknowledged, now {state}")
            if state not in FINAL_STATES:
                problems["stuck"].append(f"{order_id}: still {state}")
            if state == "REJECTED":
                problems["stuck"].append(f"{order_id}: REJECTED ({order.get('reason')}): a queue slot was not freed")
            view = views.get(order_id)
            if view is None or view["state"] != state:
                seen = view["state"] if view else "no view"
                problems["disagreements"].append(f"{order_id}: write model {state}, GraphQL {seen}")
            if order_id not in self.finished:
                journey = api.order_view(order_id, customer)
                if journey is not None and FINISHED in [e["type"] for e in journey["journey"]]:
                    self.finished.add(order_id)
                else:
                    problems["stuck"].append(f"{order_id}: no {FINISHED}")
        query = "query($s: ID!) { board(shopId: $s) { waiting inProduction ready } }"
        board = api.gql(query, {"s": self.shop_id})["data"]["board"]
        if board["waiting"] or board["inProduction"]:
            problems["disagreements"].append(f"board: GraphQL shows unfinished numbers: {board}")
        if not set(board["ready"]) <= completed_numbers:
            problems["disagreements"].append(f"board: GraphQL's ready {board['ready']} are not all completed orders")
        retained = retained_board(self.stack, self.admin, self.shop_id)
        if retained is None or {k: retained.get(k) for k in board} != board:
            problems["disagreements"].append(f"retained board: {retained} differs from GraphQL's {board}")
        return problems

    def _views(self, api: Api) -> dict[str, dict[str, Any]]:
        views: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while True:
            page = api.gql(
                "query($s: ID!, $a: String) { orders(shopId: $s, first: 100, after: $a) {"
                " nodes { id state number } pageInfo { hasNextPage endCursor } } }",
                {"s": self.shop_id, "a": after},
                self.admin,
            )
            orders = page["data"]["orders"]
            views.update({node["id"]: node for node in orders["nodes"]})
            if not orders["pageInfo"]["hasNextPage"]:
                return views
            after = orders["pageInfo"]["endCursor"]


def retained_board(stack: Stack, token: str, shop_id: str, timeout: float = 5.0) -> dict[str, Any] | None:
    """The shop's retained `Board.Current` on the broker, as a display that subscribes now would get it."""
    from awscrt import mqtt

    from serverlesspresso.watch import WatchTarget, connect

    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    def on_message(topic: str, payload: bytes, retain: bool = False, **_: Any) -> None:
        message = json.loads(payload)
        if retain and message.get("type") == BOARD_SNAPSHOT_TYPE:
            received.append(message["detail"])
            arrived.set()

    connection = connect(WatchTarget(stack.mqtt_url, token, ()))
    try:
        future, _ = connection.subscribe(board_topic(shop_id), mqtt.QoS.AT_LEAST_ONCE, on_message)
        future.result(10)
        arrived.wait(timeout)
    finally:
        connection.disconnect().result(10)
    return received[-1] if received else None

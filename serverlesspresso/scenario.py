"""Drives a local shop, with its AWS calls recorded: every path (the evidence of infra/aws-calls.json) or app-like
journeys (what `serverlesspresso cost` scales).

    python -m serverlesspresso.scenario evidence --write infra/aws-calls.json   # `make aws-calls`
    python -m serverlesspresso.scenario evidence --report report.json           # what the staleness test runs
    python -m serverlesspresso.scenario journeys 100 --record run.jsonl         # then: serverlesspresso cost --record

Both start `serverlesspresso up` in this process (port 0, a temporary data directory, the recorder on) and talk to it
over HTTP as the apps do, so the REST and GraphQL routes run in `api_handler` and the bus delivers to every handler.
The evidence scenario also does what only the runtime can: it runs the schedule when it needs to (the periodic
thread is stopped, so a run cannot come at the wrong moment), invokes the IoT authorizer as IoT Core would, leaves
an order as a crash between saving and publishing would leave it (so `flush_outboxes` has an outbox to publish and a
workflow to resume), and puts two NewOrders on the bus again (so `start_order_workflow` meets an existing execution).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serverlesspresso import awscalls

REPO_ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = REPO_ROOT / "graphql" / "operations"
MENU = {
    "drinks": [
        {"name": "Espresso"},
        {"name": "Latte", "modifiers": [{"name": "Milk", "options": ["Whole", "Oat"]}]},
    ]
}
# Generous, for a loaded machine: a step that takes longer is a failure of the scenario.
WAIT_SECONDS = 60.0


class ScenarioFailed(Exception):
    pass


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class Bar:
    """The running shop, as its apps see it (HTTP) and as the runtime sees it (in process)."""

    runtime: Any  # serverlesspresso.runtime.LocalRuntime, started
    app: Any  # the Chalice app it runs
    region: str
    account_id: str
    base: str = ""
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base = f"http://127.0.0.1:{self.runtime.http.port}"

    # ----- people, over HTTP ------------------------------------------------------------------------

    def token(self, user: str, admin: bool = False) -> str:
        return str(self.runtime.identity.issue(user, admin=admin))

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            return Answer(error.code, json.loads(error.read() or b"null"))

    def ok(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        answer = self.call(method, path, token, body)
        if answer.status >= 300:
            raise ScenarioFailed(f"{method} {path}: {answer.status} {answer.body}")
        return answer.body

    def gql(self, operation: str, variables: dict[str, Any], token: str | None = None) -> Any:
        text = (OPERATIONS / f"{operation}.graphql").read_text(encoding="utf-8")
        if "...OrderFields" in text:
            text += "\n" + (OPERATIONS / "orderFields.graphql").read_text(encoding="utf-8")
        result = self.ok("POST", "/graphql", token, {"query": text, "variables": variables})
        if result.get("errors"):
            raise ScenarioFailed(f"GraphQL {operation}: {result['errors']}")
        return result["data"]

    def new_shop(self, shop_id: str, admin: str, **settings: int) -> str:
        self.ok("POST", "/shops", admin, {"shopId": shop_id, "name": f"Scenario {shop_id}"})
        self.ok("PUT", f"/shops/{shop_id}/menu", admin, MENU)
        if settings:
            self.ok("PATCH", f"/shops/{shop_id}/settings", admin, settings)
        self.ok("PUT", f"/shops/{shop_id}/store", admin, {"open": True})
        return shop_id

    def place(self, shop_id: str, customer: str, admin: str) -> str:
        code = self.ok("GET", f"/shops/{shop_id}/code", admin)["code"]
        return str(self.ok("POST", f"/shops/{shop_id}/orders", customer, {"code": code})["orderId"])

    # ----- the shop, in process ---------------------------------------------------------------------

    def order(self, order_id: str) -> Any:
        from chalicelib.adapters import dynamodb

        return dynamodb.DynamoDBOrders(self.region).get(order_id)

    def wait(self, what: str, done: Callable[[], bool], timeout: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.05)
        raise ScenarioFailed(f"timed out waiting for {what}")

    def wait_state(self, order_id: str, state: str) -> None:
        self.wait(f"order {order_id} to be {state}", lambda: self.order(order_id).state.value == state)

    def wait_numbered(self, order_id: str) -> None:
        self.wait(f"order {order_id} to be numbered", lambda: self.order(order_id).number is not None)

    def wait_token(self, order_id: str) -> None:
        self.wait(f"order {order_id}'s workflow to wait for the customer", lambda: self.order(order_id).customer_token)

    def executions(self) -> dict[str, str]:
        sfn, arn = self.runtime.aws.sfn, self.runtime.state_machine_arn
        found: dict[str, str] = {}
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
            for execution in page["executions"]:
                if execution["name"] in found:
                    self.problems.append(f"two executions named {execution['name']}")
                found[execution["name"]] = execution["status"]
        return found

    def wait_workflow_ended(self, order_id: str) -> None:
        self.wait(
            f"order {order_id}'s workflow to end", lambda: self.executions().get(order_id) not in (None, "RUNNING")
        )

    def settle(self) -> None:
        """Until every event put has reached every target (twice idle, half a second apart)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if self.runtime.delivery.idle():
                time.sleep(0.5)
                if self.runtime.delivery.idle():
                    return
            time.sleep(0.1)
        raise ScenarioFailed("the bus never went idle")

    def put_again(self, order_id: str) -> None:
        """Put the order's NewOrder on the bus again, as a republishing outbox would (a new event, the same detail)."""
        from chalicelib.domain import events as ev

        archive = self.runtime.data_dir / "events.jsonl"
        for line in archive.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if event.get("detail-type") == ev.NEW_ORDER and event["detail"].get("orderId") == order_id:
                self.runtime.aws.events.put_events(
                    Entries=[ev.DomainEvent(ev.NEW_ORDER, event["detail"]).to_entry("default")]
                )
                return
        raise ScenarioFailed(f"no NewOrder of {order_id} in the archive")


# ----- the evidence: every route, every handler, every path of the workflow -----------------------------------------


def evidence(bar: Bar) -> dict[str, str]:
    """Returns the orders it placed and the state each must end in."""
    runtime = bar.runtime
    runtime.schedules.stop()  # the scenario runs the schedule itself, when an outbox is waiting
    admin = bar.token("scenario-barista", admin=True)

    def customer() -> str:
        return bar.token(f"scenario-{uuid.uuid4().hex[:8]}")

    tag = uuid.uuid4().hex[:6]
    main = bar.new_shop(f"main-{tag}", admin, maxOrdersPerCustomerPerDay=50, drinksPerCode=1000)
    quick = bar.new_shop(
        f"quick-{tag}", admin, maxOrdersInQueue=1, customerTimeoutSeconds=8, baristaTimeoutSeconds=2, drinksPerCode=1000
    )
    expected: dict[str, str] = {}

    # A whole order, with the barista changing their mind once.
    alice = customer()
    made = bar.place(main, alice, admin)
    bar.ok("GET", f"/orders/{made}", alice)
    bar.wait_token(made)  # the drink resumes the waiting workflow from the API
    bar.ok("PUT", f"/orders/{made}/drink", alice, {"drink": "Latte", "modifiers": {"Milk": "Oat"}})
    bar.wait_numbered(made)
    for step in ("claim", "unclaim", "claim", "complete"):
        bar.ok("POST", f"/orders/{made}/{step}", admin)
    bar.wait_workflow_ended(made)
    expected[made] = "COMPLETED"

    # Cancelled by the customer before the workflow's token arrives (its callback resumes the workflow), before the
    # number arrives (the number's callback does), and by a barista once queued (the API does).
    delivery = runtime.delivery
    erin = customer()
    with delivery.holding("order_manager_workflow_started"):
        cancelled_early = bar.place(main, erin, admin)
        bar.ok("POST", f"/orders/{cancelled_early}/cancel", erin)
    expected[cancelled_early] = "CANCELLED"
    frank = customer()
    cancelled_chosen = bar.place(main, frank, admin)
    bar.wait_token(cancelled_chosen)
    with delivery.holding("order_manager_waiting_completion"):
        bar.ok("PUT", f"/orders/{cancelled_chosen}/drink", frank, {"drink": "Espresso"})
        bar.ok("POST", f"/orders/{cancelled_chosen}/cancel", frank)
    expected[cancelled_chosen] = "CANCELLED"
    bob = customer()
    cancelled_queued = bar.place(main, bob, admin)
    bar.ok("PUT", f"/orders/{cancelled_queued}/drink", bob, {"drink": "Espresso"})
    bar.wait_numbered(cancelled_queued)
    bar.ok("POST", f"/orders/{cancelled_queued}/cancel", admin)
    expected[cancelled_queued] = "CANCELLED"
    for order_id in (cancelled_early, cancelled_chosen, cancelled_queued):
        bar.wait_workflow_ended(order_id)

    # The quick shop holds one order at a time: a second is rejected; the first times out waiting for its drink.
    waiting = bar.place(quick, customer(), admin)
    bar.wait_token(waiting)
    rejected = bar.place(quick, customer(), admin)
    bar.wait_state(rejected, "REJECTED")
    expected[rejected] = "REJECTED"
    bar.wait_workflow_ended(waiting)
    expected[waiting] = "TIMED_OUT"
    carol = customer()
    slow = bar.place(quick, carol, admin)
    bar.ok("PUT", f"/orders/{slow}/drink", carol, {"drink": "Espresso"})
    bar.wait_workflow_ended(slow)  # the baristas take longer than 2 s
    expected[slow] = "TIMED_OUT"
    bar.ok("PUT", f"/shops/{quick}/store", admin, {"open": False})
    closed = bar.call("POST", f"/shops/{quick}/orders", customer(), {"code": "000000"})
    if closed.status != 409:
        bar.problems.append(f"an order at a closed shop answered {closed.status}, not 409")
    if bar.call("GET", "/orders/no-such-order", admin).status != 404:
        bar.problems.append("an unknown order was not a 404")

    # A crash between saving the drink and telling anyone: the schedule publishes the outbox and resumes the workflow.
    dave = customer()
    recovered = bar.place(main, dave, admin)
    bar.wait_token(recovered)
    crash_after_saving(bar, dave, recovered)
    runtime.schedules.run("flush_outboxes")
    bar.wait_numbered(recovered)
    bar.put_again(recovered)  # while its workflow runs
    bar.put_again(made)  # after its workflow ended
    bar.ok("POST", f"/orders/{recovered}/claim", admin)
    bar.ok("POST", f"/orders/{recovered}/complete", admin)
    bar.wait_workflow_ended(recovered)
    expected[recovered] = "COMPLETED"

    # What the apps read, and the IoT Core authorizer as a browser connects.
    bar.settle()
    bar.gql("shop", {"id": main})
    bar.gql("board", {"shopId": main})
    bar.gql("order", {"id": made}, alice)
    bar.gql("myOrders", {"first": 20}, alice)
    bar.gql("orders", {"shopId": main, "states": ["COMPLETED"], "first": 20, "newestFirst": True}, admin)
    bar.gql("shopStats", {"shopId": main}, admin)
    for token, allowed in ((admin, True), ("not-a-token", False)):
        if authorize(bar, token).get("isAuthenticated") is not allowed:
            bar.problems.append(f"the IoT authorizer did not answer isAuthenticated={allowed}")
    runtime.schedules.run("flush_outboxes")
    bar.settle()
    return expected


def crash_after_saving(bar: Bar, customer: str, order_id: str) -> None:
    """Choose the drink with the production OrderService whose bus and workflow fail after the save, as a process that
    died there would: the order is saved, with its DrinkChosen in the outbox, and nobody is told."""
    from chalicelib.adapters import dynamodb
    from chalicelib.adapters.system import RandomIds, SystemClock
    from chalicelib.domain.commands import ChooseDrink
    from chalicelib.services.orders import OrderService

    class Crashed(Exception):
        pass

    class Down:
        def publish(self, events: Any) -> None:
            raise Crashed

        def start(self, name: str, workflow_input: Any) -> bool:
            raise Crashed

        def resume(self, task_token: str, outcome: str) -> bool:
            raise Crashed

    service = OrderService(
        dynamodb.DynamoDBShops(),
        dynamodb.DynamoDBCodeWindows(),
        dynamodb.DynamoDBOrders(bar.region),
        Down(),
        Down(),
        SystemClock(),
        RandomIds(),
    )
    from chalicelib.bootstrap import services

    actor = services().verifier.verify(customer)
    try:
        service.choose_drink(actor, ChooseDrink(order_id, "Espresso", {}))
    except Crashed:
        pass
    else:
        raise ScenarioFailed("the crash did not happen")
    if not bar.order(order_id).outbox:
        raise ScenarioFailed("the crash left no outbox")


def authorize(bar: Bar, token: str) -> dict[str, Any]:
    """Invoke the `iot_authorizer` Lambda as IoT Core does for an MQTT CONNECT over WebSockets."""
    from chalice.local import LambdaContext

    from serverlesspresso.recorder import acting_as

    function = next(f for f in bar.app.pure_lambda_functions if f.name == "iot_authorizer")
    context = LambdaContext(function_name="iot_authorizer", memory_size=512)
    context.invoked_function_arn = f"arn:aws:lambda:{bar.region}:{bar.account_id}:function:iot_authorizer"
    event = {
        "protocols": ["mqtt"],
        "protocolData": {
            "mqtt": {
                "username": "scenario",
                "password": base64.b64encode(token.encode()).decode(),
                "clientId": f"scenario-{uuid.uuid4().hex[:8]}",
            }
        },
        "signatureVerified": False,
        "connectionMetadata": {"id": str(uuid.uuid4())},
    }
    with acting_as("iot_authorizer"):
        answer: dict[str, Any] = function.func(event, context)
    return answer


# ----- app-like journeys: what a drink costs ----------------------------------------------------------------------


def journeys(bar: Bar, count: int) -> dict[str, str]:
    """`count` journeys, each with the requests the apps make for one drink and nothing more (no polling: the apps
    follow MQTT, and this waits in process)."""
    admin = bar.token("journeys-barista", admin=True)
    shop = bar.new_shop(f"bar-{uuid.uuid4().hex[:6]}", admin, drinksPerCode=10_000, maxOrdersInQueue=100)
    expected = {}
    for _ in range(count):
        phone = bar.token(f"customer-{uuid.uuid4().hex[:8]}")
        bar.gql("myOrders", {"first": 20}, phone)  # the order app opens: its history, then the shop
        bar.gql("shop", {"id": shop}, phone)
        code = bar.ok("GET", f"/shops/{shop}/code", admin)["code"]  # the display, after the previous NewOrder
        order_id = str(bar.ok("POST", f"/shops/{shop}/orders", phone, {"code": code})["orderId"])
        bar.ok("GET", f"/orders/{order_id}", phone)
        bar.ok("PUT", f"/orders/{order_id}/drink", phone, {"drink": "Latte", "modifiers": {"Milk": "Oat"}})
        bar.wait_numbered(order_id)
        bar.ok("POST", f"/orders/{order_id}/claim", admin)
        bar.ok("POST", f"/orders/{order_id}/complete", admin)
        bar.gql("shopStats", {"shopId": shop}, admin)  # the barista app refreshes its figures
        authorize(bar, phone)  # the phone's MQTT connection
        bar.wait_workflow_ended(order_id)
        expected[order_id] = "COMPLETED"
    bar.settle()
    # The schedule runs every minute whatever the drinks; one run on the record is what the cost scales from.
    bar.runtime.schedules.run("flush_outboxes")
    return expected


# ----- running it -------------------------------------------------------------------------------------------------


@contextmanager
def recorded_shop(work: Path) -> Iterator[Bar]:
    """`up` in this process with the recorder on; the record is complete once this exits (the runtime stopped)."""
    from serverlesspresso.runtime import ACCOUNT_ID, REGION, LocalRuntime, RuntimeOptions

    logging.basicConfig(
        filename=work / "up.log", level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s %(message)s"
    )
    for noisy in ("botocore", "moto", "urllib3", "pynamodb", "strawberry", "amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    runtime = LocalRuntime(
        RuntimeOptions(port=0, mqtt_port=0, data_dir=work / "data", fsync=False, record_aws_calls=True)
    )
    runtime.start()
    import app as chalice_app

    # Chalice gives the app's logger (ours) a handler of its own on stderr: the log file has it all.
    chalice_app.app.log.handlers[:] = []

    try:
        yield Bar(runtime, chalice_app.app, REGION, ACCOUNT_ID)
    finally:
        runtime.stop()


def check_shop(bar: Bar, expected: dict[str, str]) -> dict[str, Any]:
    """While the shop runs: every order ended as it should, with one workflow each, and nothing was dead-lettered."""
    executions = bar.executions()
    for order_id, state in expected.items():
        if order_id not in executions:
            bar.problems.append(f"order {order_id} has no workflow")
        actual = bar.order(order_id).state.value
        if actual != state:
            bar.problems.append(f"order {order_id} is {actual}, not {state}")
    dead = {rule: n for rule, n in bar.runtime.delivery.dead_letters().items() if n}
    if dead:
        bar.problems.append(f"dead letters: {dead}")
    return {
        "orders": {order_id: bar.order(order_id).state.value for order_id in expected},
        "executions": len(executions),
        "dead_letters": dead,
    }


def check_record(records: list[dict[str, Any]], functions: list[str], problems: list[str]) -> dict[str, Any]:
    """From the record: every function ran, the state machine's calls are there, and start_order_workflow met an
    existing execution for the NewOrders put again (and, since names are unique, started nothing for them)."""
    invoked: dict[str, int] = {}
    for record in records:
        if record.get("kind") == "invocation":
            invoked[record["function"]] = invoked.get(record["function"], 0) + 1
    missing = sorted(set(functions) - set(invoked))
    if missing:
        problems.append(f"functions never invoked: {missing}")
    if not any(r.get("function") == "statemachine" for r in records if r.get("kind") == "call"):
        problems.append("no call of the state machine was recorded")
    starts = [r for r in records if r.get("kind") == "call" and r.get("operation") == "StartExecution"]
    already = sum(1 for r in starts if r.get("error") == "ExecutionAlreadyExists")
    if already < 2:
        problems.append(f"start_order_workflow met an existing execution {already} time(s), not 2")
    return {"invoked": invoked, "start_execution_calls": len(starts), "already_started": already}


def app_functions(app: Any) -> list[str]:
    """Every Lambda function of the app: the API's, each event source's and each plain one's."""
    names = {"api_handler"}
    names.update(source.name for source in app.event_sources)
    names.update(function.name for function in app.pure_lambda_functions)
    return sorted(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serverlesspresso.scenario", description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["evidence", "journeys"])
    parser.add_argument("count", nargs="?", type=int, default=20, help="journeys: how many (default 20)")
    parser.add_argument("--write", type=Path, help="evidence: write the calls as this evidence file")
    parser.add_argument("--report", type=Path, help="write what happened (calls, invocations, checks) as JSON")
    parser.add_argument("--record", type=Path, help="keep the recorder's lines here")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="serverlesspresso-scenario-"))
    report: dict[str, Any] = {}
    with recorded_shop(work) as bar:
        functions = app_functions(bar.app)
        try:
            expected = evidence(bar) if args.what == "evidence" else journeys(bar, args.count)
            report.update(check_shop(bar, expected))
        except ScenarioFailed as failure:
            bar.problems.append(str(failure))
    problems = bar.problems
    record = work / "data" / "aws-calls.jsonl"
    records = awscalls.read_record(record)
    if args.what == "evidence":
        report.update(check_record(records, functions, problems))
    calls = awscalls.from_record(records)
    report.update(
        functions=functions,
        problems=problems,
        calls_by_function=awscalls.by_function(calls),
        calls=[call.to_json() for call in calls],
    )
    if args.record:
        shutil.copyfile(record, args.record)
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if problems:
        print("the scenario went wrong:", *problems, sep="\n  ", file=sys.stderr)
        print(f"its log and data: {work}", file=sys.stderr)
        return 1
    if args.write:
        args.write.write_text(awscalls.dump(calls), encoding="utf-8")
    for function, count in report["calls_by_function"].items():
        print(f"{function:<34} {count:>3} distinct calls")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Emulated AWS for the local runtime: moto (DynamoDB, EventBridge, SQS, Step Functions) in this process.

EventBridge rules are created from the same patterns Chalice deploys (`app.event_sources`), the workflow's trigger
included: `start_order_workflow` starts each order's execution, here as on AWS. moto matches patterns itself but
delivers only to some target types, so each rule targets its own SQS queue (with a dead-letter queue), and
`EventDelivery` turns queue messages into Lambda invocations of the Chalice handlers: asynchronous, at least once,
retried with back-off, and dead-lettered after the last attempt, as EventBridge does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Container, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore import handlers
from chalice.app import CloudWatchEventConfig, Rate, ScheduledEventConfig
from chalice.local import LambdaContext
from moto import mock_aws
from moto.events.models import EventPattern

from chalicelib.domain import events as ev
from serverlesspresso.datadir import open_private
from serverlesspresso.recorder import acting_as

logger = logging.getLogger("serverlesspresso.events")

ACCOUNT_ID = "123456789012"
MAX_ATTEMPTS = 5  # EventBridge retries for far longer; five quick tries keep a local bar responsive


@dataclass(frozen=True)
class Delivery:
    """One rule and where its matching events go."""

    rule_name: str
    pattern: dict[str, Any]
    invoke: Callable[[dict[str, Any]], None]
    queue_url: str = ""
    dlq_url: str = ""


class LocalAws:
    def __init__(self, region: str) -> None:
        self.region = region
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})

    def start(self) -> None:
        self._mock.start()
        self.sqs = boto3.client("sqs", region_name=self.region)
        self.events = boto3.client("events", region_name=self.region)
        self.sfn = boto3.client("stepfunctions", region_name=self.region)
        self.dynamodb = boto3.client("dynamodb", region_name=self.region)

    def stop(self) -> None:
        self._mock.stop()

    def create_state_machine(self, definition_path: Path, substitutions: dict[str, str]) -> str:
        definition = definition_path.read_text()
        for name, value in substitutions.items():
            definition = definition.replace("${" + name + "}", value)
        response = self.sfn.create_state_machine(
            name="serverlesspresso-orders",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/serverlesspresso-orders",
            type="STANDARD",
        )
        return str(response["stateMachineArn"])

    def connect(self, delivery: Delivery, bus_name: str) -> Delivery:
        dlq_url = self.sqs.create_queue(QueueName=f"{delivery.rule_name}-dlq")["QueueUrl"]
        dlq_arn = self._queue_arn(dlq_url)
        queue_url = self.sqs.create_queue(
            QueueName=delivery.rule_name,
            Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_ATTEMPTS}),
                "VisibilityTimeout": "30",
            },
        )["QueueUrl"]
        self.events.put_rule(Name=delivery.rule_name, EventBusName=bus_name, EventPattern=json.dumps(delivery.pattern))
        self.events.put_targets(
            Rule=delivery.rule_name, EventBusName=bus_name, Targets=[{"Id": "1", "Arn": self._queue_arn(queue_url)}]
        )
        return Delivery(delivery.rule_name, delivery.pattern, delivery.invoke, queue_url, dlq_url)

    def _queue_arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def dump_table(self, table_name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
            items.extend(page["Items"])
        return items


def as_lambda_envelope(event: dict[str, Any]) -> dict[str, Any]:
    """moto's SQS copy of an event lacks some envelope fields a real EventBridge target receives."""
    return {"version": "0", "account": ACCOUNT_ID, "region": "us-east-1", "resources": [], **event}


def lambda_deliveries(app: Any) -> list[Delivery]:
    """One delivery per `@on_cw_event` handler, invoking it as Lambda would (and as that function, for the record)."""
    deliveries = []
    for source in app.event_sources:
        if not isinstance(source, CloudWatchEventConfig):
            continue
        handler = app.handler_map[source.name]

        def invoke(event: dict[str, Any], handler: Any = handler, name: str = source.name) -> None:
            with acting_as(name):
                handler(as_lambda_envelope(event), LambdaContext(function_name=name, memory_size=256))

        deliveries.append(Delivery(source.name, source.event_pattern, invoke))
    return deliveries


def no_workflow_for(delivery: Delivery, ended_by_restart: Container[str]) -> Delivery:
    """`start_order_workflow`'s delivery, except for the orders this start ended because their workflow was lost.

    Such an order is final, and its NewOrder (redelivered, or republished from its outbox) would start a workflow
    that holds a queue slot until it times out: moto lost the execution, so its name no longer stops a second one.
    """

    def invoke(event: dict[str, Any]) -> None:
        order_id = event.get("detail", {}).get("orderId")
        if order_id in ended_by_restart:
            logger.info("order %s was ended by the restart: no new workflow for it", order_id)
            return
        delivery.invoke(event)

    return Delivery(delivery.rule_name, delivery.pattern, invoke, delivery.queue_url, delivery.dlq_url)


def archive_delivery(path: Path) -> Delivery:
    """Append every event, as delivered, to a JSON-lines file: the local stand-in for an EventBridge
    archive, for debugging and for tests that check every emitted event against its schema.
    It holds task tokens, like the DynamoDB journal beside it: the data directory is private."""
    lock = threading.Lock()

    def append(event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"))
        with lock, open_private(path, "a") as archive:
            archive.write(line + "\n")

    return Delivery("event-archive", ev.ALL_EVENTS_PATTERN, append)


class BusSignal:
    """Wakes the queue pollers when anything in the process puts events, instead of busy polling.

    Registered as a botocore hook on every session (like the journal), so it also sees the
    Step Functions interpreter's putEvents tasks.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.generation = 0

    def install(self) -> None:
        handlers.BUILTIN_HANDLERS.append(("after-call.eventbridge.PutEvents", self.notify))

    def notify(self, **_: Any) -> None:
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def wait_after(self, generation: int, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.generation != generation, timeout=timeout)


def matcher(pattern: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Whether an event matches a rule's pattern, decided by moto's own matcher (the one its bus routes with)."""
    compiled = EventPattern.load(json.dumps(pattern))

    def matches(event: dict[str, Any]) -> bool:
        return bool(compiled.matches_event(event))  # type: ignore[arg-type]

    return matches


class EventDelivery:
    """Polls each rule's queue and hands events to their targets on a small worker pool.

    `on_delivered(rule, event id)` is called once a target processed an event, before its message is deleted (the
    bus journal's acknowledgement).
    """

    # Retries become visible again without a new PutEvents; this bounds how late they are noticed.
    IDLE_POLL_SECONDS = 0.5

    def __init__(
        self,
        sqs: Any,
        deliveries: list[Delivery],
        signal: BusSignal,
        workers: int = 8,
        on_delivered: Callable[[str, str], None] = lambda rule, event_id: None,
    ) -> None:
        self._signal = signal
        self._sqs = sqs
        self._deliveries = deliveries
        self._by_rule = {delivery.rule_name: delivery for delivery in deliveries}
        self._on_delivered = on_delivered
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="target")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._tried = threading.Condition()
        self._untried: set[tuple[str, str]] = set()
        self._held: set[str] = set()
        self.delivered = 0
        self.failed_attempts = 0

    @property
    def rules(self) -> dict[str, Callable[[dict[str, Any]], bool]]:
        """Each rule's matcher, by rule name."""
        return {delivery.rule_name: matcher(delivery.pattern) for delivery in self._deliveries}

    def redeliver(self, pending: list[tuple[str, dict[str, Any]]], timeout: float) -> int:
        """Put each (rule, event) back on its rule's queue, then wait (at most `timeout`) until each was tried once.

        Returns how many were not tried in time. Rules that no longer exist are skipped.
        """
        known = [(rule, event) for rule, event in pending if rule in self._by_rule]
        with self._tried:
            self._untried = {(rule, str(event["id"])) for rule, event in known}
        for rule, event in known:
            self._sqs.send_message(QueueUrl=self._by_rule[rule].queue_url, MessageBody=json.dumps(event))
        self._signal.notify()
        with self._tried:
            self._tried.wait_for(lambda: not self._untried, timeout=timeout)
            return len(self._untried)

    def idle(self) -> bool:
        """No message waiting or in flight on any rule's queue (dead letters aside)."""
        for delivery in self._deliveries:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=delivery.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if int(attributes["ApproximateNumberOfMessages"]) or int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            ):
                return False
        return True

    @contextmanager
    def holding(self, rule_name: str) -> Iterator[None]:
        """Deliver nothing to this rule's target meanwhile, as a slow or throttled Lambda would (events wait)."""
        self._held.add(rule_name)
        try:
            yield
        finally:
            self._held.discard(rule_name)
            self._signal.notify()

    def start(self) -> None:
        for delivery in self._deliveries:
            thread = threading.Thread(
                target=self._poll, args=(delivery,), name=f"rule-{delivery.rule_name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._signal.notify()
        for thread in self._threads:
            thread.join(timeout=2)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _poll(self, delivery: Delivery) -> None:
        while not self._stop.is_set():
            generation = self._signal.generation
            if delivery.rule_name in self._held:
                self._signal.wait_after(generation, self.IDLE_POLL_SECONDS)
                continue
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=delivery.queue_url,
                    MaxNumberOfMessages=10,
                    AttributeNames=["ApproximateReceiveCount"],
                ).get("Messages", [])
            except Exception:  # noqa: BLE001 - keep polling through a transient failure during shutdown
                if self._stop.is_set():
                    return
                logger.exception("polling %s failed", delivery.rule_name)
                time.sleep(0.5)
                continue
            if not messages:
                self._signal.wait_after(generation, self.IDLE_POLL_SECONDS)
                continue
            for message in messages:
                self._pool.submit(self._deliver, delivery, message)

    def _deliver(self, delivery: Delivery, message: dict[str, Any]) -> None:
        event = json.loads(message["Body"])
        try:
            self._attempt(delivery, message, event)
        finally:
            with self._tried:
                if self._untried:
                    self._untried.discard((delivery.rule_name, str(event.get("id"))))
                    self._tried.notify_all()

    def _attempt(self, delivery: Delivery, message: dict[str, Any], event: dict[str, Any]) -> None:
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        started = time.perf_counter()
        try:
            delivery.invoke(event)
        except Exception as error:  # noqa: BLE001 - any target failure means: retry, then dead-letter
            self.failed_attempts += 1
            backoff = min(2 ** (attempt - 1), 30)
            level = logging.ERROR if attempt >= MAX_ATTEMPTS else logging.WARNING
            logger.log(
                level,
                "%s -> %s failed (attempt %d/%d, retry in %ds): %s",
                event.get("detail-type"),
                delivery.rule_name,
                attempt,
                MAX_ATTEMPTS,
                backoff,
                error,
            )
            self._sqs.change_message_visibility(
                QueueUrl=delivery.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=backoff
            )
            return
        # Journaled before the message goes: a crash in between redelivers it, which consumers take as a duplicate.
        self._on_delivered(delivery.rule_name, str(event.get("id")))
        self._sqs.delete_message(QueueUrl=delivery.queue_url, ReceiptHandle=message["ReceiptHandle"])
        self.delivered += 1
        if delivery.rule_name == "read_side_projection":
            detail = event.get("detail", {})
            logger.info(
                "%-34s order=%s shop=%s (%.0f ms)",
                event.get("detail-type"),
                detail.get("orderId", "-"),
                detail.get("shopId", "-"),
                (time.perf_counter() - started) * 1000,
            )

    def dead_letters(self) -> dict[str, int]:
        counts = {}
        for delivery in self._deliveries:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=delivery.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            counts[delivery.rule_name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        return counts


_RATE_SECONDS = {"MINUTES": 60, "HOURS": 3600, "DAYS": 86400}


class Schedules:
    """Runs the app's `@schedule` handlers at their rate, as EventBridge Scheduler would."""

    def __init__(self, app: Any, seconds_per_second: float = 1.0, tick: float = 1.0) -> None:
        self._tick = tick
        self._jobs: list[tuple[str, float, Any]] = []
        for source in app.event_sources:
            if isinstance(source, ScheduledEventConfig) and isinstance(source.schedule_expression, Rate):
                rate = source.schedule_expression
                period = rate.value * _RATE_SECONDS[rate.unit] * seconds_per_second
                self._jobs.append((source.name, period, app.handler_map[source.name]))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self._jobs]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def run(self, name: str) -> None:
        """Run one schedule's handler now, as its rule would (a failure raises)."""
        handler = next(handler for job, _, handler in self._jobs if job == name)
        event = as_lambda_envelope(
            {"id": name, "detail-type": "Scheduled Event", "source": "aws.events", "time": "", "detail": {}}
        )
        with acting_as(name):
            handler(event, LambdaContext(function_name=name, memory_size=256))

    def _run(self) -> None:
        due = {name: time.monotonic() + period for name, period, _ in self._jobs}
        while not self._stop.wait(self._tick):
            for name, period, _ in self._jobs:
                if time.monotonic() < due[name]:
                    continue
                due[name] = time.monotonic() + period
                try:
                    self.run(name)
                except Exception:  # noqa: BLE001 - a failed run is logged and retried at the next tick
                    logger.exception("scheduled %s failed", name)

"""`serverlesspresso up`: start emulated AWS, replay durable state, wire the bus, serve HTTP."""

from __future__ import annotations

import errno
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore import xform_name

from serverlesspresso.busjournal import BusJournal
from serverlesspresso.datadir import DataDirectoryLock, ensure_private_directory, make_private, open_private
from serverlesspresso.identity import AUDIENCE, ISSUER, USER_POOL_ID, LocalIdentityProvider
from serverlesspresso.journal import DynamoDBJournal
from serverlesspresso.recorder import AwsCallRecorder, BothPublishers, api_middleware, publisher_to_moto

if TYPE_CHECKING:
    from serverlesspresso.broker.process import BrokerProcess
    from serverlesspresso.server import LocalHttpServer

logger = logging.getLogger("serverlesspresso")

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
TABLE_NAME = "serverlesspresso"
BUS_NAME = "default"  # Chalice's on_cw_event rules live on the default bus
DEFAULT_SHOP_ID = "default"
ACCOUNT_ID = "123456789012"  # moto's default account
START_ORDER_WORKFLOW = "start_order_workflow"  # the function that starts each order's workflow (handlers/events.py)
RESTART_REASON = "The shop's system restarted while this order was in progress; please order again"
# How long a start waits for the events it redelivers to be tried once, so what the lost workflows said (a timeout,
# a number) reaches the orders before the restart ends them.
REDELIVERY_WAIT_SECONDS = 10.0
# How long after a start the present state (retained store state and boards) is published again once the bus is idle.
SETTLE_SECONDS = 30.0


class StartError(RuntimeError):
    """`up` cannot start; the message says what the person starting it can do about it."""


@dataclass
class RuntimeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = field(default_factory=lambda: Path(".serverlesspresso"))
    fsync: bool = True
    mqtt_port: int = 1883
    # Where phones reach this machine (the QR code's address); derived from host and port when not given.
    public_url: str | None = None
    web_dist: Path = field(default_factory=lambda: REPO_ROOT / "web" / "dist")
    # Record every AWS call the functions and the workflow make, in <data-dir>/aws-calls.jsonl (recorder.py).
    record_aws_calls: bool = False


class LocalRuntime:
    def __init__(self, options: RuntimeOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        self.identity = LocalIdentityProvider(self.data_dir)
        self.journal = DynamoDBJournal(self.data_dir / "dynamodb.journal", fsync=options.fsync)
        self.bus = BusJournal(self.data_dir / "bus.journal", REGION, fsync=options.fsync)
        self.lock = DataDirectoryLock(self.data_dir)
        self.recorder: AwsCallRecorder | None = None
        self.state_machine_arn = ""
        self._stopped = threading.Event()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """After a failed start: stop the broker child if it was started (the rest ends with this process)."""
        broker: BrokerProcess | None = getattr(self, "broker", None)
        if broker is not None:
            broker.stop()
        self.lock.release()

    def _start(self) -> None:
        started = time.perf_counter()
        # Everything here is private (task tokens, QR codes, keys, the broker's password): files this process
        # and the broker create are 0600, and what an older run left readable is closed before anything else.
        os.umask(0o077)
        ensure_private_directory(self.data_dir)
        # Held until this process ends, however it ends: a second `up` would replay and rewrite the journal
        # under this one.
        self.lock.acquire()
        for path in make_private(self.data_dir):
            logger.info("made %s private to its owner", path)
        self.identity.ensure_keys()
        self._configure_environment()
        if self.options.record_aws_calls:
            self.recorder = AwsCallRecorder(self.data_dir / "aws-calls.jsonl", REGION, ACCOUNT_ID)
            self.recorder.install()
        # Before any botocore session exists, so every client is journaled.
        self.journal.install()
        self.bus.install()
        from serverlesspresso.emulator import BusSignal

        bus_signal = BusSignal()
        bus_signal.install()

        import app as chalice_app
        from chalicelib import bootstrap
        from chalicelib.adapters import dynamodb
        from chalicelib.bootstrap import services
        from serverlesspresso import moto_speedups
        from serverlesspresso.broker.client import BackendPublisher
        from serverlesspresso.broker.credentials import InternalCredentials
        from serverlesspresso.emulator import (
            EventDelivery,
            LocalAws,
            Schedules,
            archive_delivery,
            lambda_deliveries,
            no_workflow_for,
        )
        from serverlesspresso.live_publisher import MqttLivePublisher
        from serverlesspresso.recovery import lost_workflow_ending
        from serverlesspresso.server import jwks_route
        from serverlesspresso.signin.protocol import cognito_route
        from serverlesspresso.signin.service import SignInService
        from serverlesspresso.signin.store import SignInStore
        from serverlesspresso.signin.tokens import TokenMinter
        from serverlesspresso.webapps import config_route, web_route

        # Chalice sets its app logger (named after the app, so our parent logger) to ERROR.
        logging.getLogger("serverlesspresso").setLevel(logging.INFO)

        moto_speedups.install()
        # Bound now (serving starts last) so a port of 0 is known before the QR code's URL is set, and a busy
        # port is reported before anything else has started.
        self.http = self._bind_http(chalice_app.app)
        # The broker runs in its own process: in this one, the GIL would make it wait behind the app.
        ensure_private_directory(self.data_dir / "broker")
        credentials = InternalCredentials.create(self.data_dir / "broker" / "backend-credentials.json")
        self.broker = self._start_first_broker()
        self.backend = BackendPublisher("127.0.0.1", self.broker.address.tcp_port, credentials)
        live_publisher: Any = MqttLivePublisher(self.backend)
        if self.recorder is not None:
            live_publisher = BothPublishers(live_publisher, publisher_to_moto(REGION))
        bootstrap.use_local_live_publisher(live_publisher)
        # Every route runs in the API Lambda: its AWS calls are api_handler's.
        chalice_app.app.register_middleware(api_middleware, "http")

        public_url = self.options.public_url or _default_public_url(self.options.host, self.http.port)
        self.public_url = public_url.rstrip("/")
        os.environ["ORDER_APP_URL"] = f"{self.public_url}/order"

        self.aws = LocalAws(REGION)
        self.aws.start()
        dynamodb.bind_table(TABLE_NAME, REGION)
        dynamodb.create_table()
        replayed = self.journal.replay(self._call_dynamodb)
        self.journal.compact({TABLE_NAME: self.aws.dump_table(TABLE_NAME)})
        self.journal.enabled = True

        arn = self.aws.create_state_machine(
            REPO_ROOT / "statemachine.json", {"TableName": TABLE_NAME, "EventBusName": BUS_NAME}
        )
        # Before the services are first built: `start_order_workflow` starts this machine's executions, as on AWS.
        os.environ["STATE_MACHINE_ARN"] = self.state_machine_arn = arn
        if self.recorder is not None:
            self.recorder.state_machine_name = arn.rsplit(":", 1)[-1]
        orders = dynamodb.DynamoDBOrders(REGION)
        history = self.bus.load()
        # The workflows this restart lost (moto's executions live in memory): every unfinished order, and every order
        # whose workflow had not emitted its OrderFinished. None of them gets a new workflow.
        ended_by_restart = {order.order_id for order in orders.list_unfinished()} | set(history.running)
        deliveries = [
            no_workflow_for(d, ended_by_restart) if d.rule_name == START_ORDER_WORKFLOW else d
            for d in lambda_deliveries(chalice_app.app)
        ]
        deliveries.append(archive_delivery(self.data_dir / "events.jsonl"))
        self.delivery = EventDelivery(
            self.aws.sqs,
            [self.aws.connect(d, BUS_NAME) for d in deliveries],
            bus_signal,
            on_delivered=self.bus.acknowledge,
        )
        self.bus.compact(self.delivery.rules)
        pending = self.bus.history.pending(self.delivery.rules)
        self.bus.enabled = True
        self.delivery.start()
        # What the bus had accepted but a target had not processed when the last run ended: handed to that target
        # again, before the restart ends anything, so the lost workflows' last words (a timeout, a number) count.
        late = self.delivery.redeliver(pending, REDELIVERY_WAIT_SECONDS)
        if late:
            logger.warning("%d redelivered event(s) not tried within %.0f s; they go on", late, REDELIVERY_WAIT_SECONDS)

        services().orders.flush_outboxes()
        ended = services().orders.end_interrupted(RESTART_REASON)
        finished = self._finish_lost_workflows(orders, lost_workflow_ending)
        self._reset_capacity_counters()
        services().shops.ensure(DEFAULT_SHOP_ID, "Serverlesspresso")
        self._republish_present_state()
        threading.Thread(target=self._republish_once_settled, name="settle", daemon=True).start()

        self.schedules = Schedules(chalice_app.app)
        self.schedules.start()
        threading.Thread(target=self._supervise_broker, name="broker-supervisor", daemon=True).start()
        self.signin_store = SignInStore.in_data_dir(self.data_dir)
        signin = SignInService(self.signin_store, TokenMinter(self.identity, ISSUER, AUDIENCE), time.time)
        self.http.start(
            routes=(
                jwks_route(self.identity.jwks()),
                cognito_route(signin, AUDIENCE),
                config_route(self.web_config()),
                web_route(self.options.web_dist),
            ),
            mqtt_websocket=("127.0.0.1", self.broker.address.ws_port),
        )
        logger.info(
            "started in %.1f s: %d journaled writes replayed, %d event deliveries redelivered, "
            "%d interrupted order(s) ended, %d lost workflow(s) finished",
            time.perf_counter() - started,
            replayed,
            len(pending),
            len(ended),
            finished,
        )

    def _configure_environment(self) -> None:
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "TABLE_NAME": TABLE_NAME,
                "EVENT_BUS_NAME": BUS_NAME,
                "JWKS_FILE": str(self.identity.jwks_path),
                "JWT_ISSUER": ISSUER,
                "JWT_AUDIENCE": AUDIENCE,
            }
        )

    def _call_dynamodb(self, operation: str, params: dict[str, Any]) -> Any:
        return getattr(self.aws.dynamodb, xform_name(operation))(**params)

    def _finish_lost_workflows(self, orders: Any, ending: Callable[[Any, str], Any]) -> int:
        """Emit, for each order whose workflow was lost after the order reached its final state (completed,
        cancelled), the OrderFinished that workflow never emitted. Unfinished orders were ended just before, with
        their own OrderFinished, so what is still running now is final."""
        from chalicelib.adapters.eventbridge import EventBridgePublisher

        publisher = EventBridgePublisher(self.aws.events, BUS_NAME)
        finished = 0
        for order_id in self.bus.running_workflows():
            order = orders.get(order_id)
            event = ending(order, datetime.now(UTC).isoformat()) if order is not None else None
            if event is None:
                logger.warning("order %s: its workflow was lost and it cannot be finished now", order_id)
                continue
            publisher.publish([event])
            finished += 1
        return finished

    def _republish_present_state(self) -> None:
        from chalicelib.bootstrap import services

        try:
            services().live.republish_present_state()  # the broker keeps retained messages in memory only
        except Exception:  # noqa: BLE001 - live screens lag until the next change; the shop itself must start
            logger.exception("could not publish the present state to the MQTT broker")

    def _republish_once_settled(self) -> None:
        """Retained boards are published as views change, by concurrent workers, so the last one published after a
        restart's burst of redeliveries and endings may be an older computation. Once the bus is idle, publish the
        present state again: what a display subscribing now gets is then what GraphQL says."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while not self._stopped.wait(0.2):
            if self.delivery.idle() or time.monotonic() > deadline:
                self._republish_present_state()
                return

    def _reset_capacity_counters(self) -> None:
        # Every unfinished order was just ended, so no shop has an order holding a queue slot.
        for item in self.aws.dump_table(TABLE_NAME):
            if item.get("SK", {}).get("S") == "COUNTERS" and item.get("activeOrders", {}).get("N", "0") != "0":
                self.aws.dynamodb.update_item(
                    TableName=TABLE_NAME,
                    Key={"PK": item["PK"], "SK": item["SK"]},
                    UpdateExpression="SET activeOrders = :zero",
                    ExpressionAttributeValues={":zero": {"N": "0"}},
                )

    def web_config(self) -> dict[str, Any]:
        """The apps' runtime config (on AWS the deploy writes the same shape from the stack's outputs).

        Empty URLs mean "this page's own origin", so the apps work on whatever address a phone used.
        """
        return {
            "apiUrl": "",
            "graphqlUrl": "/graphql",
            "mqttUrl": "",
            "mqttUsername": "",
            "defaultShopId": DEFAULT_SHOP_ID,
            "auth": {
                "userPoolId": USER_POOL_ID,
                "userPoolClientId": AUDIENCE,
                "userPoolEndpoint": "/cognito",
            },
        }

    def urls(self) -> dict[str, str]:
        base = self.public_url
        return {
            "Order app": f"{base}/order",
            "Display": f"{base}/display?shop={DEFAULT_SHOP_ID}",
            "Barista": f"{base}/barista?shop={DEFAULT_SHOP_ID}",
            "REST": base,
            "GraphQL": f"{base}/graphql",
            "JWKS": f"{base}/.well-known/jwks.json",
            "Sign-in": f"{base}/cognito",
            "MQTT": f"mqtt://{self.options.host}:{self.broker.address.tcp_port}",
            "MQTT over WebSockets": f"ws://{base.partition('://')[2]}/mqtt",
        }

    def wait(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stopped.set())
        self._stopped.wait()

    def _bind_http(self, app: Any) -> LocalHttpServer:
        from serverlesspresso.server import LocalHttpServer

        host, port = self.options.host, self.options.port
        try:
            return LocalHttpServer(app, host, port)
        except OSError as error:
            raise StartError(f"cannot serve HTTP on {host} {_why_not_listening(port, error, '--port')}") from error

    @property
    def broker_log(self) -> Path:
        return self.data_dir / "broker" / "broker.log"

    def _start_first_broker(self) -> BrokerProcess:
        from serverlesspresso.broker.process import BrokerPortInUse, BrokerStartError

        try:
            return self._start_broker(self.options.mqtt_port, ws_port=0)
        except BrokerPortInUse as error:
            busy = OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))
            raise StartError(
                f"cannot serve MQTT on {error.host} {_why_not_listening(error.port, busy, '--mqtt-port')}; "
                f"the broker's log: {self.broker_log}"
            ) from error
        except BrokerStartError as error:
            raise StartError(f"cannot start the MQTT broker: {error}") from error

    def _start_broker(self, tcp_port: int, ws_port: int) -> BrokerProcess:
        from serverlesspresso.broker.process import BrokerProcess

        return BrokerProcess.start(
            jwks_file=self.identity.jwks_path,
            issuer=ISSUER,
            audience=AUDIENCE,
            internal_credentials_file=self.data_dir / "broker" / "backend-credentials.json",
            tcp_host=self.options.host,
            tcp_port=tcp_port,
            ws_host="127.0.0.1",
            ws_port=ws_port,
            ready_file=self.data_dir / "broker" / "ready.json",
            log=open_private(self.broker_log, "ab"),
        )

    def _supervise_broker(self) -> None:
        """A broker that dies comes back on the same ports; clients reconnect and the retained state returns."""
        from chalicelib.bootstrap import services
        from serverlesspresso.broker.process import BrokerStartError

        while not self._stopped.wait(0.5):
            if self.broker.alive():
                continue
            address = self.broker.address
            logger.warning("the MQTT broker exited (code %s); restarting it", self.broker.process.returncode)
            try:
                self.broker = self._start_broker(address.tcp_port, address.ws_port)
            except (BrokerStartError, OSError) as error:
                logger.error("could not restart the MQTT broker (%s); trying again", error)
                continue
            # The backend publisher replays what it published retained; this also covers shops it never did.
            try:
                services().live.republish_present_state()
            except Exception:
                logger.exception("could not republish the present state after the broker restarted")
            logger.info("the MQTT broker is back (pid %d)", self.broker.process.pid)

    def stop(self) -> None:
        self._stopped.set()  # before the broker stops, so the supervisor does not bring it back
        self.http.stop()
        self.schedules.stop()
        self.delivery.stop()
        if self.recorder is not None:
            # moto's executions and tables end with this process: what the cost needs from them is recorded now.
            self.recorder.finish(self.aws.sfn, self.state_machine_arn, TABLE_NAME)
            self.recorder.close()
        self.backend.close()
        self.broker.stop()
        self.aws.stop()
        self.signin_store.close()
        self.lock.release()


def _why_not_listening(port: int, error: OSError, flag: str) -> str:
    if error.errno == errno.EADDRINUSE:
        why = "is already in use (by another 'serverlesspresso up'?)"
    elif error.errno == errno.EACCES:
        why = "needs privileges this user does not have (ports below 1024)"
    else:
        why = f"cannot be used: {error.strerror or error}"
    return f"port {port}: the port {why}; choose another with {flag} (0 picks a free one)"


def _default_public_url(host: str, port: int) -> str:
    """The address to print and to put in QR codes: the LAN address when listening on every interface."""
    if host in ("0.0.0.0", "::", ""):
        host = _lan_address() or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _lan_address() -> str | None:
    # Connecting a UDP socket sends nothing; it only asks the kernel which interface would route there.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("0.") else address

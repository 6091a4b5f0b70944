"""Composition root: builds every service from Settings, once, on first use (or from memory, for tests)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import boto3

from chalicelib.adapters import dynamodb
from chalicelib.adapters.eventbridge import EventBridgePublisher
from chalicelib.adapters.iot import IotDataPublisher
from chalicelib.adapters.memory import (
    InMemoryCodeWindows,
    InMemoryOrders,
    InMemoryReadModel,
    InMemoryShops,
    RecordingLivePublisher,
    RecordingPublisher,
    RecordingWorkflow,
    SequentialIds,
    StaticTokens,
)
from chalicelib.adapters.stepfunctions import StepFunctionsWorkflow
from chalicelib.adapters.system import RandomIds, SystemClock
from chalicelib.ports import (
    Clock,
    CodeWindowRepository,
    IdGenerator,
    LivePublisher,
    OrderRepository,
    ShopRepository,
    TokenVerifier,
)
from chalicelib.services.live import LiveUpdatesService
from chalicelib.services.orders import OrderService
from chalicelib.services.projection import ProjectionService
from chalicelib.services.queries import QueryService
from chalicelib.services.shops import ShopService
from chalicelib.services.workflows import WorkflowStarts
from chalicelib.settings import Settings
from chalicelib.verification import build_verifier


@dataclass(frozen=True)
class Services:
    shops: ShopService
    orders: OrderService
    projection: ProjectionService
    queries: QueryService
    live: LiveUpdatesService
    verifier: TokenVerifier
    workflows: WorkflowStarts


# Adapters the local runtime supplies itself (its MQTT broker client is not packaged for Lambda).
_local_adapters: dict[str, LivePublisher] = {}


def use_local_live_publisher(publisher: LivePublisher) -> None:
    _local_adapters["live_publisher"] = publisher
    _from_settings.cache_clear()


def build_live_publisher(settings: Settings) -> LivePublisher:
    if "live_publisher" in _local_adapters:
        return _local_adapters["live_publisher"]
    if settings.iot_data_endpoint:
        client = boto3.client(
            "iot-data", region_name=settings.region, endpoint_url=f"https://{settings.iot_data_endpoint}"
        )
        return IotDataPublisher(client)
    raise RuntimeError("set IOT_DATA_ENDPOINT (AWS IoT Core) or run the local runtime, which brings its broker")


def build(settings: Settings) -> Services:
    dynamodb.bind_table(settings.table_name, settings.region)
    shops = dynamodb.DynamoDBShops()
    windows = dynamodb.DynamoDBCodeWindows()
    orders = dynamodb.DynamoDBOrders(settings.region)
    read_model = dynamodb.DynamoDBReadModel()
    publisher = EventBridgePublisher(boto3.client("events", region_name=settings.region), settings.event_bus_name)
    workflow = StepFunctionsWorkflow(
        boto3.client("stepfunctions", region_name=settings.region), settings.state_machine_arn
    )
    clock = SystemClock()
    queries = QueryService(read_model, clock)
    live = LiveUpdatesService(build_live_publisher(settings), queries, clock)
    return Services(
        shops=ShopService(shops, windows, publisher, clock, settings.order_app_url),
        orders=OrderService(shops, windows, orders, publisher, workflow, clock, RandomIds()),
        projection=ProjectionService(read_model, listener=live),
        queries=queries,
        live=live,
        verifier=build_verifier(settings),
        workflows=WorkflowStarts(workflow),
    )


@dataclass
class InMemoryAdapters:
    """Every port in memory (chalicelib/adapters/memory.py). Keep the instance to look inside the fakes."""

    verifier: TokenVerifier = field(default_factory=StaticTokens)
    clock: Clock = field(default_factory=SystemClock)
    ids: IdGenerator = field(default_factory=SequentialIds)
    shops: ShopRepository = field(default_factory=InMemoryShops)
    windows: InMemoryCodeWindows = field(default_factory=InMemoryCodeWindows)
    orders: OrderRepository | None = None  # None: InMemoryOrders over `windows`, as one table shares them
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    workflow: RecordingWorkflow = field(default_factory=RecordingWorkflow)
    read_model: InMemoryReadModel = field(default_factory=InMemoryReadModel)
    live: RecordingLivePublisher = field(default_factory=RecordingLivePublisher)
    order_app_url: str = "http://localhost:8000/order"

    def __post_init__(self) -> None:
        if self.orders is None:
            self.orders = InMemoryOrders(self.windows)


def build_in_memory(adapters: InMemoryAdapters) -> Services:
    """The same services as build(), on the in-memory adapters: nothing leaves the process."""
    orders: OrderRepository = adapters.orders or InMemoryOrders(adapters.windows)
    windows: CodeWindowRepository = adapters.windows
    queries = QueryService(adapters.read_model, adapters.clock)
    live = LiveUpdatesService(adapters.live, queries, adapters.clock)
    return Services(
        shops=ShopService(adapters.shops, windows, adapters.publisher, adapters.clock, adapters.order_app_url),
        orders=OrderService(
            adapters.shops, windows, orders, adapters.publisher, adapters.workflow, adapters.clock, adapters.ids
        ),
        projection=ProjectionService(adapters.read_model, listener=live),
        queries=queries,
        live=live,
        verifier=adapters.verifier,
        workflows=WorkflowStarts(adapters.workflow),
    )


# Services that handlers get instead of those built from Settings: the in-process app tests' seam.
_installed: list[Services] = []


def use_services(built: Services | None) -> None:
    """Make services() return `built` (None: build from Settings again, as in production)."""
    _installed[:] = [built] if built is not None else []


def services() -> Services:
    return _installed[0] if _installed else _from_settings()


@functools.lru_cache(maxsize=1)
def _from_settings() -> Services:
    return build(Settings.from_env())

"""Composition root: builds every service from Settings, once, on first use."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import boto3

from chalicelib.adapters import dynamodb
from chalicelib.adapters.auth import JwksFileKeys, JwksUrlKeys, JwtVerifier, SigningKeys
from chalicelib.adapters.eventbridge import EventBridgePublisher
from chalicelib.adapters.iot import IotDataPublisher
from chalicelib.adapters.stepfunctions import StepFunctionsWorkflow
from chalicelib.adapters.system import RandomIds, SystemClock
from chalicelib.ports import LivePublisher, TokenVerifier
from chalicelib.services.iot_authorizer import IotAuthorizer
from chalicelib.services.live import LiveUpdatesService
from chalicelib.services.orders import OrderService
from chalicelib.services.projection import ProjectionService
from chalicelib.services.queries import QueryService
from chalicelib.services.shops import ShopService
from chalicelib.settings import Settings


@dataclass(frozen=True)
class Services:
    shops: ShopService
    orders: OrderService
    projection: ProjectionService
    queries: QueryService
    live: LiveUpdatesService
    verifier: TokenVerifier


# Adapters the local runtime supplies itself (its MQTT broker client is not packaged for Lambda).
_local_adapters: dict[str, LivePublisher] = {}


def use_local_live_publisher(publisher: LivePublisher) -> None:
    _local_adapters["live_publisher"] = publisher
    services.cache_clear()


def build_verifier(settings: Settings) -> JwtVerifier:
    keys: SigningKeys
    if settings.jwks_file:
        keys = JwksFileKeys(settings.jwks_file)
    elif settings.jwks_url:
        keys = JwksUrlKeys(settings.jwks_url)
    else:
        raise RuntimeError("set JWKS_URL (Cognito) or JWKS_FILE (local identity provider)")
    return JwtVerifier(keys, settings.jwt_issuer, settings.jwt_audience)


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
    workflow = StepFunctionsWorkflow(boto3.client("stepfunctions", region_name=settings.region))
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
    )


@functools.lru_cache(maxsize=1)
def services() -> Services:
    return build(Settings.from_env())


@functools.lru_cache(maxsize=4)
def iot_authorizer(account_id: str) -> IotAuthorizer:
    """Cheap on purpose: IoT Core gives a custom authorizer 5 seconds, so no table or bus clients."""
    settings = Settings.from_env()
    return IotAuthorizer(build_verifier(settings), account_id, settings.region)

"""Composition root: builds every service from Settings, once, on first use."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import boto3

from chalicelib.adapters import dynamodb
from chalicelib.adapters.auth import JwksFileKeys, JwksUrlKeys, JwtVerifier, SigningKeys
from chalicelib.adapters.eventbridge import EventBridgePublisher
from chalicelib.adapters.stepfunctions import StepFunctionsWorkflow
from chalicelib.adapters.system import RandomIds, SystemClock
from chalicelib.ports import TokenVerifier
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
    verifier: TokenVerifier


def build(settings: Settings) -> Services:
    dynamodb.bind_table(settings.table_name, settings.region)
    shops = dynamodb.DynamoDBShops()
    windows = dynamodb.DynamoDBCodeWindows()
    orders = dynamodb.DynamoDBOrders(settings.region)
    read_model = dynamodb.DynamoDBReadModel()
    publisher = EventBridgePublisher(boto3.client("events", region_name=settings.region), settings.event_bus_name)
    workflow = StepFunctionsWorkflow(boto3.client("stepfunctions", region_name=settings.region))
    clock = SystemClock()
    keys: SigningKeys
    if settings.jwks_file:
        keys = JwksFileKeys(settings.jwks_file)
    elif settings.jwks_url:
        keys = JwksUrlKeys(settings.jwks_url)
    else:
        raise RuntimeError("set JWKS_URL (Cognito) or JWKS_FILE (local identity provider)")
    return Services(
        shops=ShopService(shops, windows, publisher, clock, settings.order_app_url),
        orders=OrderService(shops, windows, orders, publisher, workflow, clock, RandomIds()),
        projection=ProjectionService(read_model),
        queries=QueryService(read_model),
        verifier=JwtVerifier(keys, settings.jwt_issuer, settings.jwt_audience),
    )


@functools.lru_cache(maxsize=1)
def services() -> Services:
    return build(Settings.from_env())

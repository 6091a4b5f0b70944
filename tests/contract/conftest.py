"""Contract suites: the same behaviour checked against the in-memory fakes and the AWS adapters.

The `dynamodb` variant talks to moto in-process (`mock_aws`), so no network and no real account.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from chalicelib.adapters import dynamodb
from chalicelib.adapters.memory import InMemoryCodeWindows, InMemoryOrders, InMemoryReadModel, InMemoryShops
from serverlesspresso import moto_speedups

REGION = "us-east-1"
TABLE = "contract-test"


@dataclass
class Stores:
    """One implementation of every storage port, sharing state the way production wiring does."""

    kind: str
    shops: Any
    windows: Any
    orders: Any
    read_model: Any


def _fake_credentials(patch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        patch.setenv(name, "testing")
    patch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, so no test can ever reach a real account."""
    _fake_credentials(monkeypatch)


@pytest.fixture(scope="module")
def _dynamodb_module() -> Iterator[None]:
    """One moto and one bound table per test module.

    PynamoDB builds a botocore client per model class (~150 ms each, mostly parsing service
    JSON), and bind_table() drops them; binding once per module keeps the suite fast.
    """
    meta = dynamodb.BaseItem.Meta
    previous = (meta.table_name, meta.region, getattr(meta, "host", None))
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        _fake_credentials(patch)
        dynamodb.bind_table(TABLE, REGION)
        try:
            yield
        finally:
            # Leave the models pointing where they were, so other suites are not affected.
            dynamodb.bind_table(*previous)


@pytest.fixture
def _dynamodb_table(_dynamodb_module: None, aws_env: None) -> None:
    """A fresh, empty table for each test."""
    if dynamodb.BaseItem.exists():
        dynamodb.BaseItem.delete_table()
    dynamodb.create_table()
    assert dynamodb.BaseItem.exists()


@pytest.fixture(params=["memory", "dynamodb", "dynamodb-local-runtime"])
def stores(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Stores:
    if request.param == "memory":
        windows = InMemoryCodeWindows()
        return Stores("memory", InMemoryShops(), windows, InMemoryOrders(windows), InMemoryReadModel())
    if request.param == "dynamodb-local-runtime":
        # The local runtime replaces moto's table-copying TransactWriteItems and its table-walking
        # primary-key Query; both must behave the same.
        monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_speedups.transact_write_items)
        monkeypatch.setattr(Table, "query", moto_speedups.query_by_partition)
    request.getfixturevalue("_dynamodb_table")
    return Stores(
        "dynamodb",
        dynamodb.DynamoDBShops(),
        dynamodb.DynamoDBCodeWindows(),
        dynamodb.DynamoDBOrders(REGION),
        dynamodb.DynamoDBReadModel(),
    )


@pytest.fixture
def shops(stores: Stores) -> Any:
    return stores.shops


@pytest.fixture
def windows(stores: Stores) -> Any:
    return stores.windows


@pytest.fixture
def orders(stores: Stores) -> Any:
    return stores.orders


@pytest.fixture
def read_model(stores: Stores) -> Any:
    return stores.read_model

"""Settings read once from the environment (set per stage in .chalice/config.json); nothing else reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    region: str
    table_name: str
    event_bus_name: str
    jwt_issuer: str
    jwt_audience: str
    jwks_url: str | None
    jwks_file: str | None
    order_app_url: str
    iot_data_endpoint: str | None
    # The order workflow that `start_order_workflow` starts, one execution per order.
    state_machine_arn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            table_name=env.get("TABLE_NAME", "serverlesspresso"),
            event_bus_name=env.get("EVENT_BUS_NAME", "default"),
            jwt_issuer=env.get("JWT_ISSUER", "serverlesspresso-local"),
            jwt_audience=env.get("JWT_AUDIENCE", "serverlesspresso"),
            jwks_url=env.get("JWKS_URL") or None,
            jwks_file=env.get("JWKS_FILE") or None,
            order_app_url=env.get("ORDER_APP_URL", "http://localhost:8000/order"),
            iot_data_endpoint=env.get("IOT_DATA_ENDPOINT") or None,
            state_machine_arn=env.get("STATE_MACHINE_ARN") or None,
        )

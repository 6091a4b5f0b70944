"""The /config.json the apps receive on AWS, for every stage: complete, and naming the stage's own resources.

Read back from the web bucket of the stack deployed to moto, after the bucket deployment filled in the values
CloudFormation resolves (infra_kit does what the CDK's deployment function does). "Complete" means every field the
apps read (web/src/shared/config.ts, RuntimeConfig) is there and not empty, in the shape the local runtime serves.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from infra_kit import REPO, STAGES, Deployment, MotoCloud

from serverlesspresso.runtime import LocalRuntime

CONFIG_TS = REPO / "web" / "src" / "shared" / "config.ts"


def fields_the_apps_require() -> set[str]:
    """The non-optional fields of RuntimeConfig, nested ones as `auth.userPoolId`."""
    body = re.search(r"export interface RuntimeConfig \{(.*?)\n\}", CONFIG_TS.read_text(), re.DOTALL)
    assert body is not None, "RuntimeConfig moved: this test reads its fields"
    required = set()
    for name, nested in re.findall(r"^\s*(\w+): (\{[^}]*\}|\w+)", body.group(1), re.MULTILINE):
        if nested.startswith("{"):
            required |= {f"{name}.{field}" for field in re.findall(r"(\w+): \w+", nested)}  # `x?:` is optional
        else:
            required.add(name)
    return required


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def served_config(cloud: MotoCloud, deployment: Deployment) -> tuple[dict[str, Any], str]:
    (pages,) = [
        call
        for call in deployment.custom("Custom::CDKBucketDeployment")
        if "DestinationBucketKeyPrefix" not in call.properties
    ]
    served = cloud.client("s3").get_object(Bucket=pages.properties["DestinationBucketName"], Key="config.json")
    return json.loads(served["Body"].read()), served["CacheControl"]


def test_the_fields_the_apps_require_are_known() -> None:
    assert {"apiUrl", "graphqlUrl", "mqttUrl", "mqttUsername", "defaultShopId", "auth.userPoolId"} <= (
        fields_the_apps_require()
    )


@pytest.mark.parametrize("stage", STAGES)
def test_every_field_the_apps_read_is_there_and_not_empty(
    moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str
) -> None:
    config, cache_control = served_config(moto_cloud, deployments[stage])
    flat = _flatten(config)
    missing = fields_the_apps_require() - set(flat)
    assert missing == set()
    assert [field for field, value in flat.items() if not str(value).strip()] == []
    assert "<<marker" not in json.dumps(config), "a value CloudFormation should have filled in"
    # Revalidated on every load, so a deploy's new addresses reach browsers at once.
    assert cache_control == "no-cache"


@pytest.mark.parametrize("stage", STAGES)
def test_the_config_has_the_local_shape(moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str) -> None:
    config, _ = served_config(moto_cloud, deployments[stage])
    local = _flatten(LocalRuntime.web_config(None))  # type: ignore[arg-type]  # reads constants only
    # On AWS, Amplify finds Cognito from the pool id: the local endpoint's address is the only field left out.
    assert set(_flatten(config)) == set(local) - {"auth.userPoolEndpoint"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_config_names_this_stage_s_api_pool_client_and_iot(
    moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str
) -> None:
    outputs = deployments[stage].outputs
    config, _ = served_config(moto_cloud, deployments[stage])
    assert config["apiUrl"] == outputs["ApiUrl"]
    assert config["graphqlUrl"] == f"{outputs['ApiUrl']}/graphql"
    assert config["auth"] == {"userPoolId": outputs["UserPoolId"], "userPoolClientId": outputs["UserPoolClientId"]}
    mqtt = urlsplit(config["mqttUrl"])
    assert (mqtt.scheme, mqtt.hostname) == ("wss", outputs["IotEndpoint"])
    assert parse_qs(mqtt.query)["x-amz-customauthorizer-name"] == [outputs["IotAuthorizerName"]]
    assert outputs["IotAuthorizerName"] in config["mqttUsername"]
    assert config["defaultShopId"] == "default"

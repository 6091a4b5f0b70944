"""Each stage's synthesized stack deploys to moto's CloudFormation, and the shop's main resources come out wired.

What moto cannot create is stood in for (infra_kit.MOTO_GAPS, each with its reason) and checked from the template
by test_infra_stack_shape.py; this module checks what moto does create: the table and its indexes, the workflow,
every rule with its target, retry policy and dead-letter queue, every function with its role, size and settings,
the queues, the topic, the web bucket and its contents.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_kit import FAKE_IOT_ENDPOINT, MOTO_GAPS, REPO, STAGES, Deployment, MotoCloud
from pynamodb.attributes import Attribute

from chalicelib.adapters import dynamodb as ddb_models
from chalicelib.settings import Settings
from infra.backend import DELIVERY_MAX_EVENT_AGE, DELIVERY_RETRY_ATTEMPTS
from infra.chalice_app import read_functions
from infra.stages import stage_named

CHALICE_CONFIG = json.loads((REPO / ".chalice" / "config.json").read_text())


def _function_settings(name: str) -> tuple[int, int]:
    """(memory, timeout) as .chalice/config.json sizes the function."""
    own = CHALICE_CONFIG.get("lambda_functions", {}).get(name, {})
    return (
        own.get("lambda_memory_size", CHALICE_CONFIG["lambda_memory_size"]),
        own.get("lambda_timeout", CHALICE_CONFIG["lambda_timeout"]),
    )


def _settings_the_app_reads() -> set[str]:
    """Every environment variable chalicelib.settings reads, found by asking it."""

    class Recording(dict[str, str]):
        def get(self, key: str, default: Any = None) -> Any:
            read.add(key)
            return default

    read: set[str] = set()
    Settings.from_env(Recording())
    # Lambda sets the region itself; JWKS_FILE is the local identity provider's.
    return read - {"AWS_REGION", "AWS_DEFAULT_REGION", "JWKS_FILE"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_stack_is_created(deployments: dict[str, Deployment], stage: str) -> None:
    deployment = deployments[stage]
    assert deployment.status == "CREATE_COMPLETE"
    assert deployment.stack_name == stage_named(stage).stack_name
    # Only the types of known gaps were stood in for: a new type moto cannot create must be looked at.
    assert set(deployment.stood_in.values()) <= set(MOTO_GAPS)


@pytest.mark.parametrize("stage", STAGES)
def test_the_table_has_the_keys_and_indexes_the_models_use(
    moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str
) -> None:
    dynamodb = moto_cloud.client("dynamodb")
    name = deployments[stage].outputs["TableName"]
    table = dynamodb.describe_table(TableName=name)["Table"]
    base = ddb_models.BaseItem
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        (base.pk.attr_name, "HASH"),
        (base.sk.attr_name, "RANGE"),
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    model_indexes = {
        index.Meta.index_name: index
        for index in (ddb_models.ShopOrdersIndex, ddb_models.UserOrdersIndex, ddb_models.BoardIndex)
    }
    deployed = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(deployed) == set(model_indexes)
    for index_name, index in model_indexes.items():
        keys = {k["KeyType"]: k["AttributeName"] for k in deployed[index_name]["KeySchema"]}
        model_keys = {
            ("HASH" if attribute.is_hash_key else "RANGE"): attribute.attr_name
            for attribute in vars(index).values()
            if isinstance(attribute, Attribute)
        }
        assert keys == model_keys
        assert deployed[index_name]["Projection"]["ProjectionType"] == "ALL"
    # moto's CloudFormation ignores TimeToLiveSpecification and PointInTimeRecoverySpecification: the template
    # test checks those (test_infra_stack_shape.py).


@pytest.mark.parametrize("stage", STAGES)
def test_the_workflow_is_the_repository_s_with_its_substitutions(
    moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str
) -> None:
    outputs = deployments[stage].outputs
    machine = moto_cloud.client("stepfunctions").describe_state_machine(stateMachineArn=outputs["StateMachineArn"])
    assert machine["type"] == "STANDARD"
    # moto ignores DefinitionSubstitutions (CloudFormation applies them): test_infra_stack_shape.py checks those.
    assert json.loads(machine["definition"]) == json.loads((REPO / "statemachine.json").read_text())


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_exists_with_its_own_role_its_size_and_every_setting(
    moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str
) -> None:
    lambda_client = moto_cloud.client("lambda")
    outputs = deployments[stage].outputs
    required = _settings_the_app_reads()
    roles = set()
    for function in read_functions():
        config = lambda_client.get_function_configuration(FunctionName=stage_named(stage).resource_name(function.name))
        environment = config["Environment"]["Variables"]
        assert required <= set(environment), f"{function.name} lacks {sorted(required - set(environment))}"
        assert all(environment[name] for name in required), function.name
        assert (config["MemorySize"], config["Timeout"]) == _function_settings(function.name)
        assert config["Runtime"] == "python3.11"
        roles.add(config["Role"])
        assert environment["TABLE_NAME"] == outputs["TableName"]
        assert environment["STATE_MACHINE_ARN"] == outputs["StateMachineArn"]
        assert environment["IOT_DATA_ENDPOINT"] == FAKE_IOT_ENDPOINT
        assert environment["ORDER_APP_URL"] == outputs["OrderAppUrl"]
        assert environment["JWT_AUDIENCE"] == outputs["UserPoolClientId"]
        assert environment["JWT_ISSUER"] == f"https://cognito-idp.us-east-1.amazonaws.com/{outputs['UserPoolId']}"
        assert environment["JWKS_URL"] == environment["JWT_ISSUER"] + "/.well-known/jwks.json"
    assert len(roles) == len(read_functions()), "every function has a role of its own"


@pytest.mark.parametrize("stage", STAGES)
def test_every_rule_and_schedule_of_the_app_targets_its_function_with_retries_and_a_dead_letter_queue(
    moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str
) -> None:
    events = moto_cloud.client("events")
    dead_letters = deployments[stage].outputs["EventDeliveryDeadLettersQueueUrl"].rsplit("/", 1)[-1]
    for function in (f for f in read_functions() if f.invoked_asynchronously):
        name = stage_named(stage).resource_name(function.name)
        rule = events.describe_rule(Name=name)
        if function.event_pattern is not None:
            assert json.loads(rule["EventPattern"]) == function.event_pattern
        else:
            assert rule["ScheduleExpression"] == function.schedule_expression
        (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"].endswith(f":function:{name}")
        assert target["DeadLetterConfig"]["Arn"].endswith(f":{dead_letters}")
        assert "MaximumRetryAttempts" in target["RetryPolicy"]
        if function.event_pattern is not None:
            assert target["RetryPolicy"] == {
                "MaximumRetryAttempts": DELIVERY_RETRY_ATTEMPTS,
                "MaximumEventAgeInSeconds": int(DELIVERY_MAX_EVENT_AGE.to_seconds()),
            }
    # No rule starts the workflow directly: start_order_workflow names each execution after its order.
    for rule in events.list_rules()["Rules"]:
        for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
            assert ":states:" not in target["Arn"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_queues_and_the_alarm_topic_exist(
    moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str
) -> None:
    outputs = deployments[stage].outputs
    sqs = moto_cloud.client("sqs")
    for key in ("EventDeliveryDeadLettersQueueUrl", "FunctionFailuresQueueUrl"):
        name = outputs[key].rsplit("/", 1)[-1]
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        assert int(attributes["Attributes"]["MessageRetentionPeriod"]) == 14 * 24 * 3600
    topics = {t["TopicArn"] for t in moto_cloud.client("sns").list_topics()["Topics"]}
    assert outputs["AlarmTopicArn"] in topics


@pytest.mark.parametrize("stage", STAGES)
def test_the_iot_endpoint_is_looked_up_not_pasted(deployments: dict[str, Deployment], stage: str) -> None:
    (lookup,) = deployments[stage].custom("Custom::AWS")
    call = json.loads(lookup.properties["Create"])
    assert (call["service"], call["action"], call["parameters"]) == (
        "Iot",
        "describeEndpoint",
        {"endpointType": "iot:Data-ATS"},
    )
    assert deployments[stage].outputs["IotEndpoint"] == FAKE_IOT_ENDPOINT


@pytest.mark.parametrize("stage", STAGES)
def test_the_web_bucket_holds_the_built_apps(
    moto_cloud: MotoCloud, deployments: dict[str, Deployment], stage: str
) -> None:
    (bucket_deployment, *_) = deployments[stage].custom("Custom::CDKBucketDeployment")
    bucket = bucket_deployment.properties["DestinationBucketName"]
    s3 = moto_cloud.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"index.html", "order.html", "barista.html", "display.html", "config.json"} <= keys
    assert any(key.startswith("assets/") and key.endswith(".js") for key in keys)
    page = s3.get_object(Bucket=bucket, Key="order.html")
    assert page["CacheControl"] == "no-cache"
    asset = next(key for key in keys if key.startswith("assets/"))
    assert "immutable" in s3.get_object(Bucket=bucket, Key=asset)["CacheControl"]

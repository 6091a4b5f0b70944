"""One stage's whole shop as one CloudFormation stack: table, workflow, functions, rules, sign-in, live updates, web."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_events as events
from constructs import Construct

from infra import access, data, identity, live, web, workflow
from infra.app_config import app_config
from infra.backend import ChaliceBackend
from infra.stages import Stage

DEFAULT_SHOP_ID = "default"  # serverlesspresso.runtime.DEFAULT_SHOP_ID: the shop the apps open without ?shop=
# chalicelib.settings reads the default bus unless told otherwise; Chalice's rules can only be on the default bus.
EVENT_BUS_NAME = "default"


class ServerlesspressoStack(Stack):
    def __init__(self, scope: Construct, stage: Stage, *, alarm_email: str | None = None, **kwargs: Any) -> None:
        # The construct id is the stage's name: Chalice's construct takes its stage from it (.chalice/config.json).
        super().__init__(
            scope,
            stage.name,
            stack_name=stage.stack_name,
            description=f"Serverlesspresso ({stage.name}): an event-driven coffee bar",
            **kwargs,
        )
        self.stage = stage
        table = data.shop_table(self, stage)
        bus = events.EventBus.from_event_bus_name(self, "Bus", EVENT_BUS_NAME)
        order_workflow = workflow.order_workflow(self, stage, table, bus)
        people = identity.people(self, stage)
        iot_endpoint = live.data_endpoint(self)
        bucket, apps = web.apps_distribution(self, stage)
        apps_url = f"https://{apps.distribution_domain_name}"
        backend = ChaliceBackend(
            self,
            "Backend",
            stage=stage,
            environment={
                "TABLE_NAME": table.table_name,
                "EVENT_BUS_NAME": EVENT_BUS_NAME,
                "JWKS_URL": people.jwks_url,
                "JWT_ISSUER": people.issuer,
                "JWT_AUDIENCE": people.client.user_pool_client_id,
                "ORDER_APP_URL": f"{apps_url}/order",
                "IOT_DATA_ENDPOINT": iot_endpoint,
                "STATE_MACHINE_ARN": order_workflow.state_machine_arn,
            },
            resources=access.SharedResources(
                table_arn=table.table_arn,
                bus_arn=bus.event_bus_arn,
                state_machine_arn=order_workflow.state_machine_arn,
                topic_arn_prefix=live.topic_arn_prefix(self),
            ),
            alarm_email=alarm_email,
        ).deployed
        authorizer = live.custom_authorizer(self, stage, backend.functions["iot_authorizer"])
        api = web.api_distribution(self, stage, backend.rest_api_id, apps_url)
        api_url = f"https://{api.distribution_domain_name}"
        web.deploy_apps(
            self,
            bucket,
            app_config(
                api_url=api_url,
                user_pool_id=people.user_pool.user_pool_id,
                user_pool_client_id=people.client.user_pool_client_id,
                iot_endpoint=iot_endpoint,
                authorizer_name=authorizer.ref,
                default_shop_id=DEFAULT_SHOP_ID,
            ),
        )
        outputs = {
            "AppsUrl": (apps_url, "the landing page"),
            "OrderAppUrl": (f"{apps_url}/order", "phones (the display's QR code opens it)"),
            "BaristaUrl": (f"{apps_url}/barista?shop={DEFAULT_SHOP_ID}", "the barista tablet"),
            "DisplayUrl": (f"{apps_url}/display?shop={DEFAULT_SHOP_ID}", "the big screen"),
            "ApiUrl": (api_url, "REST and /graphql, with CORS for the apps"),
            "RestApiUrl": (
                f"https://{backend.rest_api_id}.execute-api.{self.region}.{self.url_suffix}{web.API_STAGE_PATH}",
                "API Gateway itself, for scripts",
            ),
            "UserPoolId": (people.user_pool.user_pool_id, "Cognito user pool (admins: the admin group)"),
            "UserPoolClientId": (people.client.user_pool_client_id, "the apps' client"),
            "IotEndpoint": (iot_endpoint, "IoT Core data endpoint (MQTT over WSS)"),
            "IotAuthorizerName": (authorizer.ref, "IoT Core custom authorizer"),
            "TableName": (table.table_name, "DynamoDB table"),
            "StateMachineArn": (order_workflow.state_machine_arn, "order workflow"),
            "AlarmTopicArn": (backend.alarm_topic.topic_arn, "subscribe to hear about dead letters"),
        }
        for queue in backend.dead_letter_queues:
            outputs[f"{queue.node.id}QueueUrl"] = (queue.queue_url, "dead letters (alarmed)")
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)

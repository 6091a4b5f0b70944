"""IoT Core adapter: publishes live updates through an injected boto3 "iot-data" client.

Only the backend publishes (browsers get no iot:Publish); it does so with its Lambda role's IAM
permissions. Every message goes out at QoS 1, and the ones that are a topic's "present state"
(a shop's config, the board snapshot) are retained, so a client that subscribes later gets the
latest one straight away.

Build the client against the account's data endpoint
(`iot.describe_endpoint(endpointType="iot:Data-ATS")`), e.g.
`boto3.client("iot-data", region_name=region, endpoint_url=f"https://{address}")`.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.live import LiveMessage

QOS = 1


class IotDataPublisher:
    def __init__(self, client: Any) -> None:
        self._client = client

    def publish(self, message: LiveMessage) -> None:
        self._client.publish(topic=message.topic, qos=QOS, retain=message.retain, payload=message.encode())

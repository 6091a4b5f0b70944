"""The local runtime's LivePublisher: delivers live updates to the embedded MQTT broker as the backend."""

from __future__ import annotations

from chalicelib.domain.live import LiveMessage
from serverlesspresso.broker.client import BackendPublisher


class MqttLivePublisher:
    def __init__(self, backend: BackendPublisher) -> None:
        self._backend = backend

    def publish(self, message: LiveMessage) -> None:
        self._backend.publish(message.topic, message.encode(), retain=message.retain, qos=1)

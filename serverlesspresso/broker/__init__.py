"""Local MQTT broker standing in for AWS IoT Core (amqtt 0.12.1, own process), and the backend's publisher."""

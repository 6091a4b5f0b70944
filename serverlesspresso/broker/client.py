"""The backend's publisher: a synchronous, thread-safe facade over amqtt's MQTTClient on a private event loop.

Any number of worker threads call `publish()`; the calls share one MQTT connection (QoS 1 publishes are pipelined,
each waits for its own PUBACK). If the broker goes away the next publish reconnects, retrying until its timeout; once
a publish has timed out that way, the following ones give up after 0.25 s (still trying to reconnect each time) so
worker threads are not held for seconds each while the broker is down.

A broker restart loses the broker's retained messages (it keeps them in memory). The publisher therefore remembers the
last retained payload it published per topic and publishes them again after every reconnect, before any new message,
so a restarted broker again has each shop's config and board snapshot. An empty retained payload clears a topic, on
the broker and here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import uuid
from types import TracebackType
from typing import Any
from urllib.parse import quote

from amqtt.client import MQTTClient
from amqtt.errors import AMQTTError, ClientError, ConnectError, ProtocolHandlerError

from serverlesspresso.broker.acl import MAX_PAYLOAD_BYTES, is_topic_name
from serverlesspresso.broker.credentials import InternalCredentials

log = logging.getLogger("serverlesspresso.broker.client")

# Once a publish has spent its whole timeout failing to reach the broker, later ones try this long only, until a
# connection succeeds again.
_OUTAGE_BUDGET = 0.25
_RETRYABLE = (AMQTTError, ClientError, ConnectError, ProtocolHandlerError, OSError, TimeoutError)


class PublishError(Exception):
    """The message could not be handed to the broker (and acknowledged, for QoS 1) in time."""


class _ConnectionLost(Exception):
    pass


class BackendPublisher:
    def __init__(
        self,
        host: str,
        port: int,
        credentials: InternalCredentials,
        *,
        client_id: str | None = None,
        timeout: float = 5.0,
        keep_alive: int = 30,
        replay_retained: bool = True,
    ) -> None:
        self._uri = (
            f"mqtt://{quote(credentials.username, safe='')}:{quote(credentials.password, safe='')}"
            f"@{f'[{host}]' if ':' in host else host}:{port}"
        )
        self._client_id = client_id or f"{credentials.username}-{uuid.uuid4().hex[:12]}"
        self._timeout = timeout
        self._keep_alive = keep_alive
        self._replay_retained = replay_retained
        self._closed = False
        # Owned by the loop thread only:
        self._client: MQTTClient | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._connections = 0
        self._outage = False
        self._retained: dict[str, tuple[bytes, int]] = {}

        for name in ("amqtt.client", "amqtt.mqtt.protocol"):
            # amqtt warns about every lost connection and retry; PublishError says what matters.
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.ERROR)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="mqtt-backend-publisher", daemon=True)
        self._thread.start()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    # ------------------------------------------------------------------ public, any thread

    def publish(self, topic: str, payload: bytes, retain: bool, qos: int = 1) -> None:
        """Hand one message to the broker; for QoS 1, return once the broker acknowledged it. Raises PublishError."""
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1 (IoT Core has no QoS 2)")
        if not is_topic_name(topic):
            raise ValueError(f"not a topic one can publish to: {topic!r}")
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload of {len(payload)} bytes is over IoT Core's {MAX_PAYLOAD_BYTES}")
        self._call(self._publish(topic, bytes(payload), retain, qos), f"publish to {topic}")

    def connect(self) -> None:
        """Connect now rather than on the first publish (optional). Raises PublishError."""
        self._call(self._connect(), "connect")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop).result(self._timeout)
        except Exception:  # closing anyway
            log.debug("MQTT disconnect failed", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self._timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> BackendPublisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, coro: Any, what: str) -> Any:
        if self._closed:
            coro.close()
            raise PublishError(f"{what}: the publisher is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self._timeout + 1.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise PublishError(f"{what}: timed out") from None

    # ------------------------------------------------------------------ loop thread

    async def _publish(self, topic: str, payload: bytes, retain: bool, qos: int) -> None:
        if retain:
            # Recorded before sending, so a replay after a reconnect always carries the latest intent per topic.
            if payload:
                self._retained[topic] = (payload, qos)
            else:
                self._retained.pop(topic, None)
        # While the broker is known to be down, fail fast instead of holding every worker thread for the full timeout.
        budget = _OUTAGE_BUDGET if self._outage else self._timeout
        deadline = self._loop.time() + budget
        delay = 0.05
        while True:
            if self._closed:
                raise PublishError(f"publish to {topic}: the publisher is closed")
            client: MQTTClient | None = None
            try:
                client = await self._ensure_connected(deadline)
                await self._send(client, topic, payload, retain, qos, deadline)
                return
            except (_ConnectionLost, *_RETRYABLE) as error:
                await self._discard(client)
                if self._loop.time() + delay >= deadline:
                    if self._client is None and not self._outage:
                        self._outage = True
                        log.warning("the MQTT broker is unreachable: live updates fail until it is back (%r)", error)
                    raise PublishError(f"publish to {topic} failed: {error!r}") from error
                log.debug("publish to %s failed (%r); retrying", topic, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)

    async def _connect(self) -> None:
        try:
            await self._ensure_connected(self._loop.time() + self._timeout)
        except _RETRYABLE as error:
            raise PublishError(f"cannot connect to the MQTT broker: {error!r}") from error

    async def _ensure_connected(self, deadline: float) -> MQTTClient:
        client = self._client
        if client is not None and _is_connected(client):
            return client
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            client = self._client
            if client is not None and _is_connected(client):
                return client
            await self._discard(client)
            client = MQTTClient(
                client_id=self._client_id,
                config={
                    "keep_alive": self._keep_alive,
                    "ping_delay": 1,
                    "auto_reconnect": False,  # reconnecting is ours, so a publish knows when to give up
                    "connection_timeout": max(1, int(self._timeout)),
                    "plugins": {},
                },
            )
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                raise TimeoutError("no time left to connect")
            try:
                await asyncio.wait_for(client.connect(self._uri, cleansession=True), remaining)
            except BaseException:
                await self._discard(client)
                raise
            if self._connections and self._replay_retained:
                # Publishes wait on the lock meanwhile, so a replayed value never overtakes a newer one.
                for topic, (payload, qos) in list(self._retained.items()):
                    await self._send(client, topic, payload, True, qos, deadline)
                log.info("reconnected to the MQTT broker; replayed %d retained messages", len(self._retained))
            self._connections += 1
            self._client = client
            if self._outage:
                self._outage = False
                log.warning("the MQTT broker is reachable again")
            return client

    async def _send(
        self, client: MQTTClient, topic: str, payload: bytes, retain: bool, qos: int, deadline: float
    ) -> None:
        # In a task of its own: when the connection drops, amqtt cancels the PUBACK waiter, and that
        # CancelledError must not be mistaken for the cancellation of the caller.
        task = asyncio.ensure_future(client.publish(topic, payload, qos=qos, retain=retain))
        try:
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - self._loop.time()))
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            task.cancel()
            raise TimeoutError("no PUBACK in time")
        if task.cancelled():
            raise _ConnectionLost("the connection was lost before the broker acknowledged")
        error = task.exception()
        if error is not None:
            raise error

    async def _discard(self, client: MQTTClient | None) -> None:
        if client is None:
            return
        doomed: MQTTClient = client
        if self._client is doomed:
            self._client = None
        try:
            if _is_connected(doomed):
                await asyncio.wait_for(doomed.disconnect(), 1.0)
            else:
                await doomed.cancel_tasks()
        except Exception:  # best effort: the connection is being dropped anyway
            log.debug("discarding an MQTT client failed", exc_info=True)

    async def _disconnect(self) -> None:
        await self._discard(self._client)


def _is_connected(client: MQTTClient) -> bool:
    session = client.session
    return session is not None and bool(session.transitions.is_connected())

"""Process-wide fixes to amqtt 0.12.1 internals (pinned exactly: these replace private methods).

The broker runs in its own process, so patching classes globally touches nothing else.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from amqtt.adapters import WebSocketsReader
from amqtt.codecs_amqtt import decode_packet_id, decode_string
from amqtt.errors import AMQTTError, MQTTError
from amqtt.mqtt.packet import MQTTFixedHeader, MQTTPacket
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.protocol.handler import ProtocolHandler
from amqtt.mqtt.publish import PublishVariableHeader
from amqtt.session import OUTGOING
from websockets import ConnectionClosed

from serverlesspresso.broker.acl import MAX_PAYLOAD_BYTES

log = logging.getLogger("serverlesspresso.broker")
_APPLIED = False
# IoT Core accepts payloads up to 128 KB; leave room for the topic and headers.
MAX_PACKET_BYTES = MAX_PAYLOAD_BYTES + 4 * 1024


class MalformedPacket(AMQTTError):
    """Not an MQTTError on purpose: amqtt's reader loop skips those and reads on mid-packet (a desynchronised
    stream); anything else ends the loop, which closes the connection as MQTT asks for a malformed packet."""


def _patch_publish_header_desync() -> None:
    """PublishVariableHeader raises MQTTError for a topic with '+'/'#' while the packet is being *parsed*; the reader
    loop logs "Message discarded" and goes on, but the payload bytes were never consumed, so every later packet of that
    client is garbage. Parse without validating, so the whole packet is consumed; the broker then rejects the topic
    and closes the connection (MQTT-3.3.2-2)."""

    async def from_stream(cls: type[PublishVariableHeader], reader: Any, fixed_header: Any) -> PublishVariableHeader:
        topic_name = await decode_string(reader)
        packet_id = await decode_packet_id(reader) if (fixed_header.flags >> 1) & 0x03 else None
        header = cls("_", packet_id)
        header.topic_name = topic_name
        return header

    PublishVariableHeader.from_stream = classmethod(from_stream)  # type: ignore[method-assign,assignment,arg-type]


def _patch_qos1_inflight_loss() -> None:
    """_handle_qos1_message_flow pops the message from session.inflight_out in a `finally:`, so a QoS 1 message whose
    subscriber disconnects before PUBACK (or answers later than the hard-coded 5 s) is lost. Put it back for
    persistent sessions: ProtocolHandler.start() re-sends inflight_out with DUP=1 on the next connection
    (MQTT-4.4.0-1)."""
    original = ProtocolHandler._handle_qos1_message_flow

    async def _handle_qos1_message_flow(self: ProtocolHandler[Any], app_message: Any) -> None:
        try:
            await original(self, app_message)
        except BaseException:
            session = self.session
            if (
                app_message.direction == OUTGOING
                and app_message.puback_packet is None
                and session is not None
                and not session.clean_session
                and app_message.packet_id is not None
            ):
                session.inflight_out[app_message.packet_id] = app_message
            raise

    ProtocolHandler._handle_qos1_message_flow = _handle_qos1_message_flow  # type: ignore[method-assign]


def _patch_keepalive() -> None:
    """On a read timeout the reader loop calls BrokerProtocolHandler.handle_read_timeout(), which is `pass`: keep-alive
    is never enforced, half-open connections live forever and their will is never sent. Cancel the reader instead:
    the loop ends through handle_connection_closed(), an abnormal disconnect, so the will is published."""

    def handle_read_timeout(self: BrokerProtocolHandler) -> None:
        log.info("%s: keep-alive expired, closing", self.session.client_id if self.session else None)
        task = self._reader_task
        if task is not None and not task.done():
            task.cancel()

    BrokerProtocolHandler.handle_read_timeout = handle_read_timeout  # type: ignore[method-assign]


def _patch_websocket_reader() -> None:
    """WebSocketsReader._feed_buffer swallows ConnectionClosed and then appends the *previous* message again (phantom
    bytes); if that message was an empty frame it spins forever without yielding. One unauthenticated client that
    sends an empty binary frame and closes hung the whole broker at 100% CPU. Stop reading on ConnectionClosed."""

    async def _feed_buffer(self: WebSocketsReader, n: int = 1) -> None:
        buffer = bytearray(self._stream.read())
        while len(buffer) < n:
            try:
                message = await self._protocol.recv()
            except ConnectionClosed:
                break
            buffer.extend(message.encode("utf-8") if isinstance(message, str) else message)
        self._stream = io.BytesIO(buffer)

    WebSocketsReader._feed_buffer = _feed_buffer  # type: ignore[method-assign]


def _patch_malformed_and_oversized_packets() -> None:
    """Close the connection on a malformed packet (stock logs "Message discarded" and parses the rest of the packet
    as the next one), and refuse a packet over MAX_PACKET_BYTES before reading its body (stock reads any size, up to
    256 MB, into memory)."""
    read_header = MQTTFixedHeader.from_stream.__func__  # type: ignore[attr-defined]
    read_packet = MQTTPacket.from_stream.__func__  # type: ignore[attr-defined]

    async def header_from_stream(cls: type[MQTTFixedHeader], reader: Any) -> MQTTFixedHeader | None:
        try:
            header: MQTTFixedHeader | None = await read_header(cls, reader)
        except MQTTError as error:
            raise MalformedPacket(str(error)) from error
        if header is not None and header.remaining_length > MAX_PACKET_BYTES:
            log.info("closing a connection that sent a packet of %d bytes", header.remaining_length)
            raise MalformedPacket(f"packet of {header.remaining_length} bytes, over the {MAX_PACKET_BYTES} limit")
        return header

    async def packet_from_stream(
        cls: type[MQTTPacket[Any, Any, Any]], reader: Any, fixed_header: Any = None, variable_header: Any = None
    ) -> MQTTPacket[Any, Any, Any]:
        try:
            packet: MQTTPacket[Any, Any, Any] = await read_packet(cls, reader, fixed_header, variable_header)
        except MQTTError as error:
            log.info("closing a connection that sent a malformed packet: %s", error)
            raise MalformedPacket(str(error)) from error
        return packet

    MQTTFixedHeader.from_stream = classmethod(header_from_stream)  # type: ignore[method-assign,assignment,arg-type]
    MQTTPacket.from_stream = classmethod(packet_from_stream)  # type: ignore[method-assign,assignment,arg-type]


def apply_patches() -> None:
    global _APPLIED
    if _APPLIED:
        return
    _patch_publish_header_desync()
    _patch_qos1_inflight_loss()
    _patch_keepalive()
    _patch_websocket_reader()
    _patch_malformed_and_oversized_packets()
    _APPLIED = True

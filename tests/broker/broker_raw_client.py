"""A raw asyncio MQTT 3.1.1 client for the broker tests: it shows CONNACK/SUBACK codes and DUP/retain flags as sent."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from dataclasses import dataclass


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        digit, n = n % 128, n // 128
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    at: float


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


class RawClient:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self._acks: dict[int, asyncio.Future[tuple[int, bytes]]] = {}
        self._packet_id = 0
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.auto_ack = True

    async def connect(
        self,
        client_id: str,
        username: str | None = "user",
        password: str | None = None,
        *,
        clean: bool = True,
        keepalive: int = 60,
        will: Will | None = None,
        protocol_level: int = 4,
        timeout: float = 5,
    ) -> tuple[int, int] | str:
        """(session_present, return_code), or "closed"/"timeout" if no CONNACK came."""
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        flags = 0x02 if clean else 0
        payload = _string(client_id)
        if will is not None:
            flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
            payload += _string(will.topic) + _string(will.payload)
        if username is not None:
            flags |= 0x80
            payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
        header = _string("MQTT") + bytes([protocol_level, flags]) + struct.pack("!H", keepalive)
        if protocol_level == 5:
            header += b"\x00"  # no properties
        body = header + payload
        self.writer.write(b"\x10" + _length(len(body)) + body)
        await self.writer.drain()
        try:
            connack = await asyncio.wait_for(self.reader.readexactly(4), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed.set()
            return "closed"
        except TimeoutError:
            self.writer.close()
            return "timeout"
        if connack[3] == 0:
            self._task = asyncio.create_task(self._read_loop())
        else:
            self.closed.set()
        return connack[2] & 1, connack[3]

    def _next_id(self) -> int:
        self._packet_id = self._packet_id % 65535 + 1
        return self._packet_id

    async def _read_packet(self) -> tuple[int, bytes]:
        assert self.reader is not None
        first = (await self.reader.readexactly(1))[0]
        multiplier, length = 1, 0
        while True:
            digit = (await self.reader.readexactly(1))[0]
            length += (digit & 127) * multiplier
            multiplier *= 128
            if not digit & 128:
                break
        return first, (await self.reader.readexactly(length) if length else b"")

    async def _read_loop(self) -> None:
        assert self.writer is not None
        try:
            while True:
                first, body = await self._read_packet()
                kind = first >> 4
                if kind == 3:  # PUBLISH
                    qos = (first >> 1) & 3
                    topic_length = struct.unpack("!H", body[:2])[0]
                    topic = body[2 : 2 + topic_length].decode()
                    offset = 2 + topic_length
                    packet_id = None
                    if qos:
                        packet_id = struct.unpack("!H", body[offset : offset + 2])[0]
                        offset += 2
                    message = Message(topic, body[offset:], qos, bool(first & 1), bool(first & 8), time.perf_counter())
                    await self.messages.put(message)
                    if qos == 1 and self.auto_ack and packet_id is not None:
                        self.writer.write(b"\x40\x02" + struct.pack("!H", packet_id))
                elif kind in (4, 9, 11):  # PUBACK, SUBACK, UNSUBACK
                    packet_id = struct.unpack("!H", body[:2])[0]
                    future = self._acks.pop(packet_id, None)
                    if future is not None and not future.done():
                        future.set_result((kind, body[2:]))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.closed.set()

    async def subscribe(self, *filters: str, qos: int = 1, timeout: float = 5) -> list[int]:
        """SUBACK return codes, one per filter (0x80 = refused)."""
        assert self.writer is not None
        packet_id = self._next_id()
        body = struct.pack("!H", packet_id) + b"".join(_string(f) + bytes([qos]) for f in filters)
        future: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._acks[packet_id] = future
        self.writer.write(b"\x82" + _length(len(body)) + body)
        await self.writer.drain()
        _, codes = await asyncio.wait_for(future, timeout)
        return list(codes)

    async def publish(
        self, topic: str, payload: bytes, qos: int = 0, retain: bool = False, timeout: float = 2
    ) -> bool | None:
        """For QoS 1: True if a PUBACK came, False if none did. None for QoS 0."""
        assert self.writer is not None
        first = 0x30 | (qos << 1) | (1 if retain else 0)
        body = _string(topic)
        future: asyncio.Future[tuple[int, bytes]] | None = None
        if qos:
            packet_id = self._next_id()
            body += struct.pack("!H", packet_id)
            future = asyncio.get_running_loop().create_future()
            self._acks[packet_id] = future
        body += payload
        self.writer.write(bytes([first]) + _length(len(body)) + body)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()
        if future is None:
            return None
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        return True

    async def disconnect(self) -> None:
        assert self.writer is not None
        with contextlib.suppress(ConnectionError):
            self.writer.write(b"\xe0\x00")
            await self.writer.drain()
        await self.abort(graceful=True)

    async def abort(self, graceful: bool = False) -> None:
        """Close the socket; without `graceful`, with a RST and no DISCONNECT (the will fires)."""
        assert self.writer is not None
        if not graceful:
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def next(self, timeout: float = 3) -> Message:
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def drain(self, wait: float = 0.3) -> list[Message]:
        """Everything that arrives until `wait` seconds pass without a message."""
        out: list[Message] = []
        while True:
            try:
                out.append(await asyncio.wait_for(self.messages.get(), wait))
            except TimeoutError:
                return out

"""The amqtt 0.12.1 Broker, fixed and locked down to behave like AWS IoT Core for what Serverlesspresso uses.

Stock amqtt fails each of these; the MQTT spike found and proved most of the fixes, the rest came up while building
this module:

* authentication (and the will-topic check) runs on the freshly read CONNECT, before any existing session is
  touched: stock amqtt deletes/takes over the victim's session first, so an unauthenticated CONNECT with someone's
  client id wiped their subscriptions, and every refused CONNECT leaked a 'connected' session;
* a client id belongs to the identity that created its session: another identity's CONNECT is refused (rc=2)
  instead of taking the session (and its queued messages) over;
* retained messages go out only on SUBSCRIBE and pass the RECEIVE check (stock sends every client, at CONNECT, the
  retained messages of *every* filter anybody ever subscribed to);
* delivery QoS is min(publish QoS, subscription QoS) (stock uses the subscription's), at most 1 like IoT Core;
* messages queued for an offline persistent session are delivered with retain=0, capped per session, and an
  unacknowledged QoS 1 message is re-sent with DUP=1 on reconnect (see patches.py);
* keep-alive is enforced at 1.5x (stock never disconnects a silent client, so its will never fires); a keep-alive of
  0 gets IoT Core's 1200 s;
* a socket that never sends CONNECT is closed after 10 s; an MQTT 5 CONNECT gets a 3.1.1 CONNACK rc=1 (stock
  misparses it and hangs);
* take-over of a connected client id closes the old connection properly (stock left an orphan socket, or a
  session that silently received nothing);
* an invalid PUBLISH really closes the connection (stock left a zombie that no longer routed anything), and so does
  a malformed or oversized packet (stock skipped it and parsed the rest as the next packet; see patches.py, which
  also fixes a WebSocket reader loop that one empty frame turned into a 100% CPU hang of the whole broker);
* the WebSocket listener accepts the upgrade only on /mqtt (stock ignores the path);
* a connection is closed when its token expires (stock checks a password at CONNECT only), as IoT Core does with the
  custom authorizer's disconnectAfterInSeconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any

import websockets
from amqtt.adapters import BufferReader, ReaderAdapter, WriterAdapter
from amqtt.broker import Broker, RetainedApplicationMessage
from amqtt.contexts import Action, ListenerConfig, ListenerType
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.connack import IDENTIFIER_REJECTED, NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.constants import QOS_1
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.publish import PublishPacket
from amqtt.session import OutgoingApplicationMessage, Session
from amqtt.utils import gen_client_id
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from serverlesspresso.broker.acl import Principal, is_topic_name
from serverlesspresso.broker.auth import Authenticator
from serverlesspresso.broker.patches import MAX_PACKET_BYTES, apply_patches

log = logging.getLogger("serverlesspresso.broker")

PRINCIPAL = "serverlesspresso.principal"  # session.attributes key
_SKIP_RETAINED_BURST = "serverlesspresso.skip_retained_burst"
WS_PATH = "/mqtt"
SESSION_EXPIRY_SECONDS = 3600
MAX_QOS = QOS_1  # IoT Core has no QoS 2
MAX_QUEUED_PER_SESSION = 1000  # messages kept for an offline persistent session; the oldest go first
IOT_CORE_DEFAULT_KEEPALIVE = 1200  # what IoT Core uses when a client asks for 0
CONNECT_TIMEOUT_SECONDS = 10.0
_CLOSE_TIMEOUT = 2.0
WS_CLOSE_TIMEOUT = 0.5


class ListenerPortInUse(Exception):
    """A listener's port is taken: the one failure the parent can explain by itself (see process.EXIT_*)."""

    def __init__(self, websocket: bool, host: str | None, port: int) -> None:
        super().__init__(f"{'WebSocket' if websocket else 'TCP'} port {port} on {host or '*'} is already in use")
        self.websocket = websocket
        self.port = port


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def bind(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def broker_config(tcp: Listen, ws: Listen) -> dict[str, Any]:
    return {
        "listeners": {
            "default": {"type": "tcp", "bind": tcp.bind},
            "ws": {"type": "ws", "bind": ws.bind},
        },
        # An empty dict, not a missing key: without it amqtt loads anonymous auth, $SYS topics and packet loggers.
        "plugins": {},
        "session_expiry_interval": SESSION_EXPIRY_SECONDS,
    }


def principal_of(session: Session | None) -> Principal | None:
    if session is None:
        return None
    principal = session.attributes.get(PRINCIPAL)
    return principal if isinstance(principal, Principal) else None


async def _close_quietly(writer: WriterAdapter) -> None:
    # StreamWriterAdapter.close() drains first, which waits forever on a peer that does not read.
    with contextlib.suppress(TimeoutError, OSError, AMQTTError):
        await asyncio.wait_for(writer.close(), _CLOSE_TIMEOUT)


class ClientHandler(BrokerProtocolHandler):
    """Refuses a PUBLISH the principal may not make before it is queued or acknowledged, and drops the connection
    (no PUBACK; the will, if any, is published as for any abnormal disconnect)."""

    async def handle_publish(self, publish_packet: PublishPacket) -> None:
        principal = principal_of(self.session)
        topic = publish_packet.topic_name
        if principal is None or topic is None or publish_packet.qos > MAX_QOS or not principal.may_publish(topic):
            log.info(
                "PUBLISH refused, closing the connection: client %s (%s) to %r (QoS %s)",
                self.session.client_id if self.session else None,
                principal.identity if principal else "unauthenticated",
                topic,
                publish_packet.qos,
            )
            await self.handle_connection_closed()
            return
        await super().handle_publish(publish_packet)


class ServerlesspressoBroker(Broker):
    def __init__(
        self, config: dict[str, Any], authenticator: Authenticator, connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    ) -> None:
        apply_patches()
        super().__init__(config)  # needs a running loop
        self._authenticator = authenticator
        self._connect_timeout = connect_timeout

    # ------------------------------------------------------------------ listeners

    async def _create_server_instance(
        self,
        listener_name: str,
        listener_type: ListenerType,
        address: str | None,
        port: int,
        ssl_context: Any,
    ) -> Any:
        if address:
            address = address.strip("[]")  # amqtt hands IPv6 addresses over with the brackets of "[::1]:1883"
        try:
            return await self._listen(listener_name, listener_type, address, port, ssl_context)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ListenerPortInUse(listener_type == ListenerType.WS, address, port) from error
            raise

    async def _listen(
        self,
        listener_name: str,
        listener_type: ListenerType,
        address: str | None,
        port: int,
        ssl_context: Any,
    ) -> Any:
        if listener_type != ListenerType.WS:
            return await super()._create_server_instance(listener_name, listener_type, address, port, ssl_context)

        def only_mqtt_path(connection: ServerConnection, request: Request) -> Response | None:
            if request.path.split("?", 1)[0] != WS_PATH:
                return connection.respond(HTTPStatus.NOT_FOUND, "MQTT over WebSocket is served on /mqtt only\n")
            return None

        return await websockets.serve(
            partial(self.ws_connected, listener_name=listener_name),
            address,
            port,
            ssl=ssl_context,
            subprotocols=[websockets.Subprotocol("mqtt")],
            process_request=only_mqtt_path,
            # When the broker closes a connection (refused PUBLISH, keep-alive, take-over), websockets waits this
            # long for the client's CLOSE frame before dropping TCP. awscrt never answers it: the stock 10 s
            # left the device believing it was connected for that long.
            close_timeout=WS_CLOSE_TIMEOUT,
        )

    def bound_port(self, listener_name: str) -> int:
        server = self._servers[listener_name].instance
        for sock in server.sockets:
            return int(sock.getsockname()[1])
        raise RuntimeError(f"listener {listener_name!r} has no socket")

    # ------------------------------------------------------------------ CONNECT

    async def _read_connect_bytes(self, reader: ReaderAdapter, writer: WriterAdapter) -> bytes:
        """Read exactly one CONNECT packet, bounded in time and size; answer anything but MQTT 3.1.1 (level 4) with
        CONNACK rc=1, as MQTT 5 asks of a 3.1.1-only server."""

        async def read_packet() -> tuple[bytes, bytes]:
            first = await reader.read(1)
            if not first:
                raise NoDataError("no data")
            header, multiplier, length = bytearray(first), 1, 0
            for _ in range(4):
                byte = await reader.read(1)
                if not byte:
                    raise NoDataError("no data")
                header += byte
                length += (byte[0] & 0x7F) * multiplier
                multiplier *= 128
                if not byte[0] & 0x80:
                    break
            if first[0] != 0x10 or length > MAX_PACKET_BYTES:
                raise MQTTError("the first packet is not a CONNECT of sane size")
            body = await reader.read(length) if length else b""
            return bytes(header), body

        try:
            header, body = await asyncio.wait_for(read_packet(), self._connect_timeout)
        except TimeoutError as exc:
            await _close_quietly(writer)
            raise AMQTTError("no CONNECT within the timeout") from exc
        except (MQTTError, NoDataError, asyncio.IncompleteReadError, OSError) as exc:
            await _close_quietly(writer)
            raise AMQTTError(exc) from exc
        if len(body) >= 3:
            name_length = int.from_bytes(body[0:2], "big")
            level = body[2 + name_length] if len(body) > 2 + name_length else None
            if level not in (None, 4):
                await self._refuse(writer, 0x01)  # unacceptable protocol version
                raise MQTTError(f"unsupported MQTT protocol level {level}")
        return header + body

    async def _refuse(self, writer: WriterAdapter, return_code: int) -> None:
        with contextlib.suppress(OSError):
            await ConnackPacket.build(0, return_code).to_stream(writer)
        await _close_quietly(writer)

    async def _initialize_client_session(
        self,
        reader: ReaderAdapter,
        writer: WriterAdapter,
        remote_address: str,
        remote_port: int,
    ) -> tuple[BrokerProtocolHandler, Session]:
        peer = f"{remote_address}:{remote_port}"
        connect_bytes = await self._read_connect_bytes(reader, writer)
        try:
            handler, session = await ClientHandler.init_from_connect(
                BufferReader(connect_bytes), writer, self.plugins_manager
            )
        except (MQTTError, AMQTTError) as exc:  # AMQTTError: patches.MalformedPacket
            await _close_quietly(writer)
            raise MQTTError(exc) from exc
        except (NoDataError, OSError) as exc:
            await _close_quietly(writer)
            raise AMQTTError(exc) from exc

        # 1. Authenticate before anything else happens to existing sessions.
        principal = self._authenticator.authenticate(session.username, session.password)
        if principal is None:
            log.info("CONNECT refused (not authorized) from %s, client id %r", peer, session.client_id)
            await self._refuse(writer, NOT_AUTHORIZED)
            raise MQTTError("not authorized")
        session.attributes[PRINCIPAL] = principal

        # 2. The will is a publish made later on the client's behalf: check it now (stock publishes it unchecked).
        if session.will_flag and not (session.will_topic and principal.may_leave_will(session.will_topic)):
            log.info("CONNECT refused: %s may not leave a will on %r", principal.identity, session.will_topic)
            await self._refuse(writer, NOT_AUTHORIZED)
            raise MQTTError("will topic not authorized")
        session.will_qos = min(session.will_qos or 0, MAX_QOS)

        existing = self._sessions.get(session.client_id) if session.client_id else None
        if existing is not None:
            old_session, old_handler = existing
            owner = principal_of(old_session)
            in_use = old_session.transitions.state == "connected" or not old_session.clean_session
            # 3. A client id (and the session behind it) belongs to the identity that made it.
            if in_use and owner is not None and owner.identity != principal.identity:
                log.info("CONNECT refused: client id %r belongs to another identity", session.client_id)
                await self._refuse(writer, IDENTIFIER_REJECTED)
                raise MQTTError("client id in use by another identity")
            # 4. Take-over (MQTT-3.1.4-2): close the previous connection and wait for its teardown, otherwise the
            #    old connection marks the shared session 'disconnected' after the new one connected.
            if old_session.transitions.state == "connected":
                log.info("take-over: closing the previous connection of %s", session.client_id)
                await old_handler.handle_connection_closed()
                await old_handler.stop()
                for _ in range(300):
                    if old_session.transitions.state != "connected":
                        break
                    await asyncio.sleep(0.01)
            # 5. A clean session not purged yet (the monitor runs every second) must not be resumed by clean=0.
            if old_session.clean_session and not session.clean_session:
                await self._delete_session(session.client_id)

        # Unchanged from amqtt 0.12.1 (plus will_retain and the principal, which it forgets to carry over).
        if session.clean_session:
            if session.client_id:
                await self._delete_session(session.client_id)
            else:
                session.client_id = gen_client_id()
            session.parent = 0
        elif session.client_id in self._sessions:
            resumed, _ = self._sessions[session.client_id]
            resumed.will_flag = session.will_flag
            resumed.will_message = session.will_message
            resumed.will_topic = session.will_topic
            resumed.will_qos = session.will_qos
            resumed.will_retain = session.will_retain
            resumed.keep_alive = session.keep_alive
            resumed.username = session.username
            resumed.password = session.password
            resumed.attributes[PRINCIPAL] = principal
            session = resumed
            session.parent = 1
        else:
            session.parent = 0

        # MQTT-3.1.2-24: close after 1.5x keep-alive without a packet (enforced by patches._patch_keepalive).
        keep_alive = session.keep_alive if session.keep_alive > 0 else IOT_CORE_DEFAULT_KEEPALIVE
        session.keep_alive = int(keep_alive * 1.5 + 0.5)
        return handler, session

    async def _authenticate(self, session: Session, _: ListenerConfig) -> bool:
        # The real check ran in _initialize_client_session, which refuses the CONNECT itself.
        return principal_of(session) is not None

    # ------------------------------------------------------------------ ACL

    async def _topic_filtering(self, session: Session, topic: str, action: Action) -> bool:
        principal = principal_of(session)
        if principal is None:
            return False
        if principal.seconds_left(time.time()) == 0:
            return False  # the connection is being closed for it; nothing more in the meantime
        if action == Action.SUBSCRIBE:
            return principal.may_subscribe(topic)
        if action == Action.RECEIVE:
            return principal.may_receive(topic)
        if action == Action.PUBLISH:
            return principal.may_publish(topic)
        return False

    async def add_subscription(self, subscription: tuple[str, int], session: Session) -> int:
        topic_filter, qos = subscription
        return await super().add_subscription((topic_filter, min(qos, MAX_QOS)), session)

    # ------------------------------------------------------------------ PUBLISH from a client

    async def _handle_message_delivery(
        self,
        client_session: Session,
        handler: BrokerProtocolHandler,
        wait_deliver: asyncio.Future[Any],
    ) -> bool:
        message = wait_deliver.result()
        if message is None:
            return True
        principal = principal_of(client_session)
        topic = message.topic
        if principal is None or not topic or not is_topic_name(topic) or not principal.may_publish(topic):
            # ClientHandler already refuses these before they are queued; this is the second line. Really drop the
            # connection (stock returned False and left a zombie behind).
            log.warning("PUBLISH to %r refused, closing client %s", topic, client_session.client_id)
            closed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            closed.set_result(None)
            await self._handle_disconnect(client_session, handler, closed)
            return False
        await self._broadcast_message(client_session, topic, message.data, message.qos)
        if message.publish_packet is not None and message.publish_packet.retain_flag:
            await self.retain_message(client_session, topic, message.data, message.qos)
        return True

    # ------------------------------------------------------------------ fan-out

    async def _broadcast_message(
        self,
        session: Session | None,
        topic: str | None,
        data: bytes | bytearray | None,
        force_qos: int | None = None,
    ) -> None:
        # Stock treats force_qos as "deliver at exactly this QoS"; here it is the publish QoS (None: the
        # subscription's), and delivery uses min(publish QoS, subscription QoS). Wills arrive here with will_qos.
        await self._broadcast_queue.put({"session": session, "topic": topic, "data": data, "pub_qos": force_qos})

    async def _run_broadcast(self, running_tasks: deque[asyncio.Task[OutgoingApplicationMessage]]) -> None:
        broadcast = await self._broadcast_queue.get()
        topic, data, pub_qos = broadcast["topic"], broadcast["data"], broadcast["pub_qos"]
        if not topic or data is None:
            return
        # Snapshot: the loop below awaits, and SUBSCRIBE/UNSUBSCRIBE change these dicts meanwhile.
        for topic_filter, subscriptions in list(self._subscriptions.items()):
            if not self._matches(topic, topic_filter):
                continue
            for target, sub_qos in list(subscriptions):
                qos = min(sub_qos, pub_qos) if pub_qos is not None else sub_qos
                principal = principal_of(target)
                if principal is None or not principal.may_receive(topic):
                    continue
                if target.transitions.state != "connected":
                    # Kept for an offline persistent session, QoS 1 only [MQTT 3.1.2.4].
                    if not target.clean_session and qos >= QOS_1:
                        self._queue_for_offline(target, topic, data, qos)
                    continue
                handler = self._get_handler(target)
                if handler:
                    running_tasks.append(asyncio.ensure_future(handler.mqtt_publish(topic, data, qos, retain=False)))

    def _queue_for_offline(self, session: Session, topic: str, data: bytes | bytearray, qos: int) -> None:
        queue = session.retained_messages
        while queue.qsize() >= MAX_QUEUED_PER_SESSION:
            queue.get_nowait()
            log.warning("offline queue of %s is full: dropped its oldest message", session.client_id)
        queue.put_nowait(RetainedApplicationMessage(None, topic, data, qos))

    # ------------------------------------------------------------------ retained and queued messages

    async def _publish_session_retained_messages(self, session: Session) -> None:
        """Messages queued while the persistent session was offline: delivered with retain=0 (stock says 1), and only
        if the principal that reconnected may receive them."""
        handler = self._get_handler(session)
        principal = principal_of(session)
        tasks = []
        if handler and principal:
            while not session.retained_messages.empty():
                message = session.retained_messages.get_nowait()
                if principal.may_receive(message.topic):
                    tasks.append(
                        asyncio.ensure_future(handler.mqtt_publish(message.topic, message.data, message.qos, False))
                    )
        if tasks:
            await asyncio.wait(tasks)
        # Stock _handle_client_session calls this right before sending the retained messages of every filter
        # anybody subscribed to (an ACL bypass), and _client_message_loop right after: suppress that burst.
        session.attributes[_SKIP_RETAINED_BURST] = True

    async def _client_message_loop(self, client_session: Session, handler: BrokerProtocolHandler) -> None:
        client_session.attributes.pop(_SKIP_RETAINED_BURST, None)
        expiry = asyncio.create_task(self._close_when_token_expires(client_session, handler))
        try:
            await super()._client_message_loop(client_session, handler)
        finally:
            expiry.cancel()

    async def _close_when_token_expires(self, session: Session, handler: BrokerProtocolHandler) -> None:
        """The token is checked at CONNECT only, so the connection must end when the token does: a client that stayed
        connected would go on receiving, and subscribing, on a token that is no longer valid. IoT Core does the same
        with the custom authorizer's disconnectAfterInSeconds (set from `exp` too). The apps reconnect with a fresh
        token; a persistent session keeps its subscriptions and queued messages for that reconnect."""
        principal = principal_of(session)
        seconds = principal.seconds_left(time.time()) if principal is not None else None
        if seconds is None:
            return
        await asyncio.sleep(seconds)
        log.info("%s (%s): token expired, closing the connection", session.client_id, principal and principal.identity)
        await handler.handle_connection_closed()

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        if session.attributes.get(_SKIP_RETAINED_BURST):
            return
        handler = self._get_handler(session)
        principal = principal_of(session)
        if handler is None or principal is None:
            return
        topic_filter, qos = subscription
        tasks = [
            asyncio.ensure_future(
                handler.mqtt_publish(retained.topic, retained.data, min(qos, retained.qos or 0), retain=True)
            )
            for topic, retained in list(self._retained_messages.items())
            if self._matches(topic, topic_filter) and principal.may_receive(topic)
        ]
        if tasks:
            await asyncio.wait(tasks)

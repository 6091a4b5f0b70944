"""A TLS-terminating proxy with a throwaway CA, to put TLS (SNI, ALPN, a private CA) in front of a local broker.

IoT Core is TLS only; the local broker is not. The proxy decrypts, records what the client negotiated (SNI, ALPN)
and the first bytes it sent (the MQTT CONNECT, or the WebSocket upgrade request), and relays bytes to the broker.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificates:
    ca_file: Path  # PEM: the CA a client must trust
    cert_file: Path  # PEM: the server's certificate, for localhost and 127.0.0.1
    key_file: Path


def make_certificates(directory: Path) -> Certificates:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "serverlesspresso test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    certificates = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    certificates.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certificates.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certificates.key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificates


@dataclass
class Handshake:
    """What one client negotiated and the first bytes it sent once TLS was up."""

    server_name: str | None = None
    alpn: str | None = None
    first_bytes: bytes = b""


@dataclass
class TlsProxy:
    """Listens with TLS on 127.0.0.1:`port` and relays each connection to 127.0.0.1:`upstream_port`."""

    certificates: Certificates
    upstream_port: int
    port: int = 0
    handshakes: list[Handshake] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._server_names: list[str | None] = []

    def __enter__(self) -> TlsProxy:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificates.cert_file, self.certificates.key_file)
        context.set_alpn_protocols(["mqtt", "http/1.1"])
        context.sni_callback = lambda sock, name, ctx: self._server_names.append(name)  # type: ignore[assignment]
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0, ssl=context, ssl_handshake_timeout=5), self._loop
        )
        self._server = started.result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        handshake = Handshake(
            server_name=self._server_names[-1] if self._server_names else None,
            alpn=ssl_object.selected_alpn_protocol() if ssl_object is not None else None,
        )
        self.handshakes.append(handshake)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, record: bool) -> None:
            try:
                while data := await source.read(65536):
                    if record and len(handshake.first_bytes) < 4096:
                        handshake.first_bytes += data
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


def mqtt_connect_username(packet: bytes) -> str | None:
    """The username of an MQTT 3.1.1 CONNECT packet (the first packet a client sends), or None."""
    if not packet or packet[0] >> 4 != 1:
        return None
    index, multiplier = 1, 1
    while packet[index] & 0x80:  # the remaining length's varint
        index, multiplier = index + 1, multiplier * 128
    index += 1

    def string_at(at: int) -> tuple[str, int]:
        length = int.from_bytes(packet[at : at + 2], "big")
        return packet[at + 2 : at + 2 + length].decode(), at + 2 + length

    _, index = string_at(index)  # protocol name
    flags = packet[index + 1]
    index += 4  # level, flags, keep-alive
    _, index = string_at(index)  # client id
    if flags & 0x04:  # a will: topic and message
        _, index = string_at(index)
        _, index = string_at(index)
    return string_at(index)[0] if flags & 0x80 else None

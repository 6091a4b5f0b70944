"""`python -m serverlesspresso.broker`: run the local MQTT broker until SIGTERM/SIGINT.

Exit codes: 0 after a clean stop, 1 if the broker could not start, 2 for bad arguments or unreadable key/credential
files, 3 if the TCP port is in use, 4 if the WebSocket port is (process.EXIT_TCP_PORT_IN_USE, EXIT_WS_PORT_IN_USE).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import jwt
from amqtt.errors import BrokerError

from serverlesspresso.broker.auth import Authenticator
from serverlesspresso.broker.process import EXIT_TCP_PORT_IN_USE, EXIT_WS_PORT_IN_USE
from serverlesspresso.broker.server import (
    CONNECT_TIMEOUT_SECONDS,
    WS_PATH,
    Listen,
    ListenerPortInUse,
    ServerlesspressoBroker,
    broker_config,
)

log = logging.getLogger("serverlesspresso.broker")
_SHUTDOWN_TIMEOUT = 10.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m serverlesspresso.broker",
        description="Local MQTT 3.1.1 broker standing in for AWS IoT Core (TCP and WebSocket on /mqtt). "
        "Clients authenticate with an ID token as the CONNECT password; the backend with its internal credential.",
    )
    parser.add_argument(
        "--tcp-host", default="127.0.0.1", help="address of the MQTT/TCP listener (default %(default)s)"
    )
    parser.add_argument("--tcp-port", type=int, default=1883, help="0 picks a free port (default %(default)s)")
    parser.add_argument("--ws-host", default="127.0.0.1", help="address of the MQTT/WebSocket listener")
    parser.add_argument("--ws-port", type=int, default=8083, help="0 picks a free port (default %(default)s)")
    parser.add_argument("--jwks-file", required=True, help="JWKS (JSON) with the keys ID tokens are signed with")
    parser.add_argument("--issuer", required=True, help="required `iss` of ID tokens")
    parser.add_argument("--audience", required=True, help="required `aud` of ID tokens")
    parser.add_argument(
        "--internal-credentials-file",
        help='0600 JSON file {"username", "password"} the backend publisher connects with; without it nobody '
        "may publish",
    )
    parser.add_argument(
        "--ready-file",
        help="once listening, write JSON {pid, tcp_host, tcp_port, ws_host, ws_port, ws_path} here (atomically); "
        "removed again on exit",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=CONNECT_TIMEOUT_SECONDS,
        help="close a connection that sends no CONNECT within this many seconds (default %(default)s)",
    )
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the parent process goes away (no orphans)"
    )
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default %(default)s"
    )
    return parser


def _check_jwks(path: str) -> None:
    jwt.PyJWKSet.from_dict(json.loads(Path(path).read_text()))


def write_ready_file(path: Path, content: dict[str, object]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(content))
    os.replace(tmp, path)


async def serve(args: argparse.Namespace, authenticator: Authenticator) -> int:
    tcp, ws = Listen(args.tcp_host, args.tcp_port), Listen(args.ws_host, args.ws_port)
    ready_file = Path(args.ready_file) if args.ready_file else None
    if ready_file is not None:
        ready_file.unlink(missing_ok=True)  # never let the parent read a previous run's ports
    broker = ServerlesspressoBroker(broker_config(tcp, ws), authenticator, args.connect_timeout)
    try:
        await broker.start()
    except BrokerError as error:  # amqtt wraps every failure (EADDRINUSE, say) in it
        log.error("the MQTT broker could not start: %s", error)
        busy = error.__cause__
        if isinstance(busy, ListenerPortInUse):
            return EXIT_WS_PORT_IN_USE if busy.websocket else EXIT_TCP_PORT_IN_USE
        return 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watcher = asyncio.create_task(_watch_parent(stop)) if args.exit_with_parent else None

    ports = {"tcp_port": broker.bound_port("default"), "ws_port": broker.bound_port("ws")}
    if ready_file is not None:
        write_ready_file(
            ready_file,
            {"pid": os.getpid(), "tcp_host": tcp.host, "ws_host": ws.host, "ws_path": WS_PATH, **ports},
        )
    print(
        f"MQTT broker listening on mqtt://{Listen(tcp.host, ports['tcp_port']).bind}"
        f" and ws://{Listen(ws.host, ports['ws_port']).bind}{WS_PATH}",
        file=sys.stderr,
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        try:
            await asyncio.wait_for(broker.shutdown(), _SHUTDOWN_TIMEOUT)
        except Exception:  # exiting anyway; say why it was not clean
            log.exception("the MQTT broker did not shut down cleanly")
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
    return 0


async def _watch_parent(stop: asyncio.Event) -> None:
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    log.warning("parent process %s went away: stopping", parent)
    stop.set()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level != "DEBUG":
        # amqtt logs every connection and every refused client at INFO/WARNING; ours says what matters.
        for noisy in ("amqtt", "transitions"):
            logging.getLogger(noisy).setLevel(max(logging.ERROR, logging.getLevelName(args.log_level)))
    try:
        _check_jwks(args.jwks_file)
        authenticator = Authenticator.from_files(
            args.jwks_file, args.issuer, args.audience, args.internal_credentials_file
        )
    except (OSError, ValueError, jwt.PyJWTError) as error:
        print(f"serverlesspresso.broker: {error}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(args, authenticator))
    return 0


if __name__ == "__main__":
    sys.exit(main())

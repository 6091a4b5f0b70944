"""Start and stop the broker process from the parent (`serverlesspresso up`, tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import serverlesspresso

# Put the directory holding the `serverlesspresso` package on the child's path, whatever the parent's cwd is.
_PACKAGE_ROOT = str(Path(serverlesspresso.__file__).resolve().parents[1])


# Exit codes of `python -m serverlesspresso.broker` the parent turns into BrokerPortInUse.
EXIT_TCP_PORT_IN_USE = 3
EXIT_WS_PORT_IN_USE = 4


class BrokerStartError(RuntimeError):
    pass


class BrokerPortInUse(BrokerStartError):
    def __init__(self, message: str, host: str, port: int, websocket: bool) -> None:
        super().__init__(message)
        self.host = host
        self.port = port
        self.websocket = websocket


@dataclass(frozen=True)
class BrokerAddress:
    """What the ready file says: the ports actually bound (useful when 0 was asked for)."""

    pid: int
    tcp_host: str
    tcp_port: int
    ws_host: str
    ws_port: int
    ws_path: str = "/mqtt"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BrokerAddress:
        return cls(
            pid=int(data["pid"]),
            tcp_host=str(data["tcp_host"]),
            tcp_port=int(data["tcp_port"]),
            ws_host=str(data["ws_host"]),
            ws_port=int(data["ws_port"]),
            ws_path=str(data.get("ws_path", "/mqtt")),
        )

    @property
    def tcp_url(self) -> str:
        return f"mqtt://{_host(self.tcp_host)}:{self.tcp_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{_host(self.ws_host)}:{self.ws_port}{self.ws_path}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def read_ready_file(path: Path) -> BrokerAddress | None:
    try:
        return BrokerAddress.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class BrokerProcess:
    """`python -m serverlesspresso.broker` as a child process; `start()` returns once it listens."""

    def __init__(self, process: subprocess.Popen[bytes], address: BrokerAddress, ready_file: Path) -> None:
        self.process = process
        self.address = address
        self._ready_file = ready_file

    @classmethod
    def start(
        cls,
        *,
        jwks_file: str | os.PathLike[str],
        issuer: str,
        audience: str,
        internal_credentials_file: str | os.PathLike[str],
        tcp_host: str = "127.0.0.1",
        tcp_port: int = 0,
        ws_host: str = "127.0.0.1",
        ws_port: int = 0,
        ready_file: str | os.PathLike[str] | None = None,
        log: IO[Any] | int | None = None,
        log_level: str = "WARNING",
        timeout: float = 20.0,
        exit_with_parent: bool = True,
        extra_args: Sequence[str] = (),
    ) -> BrokerProcess:
        """`log` is where the child's stdout/stderr go (a file, subprocess.DEVNULL, or None to inherit ours)."""
        ready = Path(ready_file) if ready_file else Path(tempfile.mkdtemp(prefix="spresso-broker-")) / "ready.json"
        ready.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "serverlesspresso.broker",
            "--tcp-host", tcp_host,
            "--tcp-port", str(tcp_port),
            "--ws-host", ws_host,
            "--ws-port", str(ws_port),
            "--jwks-file", str(Path(jwks_file).resolve()),
            "--issuer", issuer,
            "--audience", audience,
            "--internal-credentials-file", str(Path(internal_credentials_file).resolve()),
            "--ready-file", str(ready.resolve()),
            "--log-level", log_level,
        ]  # fmt: skip
        if exit_with_parent:
            command.append("--exit-with-parent")
        command.extend(extra_args)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        log_name = getattr(log, "name", None)
        see_log = f"; its log: {Path(log_name).resolve()}" if isinstance(log_name, str) else ""
        deadline = time.monotonic() + timeout
        while True:
            address = read_ready_file(ready)
            if address is not None and address.pid == process.pid:
                return cls(process, address, ready)
            code = process.poll()
            if code in (EXIT_TCP_PORT_IN_USE, EXIT_WS_PORT_IN_USE):
                websocket = code == EXIT_WS_PORT_IN_USE
                host, port = (ws_host, ws_port) if websocket else (tcp_host, tcp_port)
                kind = "MQTT over WebSockets" if websocket else "MQTT"
                raise BrokerPortInUse(f"{kind} port {port} on {host} is already in use{see_log}", host, port, websocket)
            if code is not None:
                raise BrokerStartError(f"the MQTT broker exited with code {code} before it was ready{see_log}")
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise BrokerStartError(f"the MQTT broker was not ready within {timeout:.0f} s{see_log}")
            time.sleep(0.02)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._ready_file.unlink(missing_ok=True)
        return int(self.process.returncode)

    def __enter__(self) -> BrokerProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

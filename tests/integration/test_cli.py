"""The `serverlesspresso` command line: help, tokens the running stack accepts, the QR code in a terminal."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.stack import REPO_ROOT, Api, Stack


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serverlesspresso.cli", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


def test_help_explains_every_flag_of_up() -> None:
    result = _cli("up", "--help")
    assert result.returncode == 0
    for flag in ("--host", "--port", "--data-dir", "--no-fsync"):
        assert flag in result.stdout


def test_token_command_mints_tokens_the_stack_accepts(stack: Stack) -> None:
    admin = _cli("token", "--user", "cli-barista", "--admin", "--data-dir", str(stack.data_dir)).stdout.strip()
    customer = _cli("token", "--user", "cli-customer", "--data-dir", str(stack.data_dir)).stdout.strip()
    api = Api(stack)
    assert api.call("GET", "/shops/default/code", admin).status_code == 200
    refused = api.call("GET", "/shops/default/code", customer)
    assert refused.status_code == 403


def test_token_command_without_a_key_explains_what_to_do(tmp_path: object) -> None:
    result = _cli("token", "--user", "x", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "serverlesspresso up" in result.stderr


def test_code_command_prints_the_current_code_as_a_qr(stack: Stack) -> None:
    admin = Api(stack).token("code-reader", admin=True)
    expected = Api(stack).call("GET", "/shops/default/code", admin).json()["code"]
    result = _cli("code", "--shop", "default", "--url", stack.base, "--data-dir", str(stack.data_dir))
    assert result.returncode == 0, result.stderr
    assert f"code {expected}" in result.stdout
    assert "█" in result.stdout or "▀" in result.stdout  # the QR drawn with block characters


def test_code_command_reports_an_unreachable_stack(stack: Stack) -> None:
    result = _cli("code", "--url", "http://127.0.0.1:9", "--data-dir", str(stack.data_dir))
    assert result.returncode == 1 and "cannot reach" in result.stderr


def test_watch_prints_live_events_of_a_journey(stack: Stack) -> None:
    api = Api(stack)
    admin = api.token("watch-barista", admin=True)
    shop_id = api.new_shop(admin)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "serverlesspresso.cli", "watch", "--shop", shop_id, "--admin"]
        + ["--mqtt", stack.mqtt_ws_url, "--data-dir", str(stack.data_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        lines: list[str] = []
        assert watcher.stdout is not None
        while not any("admin" in line and "subscribed" in line for line in lines):
            assert time.monotonic() < deadline, lines
            lines.append(watcher.stdout.readline())
        customer = api.token("watched-customer")
        order_id = api.place(shop_id, customer, admin)
        while not any("Validator.NewOrder" in line and order_id[:8] in line for line in lines):
            assert time.monotonic() < deadline, lines
            lines.append(watcher.stdout.readline())
        assert any("ConfigService.ConfigChanged" in line and "open=True" in line for line in lines)
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=20)
    assert watcher.returncode == 0


def test_watch_reports_an_unreachable_broker(stack: Stack) -> None:
    result = _cli("watch", "--mqtt", "mqtt://127.0.0.1:9", "--data-dir", str(stack.data_dir))
    assert result.returncode == 1 and "cannot watch" in result.stderr


def test_help_explains_admins_and_outbox() -> None:
    for command in (("admins",), ("admins", "add"), ("admins", "remove"), ("admins", "list"), ("outbox",)):
        result = _cli(*command, "--help")
        assert result.returncode == 0, command
        assert "usage: serverlesspresso" in result.stdout
    assert "tokens issued" in _cli("admins", "--help").stdout.replace("\n", " ")
    assert "--phone" in _cli("outbox", "--help").stdout


def test_admins_and_outbox_explain_a_missing_data_dir(tmp_path: object) -> None:
    for command in (("admins", "add", "+14155550123"), ("admins", "list"), ("outbox",)):
        result = _cli(*command, "--data-dir", f"{tmp_path}/never-used")
        assert result.returncode == 2, command
        assert "serverlesspresso up --data-dir" in result.stderr


def test_admins_refuses_an_invalid_phone_number(stack: Stack) -> None:
    result = _cli("admins", "add", "0123", "--data-dir", str(stack.data_dir))
    assert result.returncode == 2 and "E.164" in result.stderr
    assert "0123" not in _cli("admins", "list", "--data-dir", str(stack.data_dir)).stdout


def test_an_admin_added_before_they_sign_in_is_listed_as_such(stack: Stack) -> None:
    added = _cli("admins", "add", "+1 (415) 555-0142", "--data-dir", str(stack.data_dir))
    assert added.returncode == 0 and "+14155550142 is now in the admin group" in added.stdout
    again = _cli("admins", "add", "+14155550142", "--data-dir", str(stack.data_dir))
    assert "was already" in again.stdout
    listed = _cli("admins", "list", "--data-dir", str(stack.data_dir)).stdout
    assert any(line.startswith("+14155550142") and "has not signed in yet" in line for line in listed.splitlines())
    removed = _cli("admins", "remove", "+14155550142", "--data-dir", str(stack.data_dir))
    assert removed.returncode == 0 and "no longer" in removed.stdout
    assert "+14155550142" not in _cli("admins", "list", "--data-dir", str(stack.data_dir)).stdout


def _watch_until_subscribed(stack: Stack, **popen: Any) -> subprocess.Popen[str]:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "serverlesspresso.cli", "watch", "--shop", "default"]
        + ["--mqtt", stack.mqtt_url, "--data-dir", str(stack.data_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )
    assert watcher.stdout is not None
    deadline = time.monotonic() + 20
    lines: list[str] = []
    while not any("subscribed to" in line and "/board" in line for line in lines):
        if time.monotonic() > deadline or watcher.poll() is not None:
            watcher.kill()
            watcher.wait()
            raise AssertionError(f"watch never subscribed: {lines}")
        lines.append(watcher.stdout.readline())
    return watcher


def _stops_within(process: subprocess.Popen[str], seconds: float) -> int | None:
    """The exit code, or None after killing a process that did not stop (never left running)."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_watch_stops_on_sigint_and_sigterm_even_started_in_the_background(stack: Stack, stop_signal: int) -> None:
    # A shell without job control starts `cmd &` with SIGINT ignored; Python then installs no handler of its own.
    watcher = _watch_until_subscribed(stack, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    watcher.send_signal(stop_signal)
    assert _stops_within(watcher, 15) == 0


def _listening_socket() -> socket.socket:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    return busy


def test_up_on_a_busy_http_port_names_the_port_and_the_flag(tmp_path: Path) -> None:
    with _listening_socket() as busy:
        port = busy.getsockname()[1]
        result = _cli("up", "--port", str(port), "--mqtt-port", "0", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "--port" in result.stderr, result.stderr


def test_up_on_a_busy_mqtt_port_names_the_port_and_the_broker_log(tmp_path: Path) -> None:
    with _listening_socket() as busy:
        port = busy.getsockname()[1]
        result = _cli("up", "--port", "0", "--mqtt-port", str(port), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "--mqtt-port" in result.stderr, result.stderr
    assert str((tmp_path / "data" / "broker" / "broker.log").resolve()) in result.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("--ttl", "-5"), "--ttl"),
        (("--ttl", "0"), "--ttl"),
        (("--user", ""), "--user"),
        (("--user", "   "), "--user"),
    ],
)
def test_token_refuses_a_lifetime_that_is_not_positive_and_an_empty_user(
    stack: Stack, args: tuple[str, ...], complaint: str
) -> None:
    base = {"--user": "someone", "--ttl": "60"}
    base[args[0]] = args[1]
    result = _cli("token", *[part for pair in base.items() for part in pair], "--data-dir", str(stack.data_dir))
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert "usage: serverlesspresso token" in result.stderr and f"argument {complaint}" in result.stderr

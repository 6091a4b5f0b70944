"""`serverlesspresso watch`'s options: URL, token and authorizer into connection parameters, and clear refusals.

All offline: nothing here connects (tests/broker/test_watch_tls.py does, through TLS).
"""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from serverlesspresso import cli
from serverlesspresso.watch import (
    ConnectionOptions,
    WatchError,
    connection_options,
    describe_connect_error,
    mqtt_username,
    read_token,
    token_identity,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
IOT = "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com"


def jwt_with(claims: dict[str, object]) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJl"


TOKEN = jwt_with({"sub": "4f2a-alice", "exp": NOW.timestamp() + 3600, "cognito:groups": ["admin"]})


# ----- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "websocket", "path", "alpn"),
    [
        ("mqtt://127.0.0.1:1883", "127.0.0.1", 1883, False, False, "", ()),
        ("mqtt://localhost", "localhost", 1883, False, False, "", ()),
        ("ws://127.0.0.1:8000/mqtt", "127.0.0.1", 8000, False, True, "/mqtt", ()),
        ("ws://shop.local", "shop.local", 80, False, True, "/mqtt", ()),
        (f"wss://{IOT}/mqtt", IOT, 443, True, True, "/mqtt", ()),
        (f"wss://{IOT}", IOT, 443, True, True, "/mqtt", ()),
        (f"mqtts://{IOT}", IOT, 443, True, False, "", ("mqtt",)),
        (f"mqtts://{IOT}:443", IOT, 443, True, False, "", ("mqtt",)),
        ("mqtts://broker.example:8883", "broker.example", 8883, True, False, "", ("mqtt",)),
        (f"WSS://{IOT.upper()}/mqtt", IOT, 443, True, True, "/mqtt", ()),  # schemes and host names are case-blind
    ],
)
def test_each_scheme_gives_its_transport(
    url: str, host: str, port: int, tls: bool, websocket: bool, path: str, alpn: tuple[str, ...]
) -> None:
    options = connection_options(url, TOKEN)
    assert (options.host, options.port, options.tls, options.websocket, options.path, options.alpn) == (
        host,
        port,
        tls,
        websocket,
        path,
        alpn,
    )
    assert options.password == TOKEN
    assert options.username == "watch"


def test_a_websocket_urls_query_goes_into_the_upgrade_request() -> None:
    options = connection_options(f"wss://{IOT}/mqtt?x-amz-customauthorizer-name=sp-dev&a=b", TOKEN)
    assert options.path == "/mqtt?x-amz-customauthorizer-name=sp-dev&a=b"


def test_the_token_is_the_password_without_surrounding_whitespace() -> None:
    assert connection_options("mqtt://h", f"  {TOKEN}\n").password == TOKEN


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (IOT, "not a broker URL"),
        (f"https://{IOT}/mqtt", "not a broker URL"),
        ("tcp://127.0.0.1:1883", "not a broker URL"),
        ("mqtt://", "names no host"),
        ("mqtt://127.0.0.1:99999", "port"),
        ("mqtt://127.0.0.1:port", "port"),
        ("mqtt://127.0.0.1:1883/mqtt", "MQTT over TCP has no path"),
        (f"mqtts://{IOT}/?x-amz-customauthorizer-name=a", "MQTT over TCP has no path"),
    ],
)
def test_a_url_that_cannot_work_is_refused_with_a_reason(url: str, says: str) -> None:
    with pytest.raises(WatchError, match=says):
        connection_options(url, TOKEN)


# ----- the custom authorizer -----------------------------------------------------------------


def test_the_authorizer_travels_in_the_mqtt_username_as_iot_core_reads_it() -> None:
    for url in (f"wss://{IOT}/mqtt", f"mqtts://{IOT}"):
        options = connection_options(url, TOKEN, authorizer="serverlesspresso-dev-iot_authorizer")
        assert options.username == "watch?x-amz-customauthorizer-name=serverlesspresso-dev-iot_authorizer"
        assert options.password == TOKEN


def test_without_an_authorizer_the_username_is_plain() -> None:
    assert mqtt_username(None) == "watch"


def test_authorizer_names_are_url_encoded() -> None:
    assert mqtt_username("a=b,c@d") == "watch?x-amz-customauthorizer-name=a%3Db%2Cc%40d"


@pytest.mark.parametrize("name", ["", "has space", "a&b", "a?b", "x" * 129, "a/b"])
def test_a_name_iot_core_would_not_accept_is_refused(name: str) -> None:
    with pytest.raises(WatchError, match="not an IoT Core authorizer name"):
        mqtt_username(name)


# ----- the CA file ---------------------------------------------------------------------------


def test_a_ca_file_is_kept_for_tls(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert connection_options(f"wss://{IOT}/mqtt", TOKEN, ca_file=ca).ca_file == ca


def test_a_ca_file_without_tls_is_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(WatchError, match="--ca-file is for TLS"):
        connection_options("ws://127.0.0.1:8000/mqtt", TOKEN, ca_file=ca)


def test_a_missing_ca_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WatchError, match="no such file"):
        connection_options(f"mqtts://{IOT}", TOKEN, ca_file=tmp_path / "nope.pem")


# ----- given tokens --------------------------------------------------------------------------


def test_a_given_token_names_its_user_and_groups() -> None:
    identity = token_identity(TOKEN, NOW)
    assert identity.sub == "4f2a-alice"
    assert identity.is_admin is True
    assert not token_identity(jwt_with({"sub": "bob", "exp": NOW.timestamp() + 60}), NOW).is_admin


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("garbage", "not a JWT"),
        ("a.b", "not a JWT"),
        ("a.!!!.c", "not a JWT"),
        (jwt_with({"exp": NOW.timestamp() + 60}), "no 'sub'"),
        (jwt_with({"sub": "alice"}), "no 'sub' or 'exp'"),
        (jwt_with(["not", "an", "object"]), "no 'sub'"),  # type: ignore[arg-type]
        (jwt_with({"sub": "alice", "exp": NOW.timestamp() - 1}), "expired at 2026-12-02 09:59:59 UTC"),
    ],
)
def test_a_given_token_that_cannot_sign_in_is_refused_before_connecting(token: str, says: str) -> None:
    with pytest.raises(WatchError, match=says):
        token_identity(token, NOW)


def test_a_token_file_gives_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "id-token.txt"
    path.write_text(f"\n  {TOKEN}  \nsomething else\n")
    assert read_token(None, path) == TOKEN


def test_the_token_option_wins_and_is_stripped() -> None:
    assert read_token(f" {TOKEN} ", None) == TOKEN


def test_a_missing_token_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WatchError, match="no such file"):
        read_token(None, tmp_path / "nope")


def test_a_token_can_come_from_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{TOKEN}\n"))
    assert read_token(None, Path("-")) == TOKEN


# ----- what a failed connection means --------------------------------------------------------

OPTIONS = ConnectionOptions(IOT, 443, True, True, "/mqtt", (), "watch?x-amz-customauthorizer-name=a", TOKEN)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE", "--ca-file"),
        ("AWS_IO_SOCKET_CONNECTION_REFUSED", "nothing accepts connections"),
        ("AWS_IO_DNS_INVALID_NAME", "does not resolve"),
        ("AWS_ERROR_HTTP_WEBSOCKET_UPGRADE_FAILURE", "WebSocket upgrade"),
        ("AWS_ERROR_MQTT_UNEXPECTED_HANGUP", "--authorizer"),
        ("AWS_ERROR_MQTT_PROTOCOL_ERROR", "token"),
        ("AWS_ERROR_SOMETHING_NEW", "the message awscrt gave"),
    ],
)
def test_connect_errors_are_said_in_words_that_point_at_the_fix(name: str, says: str) -> None:
    described = describe_connect_error(OPTIONS, name, "the message awscrt gave")
    assert says in described
    assert name in described and f"{IOT}:443" in described


# ----- the command line (refusals happen before any connection) ------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["watch", *args])
    return code, capsys.readouterr().err


def test_token_and_token_file_are_exclusive(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["watch", "--token", TOKEN, "--token-file", str(tmp_path / "t")])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_user_with_a_given_token_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "--user", "alice", "--token", TOKEN)
    assert code == 2 and "a given token already names its user" in err


def test_an_expired_given_token_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    expired = jwt_with({"sub": "alice", "exp": 1_000_000_000})
    code, err = run_cli(capsys, "--token", expired, "--mqtt", f"wss://{IOT}/mqtt")
    assert code == 2 and "expired" in err and "sign in again" in err


def test_a_bad_url_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "--token", jwt_with({"sub": "a", "exp": 4_000_000_000}), "--mqtt", IOT)
    assert code == 2 and "not a broker URL" in err and "wss://ENDPOINT/mqtt" in err


def test_a_bad_authorizer_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    token = jwt_with({"sub": "a", "exp": 4_000_000_000})
    code, err = run_cli(capsys, "--token", token, "--mqtt", f"wss://{IOT}/mqtt", "--authorizer", "a b")
    assert code == 2 and "not an IoT Core authorizer name" in err


def test_without_a_token_the_data_directory_must_have_a_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = run_cli(capsys, "--data-dir", str(tmp_path))
    assert code == 2 and "serverlesspresso up" in err


def test_help_names_every_aws_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["watch", "--help"])
    out = capsys.readouterr().out
    for option in ("--authorizer", "--token", "--token-file", "--ca-file", "wss://", "mqtts://"):
        assert option in out

"""The `serverlesspresso` command: run the shop locally, mint tokens, show the QR code, admins, the outbox, the cost."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

from serverlesspresso.identity import LocalIdentityProvider

DEFAULT_DATA_DIR = ".serverlesspresso"


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(DEFAULT_DATA_DIR),
        help=f"where the shop keeps its state and signing key (default: ./{DEFAULT_DATA_DIR})",
    )


def _positive_seconds(text: str) -> int:
    try:
        seconds = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {seconds}")
    return seconds


def _user_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a user (it cannot be empty)")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="serverlesspresso", description="Serverlesspresso, on one machine.")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser(
        "up",
        help="run the whole shop locally",
        description="Start emulated AWS (moto), the order workflow, the event bus and the HTTP API. "
        "State persists in --data-dir across restarts, including kill -9.",
    )
    up.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1; 0.0.0.0 for Wi-Fi)"
    )
    up.add_argument(
        "--port", type=int, default=8000, help="HTTP port for REST and GraphQL (default: 8000; 0 = any free)"
    )
    up.add_argument(
        "--mqtt-port",
        type=int,
        default=1883,
        help="MQTT over TCP (default: 1883; 0 = any free). MQTT over WebSockets is on the HTTP port at /mqtt",
    )
    up.add_argument(
        "--public-url",
        help="the address phones use to reach this machine, put in the QR code "
        "(default: http://HOST:PORT, with this machine's LAN address when HOST is 0.0.0.0)",
    )
    _data_dir_arg(up)
    up.add_argument(
        "--no-fsync",
        action="store_true",
        help="do not fsync each write (survives kill -9, not power loss; faster)",
    )
    up.add_argument(
        "--record-aws-calls",
        action="store_true",
        help="record every AWS call the functions and the workflow make in DATA_DIR/aws-calls.jsonl, for "
        "`serverlesspresso cost` (written from the start of this run; executions are added at Ctrl-C)",
    )

    token = commands.add_parser("token", help="print a signed ID token for a user")
    token.add_argument(
        "--user", required=True, type=_user_name, help="user name (the same name always gets the same sub)"
    )
    token.add_argument("--admin", action="store_true", help="put the user in the 'admin' group (baristas, organisers)")
    token.add_argument(
        "--ttl", type=_positive_seconds, default=12 * 3600, help="lifetime in seconds (default: 12 hours)"
    )
    _data_dir_arg(token)

    code = commands.add_parser("code", help="show the shop's current QR code in the terminal")
    code.add_argument("--shop", default="default", help="shop id (default: default)")
    code.add_argument("--url", default="http://127.0.0.1:8000", help="where `up` listens")
    _data_dir_arg(code)
    watch = commands.add_parser(
        "watch",
        help="print a shop's live events as they arrive (MQTT, AWS IoT Device SDK v2)",
        description="Subscribes to the shop's public topics (store state, board), plus the admin topic "
        "with --admin or one customer's own topic with --user, and prints each message. Locally it signs in with a "
        "token minted from the data directory; against IoT Core give a Cognito ID token (--token-file) and the "
        "custom authorizer's name (--authorizer), e.g. "
        "--mqtt wss://ENDPOINT/mqtt --authorizer NAME --token-file id-token.txt",
    )
    watch.add_argument("--shop", default="default", help="shop id (default: default)")
    who = watch.add_mutually_exclusive_group()
    who.add_argument("--admin", action="store_true", help="also the shop's admin topic (every order event)")
    who.add_argument(
        "--user", type=_user_name, help="also this customer's own topic (signs in as them with a local token)"
    )
    watch.add_argument(
        "--mqtt",
        default="mqtt://127.0.0.1:1883",
        help="broker URL: mqtt://HOST:PORT or ws://HOST:PORT/mqtt locally; wss://ENDPOINT/mqtt (443) or "
        "mqtts://ENDPOINT (443, ALPN mqtt) for IoT Core (default: mqtt://127.0.0.1:1883)",
    )
    watch.add_argument(
        "--authorizer",
        metavar="NAME",
        help="IoT Core custom authorizer to invoke (sent as x-amz-customauthorizer-name in the MQTT username); "
        "not needed when it is the endpoint's default",
    )
    given = watch.add_mutually_exclusive_group()
    given.add_argument(
        "--token",
        help="an ID token to sign in with instead of minting one (visible to other local users in the process "
        "list: prefer --token-file); its own topic is followed too",
    )
    given.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help="a file whose first line is the ID token ('-': standard input); its own topic is followed too",
    )
    watch.add_argument(
        "--ca-file", type=Path, metavar="PEM", help="trust these CA certificates for TLS instead of the system's"
    )
    _data_dir_arg(watch)

    admins = commands.add_parser(
        "admins",
        help="who is in the 'admin' group (baristas, the display), by phone number",
        description="Manage the 'admin' group of the local user pool. A phone number can be added before it ever "
        "signs in. As with Cognito, membership shows in tokens issued afterwards: the next sign-in, or the "
        "app's next token refresh (within the hour).",
    )
    actions = admins.add_subparsers(dest="action", required=True)
    for action, text in (
        ("add", "put a phone number in the admin group"),
        ("remove", "take a phone number out of the admin group"),
    ):
        sub = actions.add_parser(action, help=text, description=f"{text[0].upper()}{text[1:]}.")
        sub.add_argument("phone", metavar="PHONE", help="phone number in E.164, e.g. +14155550123 (spaces allowed)")
        _data_dir_arg(sub)
    _data_dir_arg(actions.add_parser("list", help="list the admin group", description="List the admin group."))

    outbox = commands.add_parser(
        "outbox",
        help="the sign-in codes 'sent' by SMS, oldest first",
        description="Locally no SMS is sent: each sign-in code goes to this outbox (and to the log of 'up'). "
        "Prints one line per code: phone number, code, when it was sent and until when it is valid.",
    )
    outbox.add_argument("--phone", help="only codes sent to this phone number (E.164, e.g. +14155550123)")
    _data_dir_arg(outbox)
    _cost_parser(commands)
    return parser


def _cost_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cost = commands.add_parser(
        "cost",
        help="what a recorded local run would cost on AWS, per 1,000 drinks and per month",
        description="Reads the AWS calls `up --record-aws-calls` recorded (stop it with Ctrl-C first, so it adds the "
        "workflow's executions) and prices them at us-east-1 list prices, scaled to --drinks-per-day for --days. "
        "Lambda memory sizes come from .chalice/config.json unless given with --memory.",
    )
    cost.add_argument("--record", type=Path, help="the recorded calls (default: DATA_DIR/aws-calls.jsonl)")
    _data_dir_arg(cost)
    cost.add_argument("--drinks-per-day", type=_positive_int, default=1000, help="(default: 1000)")
    cost.add_argument("--days", type=_positive_int, default=30, help="days in the month (default: 30)")
    cost.add_argument(
        "--drinks", type=_positive_int, help="drinks made in the recorded run (default: its OrderCompleted events)"
    )
    cost.add_argument(
        "--memory",
        action="append",
        default=[],
        metavar="FUNCTION=MB",
        help="a function's Lambda memory (repeatable; '*=MB' for the rest)",
    )
    cost.add_argument("--stage", default="prod", help="the Chalice stage whose memory sizes apply (default: prod)")
    cost.add_argument("--arm64", action="store_true", help="price Lambda on Graviton (arm64)")
    cost.add_argument(
        "--monthly-active-users", type=_positive_int, default=1000, help="distinct people signing in (default: 1000)"
    )
    cost.add_argument(
        "--retention-days", type=_positive_int, help="days orders are kept (default: for ever, as today: no TTL)"
    )
    cost.add_argument("--json", action="store_true", help="print the estimate as JSON")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "up":
        return _up(args)
    if args.command == "token":
        try:
            print(LocalIdentityProvider(args.data_dir).issue(args.user, admin=args.admin, ttl_seconds=args.ttl))
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "watch":
        return _watch(args)
    if args.command == "admins":
        return _admins(args)
    if args.command == "outbox":
        return _outbox(args)
    if args.command == "cost":
        return _cost(args)
    return _code(args)


def _cost(args: argparse.Namespace) -> int:
    from serverlesspresso import cost
    from serverlesspresso.awscalls import read_record

    record = args.record or args.data_dir / "aws-calls.jsonl"
    if not record.exists():
        print(f"error: no record at {record}: run `up --record-aws-calls` first", file=sys.stderr)
        return 2
    memory = cost.chalice_memory(cost.REPO_ROOT / ".chalice" / "config.json", args.stage)
    for given in args.memory:
        name, _, mb = given.partition("=")
        if not name or not mb.isdigit():
            print(f"error: --memory takes FUNCTION=MB, not {given!r}", file=sys.stderr)
            return 2
        memory[name] = int(mb)
    assumptions = cost.Assumptions(
        drinks_per_day=args.drinks_per_day,
        days=args.days,
        drinks=args.drinks,
        memory_mb=memory,
        architecture="arm64" if args.arm64 else "x86_64",
        monthly_active_users=args.monthly_active_users,
        retention_days=args.retention_days,
    )
    usage = cost.usage_from_record(read_record(record))
    try:
        estimate = cost.estimate(usage, cost.load_prices(), assumptions)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(cost.as_json(estimate), indent=2))
    else:
        print(cost.format_report(estimate, usage), end="")
    return 0


def _admins(args: argparse.Namespace) -> int:
    import time

    from serverlesspresso.signin.phone import InvalidPhoneNumber, parse_typed
    from serverlesspresso.signin.service import AdminDirectory, iso
    from serverlesspresso.signin.store import MissingStore, SignInStore

    try:
        phone = parse_typed(args.phone) if args.action != "list" else ""
        store = SignInStore.in_data_dir(args.data_dir, create=False)
    except (InvalidPhoneNumber, MissingStore) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    directory = AdminDirectory(store, time.time)
    try:
        if args.action == "list":
            listed = directory.list()
            for admin in listed:
                signed_up = "signed up" if admin.sub else "has not signed in yet"
                print(f"{admin.phone}  added {iso(admin.added_at)}  ({signed_up})")
            if not listed:
                print(f"No admins yet. Add one with: serverlesspresso admins add PHONE --data-dir {args.data_dir}")
        elif args.action == "add":
            added = directory.add(phone)
            print(f"{phone} {'is now' if added else 'was already'} in the admin group.")
            print(
                "Tokens issued from now on carry it: the next sign-in, or the app's next token refresh "
                "(within the hour). Tokens issued before do not, as with Cognito."
            )
        else:
            removed = directory.remove(phone)
            print(f"{phone} {'is no longer' if removed else 'was not'} in the admin group.")
            if removed:
                print(
                    "Tokens issued from now on do not carry it; tokens issued before keep it until they expire "
                    "(at most an hour), as with Cognito."
                )
    finally:
        store.close()
    return 0


def _outbox(args: argparse.Namespace) -> int:
    from serverlesspresso.signin.phone import InvalidPhoneNumber, parse_typed
    from serverlesspresso.signin.service import iso
    from serverlesspresso.signin.store import MissingStore, SignInStore

    try:
        phone = parse_typed(args.phone) if args.phone else None
        store = SignInStore.in_data_dir(args.data_dir, create=False)
    except (InvalidPhoneNumber, MissingStore) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        with store.transaction(write=False) as tx:
            entries = tx.outbox(phone)
    finally:
        store.close()
    for entry in entries:
        print(f"{entry.phone}  {entry.code}  sent {iso(entry.sent_at)}  valid until {iso(entry.valid_until)}")
    if not entries:
        print("no codes sent yet" + (f" to {phone}" if phone else ""), file=sys.stderr)
    return 0


def _watch(args: argparse.Namespace) -> int:
    import signal
    import threading
    from datetime import UTC, datetime

    from awscrt.exceptions import AwsCrtError

    from serverlesspresso.identity import subject_of
    from serverlesspresso.watch import (
        WatchError,
        WatchTarget,
        connect,
        describe_connect_error,
        read_token,
        token_identity,
        topics_for,
        watch,
    )

    try:
        if args.token is not None or args.token_file is not None:
            if args.user:
                raise WatchError("--user signs in with a local token; a given token already names its user")
            token = read_token(args.token, args.token_file)
            sub: str | None = token_identity(token, datetime.now(UTC)).sub
        else:
            username = args.user or ("cli-barista" if args.admin else "cli-display")
            try:
                token = LocalIdentityProvider(args.data_dir).issue(username, admin=args.admin)
            except FileNotFoundError as error:
                raise WatchError(str(error)) from None
            sub = subject_of(args.user) if args.user else None
        target = WatchTarget(args.mqtt, token, topics_for(args.shop, args.admin, sub), args.authorizer, args.ca_file)
        options = target.options()
    except WatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        connection = connect(target)
    except AwsCrtError as error:
        print(
            f"error: cannot watch {args.mqtt}: {describe_connect_error(options, error.name, error.message)}",
            file=sys.stderr,
        )
        return 1
    except TimeoutError as error:
        print(f"error: cannot watch {args.mqtt}: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    # Installed explicitly: a shell without job control starts `watch &` with SIGINT ignored, and Python then
    # leaves it ignored (no KeyboardInterrupt ever comes). SIGTERM gets the same clean stop.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stop.set())
    watch_thread = threading.Thread(target=watch, args=(connection, target.topics, sys.stdout, stop), daemon=True)
    watch_thread.start()
    while watch_thread.is_alive():
        watch_thread.join(0.5)
    return 0


def _up(args: argparse.Namespace) -> int:
    from serverlesspresso.runtime import LocalRuntime, RuntimeOptions

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("botocore", "moto", "urllib3", "pynamodb", "strawberry", "amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    runtime = LocalRuntime(
        RuntimeOptions(
            args.host,
            args.port,
            args.data_dir,
            fsync=not args.no_fsync,
            mqtt_port=args.mqtt_port,
            public_url=args.public_url,
            record_aws_calls=args.record_aws_calls,
        )
    )
    try:
        runtime.start()
    except (OSError, RuntimeError) as error:
        print(f"error: cannot start: {error}", file=sys.stderr)
        return 1
    urls = runtime.urls()
    data_dir = args.data_dir
    prog = _invoked_as()
    print(
        "\nServerlesspresso is running (Ctrl-C to stop)\n"
        f"  Order app {urls['Order app']}   (phones; the display's QR code opens it)\n"
        f"  Display   {urls['Display']}\n"
        f"  Barista   {urls['Barista']}\n"
        f"  REST      {urls['REST']}\n"
        f"  GraphQL   {urls['GraphQL']}\n"
        f"  JWKS      {urls['JWKS']}\n"
        f"  MQTT      {urls['MQTT']}  and  {urls['MQTT over WebSockets']}\n"
        f"  Data      {runtime.data_dir}\n"
        "Tokens:\n"
        f"  {prog} token --user alice --data-dir {data_dir}            # a customer\n"
        f"  {prog} token --user barista --admin --data-dir {data_dir}  # a barista or organiser\n"
        f"Sign-in:  the apps sign in by phone at {urls['Sign-in']}; codes go to the outbox, not by SMS:\n"
        f"  {prog} outbox --data-dir {data_dir}\n"
        f"  {prog} admins add +14155550123 --data-dir {data_dir}   # baristas and the display\n"
        f"QR code:  {prog} code --shop default --url {urls['REST']} --data-dir {data_dir}\n"
        f"Live:     {prog} watch --shop default --admin --mqtt {urls['MQTT']} --data-dir {data_dir}\n",
        flush=True,
    )
    runtime.wait()
    print("stopping...", flush=True)
    runtime.stop()
    return 0


def _invoked_as() -> str:
    """How to run this command again from here (the venv's script is usually not on PATH)."""
    script = Path(sys.argv[0])
    if script.name == "serverlesspresso" and script.exists():
        try:
            return str(script.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(script)
    return "serverlesspresso"


def _code(args: argparse.Namespace) -> int:
    try:
        token = LocalIdentityProvider(args.data_dir).issue("cli-display", admin=True, ttl_seconds=300)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    request = urllib.request.Request(f"{args.url}/shops/{args.shop}/code", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        print(f"error: {error.code} {error.read().decode()}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"error: cannot reach {args.url}: {error.reason}", file=sys.stderr)
        return 1
    import segno

    segno.make(body["orderUrl"]).terminal(compact=True)
    print(f"code {body['code']}  ({body['remaining']} drinks left, valid until {body['validUntil']})")
    print(body["orderUrl"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load on the running stack: 200 customers at the same instant all get their answer, none is reset."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter

from tests.support.stack import Stack

CLIENTS = 200
QUERY = json.dumps({"query": '{ shop(id: "default") { name open } }'}).encode()


def test_200_simultaneous_customers_are_all_answered_and_none_is_reset(stack: Stack) -> None:
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(QUERY)}\r\n\r\n".encode()
        + QUERY
    )
    barrier = threading.Barrier(CLIENTS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def customer() -> None:
        barrier.wait()
        try:
            with socket.create_connection(("127.0.0.1", stack.port), timeout=60) as connection:
                connection.sendall(request)
                answer = b""
                while chunk := connection.recv(65536):
                    answer += chunk
            outcome = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/1.1 ") else "no answer"
            if outcome == "200":
                assert json.loads(answer.partition(b"\r\n\r\n")[2])["data"]["shop"]["name"]
        except ConnectionResetError:
            outcome = "reset"
        except OSError as error:
            outcome = type(error).__name__
        with lock:
            outcomes[outcome] += 1

    started = time.monotonic()
    customers = [threading.Thread(target=customer) for _ in range(CLIENTS)]
    for thread in customers:
        thread.start()
    for thread in customers:
        thread.join()

    assert outcomes == Counter({"200": CLIENTS}), outcomes
    assert time.monotonic() - started < 60

"""Many clients at the same instant, each sending raw HTTP on its own connection: what each got, and how fast."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

SHOP_QUERY = b'{"query": "{ shop(id: \\"default\\") { name open } }"}'


@dataclass(frozen=True)
class Outcome:
    status: str  # "200"..., or "reset", "timeout", "no answer", or the OSError's name
    seconds: float
    body: bytes


def graphql_request(host: str, query: bytes = SHOP_QUERY) -> bytes:
    """A public GraphQL read (the order app's first screen) that closes its connection."""
    head = f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nConnection: close\r\n"
    return head.encode() + f"Content-Length: {len(query)}\r\n\r\n".encode() + query


def one_request(address: tuple[str, int], request: bytes, timeout: float) -> Outcome:
    started = time.monotonic()
    received = b""
    try:
        with socket.create_connection(address, timeout=timeout) as connection:
            connection.sendall(request)
            while chunk := connection.recv(65536):
                received += chunk
        status = received.split(b" ", 2)[1].decode() if received.startswith(b"HTTP/") else "no answer"
    except ConnectionResetError:
        status = "reset"
    except TimeoutError:
        status = "timeout"
    except OSError as error:
        status = type(error).__name__
    return Outcome(status, time.monotonic() - started, received.partition(b"\r\n\r\n")[2])


def simultaneous(address: tuple[str, int], request: bytes, clients: int, timeout: float) -> tuple[list[Outcome], float]:
    """`clients` connections released at the same instant (a barrier), one request each; their outcomes and the
    wall time until the last was done."""
    barrier = threading.Barrier(clients)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def client() -> None:
        barrier.wait()
        outcome = one_request(address, request, timeout)
        with lock:
            outcomes.append(outcome)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.monotonic() - started

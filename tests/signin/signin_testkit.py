"""Test doubles for the sign-in tests: a clock the test moves, and a code source whose codes the test knows."""

from __future__ import annotations

import itertools
import time

START = float(int(time.time()))  # real time, so the API's verifier (which reads the real clock) accepts tokens


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Codes:
    """A predictable code source, so tests know the right code and can pick wrong ones."""

    def __init__(self) -> None:
        self._counter = itertools.count(123456)
        self.last = ""

    def __call__(self) -> str:
        self.last = f"{next(self._counter) % 1_000_000:06d}"
        return self.last

    def wrong(self) -> str:
        return f"{(int(self.last) + 1) % 1_000_000:06d}"

"""Pure sign-in rules: one-time codes, the attempt's state machine and the per-phone sending limits."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

CODE_DIGITS = 6
CODE_TTL_SECONDS = 3 * 60  # Cognito's default sign-in session lifetime, and a code's
MAX_WRONG_ANSWERS = 3
RESEND_WAIT_SECONDS = 30
CODES_PER_WINDOW = 5
CODE_WINDOW_SECONDS = 15 * 60
TOKEN_TTL_SECONDS = 3600
REFRESH_TTL_SECONDS = 30 * 24 * 3600

EXPIRED_MESSAGE = "Invalid session for the user, session is expired."


def new_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A uniformly random code from a CSPRNG; leading zeros are part of it."""
    return f"{randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def digest(secret: str) -> str:
    """What we keep of session ids, refresh tokens and codes: enough to check one, not to use it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(48)


@dataclass(frozen=True)
class Attempt:
    """One sign-in in progress: the person, and the code sent to them once a challenge is chosen."""

    sub: str
    phone: str
    expires_at: float
    code_digest: str | None = None  # None until SMS_OTP is chosen (SELECT_CHALLENGE)
    wrong_answers: int = 0
    ended: bool = False


def start(sub: str, phone: str, now: float, code: str | None) -> Attempt:
    return Attempt(sub, phone, now + CODE_TTL_SECONDS, None if code is None else digest(code))


@dataclass(frozen=True)
class Granted:
    attempt: Attempt


@dataclass(frozen=True)
class Mismatch:
    attempt: Attempt
    remaining: int


@dataclass(frozen=True)
class Ended:
    """The attempt cannot grant anything any more; `attempt` is what to store."""

    attempt: Attempt
    reason: str


Answer = Granted | Mismatch | Ended


def is_live(attempt: Attempt, now: float) -> bool:
    return not attempt.ended and now < attempt.expires_at


def answer(attempt: Attempt, code: str, now: float) -> Answer:
    """Check one answer. Every outcome but a mismatch before the last try ends the attempt."""
    if attempt.ended or now >= attempt.expires_at:
        return Ended(replace(attempt, ended=True), EXPIRED_MESSAGE)
    if attempt.code_digest is None:
        return Ended(attempt, "No code was sent in this session: choose SMS_OTP first (SELECT_CHALLENGE).")
    # Both sides are fixed-length digests, so the comparison takes the same time whatever was typed.
    if hmac.compare_digest(digest(code), attempt.code_digest):
        return Granted(replace(attempt, ended=True))
    wrong = attempt.wrong_answers + 1
    if wrong >= MAX_WRONG_ANSWERS:
        return Ended(
            replace(attempt, wrong_answers=wrong, ended=True),
            f"Incorrect code entered {MAX_WRONG_ANSWERS} times: this sign-in has ended. Start a new sign-in.",
        )
    return Mismatch(replace(attempt, wrong_answers=wrong), MAX_WRONG_ANSWERS - wrong)


def with_code(attempt: Attempt, code: str, now: float) -> Attempt:
    """SELECT_CHALLENGE answered with SMS_OTP: the code is valid for its full lifetime from now."""
    return replace(attempt, code_digest=digest(code), expires_at=now + CODE_TTL_SECONDS)


@dataclass(frozen=True)
class SendRefused:
    wait_seconds: int
    message: str


def may_send_code(sent_at: Sequence[float], now: float) -> SendRefused | None:
    """Whether a new code may go to a phone that was sent codes at `sent_at` (any order, any age).

    A refusal names the longer of the two waits, so waiting that long is always enough.
    """
    refusal: SendRefused | None = None
    if sent_at:
        since_last = now - max(sent_at)
        if since_last < RESEND_WAIT_SECONDS:
            wait = max(1, math.ceil(RESEND_WAIT_SECONDS - since_last))
            refusal = SendRefused(
                wait, f"A code was just sent to this phone number: wait {wait} seconds before asking for a new one."
            )
    recent = sorted(t for t in sent_at if now - t < CODE_WINDOW_SECONDS)
    if len(recent) >= CODES_PER_WINDOW:
        # The next code may go once enough of these have aged out to leave room for one more.
        frees_up_at = recent[len(recent) - CODES_PER_WINDOW] + CODE_WINDOW_SECONDS
        wait = max(1, math.ceil(frees_up_at - now))
        if refusal is None or wait > refusal.wait_seconds:
            refusal = SendRefused(
                wait,
                f"At most {CODES_PER_WINDOW} codes per phone number every {CODE_WINDOW_SECONDS // 60} minutes: "
                f"wait {wait} seconds before asking for a new one.",
            )
    return refusal

"""The pure sign-in rules: codes, the attempt's state machine and the sending limits, with property tests."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from serverlesspresso.signin import rules
from serverlesspresso.signin.rules import Ended, Granted, Mismatch

NOW = 1_800_000_000.0
RIGHT = "424242"


def attempt(now: float = NOW) -> rules.Attempt:
    return rules.start("sub-1", "+14155550123", now, RIGHT)


def test_codes_are_six_digits_with_leading_zeros_kept() -> None:
    assert rules.new_code(lambda bound: 7) == "000007"
    assert rules.new_code(lambda bound: bound - 1) == "999999"
    for _ in range(200):
        assert re.fullmatch(r"\d{6}", rules.new_code())


def test_codes_draw_from_the_whole_range() -> None:
    bounds: list[int] = []
    rules.new_code(lambda bound: bounds.append(bound) or 0)
    assert bounds == [1_000_000]


def test_the_right_code_grants_once() -> None:
    outcome = rules.answer(attempt(), RIGHT, NOW + 10)
    assert isinstance(outcome, Granted)
    again = rules.answer(outcome.attempt, RIGHT, NOW + 11)
    assert isinstance(again, Ended)


def test_a_wrong_code_keeps_the_attempt_until_the_third() -> None:
    first = rules.answer(attempt(), "000000", NOW)
    assert isinstance(first, Mismatch) and first.remaining == 2
    second = rules.answer(first.attempt, "000001", NOW)
    assert isinstance(second, Mismatch) and second.remaining == 1
    third = rules.answer(second.attempt, "000002", NOW)
    assert isinstance(third, Ended) and "3 times" in third.reason
    assert third.attempt.ended and third.attempt.wrong_answers == 3
    assert isinstance(rules.answer(third.attempt, RIGHT, NOW), Ended)


def test_after_two_wrong_codes_the_right_one_still_grants() -> None:
    state = attempt()
    for wrong in ("111111", "222222"):
        outcome = rules.answer(state, wrong, NOW)
        assert isinstance(outcome, Mismatch)
        state = outcome.attempt
    assert isinstance(rules.answer(state, RIGHT, NOW), Granted)


@pytest.mark.parametrize("late", [rules.CODE_TTL_SECONDS, rules.CODE_TTL_SECONDS + 0.001, 10_000])
def test_an_expired_code_is_refused_even_when_right(late: float) -> None:
    outcome = rules.answer(attempt(), RIGHT, NOW + late)
    assert isinstance(outcome, Ended) and outcome.reason == rules.EXPIRED_MESSAGE


def test_the_code_is_valid_just_before_three_minutes() -> None:
    assert isinstance(rules.answer(attempt(), RIGHT, NOW + rules.CODE_TTL_SECONDS - 0.001), Granted)


def test_an_attempt_without_a_code_grants_nothing() -> None:
    waiting = rules.start("sub-1", "+14155550123", NOW, None)
    assert isinstance(rules.answer(waiting, "", NOW), Ended)
    chosen = rules.with_code(waiting, RIGHT, NOW + 100)
    assert chosen.expires_at == NOW + 100 + rules.CODE_TTL_SECONDS
    assert isinstance(rules.answer(chosen, RIGHT, NOW + 200), Granted)


def test_secrets_are_kept_as_digests() -> None:
    assert attempt().code_digest == rules.digest(RIGHT) != RIGHT
    assert len(rules.new_secret()) >= 64 and rules.new_secret() != rules.new_secret()


# ----- sending limits -----------------------------------------------------------------------------


def test_the_first_code_may_go() -> None:
    assert rules.may_send_code([], NOW) is None


def test_a_new_code_within_30_seconds_says_how_long_to_wait() -> None:
    refused = rules.may_send_code([NOW - 12.5], NOW)
    assert refused is not None and refused.wait_seconds == 18
    assert "wait 18 seconds" in refused.message
    assert rules.may_send_code([NOW - 30], NOW) is None


def test_at_most_five_codes_per_fifteen_minutes() -> None:
    sent = [NOW - 800, NOW - 600, NOW - 400, NOW - 200, NOW - 100]
    refused = rules.may_send_code(sent, NOW)
    assert refused is not None and refused.wait_seconds == 100  # the oldest leaves the window at NOW + 100
    assert "5 codes" in refused.message and "15 minutes" in refused.message and "wait 100 seconds" in refused.message
    assert rules.may_send_code(sent, NOW + 100) is None
    assert rules.may_send_code(sent[1:], NOW) is None


# ----- properties ---------------------------------------------------------------------------------

codes = st.text(alphabet="0123456789", min_size=0, max_size=8)
steps = st.lists(st.tuples(codes, st.floats(min_value=0, max_value=400)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(right=st.from_regex(r"\A\d{6}\Z"), answers=steps)
def test_no_sequence_of_answers_grants_without_the_right_code(right: str, answers: list[tuple[str, float]]) -> None:
    state = rules.start("sub", "+14155550123", NOW, right)
    now = NOW
    for code, pause in answers:
        now += pause
        outcome = rules.answer(state, code, now)
        if isinstance(outcome, Granted):
            assert code == right
            assert now < NOW + rules.CODE_TTL_SECONDS
        state = outcome.attempt


@settings(max_examples=300, deadline=None)
@given(right=st.from_regex(r"\A\d{6}\Z"), answers=st.lists(codes, max_size=20))
def test_wrong_answers_never_exceed_three_and_end_the_attempt(right: str, answers: list[str]) -> None:
    state = rules.start("sub", "+14155550123", NOW, right)
    wrong_before_grant = 0
    for code in answers:
        outcome = rules.answer(state, code, NOW)
        assert outcome.attempt.wrong_answers <= rules.MAX_WRONG_ANSWERS
        if isinstance(outcome, Granted):
            assert wrong_before_grant < rules.MAX_WRONG_ANSWERS
        if code != right and not state.ended:
            wrong_before_grant += 1
        if outcome.attempt.wrong_answers == rules.MAX_WRONG_ANSWERS:
            assert outcome.attempt.ended
        state = outcome.attempt
    if state.wrong_answers >= rules.MAX_WRONG_ANSWERS:
        assert isinstance(rules.answer(state, right, NOW), Ended)


@settings(max_examples=300, deadline=None)
@given(
    history=st.lists(st.floats(min_value=-100_000, max_value=0), max_size=10),
    since_last=st.floats(min_value=0, max_value=rules.RESEND_WAIT_SECONDS, exclude_max=True),
)
def test_a_resend_within_30_seconds_is_always_refused(history: list[float], since_last: float) -> None:
    last = max(history, default=0.0)
    now = last + since_last
    assume(now - last < rules.RESEND_WAIT_SECONDS)  # float rounding may push the sum to 30 exactly
    refused = rules.may_send_code([*history, last], now)
    assert refused is not None
    assert 1 <= refused.wait_seconds <= rules.CODE_WINDOW_SECONDS
    assert f"wait {refused.wait_seconds} seconds" in refused.message


@settings(max_examples=300, deadline=None)
@given(moments=st.lists(st.floats(min_value=0, max_value=5_000), min_size=1, max_size=40))
def test_following_the_limits_never_sends_more_than_five_in_fifteen_minutes(moments: list[float]) -> None:
    sent: list[float] = []
    for now in sorted(moments):
        if rules.may_send_code(sent, NOW + now) is None:
            sent.append(NOW + now)
    for i, first in enumerate(sent):
        in_window = [t for t in sent[i:] if t - first < rules.CODE_WINDOW_SECONDS]
        assert len(in_window) <= rules.CODES_PER_WINDOW
    assert all(b - a >= rules.RESEND_WAIT_SECONDS for a, b in zip(sent, sent[1:], strict=False))


@settings(max_examples=300, deadline=None)
@given(moments=st.lists(st.floats(min_value=0, max_value=5_000), max_size=10), now=st.floats(0, 6_000))
def test_waiting_the_announced_time_is_always_enough(moments: list[float], now: float) -> None:
    sent = [NOW + m for m in moments if m <= now]
    refused = rules.may_send_code(sent, NOW + now)
    if refused is not None:
        assert rules.may_send_code(sent, NOW + now + refused.wait_seconds) is None


def test_when_both_limits_apply_the_longer_wait_is_announced() -> None:
    refused = rules.may_send_code([NOW - 800, NOW - 600, NOW - 400, NOW - 200, NOW - 10], NOW)
    assert refused is not None and refused.wait_seconds == 100

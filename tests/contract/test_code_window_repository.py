"""CodeWindowRepository contract: the first candidate stored for a window wins."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.codes import CodeWindow


def test_get_or_create_stores_the_first_candidate(windows: Any) -> None:
    candidate = CodeWindow("bar-1", 1000, 300, "code-aaa", 10)

    assert windows.get_or_create(candidate) == candidate
    assert windows.get("bar-1", 1000) == candidate


def test_second_candidate_gets_the_stored_window_first_wins(windows: Any) -> None:
    first = CodeWindow("bar-1", 1000, 300, "code-aaa", 10)
    windows.get_or_create(first)

    returned = windows.get_or_create(CodeWindow("bar-1", 1000, 300, "code-bbb", 99))

    assert returned == first
    assert windows.get("bar-1", 1000) == first


def test_windows_are_keyed_by_shop_and_window(windows: Any) -> None:
    a = windows.get_or_create(CodeWindow("bar-1", 1000, 300, "code-a", 10))
    b = windows.get_or_create(CodeWindow("bar-1", 1001, 300, "code-b", 10))
    c = windows.get_or_create(CodeWindow("bar-2", 1000, 300, "code-c", 10))

    assert (a.code, b.code, c.code) == ("code-a", "code-b", "code-c")
    assert windows.get("bar-1", 1001) == b
    assert windows.get("bar-2", 1000) == c


def test_get_unknown_returns_none(windows: Any) -> None:
    assert windows.get("bar-1", 1000) is None
    windows.get_or_create(CodeWindow("bar-1", 1000, 300, "code-a", 10))
    assert windows.get("bar-1", 1001) is None
    assert windows.get("bar-2", 1000) is None

"""The test tree stays collectable as one run: pytest imports test modules by their base names."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_modules_have_unique_base_names() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []


def test_no_test_imports_from_a_conftest() -> None:
    # Several folders have a conftest.py; `from conftest import ...` gets whichever was imported first.
    offenders = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if any(line.lstrip().startswith("from conftest import") for line in path.read_text().splitlines())
    ]
    assert offenders == []

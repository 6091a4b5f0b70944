"""The data directory: one holder at a time (an OS lock that dies with its process), nothing readable by others."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serverlesspresso.datadir import DataDirectoryInUse, DataDirectoryLock, make_private, open_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_second_holder_is_refused_with_the_directory_and_the_holders_pid(tmp_path: Path) -> None:
    first = DataDirectoryLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(DataDirectoryInUse) as refused:
            DataDirectoryLock(tmp_path).acquire()
        assert str(tmp_path) in str(refused.value)
        assert f"pid {os.getpid()}" in str(refused.value)
        assert DataDirectoryLock.holder(tmp_path) == os.getpid()
        assert _mode(first.path) == 0o600
    finally:
        first.release()
    second = DataDirectoryLock(tmp_path)
    second.acquire()  # free again once released
    second.release()


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from serverlesspresso.datadir import DataDirectoryLock; "
        "DataDirectoryLock(Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(DataDirectoryInUse, match=f"pid {child.pid}"):
            DataDirectoryLock(tmp_path).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 5
    lock = DataDirectoryLock(tmp_path)
    while True:
        try:
            lock.acquire()
            break
        except DataDirectoryInUse:
            assert time.monotonic() < deadline, "the lock outlived its holder"
            time.sleep(0.05)
    lock.release()


def test_make_private_closes_what_an_older_run_left_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "broker").mkdir(parents=True)
    for name in ("events.jsonl", "dynamodb.journal", "broker/broker.log"):
        (data / name).write_text("secret")
        os.chmod(data / name, 0o644)
    os.chmod(data, 0o755)
    os.chmod(data / "broker", 0o755)
    changed = make_private(data)
    assert len(changed) == 5
    assert _mode(data) == 0o700 and _mode(data / "broker") == 0o700
    assert all(_mode(data / name) == 0o600 for name in ("events.jsonl", "dynamodb.journal", "broker/broker.log"))
    assert make_private(data) == []


def test_open_private_creates_0600_and_narrows_an_existing_file(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.log"
    with open_private(fresh, "a") as out:
        out.write("x")
    assert _mode(fresh) == 0o600
    old = tmp_path / "old.log"
    old.write_text("y")
    os.chmod(old, 0o644)
    with open_private(old, "ab") as out:
        out.write(b"z")
    assert _mode(old) == 0o600 and old.read_text() == "yz"

"""The data directory of a running `up`: one `up` at a time, and private to its owner (0700, files 0600)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import REPO_ROOT, Api, Stack, free_port, new_customer, queued_order


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path / "data")
    stack.start()
    yield stack
    stack.stop()


def test_a_second_up_on_the_same_data_directory_is_refused_and_changes_nothing(own_stack: Stack) -> None:
    api = Api(own_stack)
    admin = api.token("barista", admin=True)
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, _ = queued_order(api, shop_id, customer, admin)
    assert api.call("POST", f"/orders/{order_id}/complete", admin).status_code == 200
    api.wait_for_view(order_id, customer, lambda v: v["state"] == "COMPLETED")

    second = subprocess.Popen(
        [sys.executable, "-m", "serverlesspresso.cli", "up", "--port", str(free_port())]
        + ["--mqtt-port", str(free_port()), "--data-dir", str(own_stack.data_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = second.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        second.kill()  # it started: the defect; do not leave it running
        second.communicate()
        pytest.fail("a second 'up' started on a data directory in use")
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    assert second.returncode != 0
    assert str(own_stack.data_dir.resolve()) in stderr
    assert own_stack.process is not None and f"pid {own_stack.process.pid}" in stderr

    # The first goes on, and what it acknowledged survives its own crash and restart.
    assert api.call("GET", f"/orders/{order_id}", customer).json()["state"] == "COMPLETED"
    own_stack.kill_hard()
    own_stack.start()
    restarted = Api(own_stack)
    assert restarted.call("GET", f"/orders/{order_id}", customer).json()["state"] == "COMPLETED"
    restarted.wait_for_view(order_id, customer, lambda v: v["state"] == "COMPLETED")


def _modes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root.parent)): oct(stat.S_IMODE(path.lstat().st_mode))
        for path in [root, *root.rglob("*")]
        if not path.is_symlink()
    }


def test_nothing_in_the_data_directory_is_readable_by_others(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # What an older run left: a world-readable directory and journal.
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    (data / "events.jsonl").write_text("")
    os.chmod(data / "events.jsonl", 0o644)
    stack = Stack(data)
    stack.start()
    try:
        api = Api(stack)
        admin = api.token("barista", admin=True)
        shop_id = api.new_shop(admin)
        queued_order(api, shop_id, new_customer(api), admin)  # journal, archive and broker files all written
        modes = _modes(data)
    finally:
        stack.stop()
    assert {"data/dynamodb.journal", "data/events.jsonl", "data/broker/broker.log"} <= set(modes)
    wrong = {
        path: mode
        for path, mode in modes.items()
        if mode != ("0o700" if (tmp_path / path).is_dir() else "0o600")
    }
    assert wrong == {}

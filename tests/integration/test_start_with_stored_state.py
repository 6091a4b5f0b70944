"""No stored state can stop `up` from starting: a shop stored before today's bounds (too big for MQTT) included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.stack import REPO_ROOT, Api, Stack

# Stores a shop straight through the repositories, as an older version without the menu bounds could have:
# its ConfigChanged (~250 KB) is over the MQTT broker's 128 KB limit.
_STORE_OVERSIZED_SHOP = """
import sys
from pathlib import Path
from serverlesspresso.runtime import LocalRuntime, RuntimeOptions

runtime = LocalRuntime(RuntimeOptions(port=0, mqtt_port=0, data_dir=Path(sys.argv[1])))
runtime.start()
from chalicelib.adapters import dynamodb
from chalicelib.domain.shop import Drink, Modifier, Shop

options = tuple(f"option {j} " + "x" * 30 for j in range(20))
menu = tuple(Drink(f"Drink {i}", True, (Modifier("Size", options),)) for i in range(300))
huge = dynamodb.DynamoDBShops().create(Shop("huge", "Huge bar", open=True, menu=menu))
assert dynamodb.DynamoDBReadModel().put_shop_if_newer(huge)
runtime.stop()
"""


def test_up_starts_and_serves_with_a_shop_too_big_for_mqtt_in_its_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stored = subprocess.run(
        [sys.executable, "-c", _STORE_OVERSIZED_SHOP, str(data)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stored.returncode == 0, stored.stderr[-3000:]

    stack = Stack(data)
    stack.start()  # raised "exited early" before: republishing the big shop failed and `up` exited 1
    try:
        api = Api(stack)
        shops = api.gql('{ a: shop(id: "huge") { name } b: shop(id: "default") { name } }')
        assert shops["data"] == {"a": {"name": "Huge bar"}, "b": {"name": "Serverlesspresso"}}
        assert "could not republish the store state of shop huge" in stack.log()
    finally:
        stack.stop()

"""The cost arithmetic: DynamoDB's item sizes and request units, and a run scaled to a bar's month at list prices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serverlesspresso import cost
from serverlesspresso.cost import (
    Assumptions,
    FunctionUsage,
    Usage,
    dynamodb_read_units,
    dynamodb_write_units,
    estimate,
    item_size,
)

PRICES = cost.load_prices()
GSI1 = {"GSI1": ["GSI1PK", "GSI1SK"]}


def _s(text: str) -> dict[str, str]:
    return {"S": text}


# ----- item sizes ---------------------------------------------------------------------------------------------------


def test_an_item_is_its_attribute_names_plus_its_values() -> None:
    assert item_size({"PK": _s("ORDER#1"), "state": _s("QUEUED")}) == 2 + 7 + 5 + 6


def test_strings_count_utf8_bytes() -> None:
    assert item_size({"n": _s("café")}) == 1 + 5


@pytest.mark.parametrize(("number", "size"), [("7", 2), ("12", 2), ("123", 3), ("1000", 2), ("-12.50", 3)])
def test_numbers_take_a_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert item_size({"": {"N": number}}) == size


def test_booleans_and_nulls_take_one_byte_lists_and_maps_three_plus_one_per_element() -> None:
    assert item_size({"a": {"BOOL": True}, "b": {"NULL": True}}) == 2 + 2
    assert item_size({"l": {"L": [_s("ab"), _s("c")]}}) == 1 + 3 + (1 + 2) + (1 + 1)
    assert item_size({"m": {"M": {"k": _s("v")}}}) == 1 + 3 + (1 + 1 + 1)


# ----- request units ------------------------------------------------------------------------------------------------


def test_a_read_costs_a_unit_per_4_kb_half_when_eventually_consistent_twice_in_a_transaction() -> None:
    assert dynamodb_read_units([4096], consistent=True) == 1
    assert dynamodb_read_units([4097], consistent=True) == 2
    assert dynamodb_read_units([4097], consistent=False) == 1
    assert dynamodb_read_units([100], consistent=True, transactional=True) == 2


def test_an_empty_read_still_costs_a_unit_and_a_query_rounds_its_total() -> None:
    assert dynamodb_read_units([], consistent=True) == 1
    assert dynamodb_read_units([1000] * 8, consistent=True) == 8  # items one by one
    assert dynamodb_read_units([1000] * 8, consistent=True, whole=True) == 2  # a Query: 8,000 bytes


def test_a_write_costs_a_unit_per_kb_of_the_larger_of_before_and_after() -> None:
    small, large = {"k": _s("x" * 100)}, {"k": _s("x" * 2000)}
    assert dynamodb_write_units(None, small, {}) == 1
    assert dynamodb_write_units(large, small, {}) == 2  # shrinking a 2 KB item still costs its 2 KB
    assert dynamodb_write_units(None, large, {}, transactional=True) == 4


def test_each_index_an_item_enters_changes_in_or_leaves_costs_a_write() -> None:
    keyed = {"PK": _s("a"), "GSI1PK": _s("shop"), "GSI1SK": _s("1")}
    unkeyed = {"PK": _s("a")}
    assert dynamodb_write_units(None, keyed, GSI1) == 2  # enters
    assert dynamodb_write_units(keyed, unkeyed, GSI1) == 2  # leaves
    assert dynamodb_write_units(keyed, {**keyed, "x": _s("y")}, GSI1) == 2  # changes, same key
    assert dynamodb_write_units(keyed, {**keyed, "GSI1SK": _s("2")}, GSI1) == 3  # moves: a delete and a put
    assert dynamodb_write_units(None, unkeyed, GSI1) == 1  # never in it


def test_a_failed_condition_costs_the_item_and_touches_no_index() -> None:
    keyed = {"PK": _s("a"), "GSI1PK": _s("shop"), "GSI1SK": _s("1")}
    assert dynamodb_write_units(keyed, None, GSI1, failed=True) == 1
    assert dynamodb_write_units(keyed, keyed, GSI1) == 1  # nothing changed: no index write


# ----- a run scaled to a month --------------------------------------------------------------------------------------


def _run(**functions: FunctionUsage) -> Usage:
    return Usage(functions=dict(functions), executions=10, transitions=100, completed=10, table_bytes=10 * 8192)


def _line(result: cost.Estimate, service: str, starts: str) -> cost.Line:
    return next(line for line in result.lines if line.service == service and line.what.startswith(starts))


def test_state_transitions_per_drink_are_scaled_to_the_month() -> None:
    result = estimate(_run(), PRICES, Assumptions(drinks_per_day=1000, days=30))
    transitions = _line(result, "Step Functions", "300,000 state transitions")
    assert transitions.monthly == pytest.approx(300_000 / 1000 * 0.025)


def test_api_requests_are_the_api_handler_s_invocations() -> None:
    run = _run(api_handler=FunctionUsage(invocations=90, milliseconds=90 * 20.4))
    result = estimate(run, PRICES, Assumptions(drinks_per_day=1000, days=30, memory_mb={"api_handler": 1024}))
    assert _line(result, "API Gateway", "270,000 REST requests").monthly == pytest.approx(0.27 * 3.5)
    # 270,000 invocations of 21 ms (billed rounded up) at 1 GB.
    assert _line(result, "Lambda", "5,670 GB-s").monthly == pytest.approx(5670 * 0.0000166667)


def test_request_units_scale_per_drink_and_the_schedule_per_minute() -> None:
    run = _run(
        read_side_projection=FunctionUsage(invocations=10, write_units=100, read_units=50),
        flush_outboxes=FunctionUsage(invocations=2, write_units=2),
    )
    result = estimate(run, PRICES, Assumptions(drinks_per_day=1000, days=30))
    # 10 WRU per drink for 30,000 drinks, and 1 WRU per schedule run for 43,200 runs.
    assert _line(result, "DynamoDB", "343,200 write request units").monthly == pytest.approx(0.3432 * 0.625)


def test_scans_cost_the_table_they_read_so_they_grow_through_the_month() -> None:
    run = _run(flush_outboxes=FunctionUsage(invocations=1, scans=2, scanned_bytes=20_000))
    month = estimate(run, PRICES, Assumptions(drinks_per_day=1000, days=30))
    scan_line = next(line for line in month.lines if "Scans" in line.what)
    # 8 KB a drink: 1,000 drinks a day make 7.8 MB a day; each run scans it twice, eventually consistent.
    gb_days = sum(cost.table_gb_days(8192, 0, Assumptions(drinks_per_day=1000, days=30)))
    expected = 2 * 1440 * gb_days * (1024**3 / 4096 * 0.5) * 0.125 / 1e6
    assert scan_line.monthly == pytest.approx(expected)
    assert "$0.18 on day 1" in scan_line.what and "$10.62 on day 30" in scan_line.what
    kept_a_week = estimate(run, PRICES, Assumptions(drinks_per_day=1000, days=30, retention_days=7))
    assert next(line for line in kept_a_week.lines if "Scans" in line.what).monthly < scan_line.monthly / 2


def test_the_table_grows_a_day_of_drinks_a_day_unless_orders_expire() -> None:
    days = cost.table_gb_days(1024**3 / 1000, 0, Assumptions(drinks_per_day=1000, days=3))
    assert days == pytest.approx([0.5, 1.5, 2.5])
    kept = cost.table_gb_days(1024**3 / 1000, 0, Assumptions(drinks_per_day=1000, days=3, retention_days=1))
    assert kept == pytest.approx([0.5, 1.0, 1.0])


def test_iot_bills_each_publish_each_delivery_and_retained_messages_twice() -> None:
    admin = "serverlesspresso/shops/{shopId}/admin"
    run = _run(live_updates=FunctionUsage(publishes={admin: 10}, publish_messages={admin: 10}, retained=0))
    result = estimate(run, PRICES, Assumptions(drinks_per_day=1000, days=30, subscribers={admin: 2}))
    messages = next(line for line in result.lines if "messages published" in line.what)
    assert messages.monthly == pytest.approx((30_000 + 60_000) / 1e6 * 1.0)


def test_cognito_is_free_up_to_its_free_tier_then_per_user() -> None:
    def cognito(users: int) -> float:
        return estimate(_run(), PRICES, Assumptions(monthly_active_users=users)).by_service()["Cognito"]

    assert cognito(10_000) == 0
    assert cognito(12_000) == pytest.approx(2000 * 0.015)


def test_per_thousand_drinks_and_per_day_divide_the_month() -> None:
    result = estimate(_run(), PRICES, Assumptions(drinks_per_day=500, days=10))
    assert result.per_day == pytest.approx(result.monthly / 10)
    assert result.per_thousand_drinks == pytest.approx(result.monthly / 5000 * 1000)
    assert sum(result.by_service().values()) == pytest.approx(result.monthly)


def test_a_run_without_drinks_cannot_be_scaled() -> None:
    with pytest.raises(ValueError, match="no drinks"):
        estimate(Usage(), PRICES, Assumptions())


def test_a_record_sums_by_function(tmp_path: Path) -> None:
    records = [
        {"kind": "invocation", "function": "api_handler", "ms": 12.5, "route": "POST /graphql"},
        {"kind": "invocation", "function": "api_handler", "ms": 7.5, "route": "POST /graphql"},
        {"kind": "call", "function": "api_handler", "operation": "PutEvents", "calls": [],
         "meter": {"events": 1, "event_chunks": 1, "types": {"OrderManager.OrderCompleted": 1}}},
        {"kind": "call", "function": "flush_outboxes", "operation": "Scan", "calls": [],
         "meter": {"rru": 3, "scanned_bytes": 20000, "scanned_items": 9}},
        {"kind": "call", "function": "statemachine", "operation": "UpdateItem", "calls": [], "meter": {"wru": 2}},
        {"kind": "execution", "name": "o1", "status": "SUCCEEDED", "transitions": 11},
        {"kind": "table", "name": "serverlesspresso", "bytes": 5000, "items": 9},
    ]  # fmt: skip
    usage = cost.usage_from_record(records)
    assert usage.functions["api_handler"].invocations == 2
    assert usage.functions["api_handler"].milliseconds == 20
    assert usage.functions["api_handler"].routes == {"POST /graphql": 2}
    assert usage.functions["api_handler"].events == 1
    assert usage.completed == 1
    assert (usage.functions["flush_outboxes"].scans, usage.functions["flush_outboxes"].read_units) == (1, 0)
    assert usage.functions["statemachine"].write_units == 2
    assert (usage.executions, usage.transitions, usage.table_bytes) == (1, 11, 5000)


def test_memory_sizes_come_from_the_chalice_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "lambda_memory_size": 512,
                "lambda_functions": {"api_handler": {"lambda_memory_size": 1024}},
                "stages": {"prod": {"lambda_functions": {"flush_outboxes": {"lambda_memory_size": 256}}}},
            }
        )
    )
    assert cost.chalice_memory(config, "prod") == {"*": 512, "api_handler": 1024, "flush_outboxes": 256}
    assert cost.chalice_memory(tmp_path / "missing.json", "prod") == {}
    assert Assumptions(memory_mb={"*": 512}).memory("live_updates") == 512
    assert Assumptions().memory("live_updates") == 128  # Chalice's default


def test_the_price_table_names_its_region_date_and_sources() -> None:
    assert PRICES["region"] == "us-east-1"
    assert PRICES["as_of"]
    assert all(service["source"].startswith("https://aws.amazon.com/") for service in PRICES["services"].values())


def test_the_cost_command_prices_a_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from serverlesspresso import cli

    record = tmp_path / "aws-calls.jsonl"
    lines = [
        {"kind": "invocation", "function": "api_handler", "ms": 20, "route": "POST /shops/{shop_id}/orders"},
        {"kind": "call", "function": "api_handler", "operation": "PutEvents", "calls": [],
         "meter": {"events": 1, "event_chunks": 1, "types": {"OrderManager.OrderCompleted": 1}}},
        {"kind": "call", "function": "flush_outboxes", "operation": "Scan", "calls": [],
         "meter": {"rru": 1, "scanned_bytes": 8000, "scanned_items": 9}},
        {"kind": "invocation", "function": "flush_outboxes", "ms": 5},
        {"kind": "execution", "name": "o1", "status": "SUCCEEDED", "transitions": 10},
        {"kind": "table", "name": "serverlesspresso", "bytes": 8000, "items": 9},
    ]  # fmt: skip
    record.write_text("".join(json.dumps(line) + "\n" for line in lines))

    assert cli.main(["cost", "--record", str(record), "--memory", "*=256"]) == 0
    report = capsys.readouterr().out
    assert "us-east-1, list prices as of" in report
    assert "Step Functions" in report and "300,000 state transitions (10.0 per drink)" in report
    assert "without Scans" in report
    assert "1.00  POST /shops/{shop_id}/orders" in report

    assert cli.main(["cost", "--record", str(record), "--json"]) == 0
    estimate_json = json.loads(capsys.readouterr().out)
    assert estimate_json["per_day"] == pytest.approx(estimate_json["per_month"] / 30, abs=1e-4)
    assert cli.main(["cost", "--record", str(tmp_path / "missing.jsonl")]) == 2

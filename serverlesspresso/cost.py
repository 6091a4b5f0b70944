"""`serverlesspresso cost`: what the AWS calls of a local run would cost on AWS, per 1,000 drinks and per month.

The recorder (recorder.py) meters a run as AWS would: DynamoDB request units from the sizes of the items read and
written (and of the indexes a write touches), events put, IoT messages, the workflow's state transitions, every
function invocation and its duration. This module scales that run to a bar's month at the list prices in
`prices-us-east-1.json` (data, with its sources and date). What grows with the table rather than with the drinks
(a Scan reads the whole table) is scaled by the table's size over the month, not by the drinks.

Pure arithmetic, apart from reading the record, the price table, the Chalice config and the built apps.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES = Path(__file__).with_name("prices-us-east-1.json")
REPO_ROOT = Path(__file__).resolve().parent.parent
KB = 1024
GB = 1024**3
MINUTES_PER_DAY = 24 * 60

# ----- DynamoDB metering: item sizes and request units (docs: "Item sizes and formats", "Read/write request units") --


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB meters it, from its DynamoDB JSON: attribute names plus values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in inner)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in inner)
    if kind == "BS":
        return sum(_value_size({"B": v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _number_size(text: str) -> int:
    """One byte per two significant digits, plus one."""
    digits = re.sub(r"[^0-9]", "", text.split("e")[0].split("E")[0]).strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def dynamodb_read_units(
    sizes: Sequence[int], consistent: bool, whole: bool = False, transactional: bool = False
) -> float:
    """Read request units: 4 KB per unit, each item rounded up (or, for a Query or Scan, their sum: `whole`);
    half for an eventually consistent read, twice for a transactional one. An empty read still costs one unit."""
    if whole:
        blocks = max(1, math.ceil(sum(sizes) / (4 * KB)))
    else:
        blocks = sum(max(1, math.ceil(size / (4 * KB))) for size in sizes) or 1
    factor = 2.0 if transactional else (1.0 if consistent else 0.5)
    return blocks * factor


def _write_blocks(size: int) -> int:
    return max(1, math.ceil(size / KB))


def dynamodb_write_units(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    indexes: Mapping[str, Sequence[str]],
    transactional: bool = False,
    failed: bool = False,
) -> float:
    """Write request units of one item's write: 1 KB per unit of the larger of before and after (twice in a
    transaction), plus one write per global secondary index the item enters, changes in or leaves (two when its
    index key changes: a delete and a put). Every index projects all attributes. A write whose condition failed
    costs the item's size and touches no index."""
    old_size = item_size(old) if old else 0
    new_size = item_size(new) if new else 0
    base = _write_blocks(max(old_size, new_size)) * (2 if transactional else 1)
    if failed or old == new:
        return float(base)
    index_writes = 0
    for keys in indexes.values():
        was_in = old is not None and all(key in old for key in keys)
        is_in = new is not None and all(key in new for key in keys)
        if was_in and is_in:
            same_key = all(old[key] == new[key] for key in keys)  # type: ignore[index]
            index_writes += _write_blocks(new_size) if same_key else _write_blocks(old_size) + _write_blocks(new_size)
        elif was_in:
            index_writes += _write_blocks(old_size)
        elif is_in:
            index_writes += _write_blocks(new_size)
    return float(base + index_writes)


# ----- what a run used ------------------------------------------------------------------------------------------


@dataclass
class FunctionUsage:
    invocations: int = 0
    milliseconds: float = 0.0
    read_units: float = 0.0  # DynamoDB, scans aside
    write_units: float = 0.0
    scans: int = 0
    scanned_bytes: int = 0
    events: int = 0  # EventBridge 64 KB chunks
    publishes: dict[str, int] = field(default_factory=dict)  # generic topic -> IoT publishes
    publish_messages: dict[str, int] = field(default_factory=dict)  # generic topic -> 5 KB messages
    retained: int = 0
    routes: dict[str, int] = field(default_factory=dict)


@dataclass
class Usage:
    """A recorded run, summed by function (the state machine's calls under `statemachine`)."""

    functions: dict[str, FunctionUsage] = field(default_factory=dict)
    executions: int = 0
    transitions: int = 0
    completed: int = 0  # OrderManager.OrderCompleted events: the drinks made
    table_bytes: int = 0
    table_items: int = 0

    def function(self, name: str) -> FunctionUsage:
        return self.functions.setdefault(name, FunctionUsage())

    def total(self, attribute: str, exclude: Iterable[str] = ()) -> float:
        skipped = set(exclude)
        return float(sum(getattr(u, attribute) for name, u in self.functions.items() if name not in skipped))


def usage_from_record(records: Iterable[Mapping[str, Any]]) -> Usage:
    usage = Usage()
    for record in records:
        kind = record.get("kind")
        if kind == "invocation":
            used = usage.function(str(record["function"]))
            used.invocations += 1
            used.milliseconds += float(record.get("ms", 0))
            if record.get("route"):
                used.routes[str(record["route"])] = used.routes.get(str(record["route"]), 0) + 1
        elif kind == "call":
            _add_call(usage.function(str(record["function"])), record)
            if record.get("operation") == "PutEvents":
                usage.completed += int(record.get("meter", {}).get("types", {}).get("OrderManager.OrderCompleted", 0))
        elif kind == "execution":
            usage.executions += 1
            usage.transitions += int(record["transitions"])
        elif kind == "table":
            usage.table_bytes, usage.table_items = int(record["bytes"]), int(record["items"])
    return usage


def _add_call(used: FunctionUsage, record: Mapping[str, Any]) -> None:
    meter = record.get("meter", {})
    if "scanned_bytes" in meter:
        used.scans += 1
        used.scanned_bytes += int(meter["scanned_bytes"])
    else:
        used.read_units += float(meter.get("rru", 0))
    used.write_units += float(meter.get("wru", 0))
    used.events += int(meter.get("event_chunks", 0))
    if "topic" in meter:
        topic = str(meter["topic"])
        used.publishes[topic] = used.publishes.get(topic, 0) + 1
        used.publish_messages[topic] = used.publish_messages.get(topic, 0) + int(meter.get("messages", 1))
        if any(c["action"] == "iot:RetainPublish" for c in record.get("calls", [])):
            used.retained += int(meter.get("messages", 1))


# ----- what a month of the bar looks like -----------------------------------------------------------------------

SCHEDULE = "flush_outboxes"
SCHEDULE_RUNS_PER_DAY = MINUTES_PER_DAY  # Rate(1 minute)
STATE_MACHINE = "statemachine"
AUTHORIZER = "iot_authorizer"
SCANS = "Scans of the whole table"


@dataclass(frozen=True)
class Assumptions:
    drinks_per_day: int = 1000
    days: int = 30
    drinks: int | None = None  # the run's drinks; None: its OrderManager.OrderCompleted events
    memory_mb: Mapping[str, int] = field(default_factory=dict)  # per function; "*" for the rest
    architecture: str = "x86_64"
    # Who receives each topic's messages (IoT bills every delivery): the barista tablet and the display follow the
    # admin topic, the display the board, the customer's phone its own topic, and every open screen the config.
    subscribers: Mapping[str, int] = field(
        default_factory=lambda: {
            "serverlesspresso/shops/{shopId}/admin": 2,
            "serverlesspresso/shops/{shopId}/board": 1,
            "serverlesspresso/users/{sub}": 1,
            "serverlesspresso/shops/{shopId}/config": 3,
        }
    )
    phone_minutes_per_drink: float = 10.0  # MQTT connection while the customer follows the order
    screens: int = 2  # the barista tablet and the display, connected while the bar is open
    hours_open_per_day: float = 12.0
    monthly_active_users: int = 1000
    app_loads_per_drink: float = 1.0
    app_load_bytes: int | None = None  # None: measured from web/dist (order page), else 230 KB
    app_load_requests: int | None = None
    retention_days: int | None = None  # None: orders are never deleted, so the table grows all month
    authorizer_ms: float = 50.0  # if the run never invoked the authorizer

    def memory(self, function: str) -> int:
        return int(self.memory_mb.get(function, self.memory_mb.get("*", 128)))


@dataclass(frozen=True)
class Line:
    service: str
    what: str
    monthly: float


@dataclass(frozen=True)
class Estimate:
    lines: tuple[Line, ...]
    drinks: int
    assumptions: Assumptions
    notes: tuple[str, ...]
    region: str
    as_of: str

    @property
    def monthly(self) -> float:
        return sum(line.monthly for line in self.lines)

    @property
    def per_day(self) -> float:
        return self.monthly / self.assumptions.days

    @property
    def per_thousand_drinks(self) -> float:
        return self.monthly / (self.assumptions.drinks_per_day * self.assumptions.days) * 1000

    def by_service(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.service] = totals.get(line.service, 0.0) + line.monthly
        return totals


def table_gb_days(bytes_per_drink: float, base_bytes: float, a: Assumptions) -> list[float]:
    """The table's mean size (GB) on each day of the month: it grows by a day's drinks (kept `retention_days`)."""
    sizes = []
    for day in range(1, a.days + 1):
        kept_days = day - 0.5 if a.retention_days is None else min(day - 0.5, a.retention_days)
        sizes.append((base_bytes + bytes_per_drink * a.drinks_per_day * kept_days) / GB)
    return sizes


def estimate(usage: Usage, prices: Mapping[str, Any], a: Assumptions) -> Estimate:
    p = prices["services"]
    drinks = a.drinks if a.drinks is not None else usage.completed
    if drinks <= 0:
        raise ValueError("the run made no drinks (no OrderManager.OrderCompleted): pass the number of drinks")
    month_drinks = a.drinks_per_day * a.days
    scale = month_drinks / drinks  # each per-drink quantity of the run, to a month
    schedule = usage.functions.get(SCHEDULE, FunctionUsage())
    schedule_runs = SCHEDULE_RUNS_PER_DAY * a.days
    per_run = 1 / schedule.invocations if schedule.invocations else 0.0
    lines: list[Line] = []
    notes: list[str] = []
    if not schedule.invocations:
        notes.append(
            f"the run never ran {SCHEDULE} (every minute; a run shorter than a minute misses it): its cost, the Scans "
            "of the whole table above all, is missing; `python -m serverlesspresso.scenario journeys N` runs it once"
        )

    def add(service: str, what: str, monthly: float) -> None:
        lines.append(Line(service, what, monthly))

    # Lambda: the run's invocations per drink, the schedule per minute, the authorizer per connection.
    per_drink_functions = {n: u for n, u in usage.functions.items() if n not in (SCHEDULE, STATE_MACHINE, AUTHORIZER)}
    invocations = sum(u.invocations for u in per_drink_functions.values()) * scale
    gb_seconds = sum(_billed_gb_seconds(u, a.memory(n)) for n, u in per_drink_functions.items()) * scale
    connections = month_drinks + a.screens * a.hours_open_per_day * a.days  # screens reconnect as tokens expire (1 h)
    authorizer = usage.functions.get(AUTHORIZER)
    authorizer_ms = authorizer.milliseconds / authorizer.invocations if authorizer and authorizer.invocations else 0
    authorizer_gb_s = (
        connections * max(1.0, math.ceil(authorizer_ms or a.authorizer_ms)) / 1000 * a.memory(AUTHORIZER) / KB
    )
    schedule_ms = schedule.milliseconds / schedule.invocations if schedule.invocations else 0.0
    schedule_gb_s = schedule_runs * max(1.0, math.ceil(schedule_ms)) / 1000 * a.memory(SCHEDULE) / KB
    lam = p["lambda"]
    gb_price = lam["per_gb_second"][a.architecture]
    add("Lambda", f"{invocations:,.0f} invocations by the drinks", invocations / 1e6 * lam["per_million_requests"])
    add("Lambda", f"{gb_seconds:,.0f} GB-s by the drinks", gb_seconds * gb_price)
    add(
        "Lambda",
        f"{schedule_runs + connections:,.0f} invocations of {SCHEDULE} (every minute) and {AUTHORIZER} "
        f"(each MQTT connection), {schedule_gb_s + authorizer_gb_s:,.0f} GB-s",
        (schedule_runs + connections) / 1e6 * lam["per_million_requests"]
        + (schedule_gb_s + authorizer_gb_s) * gb_price,
    )

    api = usage.functions.get("api_handler", FunctionUsage())
    requests = api.invocations * scale
    add("API Gateway", f"{requests:,.0f} REST requests", requests / 1e6 * p["apigateway"]["rest_per_million_requests"])

    # DynamoDB: request units per drink; scans by the size of the table when they run.
    ddb = p["dynamodb"]
    write_units = (
        usage.total("write_units", exclude=[SCHEDULE]) * scale + schedule.write_units * per_run * schedule_runs
    )
    read_units = usage.total("read_units", exclude=[SCHEDULE]) * scale + schedule.read_units * per_run * schedule_runs
    add(
        "DynamoDB",
        f"{write_units:,.0f} write request units",
        write_units / 1e6 * ddb["per_million_write_request_units"],
    )
    add(
        "DynamoDB",
        f"{read_units:,.0f} read request units (scans aside)",
        read_units / 1e6 * ddb["per_million_read_request_units"],
    )
    bytes_per_drink = usage.table_bytes / drinks if usage.table_bytes else 0.0
    daily_gb = table_gb_days(bytes_per_drink, 0.0, a)
    scan_units_per_gb = GB / (4 * KB) * 0.5  # eventually consistent, as PynamoDB scans
    scans_per_drink = sum(u.scans for n, u in usage.functions.items() if n != SCHEDULE) / drinks
    scans_per_run = schedule.scans * per_run
    scan_units = sum(
        (scans_per_drink * a.drinks_per_day + scans_per_run * SCHEDULE_RUNS_PER_DAY) * gb * scan_units_per_gb
        for gb in daily_gb
    )
    if scan_units:
        first, last = daily_gb[0], daily_gb[-1]
        per_day = (scans_per_drink * a.drinks_per_day + scans_per_run * SCHEDULE_RUNS_PER_DAY) * scan_units_per_gb
        price = ddb["per_million_read_request_units"] / 1e6
        add(
            "DynamoDB",
            f"{scan_units:,.0f} read request units of {SCANS} ({scans_per_run:g} per {SCHEDULE} run, "
            f"{scans_per_drink:g} per drink): ${first * per_day * price:,.2f} on day 1, "
            f"${last * per_day * price:,.2f} on day {a.days}",
            scan_units * price,
        )
    storage_gb_months = sum(daily_gb) / 30
    add(
        "DynamoDB",
        f"storage, {daily_gb[-1] * KB:,.0f} MB by day {a.days}",
        storage_gb_months * ddb["per_gb_month_storage"],
    )

    events = (usage.total("events", exclude=[SCHEDULE]) * scale) + schedule.events * per_run * schedule_runs
    add("EventBridge", f"{events:,.0f} events", events / 1e6 * p["eventbridge"]["per_million_custom_events"])

    transitions = usage.transitions / drinks * month_drinks if usage.executions else 0.0
    if not usage.executions:
        notes.append(
            "the record has no executions (stop `up` with Ctrl-C so it writes them): Step Functions is $0 here"
        )
    add(
        "Step Functions",
        f"{transitions:,.0f} state transitions ({usage.transitions / drinks:.1f} per drink)",
        transitions / 1000 * p["stepfunctions"]["standard_per_thousand_state_transitions"],
    )

    iot = p["iot"]
    inbound = sum(sum(u.publish_messages.values()) + u.retained for u in usage.functions.values()) * scale
    outbound = (
        sum(
            messages * a.subscribers.get(topic, 1)
            for u in usage.functions.values()
            for topic, messages in u.publish_messages.items()
        )
        * scale
    )
    minutes = month_drinks * a.phone_minutes_per_drink + a.screens * a.hours_open_per_day * 60 * a.days
    add(
        "IoT Core",
        f"{inbound:,.0f} messages published (retained ones twice), {outbound:,.0f} delivered",
        (inbound + outbound) / 1e6 * iot["per_million_messages"],
    )
    add("IoT Core", f"{minutes:,.0f} connection minutes", minutes / 1e6 * iot["per_million_connection_minutes"])

    cognito = p["cognito"]
    paying = max(0, a.monthly_active_users - cognito["essentials_free_monthly_active_users"])
    add(
        "Cognito",
        f"{a.monthly_active_users:,} monthly active users (Essentials: the first "
        f"{cognito['essentials_free_monthly_active_users']:,} free); SMS excluded",
        paying * cognito["essentials_per_monthly_active_user"],
    )

    load_bytes, load_requests = _app_load(a)
    loads = month_drinks * a.app_loads_per_drink + a.screens * a.days
    cf = p["cloudfront"]
    add(
        "CloudFront + S3",
        f"{loads:,.0f} app loads of {load_bytes / KB:,.0f} KB in {load_requests} requests",
        loads * load_bytes / GB * cf["per_gb_data_transfer_out_north_america"]
        + loads * load_requests / 10_000 * cf["per_10000_https_requests"],
    )
    notes.append(
        "excluded: SMS for sign-in codes, free tiers, CloudWatch Logs, the dead-letter queues and alarms (idle), "
        "data transfer other than CloudFront's"
    )
    return Estimate(tuple(lines), drinks, a, tuple(notes), prices["region"], prices["as_of"])


def _billed_gb_seconds(used: FunctionUsage, memory_mb: int) -> float:
    # Lambda bills each invocation's duration rounded up to the millisecond; the mean is close enough here.
    if not used.invocations:
        return 0.0
    mean = used.milliseconds / used.invocations
    return used.invocations * max(1.0, math.ceil(mean)) / 1000 * memory_mb / KB


def _app_load(a: Assumptions) -> tuple[int, int]:
    if a.app_load_bytes is not None:
        return a.app_load_bytes, a.app_load_requests or 8
    return order_page_weight(REPO_ROOT / "web" / "dist")


def order_page_weight(dist: Path) -> tuple[int, int]:
    """The order app's first load, gzipped: its HTML, scripts, styles and runtime config (230 KB, 8 if not built)."""
    html_path = dist / "order.html"
    if not html_path.exists():
        return 230 * KB, 8
    html = html_path.read_text(encoding="utf-8")
    files = dict.fromkeys(re.findall(r'(?:src|href)="/([^"]+\.(?:js|css))"', html))
    contents = [html.encode()] + [(dist / name).read_bytes() for name in files if (dist / name).exists()]
    size = sum(len(gzip.compress(content, compresslevel=9)) for content in contents) + 300  # + /config.json
    return size, len(contents) + 1


# ----- inputs and the report ------------------------------------------------------------------------------------


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def chalice_memory(config: Path, stage: str) -> dict[str, int]:
    """Lambda memory sizes from .chalice/config.json (top level, the stage, the stage's functions), if it sets any."""
    if not config.exists():
        return {}
    data = json.loads(config.read_text(encoding="utf-8"))
    staged = data.get("stages", {}).get(stage, {})
    sizes: dict[str, int] = {}
    default = staged.get("lambda_memory_size", data.get("lambda_memory_size"))
    if default:
        sizes["*"] = int(default)
    for source in (data.get("lambda_functions", {}), staged.get("lambda_functions", {})):
        for name, settings in source.items():
            if "lambda_memory_size" in settings:
                sizes[name] = int(settings["lambda_memory_size"])
    return sizes


def format_report(result: Estimate, usage: Usage) -> str:
    a = result.assumptions
    out = [
        f"AWS cost of Serverlesspresso in {result.region}, list prices as of {result.as_of} ({PRICES.name})",
        f"Measured: {result.drinks} drinks in the recorded run ({usage.executions} workflow executions); "
        f"scaled to {a.drinks_per_day:,} drinks a day for {a.days} days.",
        "",
        f"{'service':<16} {'per 1,000 drinks':>17} {'per day':>10} {'per month':>11}",
    ]
    month_drinks = a.drinks_per_day * a.days
    for service, monthly in sorted(result.by_service().items(), key=lambda item: -item[1]):
        out.append(
            f"{service:<16} {_usd(monthly / month_drinks * 1000):>17} {_usd(monthly / a.days):>10} {_usd(monthly):>11}"
        )
    out.append(
        f"{'total':<16} {_usd(result.per_thousand_drinks):>17} {_usd(result.per_day):>10} {_usd(result.monthly):>11}"
    )
    scans = sum(line.monthly for line in result.lines if SCANS in line.what)
    if scans:
        rest = result.monthly - scans
        out.append(
            f"{'without Scans':<16} {_usd(rest / month_drinks * 1000):>17} {_usd(rest / a.days):>10} {_usd(rest):>11}"
            "   (what a sparse index in place of the whole-table Scans would leave)"
        )
    out += ["", "What makes up the month:"]
    out += [f"  {line.service:<16} {_usd(line.monthly):>10}  {line.what}" for line in result.lines]
    memory = (
        ", ".join(f"{name} {mb} MB" for name, mb in sorted(a.memory_mb.items())) or "128 MB each (Chalice's default)"
    )
    out += [
        "",
        "Assumptions:",
        f"  Lambda memory: {memory}; {a.architecture}; durations as measured locally (moto in process: an upper bound)",
        f"  IoT subscribers per topic: {', '.join(f'{t.split(chr(47))[-1]}={n}' for t, n in a.subscribers.items())}; "
        f"phones connected {a.phone_minutes_per_drink:g} min per drink; {a.screens} screens for "
        f"{a.hours_open_per_day:g} h a day",
        f"  table kept {'for ever (no TTL)' if a.retention_days is None else f'{a.retention_days} days'}; "
        f"{usage.table_bytes / max(result.drinks, 1) / KB:,.1f} KB of table per drink in this run",
    ]
    out += [f"  {note}" for note in result.notes]
    api = usage.functions.get("api_handler")
    if api and api.routes:
        routes = sorted(api.routes.items(), key=lambda item: -item[1])
        out += ["", f"API requests per drink in the run: {api.invocations / result.drinks:.1f}"]
        out += [f"  {count / result.drinks:6.2f}  {route}" for route, count in routes]
    return "\n".join(out) + "\n"


def as_json(result: Estimate) -> dict[str, Any]:
    return {
        "region": result.region,
        "prices_as_of": result.as_of,
        "drinks_measured": result.drinks,
        "drinks_per_day": result.assumptions.drinks_per_day,
        "days": result.assumptions.days,
        "per_1000_drinks": round(result.per_thousand_drinks, 4),
        "per_day": round(result.per_day, 4),
        "per_month": round(result.monthly, 4),
        "by_service_per_month": {service: round(v, 4) for service, v in result.by_service().items()},
        "lines": [
            {"service": line.service, "what": line.what, "per_month": round(line.monthly, 4)} for line in result.lines
        ],
        "notes": list(result.notes),
    }


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 0.1 else f"${amount:,.4f}"

"""Live-update routing (chalicelib/domain/live.py): topics, payload shapes, secrets, subscription rules."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import events as ev
from chalicelib.domain import live
from chalicelib.domain.live import LiveMessage

SHOP = "s1"
ALICE = "0b7e1f9c-3c2a-4d6e-9f10-2a3b4c5d6e7f"
BOB = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
AT = "2024-05-01T09:30:00+00:00"
SECRET_TOKEN = "SECRET-TASK-TOKEN"
SECRET_CODE = "SECRET-QR-CODE"


def order_detail(**overrides: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "schemaVersion": 1,
        "idempotencyKey": "o-1:x:v3",
        "at": AT,
        "message": "something happened",
        "orderId": "o-1",
        "shopId": SHOP,
        "userId": ALICE,
        "state": "QUEUED",
        "number": 7,
        "drink": "Latte",
        "modifiers": {"Milk": "Oat"},
    }
    detail.update(overrides)
    return detail


def by_topic(messages: list[LiveMessage]) -> dict[str, LiveMessage]:
    topics = [m.topic for m in messages]
    assert len(topics) == len(set(topics)), f"one event published twice to a topic: {topics}"
    return {m.topic: m for m in messages}


# ----- topic shapes ---------------------------------------------------------------------------


def test_topic_shapes() -> None:
    assert live.config_topic("s1") == "serverlesspresso/shops/s1/config"
    assert live.board_topic("s1") == "serverlesspresso/shops/s1/board"
    assert live.admin_topic("s1") == "serverlesspresso/shops/s1/admin"
    assert live.user_topic(ALICE) == f"serverlesspresso/users/{ALICE}"


def test_messages_encode_as_compact_sorted_json() -> None:
    message = LiveMessage("t", {"b": 1, "a": {"d": [1, 2], "c": "é"}})
    assert message.encode() == b'{"a":{"c":"\\u00e9","d":[1,2]},"b":1}'
    assert json.loads(message.encode()) == message.payload
    assert message.retain is False


# ----- order events ---------------------------------------------------------------------------


def test_a_board_event_goes_to_the_shop_admins_the_customer_and_the_board() -> None:
    messages = by_topic(live.route(ev.MAKE_ORDER, order_detail(state="IN_PRODUCTION", claimedBy="barista-1")))
    assert set(messages) == {live.admin_topic(SHOP), live.user_topic(ALICE), live.board_topic(SHOP)}
    admin, user = messages[live.admin_topic(SHOP)], messages[live.user_topic(ALICE)]
    assert admin.payload == user.payload
    assert admin.payload["type"] == ev.MAKE_ORDER
    assert admin.payload["at"] == AT
    assert admin.payload["detail"]["drink"] == "Latte"
    assert admin.payload["detail"]["orderId"] == "o-1"
    board = messages[live.board_topic(SHOP)]
    assert board.payload == {
        "type": ev.MAKE_ORDER,
        "at": AT,
        "detail": {"shopId": SHOP, "number": 7, "state": "IN_PRODUCTION"},
    }
    # Order events are moments, not state: none is retained (the board snapshot is).
    assert not any(m.retain for m in messages.values())


@pytest.mark.parametrize(("detail_type", "column"), sorted(live.BOARD_EVENTS.items()))
def test_each_board_event_moves_the_number_to_its_column(detail_type: str, column: str) -> None:
    board = by_topic(live.route(detail_type, order_detail()))[live.board_topic(SHOP)]
    assert board.payload["detail"] == {"shopId": SHOP, "number": 7, "state": column}
    assert live.affects_board(detail_type)


NON_BOARD_ORDER_EVENTS = sorted(set(ev.ALL_DETAIL_TYPES) - set(live.BOARD_EVENTS) - {ev.CONFIG_CHANGED})


@pytest.mark.parametrize("detail_type", NON_BOARD_ORDER_EVENTS)
def test_other_order_events_reach_admins_and_the_customer_only(detail_type: str) -> None:
    messages = by_topic(live.route(detail_type, order_detail()))
    assert set(messages) == {live.admin_topic(SHOP), live.user_topic(ALICE)}
    assert not live.affects_board(detail_type)


@pytest.mark.parametrize("detail_type", sorted(live.BOARD_EVENTS))
@pytest.mark.parametrize("number", [None, "7", 7.0, [7]], ids=["missing", "string", "float", "list"])
def test_an_order_without_a_number_never_reaches_the_board(detail_type: str, number: Any) -> None:
    detail = order_detail()
    if number is None:
        del detail["number"]
    else:
        detail["number"] = number
    topics = {m.topic for m in live.route(detail_type, detail)}
    assert live.board_topic(SHOP) not in topics
    assert topics == {live.admin_topic(SHOP), live.user_topic(ALICE)}


@pytest.mark.parametrize("user_id", [None, "", 42])
def test_an_order_without_a_customer_goes_to_admins_only(user_id: Any) -> None:
    detail = order_detail()
    if user_id is None:
        del detail["userId"]
    else:
        detail["userId"] = user_id
    assert {m.topic for m in live.route(ev.ORDER_CANCELLED, detail)} == {
        live.admin_topic(SHOP),
        live.board_topic(SHOP),
    }


def test_an_event_about_no_order_and_no_config_publishes_nothing() -> None:
    detail = order_detail()
    del detail["orderId"]
    assert live.route(ev.ORDER_COMPLETED, detail) == []


@pytest.mark.parametrize("detail_type", ev.ALL_DETAIL_TYPES)
@pytest.mark.parametrize("shop_id", [None, "", 5, ["s1"]], ids=["missing", "empty", "int", "list"])
def test_an_event_without_a_shop_publishes_nothing(detail_type: str, shop_id: Any) -> None:
    detail = order_detail()
    if shop_id is None:
        del detail["shopId"]
    else:
        detail["shopId"] = shop_id
    assert live.route(detail_type, detail) == []


def test_a_missing_time_is_published_as_empty_not_dropped() -> None:
    detail = order_detail()
    del detail["at"]
    for message in live.route(ev.ORDER_COMPLETED, detail):
        assert message.payload["at"] == ""


# ----- config events --------------------------------------------------------------------------


def config_detail(**overrides: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "schemaVersion": 1,
        "idempotencyKey": "shop:s1:v2",
        "at": AT,
        "message": "Shop 'Main' opening changed",
        "shopId": SHOP,
        "change": "opening",
        "version": 2,
        "shop": {"shopId": SHOP, "name": "Main", "open": True},
    }
    detail.update(overrides)
    return detail


def test_a_config_change_is_the_retained_present_state_of_the_shop() -> None:
    messages = live.route(ev.CONFIG_CHANGED, config_detail())
    assert len(messages) == 1
    (message,) = messages
    assert message.topic == live.config_topic(SHOP)
    assert message.retain is True
    assert message.payload["type"] == ev.CONFIG_CHANGED
    assert message.payload["at"] == AT
    assert message.payload["detail"]["shop"] == {"shopId": SHOP, "name": "Main", "open": True}


def test_a_config_change_never_reaches_order_topics_even_with_order_fields() -> None:
    messages = live.route(ev.CONFIG_CHANGED, config_detail(orderId="o-1", userId=ALICE, number=3))
    assert [m.topic for m in messages] == [live.config_topic(SHOP)]


def test_config_is_the_only_retained_routed_message() -> None:
    for detail_type in ev.ALL_DETAIL_TYPES:
        for message in live.route(detail_type, order_detail()):
            assert message.retain == (detail_type == ev.CONFIG_CHANGED), (detail_type, message.topic)


# ----- the board snapshot ---------------------------------------------------------------------


def test_the_board_snapshot_is_retained_on_the_board_topic() -> None:
    snapshot = live.board_snapshot(SHOP, AT, waiting=[3, 4], in_production=[2], ready=[1])
    assert snapshot.topic == live.board_topic(SHOP)
    assert snapshot.retain is True
    assert snapshot.payload == {
        "type": live.BOARD_SNAPSHOT_TYPE,
        "at": AT,
        "detail": {"shopId": SHOP, "waiting": [3, 4], "inProduction": [2], "ready": [1]},
    }


# ----- properties over random events ----------------------------------------------------------

# Values never contain the sentinels (upper-case, dashes), so finding one in a payload means a leak.
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="abcxyz0123456789 ", max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["p", "q", "r"]), inner, max_size=3),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    ["orderId", "shopId", "userId", "number", "drink", "state", "claimedBy", "reason", "at", "extra", "modifiers"]
)


@st.composite
def details(draw: st.DrawFn) -> dict[str, Any]:
    detail: dict[str, Any] = draw(st.dictionaries(_KEYS, _VALUES, max_size=8))
    if draw(st.booleans()):
        detail["shopId"] = draw(st.sampled_from(["s1", "downtown-2"]))
    if draw(st.booleans()):
        detail["orderId"] = draw(st.sampled_from(["o-1", "o-2"]))
    if draw(st.booleans()):
        detail["userId"] = draw(st.sampled_from([ALICE, BOB]))
    if draw(st.booleans()):
        detail["number"] = draw(st.integers(min_value=0, max_value=999))
    if draw(st.booleans()):
        detail["taskToken"] = SECRET_TOKEN
    if draw(st.booleans()):
        detail["code"] = SECRET_CODE
    return detail


detail_types = st.sampled_from(ev.ALL_DETAIL_TYPES) | st.text(max_size=20)


@settings(max_examples=300)
@given(detail_types, details())
def test_task_tokens_and_codes_are_never_published(detail_type: str, detail: dict[str, Any]) -> None:
    for message in live.route(detail_type, detail):
        assert "taskToken" not in message.payload["detail"]
        assert "code" not in message.payload["detail"]
        encoded = message.encode()
        assert SECRET_TOKEN.encode() not in encoded
        assert SECRET_CODE.encode() not in encoded
        assert b'"taskToken"' not in encoded
        assert b'"code"' not in encoded


@settings(max_examples=300)
@given(detail_types, details())
def test_the_board_never_learns_who_ordered_what(detail_type: str, detail: dict[str, Any]) -> None:
    for message in live.route(detail_type, detail):
        if message.topic.endswith("/board"):
            assert set(message.payload) == {"type", "at", "detail"}
            assert set(message.payload["detail"]) == {"shopId", "number", "state"}
            assert isinstance(message.payload["detail"]["number"], int)
            assert message.payload["detail"]["state"] == live.BOARD_EVENTS[detail_type]


@settings(max_examples=300)
@given(detail_types, details())
def test_every_message_goes_to_a_known_topic_of_the_events_shop(detail_type: str, detail: dict[str, Any]) -> None:
    messages = live.route(detail_type, detail)
    shop_id = detail.get("shopId")
    if not isinstance(shop_id, str) or not shop_id:
        assert messages == []
        return
    allowed = {live.config_topic(shop_id), live.board_topic(shop_id), live.admin_topic(shop_id)}
    if isinstance(detail.get("userId"), str) and detail["userId"]:
        allowed.add(live.user_topic(detail["userId"]))
    topics = [m.topic for m in messages]
    assert set(topics) <= allowed
    assert len(topics) == len(set(topics))
    if detail_type != ev.CONFIG_CHANGED and "orderId" not in detail:
        assert messages == []
    for message in messages:
        assert message.payload["type"] == detail_type
        json.loads(message.encode())  # always valid JSON


@given(details())
def test_only_user_topics_of_the_orders_customer_are_used(detail: dict[str, Any]) -> None:
    for message in live.route(ev.ORDER_COMPLETED, detail):
        if message.topic.startswith(f"{live.TOPIC_ROOT}/users/"):
            assert message.topic == live.user_topic(detail["userId"])


# ----- filter_covers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "requested", "covers"),
    [
        ("a/b/c", "a/b/c", True),
        ("a/b/c", "a/b", False),
        ("a/b/c", "a/b/c/d", False),
        ("a/b/c", "a/+/c", False),
        ("a/b/c", "a/#", False),
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/+/c", True),
        ("a/+/c", "a//c", True),  # `+` matches an empty level
        ("a/+/c", "a/b/d", False),
        ("a/+/c", "a/b/c/d", False),
        ("a/+/c", "a/b", False),
        ("a/+/c", "a/#", False),
        ("a/+/c", "a/+/#", False),
        ("a/+/c", "+/+/c", False),
        ("a/#", "a", True),  # `#` also matches its parent level
        ("a/#", "a/b", True),
        ("a/#", "a/+/c/#", True),
        ("a/#", "a/#", True),
        ("a/#", "#", False),
        ("a/#", "b/c", False),
        ("#", "anything/at/all", True),
        ("#", "#", True),
        ("a/b", "a/b/#", False),
    ],
)
def test_filter_covers(allowed: str, requested: str, covers: bool) -> None:
    assert live.filter_covers(allowed, requested) is covers


def mqtt_matches(topic_filter: str, topic: str) -> bool:
    """The MQTT 3.1.1 matching rule, written independently of live.filter_covers."""
    if topic_filter == "#":
        return True
    head, sep, rest = topic_filter.partition("/")
    topic_head, topic_sep, topic_rest = topic.partition("/")
    if head == "#":
        return True
    if head != "+" and head != topic_head:
        return False
    if not sep:
        return not topic_sep
    if not topic_sep:
        return rest == "#"
    return mqtt_matches(rest, topic_rest)


_TOPIC_UNIVERSE = [
    "/".join(levels) for size in range(1, 5) for levels in itertools.product(["a", "b", ""], repeat=size)
]


@st.composite
def filters(draw: st.DrawFn) -> str:
    levels = draw(st.lists(st.sampled_from(["a", "b", "", "+"]), min_size=1, max_size=4))
    if draw(st.booleans()):
        levels.append("#")
    return "/".join(levels)


@settings(max_examples=300)
@given(filters(), filters())
def test_filter_covers_is_sound(allowed: str, requested: str) -> None:
    """Whatever it lets through can only ever deliver topics the allowed filter matches."""
    if live.filter_covers(allowed, requested):
        for topic in _TOPIC_UNIVERSE:
            if mqtt_matches(requested, topic):
                assert mqtt_matches(allowed, topic), (allowed, requested, topic)


@given(filters())
def test_a_filter_covers_itself(topic_filter: str) -> None:
    assert live.filter_covers(topic_filter, topic_filter)


@given(filters(), st.sampled_from(_TOPIC_UNIVERSE))
def test_on_plain_topics_filter_covers_is_mqtt_matching(topic_filter: str, topic: str) -> None:
    assert live.filter_covers(topic_filter, topic) == mqtt_matches(topic_filter, topic)


# ----- who may subscribe ----------------------------------------------------------------------


def test_allowed_subscriptions() -> None:
    assert live.allowed_subscriptions(ALICE, False) == [
        f"serverlesspresso/users/{ALICE}",
        "serverlesspresso/shops/+/config",
        "serverlesspresso/shops/+/board",
    ]
    assert live.allowed_subscriptions(ALICE, True) == [
        *live.allowed_subscriptions(ALICE, False),
        "serverlesspresso/shops/+/admin",
    ]


@pytest.mark.parametrize(
    "topic_filter",
    [
        f"serverlesspresso/users/{ALICE}",
        "serverlesspresso/shops/s1/config",
        "serverlesspresso/shops/+/config",
        "serverlesspresso/shops/s1/board",
        "serverlesspresso/shops/+/board",
    ],
)
def test_what_a_customer_may_subscribe_to(topic_filter: str) -> None:
    assert live.may_subscribe(ALICE, False, topic_filter)
    assert live.may_subscribe(ALICE, True, topic_filter)


@pytest.mark.parametrize(
    "topic_filter",
    [
        f"serverlesspresso/users/{BOB}",
        "serverlesspresso/users/+",
        "serverlesspresso/users/#",
        f"serverlesspresso/users/{ALICE}/#",
        f"serverlesspresso/users/{ALICE}/x",
        "serverlesspresso/#",
        "serverlesspresso/+/s1/config",
        "serverlesspresso/shops/#",
        "serverlesspresso/shops/s1/#",
        "serverlesspresso/shops/+/+",
        "serverlesspresso/shops/s1/admin",
        "serverlesspresso/shops/+/admin",
        "serverlesspresso/shops/s1/config/x",
        "#",
        "+/+/+/+",
        "",
    ],
)
def test_what_a_customer_may_not_subscribe_to(topic_filter: str) -> None:
    assert not live.may_subscribe(ALICE, False, topic_filter)


@pytest.mark.parametrize("topic_filter", ["serverlesspresso/shops/s1/admin", "serverlesspresso/shops/+/admin"])
def test_admins_may_follow_shop_admin_topics(topic_filter: str) -> None:
    assert live.may_subscribe(ALICE, True, topic_filter)
    assert not live.may_subscribe(ALICE, False, topic_filter)


@pytest.mark.parametrize(
    "topic_filter",
    [f"serverlesspresso/users/{BOB}", "serverlesspresso/users/+", "serverlesspresso/#", "serverlesspresso/shops/#"],
)
def test_admins_are_not_a_wildcard(topic_filter: str) -> None:
    assert not live.may_subscribe(ALICE, True, topic_filter)


@settings(max_examples=300)
@given(
    st.sampled_from([ALICE, BOB]),
    st.booleans(),
    st.lists(st.sampled_from([ALICE, BOB, "+", "x", ""]), min_size=1, max_size=3),
    st.booleans(),
)
def test_may_subscribe_never_reaches_another_persons_topic(
    sub: str, admin: bool, levels: list[str], multi_level: bool
) -> None:
    other = BOB if sub == ALICE else ALICE
    topic_filter = "/".join(["serverlesspresso", "users", *levels, *(["#"] if multi_level else [])])
    if live.may_subscribe(sub, admin, topic_filter):
        assert topic_filter == live.user_topic(sub)
        assert not mqtt_matches(topic_filter, live.user_topic(other))


@pytest.mark.parametrize("sub", ["+", "#", "a/b"])
def test_a_wildcard_sub_does_not_open_other_peoples_topics(sub: str) -> None:
    assert not live.may_subscribe(sub, False, live.user_topic(BOB))

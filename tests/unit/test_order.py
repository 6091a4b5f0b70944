"""Unit tests for the Order aggregate (chalicelib.domain.order) and the domain errors it raises."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.domain import errors
from chalicelib.domain import events as ev
from chalicelib.domain.errors import AlreadyClaimed, ConcurrentUpdate, DomainError, Forbidden, InvalidState
from chalicelib.domain.order import (
    CANCELLABLE_STATES,
    FINAL_STATES,
    OUTCOME_CANCELLED,
    OUTCOME_COMPLETED,
    OUTCOME_DRINK_CHOSEN,
    Actor,
    Order,
    OrderChange,
    OrderState,
)

CUSTOMER = Actor(sub="user-1", username="alice", is_admin=False)
OTHER_CUSTOMER = Actor(sub="user-2", username="bob", is_admin=False)
BARISTA_A = Actor(sub="barista-a", username="anna", is_admin=True)
BARISTA_B = Actor(sub="barista-b", username="ben", is_admin=True)
# A barista who also placed the order (owner and admin at once).
ADMIN_OWNER = Actor(sub="user-1", username="alice", is_admin=True)

NON_FINAL_STATES = [s for s in OrderState if not s.is_final]


def new_order(**changes) -> Order:
    order = Order(order_id="order-1", shop_id="shop-1", user_id=CUSTOMER.sub, created_at="2024-05-01T09:00:00+00:00")
    return replace(order, **changes)


def queued(number: int | None = 7, **changes) -> Order:
    fields = {"state": OrderState.QUEUED, "drink": "Latte", "modifiers": {"Milk": "Oat"}, "number": number}
    return new_order(**{**fields, **changes})


def in_production(by: Actor = BARISTA_A, **changes) -> Order:
    return queued(state=OrderState.IN_PRODUCTION, claimed_by=by.sub, **changes)


def completed(by: Actor = BARISTA_A, **changes) -> Order:
    return queued(state=OrderState.COMPLETED, claimed_by=by.sub, **changes)


def in_state(state: OrderState) -> Order:
    """A realistic order in the given state."""
    if state is OrderState.WAITING_FOR_DRINK:
        return new_order()
    if state is OrderState.QUEUED:
        return queued()
    if state is OrderState.IN_PRODUCTION:
        return in_production()
    if state is OrderState.COMPLETED:
        return completed()
    return queued(state=state, reason="some reason")


# ----- OrderState ---------------------------------------------------------------------------------


def test_final_states_are_exactly_completed_cancelled_timed_out_rejected():
    assert {OrderState.COMPLETED, OrderState.CANCELLED, OrderState.TIMED_OUT, OrderState.REJECTED} == FINAL_STATES
    assert {s for s in OrderState if s.is_final} == FINAL_STATES
    assert NON_FINAL_STATES == [OrderState.WAITING_FOR_DRINK, OrderState.QUEUED, OrderState.IN_PRODUCTION]


def test_cancellable_states_are_the_non_final_states():
    assert set(NON_FINAL_STATES) == CANCELLABLE_STATES


def test_order_state_is_a_string_enum_with_its_name_as_value():
    for state in OrderState:
        assert state.value == state.name
        assert state == state.value
        assert OrderState(state.value) is state


# ----- construction -------------------------------------------------------------------------------


def test_new_order_waits_for_a_drink_with_nothing_assigned():
    order = new_order()
    assert order.state is OrderState.WAITING_FOR_DRINK
    assert order.drink is None
    assert dict(order.modifiers) == {}
    assert order.number is None
    assert order.claimed_by is None
    assert order.reason is None
    assert order.customer_token is None
    assert order.barista_token is None
    assert order.counts_toward_daily_limit is True
    assert order.version == 0


def test_order_is_immutable():
    order = new_order()
    with pytest.raises(AttributeError):
        order.state = OrderState.QUEUED  # type: ignore[misc]


# ----- visibility ---------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [CUSTOMER, BARISTA_A, ADMIN_OWNER])
def test_order_is_visible_to_its_customer_and_to_admins(actor):
    assert new_order().check_visible_to(actor) is None


def test_order_is_not_visible_to_another_customer():
    with pytest.raises(Forbidden):
        new_order().check_visible_to(OTHER_CUSTOMER)


# ----- choose_drink -------------------------------------------------------------------------------


def test_customer_choosing_a_drink_queues_the_order():
    order = new_order()
    chosen = order.choose_drink(CUSTOMER, "Cappuccino", {"Milk": "Oat", "Size": "Large"}).order
    assert chosen.state is OrderState.QUEUED
    assert chosen.drink == "Cappuccino"
    assert dict(chosen.modifiers) == {"Milk": "Oat", "Size": "Large"}
    # The original is untouched and the identity fields carry over.
    assert order.state is OrderState.WAITING_FOR_DRINK and order.drink is None
    assert (chosen.order_id, chosen.shop_id, chosen.user_id, chosen.created_at) == (
        order.order_id,
        order.shop_id,
        order.user_id,
        order.created_at,
    )


def test_choose_drink_copies_the_modifiers_it_is_given():
    modifiers = {"Milk": "Oat"}
    chosen = new_order().choose_drink(CUSTOMER, "Latte", modifiers).order
    modifiers["Milk"] = "Regular"
    modifiers["Extra"] = "Shot"
    assert dict(chosen.modifiers) == {"Milk": "Oat"}


def test_admin_who_placed_the_order_may_choose_its_drink():
    assert new_order().choose_drink(ADMIN_OWNER, "Espresso", {}).order.state is OrderState.QUEUED


@pytest.mark.parametrize("actor", [OTHER_CUSTOMER, BARISTA_A])
def test_only_the_ordering_customer_may_choose_the_drink(actor):
    with pytest.raises(Forbidden):
        new_order().choose_drink(actor, "Latte", {})


@pytest.mark.parametrize("state", [s for s in OrderState if s is not OrderState.WAITING_FOR_DRINK])
def test_drink_can_only_be_chosen_while_waiting_for_it(state):
    with pytest.raises(InvalidState):
        in_state(state).choose_drink(CUSTOMER, "Espresso", {})


def test_forbidden_is_checked_before_state_when_choosing():
    with pytest.raises(Forbidden):
        completed().choose_drink(OTHER_CUSTOMER, "Espresso", {})


# ----- cancel -------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", NON_FINAL_STATES)
def test_customer_can_cancel_any_unfinished_order(state):
    cancelled = in_state(state).cancel(CUSTOMER).order
    assert cancelled.state is OrderState.CANCELLED
    assert cancelled.reason == "Cancelled by the customer"


@pytest.mark.parametrize("state", NON_FINAL_STATES)
def test_barista_cancelling_someone_elses_order_is_recorded_as_a_barista(state):
    cancelled = in_state(state).cancel(BARISTA_B).order
    assert cancelled.state is OrderState.CANCELLED
    assert cancelled.reason == "Cancelled by a barista"


def test_admin_cancelling_their_own_order_is_recorded_as_the_customer():
    assert queued().cancel(ADMIN_OWNER).order.reason == "Cancelled by the customer"


def test_cancel_keeps_the_drink_and_number():
    cancelled = queued(number=12).cancel(CUSTOMER).order
    assert cancelled.drink == "Latte"
    assert cancelled.number == 12


@pytest.mark.parametrize("state", NON_FINAL_STATES)
def test_another_customer_cannot_cancel(state):
    with pytest.raises(Forbidden):
        in_state(state).cancel(OTHER_CUSTOMER)


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
@pytest.mark.parametrize("actor", [CUSTOMER, BARISTA_A])
def test_finished_orders_cannot_be_cancelled(state, actor):
    with pytest.raises(InvalidState):
        in_state(state).cancel(actor)


@pytest.mark.parametrize("actor", [CUSTOMER, BARISTA_A, BARISTA_B])
def test_cancelling_an_order_in_production_releases_the_barista_claim(actor):
    # claimed_by is set only while IN_PRODUCTION or COMPLETED (time_out and unclaim clear it too).
    cancelled = in_production(by=BARISTA_A).cancel(actor).order
    assert cancelled.state is OrderState.CANCELLED
    assert cancelled.claimed_by is None


# ----- claim --------------------------------------------------------------------------------------


def test_barista_claims_a_numbered_queued_order():
    order = queued(number=3)
    claimed = order.claim(BARISTA_A).order
    assert claimed.state is OrderState.IN_PRODUCTION
    assert claimed.claimed_by == BARISTA_A.sub
    assert claimed.number == 3
    assert claimed.drink == order.drink
    assert order.state is OrderState.QUEUED and order.claimed_by is None


def test_claiming_again_by_the_same_barista_is_a_no_op():
    claimed = queued().claim(BARISTA_A).order
    assert claimed.claim(BARISTA_A).order is claimed


def test_another_barista_cannot_claim_an_order_in_production():
    with pytest.raises(AlreadyClaimed):
        in_production(by=BARISTA_A).claim(BARISTA_B)


@pytest.mark.parametrize("actor", [CUSTOMER, OTHER_CUSTOMER])
def test_customers_cannot_claim(actor):
    with pytest.raises(Forbidden):
        queued().claim(actor)


def test_unnumbered_order_cannot_be_claimed_yet():
    with pytest.raises(InvalidState, match="numbered"):
        queued(number=None).claim(BARISTA_A)


@pytest.mark.parametrize("state", [OrderState.WAITING_FOR_DRINK, *sorted(FINAL_STATES)])
def test_only_queued_orders_can_be_claimed(state):
    with pytest.raises(InvalidState):
        in_state(state).claim(BARISTA_A)


# ----- unclaim ------------------------------------------------------------------------------------


def test_barista_unclaiming_returns_the_order_to_the_queue():
    order = in_production(by=BARISTA_A)
    unclaimed = order.unclaim(BARISTA_A).order
    assert unclaimed.state is OrderState.QUEUED
    assert unclaimed.claimed_by is None
    assert unclaimed.drink == order.drink and unclaimed.number == order.number


def test_another_barista_cannot_unclaim():
    with pytest.raises(AlreadyClaimed):
        in_production(by=BARISTA_A).unclaim(BARISTA_B)


def test_customer_cannot_unclaim():
    with pytest.raises(Forbidden):
        in_production().unclaim(CUSTOMER)


@pytest.mark.parametrize("state", [s for s in OrderState if s is not OrderState.IN_PRODUCTION])
def test_only_orders_in_production_can_be_unclaimed(state):
    with pytest.raises(InvalidState):
        in_state(state).unclaim(BARISTA_A)


# ----- complete -----------------------------------------------------------------------------------


def test_claiming_barista_completes_the_order():
    done = in_production(by=BARISTA_A).complete(BARISTA_A).order
    assert done.state is OrderState.COMPLETED
    assert done.claimed_by == BARISTA_A.sub
    assert done.number == 7


def test_barista_can_complete_a_queued_order_without_claiming_first():
    done = queued().complete(BARISTA_B).order
    assert done.state is OrderState.COMPLETED
    assert done.claimed_by == BARISTA_B.sub


def test_another_barista_cannot_complete_a_claimed_order():
    with pytest.raises(AlreadyClaimed):
        in_production(by=BARISTA_A).complete(BARISTA_B)


@pytest.mark.parametrize("actor", [CUSTOMER, OTHER_CUSTOMER])
def test_customers_cannot_complete(actor):
    with pytest.raises(Forbidden):
        queued().complete(actor)


def test_unnumbered_order_cannot_be_completed():
    with pytest.raises(InvalidState, match="numbered"):
        queued(number=None).complete(BARISTA_A)


@pytest.mark.parametrize("state", [OrderState.WAITING_FOR_DRINK, *sorted(FINAL_STATES)])
def test_only_queued_or_in_production_orders_can_be_completed(state):
    with pytest.raises(InvalidState):
        in_state(state).complete(BARISTA_A)


def test_full_happy_path():
    order = new_order().workflow_started("tok-customer").order
    order = order.choose_drink(CUSTOMER, "Flat White", {"Milk": "Regular"}).order
    order = order.waiting_completion(42, "tok-barista").order
    order = order.claim(BARISTA_A).order
    order = order.complete(BARISTA_A).order
    assert order.state is OrderState.COMPLETED
    assert (order.drink, order.number, order.claimed_by) == ("Flat White", 42, BARISTA_A.sub)
    assert order.pending_callback() == ("tok-barista", OUTCOME_COMPLETED)
    assert order.releases_daily_slot is False


# ----- workflow notifications ---------------------------------------------------------------------


def test_workflow_started_stores_the_customer_token_only():
    order = new_order()
    started = order.workflow_started("tok-1").order
    assert started.customer_token == "tok-1"
    assert replace(started, customer_token=None) == order


def test_workflow_started_on_a_cancelled_order_keeps_it_cancelled_but_stores_the_token():
    cancelled = new_order().cancel(CUSTOMER).order
    started = cancelled.workflow_started("tok-1").order
    assert started.state is OrderState.CANCELLED
    assert started.customer_token == "tok-1"
    assert started.pending_callback() == ("tok-1", OUTCOME_CANCELLED)


def test_waiting_completion_sets_number_and_barista_token():
    order = queued(number=None)
    waiting = order.waiting_completion(5, "tok-b").order
    assert waiting.number == 5
    assert waiting.barista_token == "tok-b"
    assert waiting.state is OrderState.QUEUED


def test_waiting_completion_keeps_an_already_assigned_number():
    waiting = queued(number=5).waiting_completion(99, "tok-b2").order
    assert waiting.number == 5
    assert waiting.barista_token == "tok-b2"


@pytest.mark.parametrize("state", NON_FINAL_STATES)
def test_time_out_ends_an_unfinished_order(state):
    timed_out = in_state(state).time_out("Customer did not choose in time").order
    assert timed_out.state is OrderState.TIMED_OUT
    assert timed_out.reason == "Customer did not choose in time"
    assert timed_out.claimed_by is None


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_time_out_of_a_finished_order_is_a_no_op(state):
    order = in_state(state)
    assert order.time_out("late").order is order


@pytest.mark.parametrize("state", NON_FINAL_STATES)
def test_reject_ends_an_unfinished_order(state):
    rejected = in_state(state).reject("Store is closed").order
    assert rejected.state is OrderState.REJECTED
    assert rejected.reason == "Store is closed"


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_reject_of_a_finished_order_is_a_no_op(state):
    order = in_state(state)
    assert order.reject("late").order is order


def test_rejecting_an_order_in_production_releases_the_barista_claim():
    # Same invariant as cancel/time_out: a claim exists only while IN_PRODUCTION or COMPLETED.
    assert in_production().reject("Shop closed").order.claimed_by is None


# ----- pending_callback ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(OrderState))
def test_no_callback_without_a_task_token(state):
    assert in_state(state).pending_callback() is None


@pytest.mark.parametrize(
    "state, expected",
    [
        (OrderState.WAITING_FOR_DRINK, None),
        (OrderState.QUEUED, ("tok-c", OUTCOME_DRINK_CHOSEN)),
        (OrderState.IN_PRODUCTION, ("tok-c", OUTCOME_DRINK_CHOSEN)),
        (OrderState.COMPLETED, ("tok-c", OUTCOME_DRINK_CHOSEN)),
        (OrderState.CANCELLED, ("tok-c", OUTCOME_CANCELLED)),
        (OrderState.TIMED_OUT, None),
        (OrderState.REJECTED, None),
    ],
)
def test_callback_with_only_the_customer_token(state, expected):
    assert replace(in_state(state), customer_token="tok-c").pending_callback() == expected


@pytest.mark.parametrize(
    "state, expected",
    [
        (OrderState.WAITING_FOR_DRINK, None),
        (OrderState.QUEUED, None),
        (OrderState.IN_PRODUCTION, None),
        (OrderState.COMPLETED, ("tok-b", OUTCOME_COMPLETED)),
        (OrderState.CANCELLED, ("tok-b", OUTCOME_CANCELLED)),
        (OrderState.TIMED_OUT, None),
        (OrderState.REJECTED, None),
    ],
)
@pytest.mark.parametrize("customer_token", [None, "tok-c"])
def test_barista_token_takes_precedence_once_stored(state, expected, customer_token):
    order = replace(in_state(state), customer_token=customer_token, barista_token="tok-b")
    assert order.pending_callback() == expected


def test_callback_fires_when_the_drink_is_chosen_before_the_workflow_token_arrives():
    chosen = new_order().choose_drink(CUSTOMER, "Espresso", {}).order
    assert chosen.pending_callback() is None
    assert chosen.workflow_started("tok-c").order.pending_callback() == ("tok-c", OUTCOME_DRINK_CHOSEN)


def test_callback_fires_when_the_workflow_token_arrives_before_the_drink():
    started = new_order().workflow_started("tok-c").order
    assert started.pending_callback() is None
    chosen = started.choose_drink(CUSTOMER, "Espresso", {}).order
    assert chosen.pending_callback() == ("tok-c", OUTCOME_DRINK_CHOSEN)


# ----- releases_daily_slot ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, releases",
    [
        (OrderState.WAITING_FOR_DRINK, False),
        (OrderState.QUEUED, False),
        (OrderState.IN_PRODUCTION, False),
        (OrderState.COMPLETED, False),
        (OrderState.CANCELLED, True),
        (OrderState.TIMED_OUT, True),
        (OrderState.REJECTED, True),
    ],
)
def test_orders_ending_without_a_drink_release_the_daily_slot(state, releases):
    assert in_state(state).releases_daily_slot is releases


@pytest.mark.parametrize("state", list(OrderState))
def test_orders_not_counted_toward_the_limit_never_release_a_slot(state):
    assert replace(in_state(state), counts_toward_daily_limit=False).releases_daily_slot is False


# ----- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, code, status",
    [
        (errors.DomainError, "domain_error", 400),
        (errors.Unauthorized, "unauthorized", 401),
        (errors.Forbidden, "forbidden", 403),
        (errors.NotFound, "not_found", 404),
        (errors.ValidationError, "validation_error", 400),
        (errors.InvalidCode, "invalid_code", 400),
        (errors.CodeExhausted, "code_exhausted", 409),
        (errors.StoreClosed, "store_closed", 409),
        (errors.DailyLimitReached, "daily_limit_reached", 429),
        (errors.InvalidDrink, "invalid_drink", 400),
        (errors.InvalidState, "invalid_state", 409),
        (errors.AlreadyClaimed, "already_claimed", 409),
        (errors.AlreadyExists, "already_exists", 409),
    ],
)
def test_domain_errors_carry_their_api_code_and_status(cls, code, status):
    error = cls("something went wrong")
    assert isinstance(error, DomainError)
    assert error.code == code
    assert error.status == status
    assert error.message == "something went wrong"
    assert str(error) == "something went wrong"


def test_domain_error_codes_are_unique():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, DomainError)]
    codes = [c.code for c in classes]
    assert len(classes) == 14  # DomainError and its 13 subclasses
    assert len(set(codes)) == len(codes)


def test_concurrent_update_is_not_a_domain_error():
    # Services retry on it; it must never be reported to a client as a 4xx domain error.
    assert not issubclass(ConcurrentUpdate, DomainError)
    assert issubclass(ConcurrentUpdate, Exception)


def test_order_guard_errors_are_domain_errors_with_their_codes():
    with pytest.raises(DomainError) as forbidden:
        queued().claim(CUSTOMER)
    with pytest.raises(DomainError) as claimed:
        in_production(by=BARISTA_A).complete(BARISTA_B)
    with pytest.raises(DomainError) as invalid:
        completed().cancel(CUSTOMER)
    assert (forbidden.value.code, forbidden.value.status) == ("forbidden", 403)
    assert (claimed.value.code, claimed.value.status) == ("already_claimed", 409)
    assert (invalid.value.code, invalid.value.status) == ("invalid_state", 409)
    assert "COMPLETED" in invalid.value.message


# ----- the events each change records ---------------------------------------------------------------


def _types(change: OrderChange) -> list[str]:
    return [e.detail_type for e in change.events]


def test_each_command_names_the_event_it_causes():
    assert _types(new_order().choose_drink(CUSTOMER, "Latte", {})) == [ev.DRINK_CHOSEN]
    assert _types(queued().claim(BARISTA_A)) == [ev.MAKE_ORDER]
    assert _types(in_production().unclaim(BARISTA_A)) == [ev.ORDER_UNCLAIMED]
    assert _types(in_production().complete(BARISTA_A)) == [ev.ORDER_COMPLETED]
    assert _types(new_order().waiting_completion(7, "t")) == [ev.MANAGER_WAITING_COMPLETION]


def test_a_cancel_records_who_cancelled():
    [event] = queued().cancel(BARISTA_B).events
    assert (event.detail_type, dict(event.fields)) == (ev.ORDER_CANCELLED, {"cancelledBy": BARISTA_B.sub})


def test_what_the_workflow_announces_itself_records_nothing():
    assert new_order().workflow_started("t").events == ()
    assert queued().time_out("late").events == ()
    assert new_order().reject("closed").events == ()


def test_a_change_that_changes_nothing_records_nothing():
    claimed = in_production(by=BARISTA_A)
    assert claimed.claim(BARISTA_A) == OrderChange(claimed)
    started = new_order(customer_token="t")
    assert started.workflow_started("t") == OrderChange(started)
    assert completed().time_out("late") == OrderChange(completed())


def test_numbering_an_ended_order_keeps_the_token_but_queues_nothing():
    change = in_state(OrderState.CANCELLED).waiting_completion(7, "barista-token")
    assert change.order.barista_token == "barista-token"
    assert change.events == ()


def test_ending_an_interrupted_order_records_what_its_workflow_would_have_sent():
    change = queued().end_interrupted("The bar restarted")
    assert change.order.state is OrderState.TIMED_OUT and change.order.reason == "The bar restarted"
    assert [(e.detail_type, dict(e.fields)) for e in change.events] == [
        (ev.ORDER_TIMED_OUT, {"reason": "The bar restarted", "stage": "restart"}),
        (ev.ORDER_FINISHED, {"outcome": "TIMED_OUT"}),
    ]
    assert completed().end_interrupted("The bar restarted") == OrderChange(completed())

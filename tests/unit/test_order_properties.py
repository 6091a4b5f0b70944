"""Hypothesis property tests: random command sequences from random actors applied to one Order.

Each example starts from a fresh order and applies a list of commands (customer, barista and workflow),
keeping the previous order whenever a command raises. Every test checks one family of invariants over
each step of the resulting trace, so a broken invariant is reported on its own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import events as ev
from chalicelib.domain.errors import AlreadyClaimed, DomainError
from chalicelib.domain.order import (
    OUTCOME_CANCELLED,
    OUTCOME_COMPLETED,
    OUTCOME_DRINK_CHOSEN,
    Actor,
    Order,
    OrderChange,
    OrderState,
    RecordedEvent,
)

OWNER = Actor(sub="user-1", username="alice", is_admin=False)
OTHER_CUSTOMER = Actor(sub="user-2", username="bob", is_admin=False)
BARISTA_A = Actor(sub="barista-a", username="anna", is_admin=True)
BARISTA_B = Actor(sub="barista-b", username="ben", is_admin=True)
ACTORS = (OWNER, OTHER_CUSTOMER, BARISTA_A, BARISTA_B)

ACTOR_COMMANDS = ("choose_drink", "cancel", "claim", "unclaim", "complete")
WORKFLOW_COMMANDS = ("workflow_started", "waiting_completion", "time_out", "reject")

S = OrderState
ALLOWED_TRANSITIONS = {
    (S.WAITING_FOR_DRINK, S.QUEUED),
    (S.WAITING_FOR_DRINK, S.CANCELLED),
    (S.WAITING_FOR_DRINK, S.TIMED_OUT),
    (S.WAITING_FOR_DRINK, S.REJECTED),
    (S.QUEUED, S.IN_PRODUCTION),
    (S.QUEUED, S.COMPLETED),
    (S.QUEUED, S.CANCELLED),
    (S.QUEUED, S.TIMED_OUT),
    (S.QUEUED, S.REJECTED),
    (S.IN_PRODUCTION, S.QUEUED),
    (S.IN_PRODUCTION, S.COMPLETED),
    (S.IN_PRODUCTION, S.CANCELLED),
    (S.IN_PRODUCTION, S.TIMED_OUT),
    (S.IN_PRODUCTION, S.REJECTED),
}
DRINK_STATES = {S.QUEUED, S.IN_PRODUCTION, S.COMPLETED}
CLAIMED_STATES = {S.IN_PRODUCTION, S.COMPLETED}


@dataclass(frozen=True)
class Command:
    name: str
    actor: Actor | None = None
    args: tuple[Any, ...] = ()

    def apply(self, order: Order) -> Order:
        return self.change(order).order

    def change(self, order: Order) -> OrderChange:
        method = getattr(order, self.name)
        if self.actor is not None:
            return method(self.actor, *self.args)
        return method(*self.args)

    def __repr__(self) -> str:
        parts = ([self.actor.sub] if self.actor else []) + [repr(a) for a in self.args]
        return f"{self.name}({', '.join(parts)})"


@dataclass
class Step:
    before: Order
    command: Command
    after: Order
    error: Exception | None = None
    before_snapshot: Order | None = field(default=None, repr=False)
    events: tuple[RecordedEvent, ...] = ()


actors = st.sampled_from(ACTORS)
tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
reasons = st.sampled_from(["Customer timed out", "Barista timed out", "Shop is closed", "Queue is full"])
drinks = st.sampled_from(["Espresso", "Latte", "Cappuccino"])
modifiers = st.dictionaries(st.sampled_from(["Milk", "Size"]), st.sampled_from(["Oat", "Regular", "Large"]))

commands = st.one_of(
    st.builds(lambda a, d, m: Command("choose_drink", a, (d, m)), actors, drinks, modifiers),
    st.builds(lambda a: Command("cancel", a), actors),
    st.builds(lambda a: Command("claim", a), actors),
    st.builds(lambda a: Command("unclaim", a), actors),
    st.builds(lambda a: Command("complete", a), actors),
    st.builds(lambda t: Command("workflow_started", None, (t,)), tokens),
    st.builds(lambda n, t: Command("waiting_completion", None, (n, t)), st.integers(1, 999), tokens),
    st.builds(lambda r: Command("time_out", None, (r,)), reasons),
    st.builds(lambda r: Command("reject", None, (r,)), reasons),
)

initial_orders = st.builds(
    lambda counts: Order(
        order_id="order-1",
        shop_id="shop-1",
        user_id=OWNER.sub,
        created_at="2024-05-01T09:00:00+00:00",
        counts_toward_daily_limit=counts,
    ),
    st.booleans(),
)


@st.composite
def happy_path_prefixes(draw) -> list[Command]:
    """A random-length start of the usual lifecycle, so later random commands often hit queued/claimed orders."""
    barista = draw(st.sampled_from([BARISTA_A, BARISTA_B]))
    steps = [
        Command("workflow_started", None, (draw(tokens),)),
        Command("choose_drink", OWNER, (draw(drinks), draw(modifiers))),
        Command("waiting_completion", None, (draw(st.integers(1, 999)), draw(tokens))),
        Command("claim", barista),
    ]
    steps = steps[: draw(st.integers(0, len(steps)))]
    if draw(st.booleans()):  # the customer may choose before the workflow stores its token
        steps[:2] = steps[:2][::-1]
    return steps


scenarios = st.builds(
    lambda order, prefix, rest: (order, prefix + rest),
    initial_orders,
    happy_path_prefixes(),
    st.lists(commands, max_size=25),
)

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def run(order: Order, command_list: list[Command]) -> list[Step]:
    """Apply the commands in turn; a command that raises leaves the previous order in place."""
    trace: list[Step] = []
    for command in command_list:
        snapshot = copy.deepcopy(order)
        try:
            change = command.change(order)
        except Exception as exc:  # noqa: BLE001 - the type is asserted by a property below
            trace.append(Step(order, command, order, exc, snapshot))
            continue
        trace.append(Step(order, command, change.order, None, snapshot, change.events))
        order = change.order
    return trace


# ----- errors -------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios)
def test_failed_commands_raise_domain_errors_and_leave_the_order_unchanged(scenario):
    for step in run(*scenario):
        if step.error is not None:
            assert isinstance(step.error, DomainError), f"{step.command!r} raised {step.error!r}"
            assert step.error.code != DomainError.code  # always a specific subclass
            assert step.before == step.before_snapshot
            assert step.after is step.before


@PROPERTY_SETTINGS
@given(scenarios)
def test_workflow_notifications_never_fail(scenario):
    for step in run(*scenario):
        if step.command.name in WORKFLOW_COMMANDS:
            assert step.error is None, f"{step.command!r} raised {step.error!r}"


# ----- the events an order records ---------------------------------------------------------------

# The event each command records when it changes the order; workflow notifications other than the
# numbering record none (the workflow announces them itself).
EVENT_OF = {
    "choose_drink": ev.DRINK_CHOSEN,
    "cancel": ev.ORDER_CANCELLED,
    "claim": ev.MAKE_ORDER,
    "unclaim": ev.ORDER_UNCLAIMED,
    "complete": ev.ORDER_COMPLETED,
    "waiting_completion": ev.MANAGER_WAITING_COMPLETION,
}


@PROPERTY_SETTINGS
@given(scenarios)
def test_a_change_records_the_event_its_command_names_and_no_change_records_none(scenario):
    for step in run(*scenario):
        types = [e.detail_type for e in step.events]
        if step.error is not None or step.after == step.before:
            assert types == [], repr(step.command)
        elif step.command.name == "waiting_completion" and step.before.state.is_final:
            assert types == [], "an ended order is in no queue"
        else:
            expected = [EVENT_OF[step.command.name]] if step.command.name in EVENT_OF else []
            assert types == expected, repr(step.command)
        if step.command.name == "cancel" and step.events:
            assert step.command.actor is not None
            assert dict(step.events[0].fields) == {"cancelledBy": step.command.actor.sub}


# ----- state machine ------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios)
def test_only_allowed_state_transitions_happen(scenario):
    for step in run(*scenario):
        if step.after.state is not step.before.state:
            assert (step.before.state, step.after.state) in ALLOWED_TRANSITIONS, repr(step.command)


@PROPERTY_SETTINGS
@given(scenarios)
def test_final_states_are_absorbing(scenario):
    for step in run(*scenario):
        if not step.before.state.is_final:
            continue
        if step.command.name in ACTOR_COMMANDS:
            assert step.error is not None, f"{step.command!r} succeeded on a {step.before.state.value} order"
        else:
            # Workflow notifications may only record task tokens (and a first number); nothing else moves.
            before, after = step.before, step.after
            assert after.state is before.state
            assert after.drink == before.drink
            assert dict(after.modifiers) == dict(before.modifiers)
            assert after.claimed_by == before.claimed_by
            assert after.reason == before.reason
            if step.command.name in ("time_out", "reject"):
                assert after is before


@PROPERTY_SETTINGS
@given(scenarios)
def test_once_final_the_order_stays_in_that_state(scenario):
    final_state = None
    for step in run(*scenario):
        if final_state is not None:
            assert step.after.state is final_state
        elif step.after.state.is_final:
            final_state = step.after.state


@PROPERTY_SETTINGS
@given(scenarios)
def test_identity_fields_never_change(scenario):
    order, _ = scenario
    for step in run(*scenario):
        after = step.after
        assert (after.order_id, after.shop_id, after.user_id, after.created_at) == (
            order.order_id,
            order.shop_id,
            order.user_id,
            order.created_at,
        )
        assert after.counts_toward_daily_limit is order.counts_toward_daily_limit


# ----- per-state field invariants -----------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios)
def test_claimed_by_is_set_iff_in_production_or_completed(scenario):
    for step in run(*scenario):
        order = step.after
        assert (order.claimed_by is not None) == (order.state in CLAIMED_STATES), (
            f"after {step.command!r}: state={order.state.value} claimed_by={order.claimed_by!r}"
        )
        if order.claimed_by is not None:
            assert order.claimed_by in (BARISTA_A.sub, BARISTA_B.sub)


@PROPERTY_SETTINGS
@given(scenarios)
def test_a_drink_is_set_once_the_order_left_waiting_for_it(scenario):
    for step in run(*scenario):
        if step.after.state in DRINK_STATES:
            assert step.after.drink is not None


@PROPERTY_SETTINGS
@given(scenarios)
def test_drink_once_chosen_never_changes(scenario):
    for step in run(*scenario):
        if step.before.drink is not None:
            assert step.after.drink == step.before.drink
            assert dict(step.after.modifiers) == dict(step.before.modifiers)


@PROPERTY_SETTINGS
@given(scenarios)
def test_no_order_is_in_production_or_completed_without_a_number(scenario):
    for step in run(*scenario):
        if step.after.state in CLAIMED_STATES:
            assert step.after.number is not None


@PROPERTY_SETTINGS
@given(scenarios)
def test_the_first_number_assigned_is_kept(scenario):
    for step in run(*scenario):
        if step.before.number is not None:
            assert step.after.number == step.before.number


@PROPERTY_SETTINGS
@given(scenarios)
def test_reason_is_set_exactly_for_cancelled_timed_out_and_rejected_orders(scenario):
    for step in run(*scenario):
        order = step.after
        ended_without_drink = order.state in (S.CANCELLED, S.TIMED_OUT, S.REJECTED)
        assert (order.reason is not None) == ended_without_drink
        assert order.releases_daily_slot == (ended_without_drink and order.counts_toward_daily_limit)


# ----- who may do what ----------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios)
def test_another_customer_can_never_change_the_order(scenario):
    for step in run(*scenario):
        if step.command.actor == OTHER_CUSTOMER:
            assert step.error is not None
            assert step.after is step.before


@PROPERTY_SETTINGS
@given(scenarios)
def test_only_the_owner_chooses_and_only_baristas_claim_unclaim_or_complete(scenario):
    for step in run(*scenario):
        if step.error is not None or step.command.actor is None:
            continue
        if step.command.name == "choose_drink":
            assert step.command.actor.sub == OWNER.sub
        if step.command.name in ("claim", "unclaim", "complete"):
            assert step.command.actor.is_admin
        if step.command.name == "cancel":
            assert step.command.actor.is_admin or step.command.actor.sub == OWNER.sub


@PROPERTY_SETTINGS
@given(scenarios)
def test_an_order_claimed_by_one_barista_cannot_be_taken_over_by_another(scenario):
    for step in run(*scenario):
        before, actor = step.before, step.command.actor
        if before.state is not S.IN_PRODUCTION or actor is None or not actor.is_admin:
            continue
        if actor.sub != before.claimed_by and step.command.name in ("claim", "unclaim", "complete"):
            assert isinstance(step.error, AlreadyClaimed), f"{step.command!r} on order claimed by {before.claimed_by}"
            assert step.after is before


@PROPERTY_SETTINGS
@given(scenarios)
def test_completed_orders_are_credited_to_the_barista_who_completed_them(scenario):
    for step in run(*scenario):
        if step.command.name == "complete" and step.error is None:
            assert step.after.state is S.COMPLETED
            assert step.after.claimed_by == step.command.actor.sub


# ----- workflow callbacks -------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios)
def test_pending_callback_only_returns_a_token_the_order_holds(scenario):
    for step in run(*scenario):
        order = step.after
        callback = order.pending_callback()
        if order.customer_token is None and order.barista_token is None:
            assert callback is None
        if callback is None:
            continue
        token, outcome = callback
        assert token is not None
        assert token in (order.customer_token, order.barista_token)
        assert outcome in (OUTCOME_DRINK_CHOSEN, OUTCOME_COMPLETED, OUTCOME_CANCELLED)


@PROPERTY_SETTINGS
@given(scenarios)
def test_pending_callback_outcome_matches_the_order(scenario):
    for step in run(*scenario):
        order = step.after
        callback = order.pending_callback()
        if callback is None:
            continue
        token, outcome = callback
        if outcome == OUTCOME_COMPLETED:
            assert order.state is S.COMPLETED and token == order.barista_token
        elif outcome == OUTCOME_CANCELLED:
            assert order.state is S.CANCELLED
        else:
            assert order.drink is not None and order.state in DRINK_STATES
            assert token == order.customer_token and order.barista_token is None


@PROPERTY_SETTINGS
@given(scenarios)
def test_a_callback_is_due_whenever_a_waiting_workflow_has_its_answer(scenario):
    for step in run(*scenario):
        order = step.after
        barista_answer_known = order.barista_token is not None and order.state in (S.COMPLETED, S.CANCELLED)
        customer_answer_known = (
            order.barista_token is None
            and order.customer_token is not None
            and (order.state in DRINK_STATES or order.state is S.CANCELLED)
        )
        if barista_answer_known or customer_answer_known:
            assert order.pending_callback() is not None
        if order.state in (S.TIMED_OUT, S.REJECTED, S.WAITING_FOR_DRINK):
            assert order.pending_callback() is None

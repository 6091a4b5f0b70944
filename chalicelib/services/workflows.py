"""Starting the order workflow: one execution per order, named after it, however often its NewOrder arrives."""

from __future__ import annotations

import logging

from chalicelib.domain import events as ev
from chalicelib.ports import Workflow

logger = logging.getLogger(__name__)


class WorkflowStarts:
    def __init__(self, workflow: Workflow) -> None:
        self._workflow = workflow

    def start(self, placed: ev.NewOrderPlaced) -> bool:
        """Start the order's execution; False (and nothing started) if it already had one.

        The execution name is the order id, and the workflow's idempotency keys derive from that name, so a
        redelivered or republished NewOrder must not start a second execution under another name.
        """
        started = self._workflow.start(placed.order_id, placed.event)
        if not started:
            logger.info("order %s: its workflow was started before; this NewOrder starts nothing", placed.order_id)
        return started

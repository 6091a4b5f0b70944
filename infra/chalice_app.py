"""The Chalice app as the deploy sees it: its functions and the rule or schedule of each, read from app.py itself."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalice.app import CloudWatchEventConfig, ScheduledEventConfig  # type: ignore[attr-defined]
from chalice.utils import to_cfn_resource_name

PROJECT_DIR = Path(__file__).resolve().parent.parent
API_HANDLER = "api_handler"


@dataclass(frozen=True)
class ChaliceFunction:
    """One Lambda function of the app: the REST/GraphQL handler, an EventBridge consumer, a schedule or a plain one."""

    name: str
    event_pattern: dict[str, Any] | None = field(default=None, hash=False)
    schedule_expression: str | None = None

    @property
    def logical_id(self) -> str:
        """Its resource in `chalice package`'s template."""
        return "APIHandler" if self.name == API_HANDLER else to_cfn_resource_name(self.name)

    @property
    def invoked_asynchronously(self) -> bool:
        return self.event_pattern is not None or self.schedule_expression is not None


def read_functions(project_dir: Path = PROJECT_DIR) -> list[ChaliceFunction]:
    """Every function `chalice package` will declare, in a stable order, so new handlers need no change here."""
    app = _load_app(project_dir)
    functions = [ChaliceFunction(API_HANDLER)] if app.routes else []
    functions += [ChaliceFunction(f.name) for f in app.pure_lambda_functions]
    for source in app.event_sources:
        if isinstance(source, CloudWatchEventConfig):
            functions.append(ChaliceFunction(source.name, event_pattern=dict(source.event_pattern)))
        elif isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            text = expression if isinstance(expression, str) else expression.to_string()
            functions.append(ChaliceFunction(source.name, schedule_expression=text))
        else:
            raise ValueError(f"{source.name}: the deploy does not wire {type(source).__name__} event sources yet")
    return functions


def _load_app(project_dir: Path) -> Any:
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    return importlib.import_module("app").app

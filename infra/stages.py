"""The deploy's stages and what differs between them: names, and whether deleting the stack keeps the data."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy

APP_NAME = "serverlesspresso"


@dataclass(frozen=True)
class Stage:
    name: str
    # prod keeps its orders and its people's accounts when the stack is deleted (and refuses deletion while it runs);
    # dev is for trying things and `make destroy` removes all of it.
    keeps_data: bool

    @property
    def stack_name(self) -> str:
        return f"{APP_NAME}-{self.name}"

    def resource_name(self, suffix: str) -> str:
        """A name for a resource of this stage: `serverlesspresso-dev-<suffix>`, as `chalice deploy` names functions."""
        return f"{APP_NAME}-{self.name}-{suffix}"

    @property
    def data_removal_policy(self) -> RemovalPolicy:
        return RemovalPolicy.RETAIN if self.keeps_data else RemovalPolicy.DESTROY


STAGES = (Stage("dev", keeps_data=False), Stage("prod", keeps_data=True))


def stage_named(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise ValueError(f"unknown stage {name!r}: one of {', '.join(s.name for s in STAGES)}")

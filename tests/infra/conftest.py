"""Infrastructure tests: one moto server for the session, each stage deployed to it once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from infra_kit import STAGES, Deployment, MotoCloud


@pytest.fixture(scope="session")
def moto_cloud() -> Iterator[MotoCloud]:
    cloud = MotoCloud()
    try:
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture(scope="session")
def deployments(moto_cloud: MotoCloud) -> dict[str, Deployment]:
    return {stage: moto_cloud.deploy(stage) for stage in STAGES}

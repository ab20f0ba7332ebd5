"""Shared fixtures. Protocol-faithful fake provider servers live in tests/fakes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture(autouse=True)
def _fresh_snapshot_cache() -> Iterator[None]:
    """Each test starts with no cached registry snapshot in this process."""
    from registry.snapshot import clear_snapshot_cache

    clear_snapshot_cache()
    yield
    clear_snapshot_cache()


@pytest.fixture
def seeded_registry(db: None) -> None:
    """The seed's providers, models and routing rules."""
    from registry.actions import seed_defaults

    seed_defaults()

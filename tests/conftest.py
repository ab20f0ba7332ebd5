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


@pytest.fixture(autouse=True)
def _drain_metric_writer() -> Iterator[None]:
    """Write a test's queued metrics before its database is torn down.

    Tests that call the client in-process should use `transactional_db`: the
    writer thread has its own connection and cannot see (or join) the test's
    transaction.
    """
    yield
    from canary import recorder

    if recorder._recorder is not None and recorder._recorder.pending():
        recorder._recorder.flush(timeout=10)


@pytest.fixture
def seeded_registry(db: None) -> None:
    """The seed's providers, models and routing rules."""
    from registry.actions import seed_defaults

    seed_defaults()

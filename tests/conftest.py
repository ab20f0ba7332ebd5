"""Shared fixtures. Protocol-faithful fake provider servers live in tests/fakes."""

from __future__ import annotations

pytest_plugins = ["tests.fakes.fixtures"]

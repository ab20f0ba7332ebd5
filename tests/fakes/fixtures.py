"""Pytest fixtures that start the fake provider servers (filled in with the adapters)."""

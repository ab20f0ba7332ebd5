"""GET /healthz: the process's own state, no key needed, 200 even with the database away."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from canary.recorder import database_recorder

pytestmark = pytest.mark.django_db


def test_health_reports_snapshot_metrics_and_database() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] is True
    assert body["snapshot"]["source"] in ("database", "builtin")
    recorder = database_recorder()
    assert body["metrics"] == {"pending": recorder.pending(), "written": recorder.written,
                               "dropped": recorder.dropped,
                               "loss_unreported": recorder.unreported_loss(),
                               "buffer_limit": recorder.max_buffer}


def test_health_says_so_when_the_database_does_not_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db.backends.utils import CursorWrapper

    def refused(self: Any, sql: str, params: Any = None) -> Any:
        raise OperationalError("connection refused")

    Client().get("/healthz")  # the snapshot is loaded while the database answers
    monkeypatch.setattr(CursorWrapper, "execute", refused)
    response = Client().get("/healthz")
    assert (response.status_code, response.json()["database"]) == (200, False)

"""GET /healthz: this process's own state, for a load balancer or an operator.

Always 200 while the process serves: a replica whose database is away still routes
(on its last snapshot) and buffers its metrics, and every replica shares that
database, so taking one out of rotation would not help. The body says what holds:
the snapshot routed on, the metric buffer, whether the database answers now.
"""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from canary.recorder import database_recorder
from registry.snapshot import get_snapshot


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    snapshot = get_snapshot()
    recorder = database_recorder()
    return JsonResponse({
        "status": "ok",
        "database": _database_reachable(),
        "snapshot": {"version": snapshot.version, "source": snapshot.source},
        "metrics": {"pending": recorder.pending(), "written": recorder.written,
                    "dropped": recorder.dropped, "loss_unreported": recorder.unreported_loss(),
                    "buffer_limit": recorder.max_buffer},
    })


def _database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        if not connection.in_atomic_block:
            connection.close()  # a failed connection is unusable: the next check reconnects
        return False

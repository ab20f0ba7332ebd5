"""A Python service outside the Django project, in remote mode: LLMCONTROL_URL and
LLMCONTROL_API_KEY set, no Django settings. Makes one call, flushes its metrics to the
control plane, and prints what happened as one JSON line."""

import json
import os
import sys

assert "DJANGO_SETTINGS_MODULE" not in os.environ

from llmcontrol.client import get_llm_client  # noqa: E402
from llmcontrol.client.backends import get_backend  # noqa: E402


def main() -> None:
    result = get_llm_client(purpose="classification", routing_key="remote-user").complete(
        "Answer with one label: bug, feature or docs.", "The export button does nothing.")
    backend = get_backend()
    drained = backend.flush(timeout=10)
    print(json.dumps({
        "mode": backend.name, "content": result.content, "provider": result.provider,
        "routed_to": result.routed_to, "request_id": result.request_id,
        "snapshot_source": backend.snapshot().source, "drained": drained,
        "django_imported": "django" in sys.modules,
    }), flush=True)


if __name__ == "__main__":
    main()

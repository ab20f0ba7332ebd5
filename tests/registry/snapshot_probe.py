"""A second process that routes on the registry snapshot, for the hot-reload tests.

It calls get_snapshot() every 5 ms and prints a JSON line whenever the snapshot
it gets changes (time, version, source, the status of one model). When its
standard input closes it prints a summary: how many calls it made and how many
failed (there must be none).
"""

import json
import os
import sys
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmcontrol.settings")

import django  # noqa: E402

django.setup()

from registry.snapshot import get_snapshot  # noqa: E402

WATCHED = os.environ.get("PROBE_MODEL", "gpt-4o-mini")


def main() -> None:
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    calls = failures = 0
    last = None
    while not stop.is_set():
        calls += 1
        try:
            snap = get_snapshot()
        except Exception as exc:  # the property under test: this never happens
            failures += 1
            print(json.dumps({"error": repr(exc)}), flush=True)
            time.sleep(0.005)
            continue
        status = next((m.status for m in snap.models if m.model_key == WATCHED), None)
        state = (snap.version, snap.source, status)
        if state != last:
            print(json.dumps({"time": time.time(), "version": snap.version, "source": snap.source,
                              "status": status}), flush=True)
            last = state
        time.sleep(0.005)
    print(json.dumps({"summary": True, "calls": calls, "failures": failures}), flush=True)


if __name__ == "__main__":
    main()

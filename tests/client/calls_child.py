"""A separate process that makes N calls through the client and exits at once.

Used to prove that metrics queued in memory are written when a process stops
normally (the recorder flushes at interpreter exit).
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmcontrol.settings")

import django  # noqa: E402

django.setup()

from llmcontrol.client import get_llm_client  # noqa: E402


def main(calls: int) -> None:
    client = get_llm_client(purpose="classification")
    for i in range(calls):
        client.complete("Label it.", f"ticket {i}")
    print("done", flush=True)  # no flush of the metrics here: exit must do it


if __name__ == "__main__":
    main(int(sys.argv[1]))

"""`manage.py run_stack` (what `make run` ends with) stopped by SIGTERM: the web server
finishes a stream in flight before anything else stops, and no child outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from canary.models import RequestMetric
from tests.fakes.behaviours import Reply
from tests.fakes.llama_server import free_port
from tests.live import ROOT, replica_ready, wait_for
from tests.reliability.wiring import wire


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited: only its parent has not collected it yet.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_sigterm_lets_the_stream_in_flight_finish_then_stops_every_child(
    transactional_db: None, api_key: str, fake_ollama: Any, fake_anthropic: Any, workdir: Path
) -> None:
    from tests.live import server_environment

    wire(anthropic=fake_anthropic.url, ollama=fake_ollama.url, stage=100)
    words = [f"w{i} " for i in range(12)]
    fake_ollama.default = Reply(chunks=words, chunk_delay_s=0.25)  # a 3-second stream
    port = free_port()
    env = server_environment(METRICS_FLUSH_INTERVAL="60", METRICS_BATCH_SIZE="100000")
    log = workdir / "run_stack.log"
    with log.open("wb") as out:
        stack = subprocess.Popen([sys.executable, "manage.py", "run_stack", "--no-local-model",
                                  "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                 stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: replica_ready(url), 60, message=log.read_text(errors="replace"))
        children = children_of(stack.pid)
        assert len(children) == 2  # the django-q2 cluster and uvicorn

        received: list[str] = []
        started = threading.Event()

        def stream() -> None:
            with httpx.stream("POST", f"{url}/v1/chat/completions", timeout=30,
                              headers={"Authorization": f"Bearer {api_key}"},
                              json={"model": "haiku", "stream": True,
                                    "messages": [{"role": "user", "content": "hi"}]}) as r:
                for line in r.iter_lines():
                    started.set()
                    if line:
                        received.append(line)

        reader = threading.Thread(target=stream)
        reader.start()
        assert started.wait(15)
        stack.send_signal(signal.SIGTERM)
        reader.join(30)
        assert stack.wait(timeout=90) == 0, log.read_text(errors="replace")[-3000:]
    finally:
        if stack.poll() is None:
            stack.kill()
    assert received[-1] == "data: [DONE]", received[-3:]
    assert "".join(received).count("w11") == 1  # the whole answer arrived
    assert not [pid for pid in children if alive(pid)]
    # The metric was still buffered at SIGTERM (60 s flush interval): shutdown wrote it.
    assert RequestMetric.objects.count() == 1

"""Run one fake provider in a process of its own (for load and fault tests):

    python -m tests.fakes.serve ollama [--port N] [--delay-s S] [--chunk-delay-s S]

Prints `READY <base url>` once listening, then serves the default reply until
SIGTERM. Requests are counted, not kept, so memory stays flat under load.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tests.fakes.behaviours import Reply
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI

KINDS = {"ollama": FakeOllama, "openai": FakeOpenAI, "anthropic": FakeAnthropic}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--delay-s", type=float, default=0.0)
    parser.add_argument("--chunk-delay-s", type=float, default=0.0)
    parser.add_argument("--text", default="Hello from the fake upstream, served fast.")
    args = parser.parse_args()
    fake = KINDS[args.kind](api_key=args.api_key)
    fake.record_requests = False
    fake.default = Reply(text=args.text, delay_s=args.delay_s, chunk_delay_s=args.chunk_delay_s)
    if args.port:
        fake._server.server_close()
        from tests.fakes.server import _Handler, _Server

        fake._server = _Server(("127.0.0.1", args.port), _Handler)
        fake._server.fake = fake
    fake._server.socket.listen(1024)  # a load test opens hundreds of connections at once
    fake.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"READY {fake.url}", flush=True)
    while not stop.wait(0.5):
        pass
    fake.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()

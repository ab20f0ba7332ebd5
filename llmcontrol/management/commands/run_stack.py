"""Start the product on its embedded defaults: the bundled local model (when no Ollama
answers), the django-q2 cluster and the ASGI server; stop them all together on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError, CommandParser

from llmcontrol.switches import parse_positive_int, read_switches
from registry.defaults import LLAMACPP_PORT

BUNDLED_MODEL_ALIAS = "smollm2-135m-instruct"
# How long the web server may take to finish its requests (streams included) on Ctrl-C
# or SIGTERM before it is killed.
SHUTDOWN_GRACE_S = 60


class Command(BaseCommand):
    help = "Run llmcontrol: the bundled SmolLM2 server (if no Ollama answers) and the web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-local-model",
            action="store_true",
            help="do not start the bundled model even if no Ollama answers",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=parse_positive_int("WEB_CONCURRENCY", os.environ.get("WEB_CONCURRENCY", "1")),
            help="web server processes (default: WEB_CONCURRENCY, else 1); each has its own "
            "snapshot, metric writer and rate-limit counts",
        )
        parser.add_argument(
            "--access-log",
            action="store_true",
            help="log every request (off by default: it costs the gateway throughput)",
        )

    def handle(
        self, *args: Any, host: str, port: int, no_local_model: bool, workers: int,
        access_log: bool, **options: Any
    ) -> None:
        children: list[subprocess.Popen[bytes]] = []

        def stop(*_: object) -> None:
            # Last started, first stopped, one at a time: the web server finishes the
            # requests in flight (which may still need the local model) and flushes its
            # metrics before the cluster and the model server are asked to stop.
            for child in reversed(children):
                if child.poll() is None:
                    child.terminate()
                try:
                    child.wait(timeout=SHUTDOWN_GRACE_S if child is children[-1] else 30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()

        # The handler only interrupts `server.wait()`; the stopping is done in `finally`
        # (stopping inside the handler would wait on the very Popen it interrupted).
        signal.signal(signal.SIGTERM, _terminated)
        try:
            if not no_local_model:
                local = self._local_model()
                if local:
                    children.append(local)
            # The django-q2 cluster runs the schedules: gate evaluation, health checks, pruning.
            children.append(subprocess.Popen([sys.executable, "manage.py", "qcluster"]))
            self.stdout.write(
                self.style.SUCCESS(
                    f"llmcontrol on http://{host}:{port}/admin/  (Ctrl-C stops everything)"
                )
            )
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "llmcontrol.asgi:application",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    # uvloop and httptools when installed (they are dependencies).
                    "--loop",
                    "auto",
                    "--http",
                    "auto",
                    *([] if access_log else ["--no-access-log"]),
                ]
            )
            children.append(server)
            server.wait()
        except (KeyboardInterrupt, Terminated):
            pass
        finally:
            stop()

    def _local_model(self) -> subprocess.Popen[bytes] | None:
        ollama_url = read_switches().ollama_base_url or "http://localhost:11434"
        try:
            httpx.get(f"{ollama_url}/api/version", timeout=1.0).raise_for_status()
        except httpx.HTTPError:
            pass
        else:
            self.stdout.write(f"Ollama answers at {ollama_url}; the bundled model is not started.")
            return None
        local_url = f"http://127.0.0.1:{LLAMACPP_PORT}"
        if _answers(f"{local_url}/v1/models"):
            self.stdout.write(f"a local model server already answers at {local_url}")
            return None
        from llmcontrol.providers.local_model import find_smollm2_gguf

        gguf = find_smollm2_gguf()
        self.stdout.write(
            f"No Ollama at {ollama_url}: starting the bundled {gguf.name} "
            f"on {local_url} (provider llamacpp-local)"
        )
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(gguf),
                "--model_alias",
                BUNDLED_MODEL_ALIAS,
                "--host",
                "127.0.0.1",
                "--port",
                str(LLAMACPP_PORT),
                "--n_ctx",
                "2048",
                "--verbose",
                "false",
                "--interrupt_requests",  # see local_model.server_command
                "false",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise CommandError(f"the bundled model server exited with code {child.returncode}")
            if _answers(f"{local_url}/v1/models"):
                self.stdout.write("bundled model ready")
                return child
            time.sleep(0.5)
        child.terminate()
        raise CommandError("the bundled model server did not answer within 120 s")


class Terminated(Exception):
    """SIGTERM arrived."""


def _terminated(*_: object) -> None:
    raise Terminated


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False

"""The real local model for end-to-end tests: SmolLM2-135M via llama-cpp-python's server.

Session-scoped: loading the model takes about a second, answering a short
prompt about half a second on this machine's CPU, so it is started once.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llmcontrol.providers.local_model import find_smollm2_gguf, server_command

STARTUP_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/models", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def smollm2_server() -> Iterator[str]:
    """Base URL (no /v1) of a llama.cpp server running the bundled SmolLM2 model."""
    try:
        gguf = find_smollm2_gguf()
    except FileNotFoundError as error:
        pytest.fail(f"bundled model missing: {error}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as workdir:
        log = Path(workdir) / "llama_server.log"
        with log.open("wb") as out:
            child = subprocess.Popen(server_command(port, gguf=gguf), stdout=out,
                                     stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not _answers(url):
                if child.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited with code {child.returncode}:\n"
                                f"{_tail(log)}")
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer {url}/v1/models within "
                                f"{STARTUP_TIMEOUT_S:.0f} s:\n{_tail(log)}")
                time.sleep(0.25)
            yield url
        finally:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

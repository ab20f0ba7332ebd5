"""Which resolved call paths are LLM calls. Shared by the Python and the JS/TS scanners.

A scanner turns a callee into a dotted path with `()` after every call
(`anthropic.Anthropic().messages.create`, `ollama.chat`, `httpx.AsyncClient().post`)
and asks this module what it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Endpoints that only an LLM provider serves. `/chat/completions` also covers base URLs
# that already end in `/v1`. The lookahead keeps `/v1/messages/count_tokens` out.
PROVIDER_PATH = re.compile(
    r"(/v1/messages|/chat/completions|/api/chat|/api/generate|:generateContent|"
    r":streamGenerateContent)(?![\w/-])"
)
GEMINI_MODEL_IN_URL = re.compile(r"models/([\w.\-]+):(?:stream)?[gG]enerateContent")

SDK_ROOTS = (
    ("google.genai", "google-genai"),
    ("google.generativeai", "google-genai"),
    ("llmcontrol.client", "llmcontrol"),
    ("anthropic", "anthropic"),
    ("openai", "openai"),
    ("ollama", "ollama"),
    ("litellm", "litellm"),
)

# Attribute chain after the client object -> streams by itself.
ANTHROPIC_TAILS = {
    "messages.create": False, "messages.stream": True,
    "beta.messages.create": False, "beta.messages.stream": True,
}
OPENAI_TAILS = {
    "chat.completions.create": False, "chat.completions.stream": True,
    "chat.completions.parse": False, "beta.chat.completions.parse": False,
    "beta.chat.completions.stream": True, "responses.create": False, "responses.stream": True,
    "completions.create": False,
    # openai < 1.0, still common in older code.
    "ChatCompletion.create": False, "ChatCompletion.acreate": False, "Completion.create": False,
}
GOOGLE_METHODS = {
    "generate_content": False, "generate_content_async": False, "generate_content_stream": True,
    "generateContent": False, "generateContentStream": True,
}
OLLAMA_METHODS = {"chat": False, "generate": False}
LITELLM_METHODS = {"completion": False, "acompletion": False}
# The llmcontrol client: the factories exported by `llmcontrol.client` and their call methods.
LLMCONTROL_FACTORIES = frozenset({
    "get_llm_client", "get_classification_client", "get_fast_client", "get_validation_client",
    "get_security_client", "get_sub_agent_client", "LLMClient",
})
LLMCONTROL_METHODS = {
    "complete": False, "acomplete": False, "chat": False, "achat": False,
    "stream": True, "astream": True,
}

# Raw HTTP: module roots and the methods that can carry a POST.
HTTP_ROOTS = ("httpx", "requests", "aiohttp", "urllib.request", "axios", "fetch")
HTTP_METHODS = frozenset({"post", "request", "stream", "urlopen"})


@dataclass(frozen=True, slots=True)
class SdkCall:
    sdk: str
    streaming: bool


def _split_root(path: str) -> tuple[str, str, str] | None:
    """(sdk, root, rest) for a path under a known SDK root."""
    for root, sdk in SDK_ROOTS:
        if path == root or path.startswith(root + "."):
            return sdk, root, path[len(root) + 1:]
    return None


def _tail(path: str, rest: str) -> str:
    """The attribute chain after the last call, or after the module when there is none."""
    if "()." in path:
        return path.rpartition("().")[2]
    return rest


def match_sdk(path: str) -> SdkCall | None:
    split = _split_root(path)
    if split is None:
        return None
    sdk, root, rest = split
    tail = _tail(path, rest)
    if sdk == "anthropic" and tail in ANTHROPIC_TAILS:
        return SdkCall(sdk, ANTHROPIC_TAILS[tail])
    if sdk == "openai" and tail in OPENAI_TAILS:
        return SdkCall(sdk, OPENAI_TAILS[tail])
    if sdk == "google-genai":
        method = tail.rpartition(".")[2]
        if method in GOOGLE_METHODS:
            return SdkCall(sdk, GOOGLE_METHODS[method])
    if sdk == "ollama" and tail in OLLAMA_METHODS:
        return SdkCall(sdk, OLLAMA_METHODS[tail])
    if sdk == "litellm" and tail in LITELLM_METHODS:
        return SdkCall(sdk, LITELLM_METHODS[tail])
    if sdk == "llmcontrol" and tail in LLMCONTROL_METHODS:
        factory = path.rpartition("().")[0][len(root) + 1:]
        if factory in LLMCONTROL_FACTORIES:
            return SdkCall(sdk, LLMCONTROL_METHODS[tail])
    return None


def match_unresolved(chain: str, imported_sdks: set[str]) -> SdkCall | None:
    """A call on a receiver the scanner could not follow (a dict of clients, a parameter).

    Counted only when the module imports that SDK, and only for the long, specific
    method chains (never a bare `.chat`).
    """
    for tails, sdk in ((ANTHROPIC_TAILS, "anthropic"), (OPENAI_TAILS, "openai")):
        if sdk in imported_sdks:
            for tail, streaming in tails.items():
                if "." in tail and chain.endswith("." + tail):
                    return SdkCall(sdk, streaming)
    if "google-genai" in imported_sdks:
        method = chain.rpartition(".")[2]
        if method in GOOGLE_METHODS:
            return SdkCall("google-genai", GOOGLE_METHODS[method])
    return None


def sdk_of_module(module: str) -> str | None:
    split = _split_root(module)
    return split[0] if split else None


def http_method(path: str) -> str | None:
    """`post`, `request`, `stream`, `urlopen` or `fetch` for an HTTP-library call, else None."""
    if path == "fetch":
        return "fetch"
    if path == "axios":
        return "request"
    for root in HTTP_ROOTS:
        if path.startswith(root + "."):
            method = path.rpartition(".")[2]
            return method if method in HTTP_METHODS else None
    return None


PROSE = re.compile(r"\S\s+\S")


def prompt_text(strings: list[str]) -> str:
    """The strings of a call that read as prose (a prompt), not as a key, name or URL."""
    return " ".join(s.strip() for s in strings if PROSE.search(s))


def provider_path(text: str) -> str | None:
    found = PROVIDER_PATH.search(text)
    return found.group(1) if found else None


def gemini_model(url: str) -> str | None:
    found = GEMINI_MODEL_IN_URL.search(url)
    return found.group(1) if found else None

"""Python detection: aliases, indirection, raw HTTP, and what must never count."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmcontrol.audit import audit_tree
from llmcontrol.audit.models import ParseFailure
from llmcontrol.audit.python_resolve import Resolver
from llmcontrol.audit.python_scanner import scan_python


def sites(source: str) -> list[tuple[int, str, str | None, bool]]:
    scanned = scan_python(textwrap.dedent(source).encode(), "module.py")
    return [(s.line, s.sdk, s.model, s.streaming) for s in scanned.sites]


def test_a_client_from_a_global_getter_used_in_another_function() -> None:
    assert sites("""
        import anthropic
        _client = None
        def get_client():
            global _client
            if _client is None:
                _client = anthropic.AsyncAnthropic()
            return _client
        async def label(text):
            return await get_client().messages.create(model="claude-3-5-haiku-latest")
    """) == [(10, "anthropic", "claude-3-5-haiku-latest", False)]


def test_a_client_behind_a_property_and_a_class_level_model_constant() -> None:
    assert sites("""
        from functools import cached_property
        from openai import AsyncOpenAI
        class Bot:
            MODEL = "gpt-4o-mini"
            @cached_property
            def client(self):
                return AsyncOpenAI()
            async def run(self):
                return await self.client.responses.create(model=self.MODEL, stream=True)
    """) == [(10, "openai", "gpt-4o-mini", True)]


def test_annotated_parameters_and_attributes_are_clients_too() -> None:
    assert sites("""
        from __future__ import annotations
        import anthropic
        from openai import OpenAI
        def ask(client: anthropic.Anthropic, text):
            return client.messages.create(model="claude-3-opus-latest")
        class Holder:
            client: OpenAI | None
            def ask(self):
                return self.client.chat.completions.create(model="gpt-4o")
    """) == [(6, "anthropic", "claude-3-opus-latest", False), (10, "openai", "gpt-4o", False)]


def test_a_client_held_in_a_pool_counts_when_the_module_imports_the_sdk() -> None:
    assert sites("""
        import anthropic
        CLIENTS = {}
        def ask(key):
            return CLIENTS[key].messages.create(model="claude-sonnet-4-5")
    """) == [(5, "anthropic", "claude-sonnet-4-5", False)]


def test_the_same_method_names_without_an_sdk_import_are_not_sites() -> None:
    assert sites("""
        def notify(inbox, chat):
            inbox.messages.create("hello")
            chat.completions.create("hi")
            chat.generate("x")
    """) == []


def test_legacy_and_module_level_sdk_calls() -> None:
    assert sites("""
        import openai
        import litellm as ll
        from google import generativeai as genai
        from ollama import generate
        openai.ChatCompletion.create(model="gpt-3.5-turbo")
        ll.acompletion(model="ollama/llama3.2", stream=True)
        genai.GenerativeModel("gemini-1.5-flash").generate_content("hi")
        generate(model="llama3.2:1b", prompt="hi")
    """) == [
        (6, "openai", "gpt-3.5-turbo", False),
        (7, "litellm", "ollama/llama3.2", True),
        (8, "google-genai", "gemini-1.5-flash", False),
        (9, "ollama", "llama3.2:1b", False),
    ]


def test_raw_http_finds_the_path_in_the_call_a_helper_or_the_function() -> None:
    assert sites("""
        import httpx, requests
        BASE = "http://localhost:11434"
        class Adapter:
            def _url(self, path):
                return BASE + path
            def chat(self, body):
                return httpx.post(self._url("/api/chat"), json=body)
            def stream(self, body):
                url = self._url("/v1/chat/completions")
                with httpx.stream("POST", url, json=body) as response:
                    return response.read()
            def tags(self):
                return httpx.get(self._url("/api/tags"))
            def request_get(self):
                return requests.request("GET", BASE + "/api/chat")
    """) == [(8, "http", None, False), (11, "http", None, True)]


def test_a_post_to_another_endpoint_is_not_a_site_even_near_a_provider_path() -> None:
    assert sites("""
        import requests
        def report():
            note = "ollama answers on /api/chat"
            requests.post("https://hooks.invalid/notify", json={"text": note})
    """) == []


def test_a_post_helper_makes_each_caller_with_a_provider_path_a_site() -> None:
    assert sites("""
        import httpx
        class Client:
            def _post(self, path, payload):
                return httpx.post("http://127.0.0.1:8080" + path, json=payload)
            def classify(self, text):
                return self._post("/v1/chat/completions", {"model": "qwen2.5:7b", "stream": True})
            def metrics(self, rows):
                return self._post("/api/v1/metrics", {"rows": rows})
    """) == [(7, "http", "qwen2.5:7b", True)]


def test_comments_docstrings_and_strings_never_count() -> None:
    assert sites('''
        """anthropic.Anthropic().messages.create(model="x")"""
        import anthropic
        # anthropic.Anthropic().messages.create(model="x")
        def f():
            """client.messages.create()"""
            return "anthropic.Anthropic().messages.create()"
    ''') == []


def test_a_syntax_error_and_undecodable_bytes_are_parse_failures() -> None:
    with pytest.raises(ParseFailure, match=r"^SyntaxError: .* \(line 1\)$"):
        scan_python(b"def (:\n", "bad.py")
    with pytest.raises(ParseFailure, match=r"^not utf-8 text \(byte 2\)$"):
        scan_python(b"# \xff\n", "bad.py")


def test_a_latin1_declaration_is_honoured() -> None:
    source = "# -*- coding: latin-1 -*-\n# caf\xe9\nimport ollama\nollama.chat(model='x')\n"

    scanned = scan_python(source.encode("latin-1"), "m.py")

    assert [(s.line, s.sdk) for s in scanned.sites] == [(4, "ollama")]


def test_a_request_hook_joins_a_base_class_and_subclasses_in_other_files(write_tree) -> None:
    root: Path = write_tree({
        "pkg/base.py": textwrap.dedent("""
            import httpx
            class Base:
                def __init__(self):
                    self._http = httpx.AsyncClient()
                async def send(self, request):
                    path, body = self._endpoint(request)
                    return await self._http.post(path, json=body)
        """),
        "pkg/local.py": textwrap.dedent("""
            from pkg.base import Base
            class Middle(Base):
                pass
            class Local(Middle):
                def _endpoint(self, request):
                    return "/api/generate", {"model": "gemma2:2b", "prompt": request}
        """),
    })

    result = audit_tree(root)

    assert [(s.file, s.line, s.call, s.model) for s in result.sites] == [
        ("pkg/local.py", 7, "httpx.AsyncClient().post /api/generate", "gemma2:2b")]


def test_rebinding_chains_are_followed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`text = text.strip()` thirty times: without memoised answers the search is exponential."""
    calls = 0
    original = Resolver.resolve

    def counting(self, expr, scope, depth=0):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        assert calls < 10_000, "resolution is re-exploring rebinding chains"
        return original(self, expr, scope, depth)

    monkeypatch.setattr(Resolver, "resolve", counting)
    body = "\n".join(["    text = text.strip()"] * 30)

    found = sites(f"import ollama\ndef f(text):\n{body}\n    return ollama.chat(model=text)\n")

    assert found == [(33, "ollama", None, False)]

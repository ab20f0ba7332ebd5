"""JavaScript/TypeScript detection through tree-sitter."""

from __future__ import annotations

import textwrap

import pytest

from llmcontrol.audit.js_resolve import JsResolver
from llmcontrol.audit.js_scanner import scan_js
from llmcontrol.audit.models import ParseFailure


def sites(source: str, dialect: str = "javascript") -> list[tuple[int, str, str | None, bool]]:
    scanned = scan_js(textwrap.dedent(source).encode(), "module.js", dialect)
    return [(s.line, s.sdk, s.model, s.streaming) for s in scanned]


def test_comments_strings_and_template_text_never_count() -> None:
    assert sites("""
        import Anthropic from "@anthropic-ai/sdk";
        const client = new Anthropic();
        // client.messages.create({ model: "a" });
        /* client.messages.create({ model: "b" }); */
        const s = 'client.messages.create({ model: "c" })';
        const t = `client.messages.create({ model: "d" }) ${"x"}`;
    """) == []


def test_code_inside_a_template_substitution_is_code() -> None:
    assert sites("""
        import OpenAI from "openai";
        const openai = new OpenAI();
        const t = `${await openai.chat.completions.create({ model: "gpt-4o-mini" })}`;
    """) == [(4, "openai", "gpt-4o-mini", False)]


def test_require_destructuring_aliases_and_a_client_made_in_another_function() -> None:
    assert sites("""
        const { Anthropic: Claude } = require("@anthropic-ai/sdk");
        let client;
        function init() { client = new Claude(); }
        const makeOther = () => new Claude();
        async function triage(text) {
          await makeOther().messages.create({ model: "claude-3-5-haiku-latest" });
          return client.messages.stream({ model: "claude-3-5-sonnet-latest" });
        }
    """) == [(7, "anthropic", "claude-3-5-haiku-latest", False),
             (8, "anthropic", "claude-3-5-sonnet-latest", True)]


def test_ollama_default_export_and_class_and_shorthand_model() -> None:
    assert sites("""
        import ollama, { Ollama } from "ollama";
        const model = "llama3.2:3b";
        await ollama.chat({ model, messages: [], stream: true });
        await new Ollama({ host: "http://127.0.0.1:11434" }).generate({ model: "qwen3:8b" });
    """) == [(4, "ollama", "llama3.2:3b", True), (5, "ollama", "qwen3:8b", False)]


def test_legacy_google_sdk_takes_the_model_from_the_factory_call() -> None:
    assert sites("""
        import { GoogleGenerativeAI } from "@google/generative-ai";
        const genAI = new GoogleGenerativeAI(process.env.KEY);
        const m = genAI.getGenerativeModel({ model: "gemini-1.5-flash" });
        await m.generateContentStream("hi");
    """) == [(5, "google-genai", "gemini-1.5-flash", True)]


def test_fetch_and_axios_count_only_posts_to_provider_paths() -> None:
    assert sites("""
        import axios from "axios";
        const BASE = "http://localhost:11434";
        const api = axios.create({ baseURL: BASE });
        await fetch(`${BASE}/api/tags`);
        await fetch(`${BASE}/api/chat`, { method: "GET" });
        await fetch(`${BASE}/api/chat`, { method: "POST", body: "{}" });
        await api.post("/api/generate", { model: "phi3" });
        await axios({ url: "https://api.anthropic.com/v1/messages", method: "post" });
        await axios({ url: "https://api.anthropic.com/v1/messages", method: "get" });
        await fetch("https://hooks.invalid/notify", { method: "POST" });
    """) == [(7, "http", None, False), (8, "http", "phi3", False), (9, "http", None, False)]


def test_typescript_constructor_parameter_property_is_a_client() -> None:
    assert sites("""
        import OpenAI from "openai";
        export class Service {
          constructor(private readonly client: OpenAI) {}
          run(): Promise<unknown> {
            return this.client.responses.create({ model: "o3" });
          }
        }
    """, "typescript") == [(6, "openai", "o3", False)]


def test_syntax_errors_and_undecodable_bytes_are_parse_failures() -> None:
    with pytest.raises(ParseFailure, match=r"^syntax error \(line 2\)$"):
        scan_js(b"const a = 1;\nconst = ;\n", "bad.js", "javascript")
    with pytest.raises(ParseFailure, match=r"^not UTF-8 text \(byte 0\)$"):
        scan_js(b"\xff\xfe", "bad.js", "javascript")


def test_a_client_the_scanner_cannot_follow_counts_when_the_file_imports_the_sdk() -> None:
    assert sites("""
        import OpenAI from "openai";
        import { pool } from "./pool";
        export const ask = (key) => pool.get(key).chat.completions.create({ model: "gpt-4o" });
        export const other = (inbox) => inbox.messages.create({ text: "hi" });
    """) == [(4, "openai", "gpt-4o", False)]


def test_rebinding_chains_are_followed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`text = text.trim()` thirty times: without memoised answers the search is exponential."""
    calls = 0
    original = JsResolver.resolve

    def counting(self, node, scope, depth=0):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        assert calls < 10_000, "resolution is re-exploring rebinding chains"
        return original(self, node, scope, depth)

    monkeypatch.setattr(JsResolver, "resolve", counting)
    body = "\n".join(["  text = text.trim();"] * 30)

    found = sites(f'import ollama from "ollama";\nfunction f(text) {{\n{body}\n'
                  "  return ollama.chat({ model: text });\n}\n")

    assert found == [(33, "ollama", None, False)]

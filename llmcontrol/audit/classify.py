"""Tier estimate for one call site: from the model's family and from purpose hints.

Order of evidence, strongest first:
1. security/critical purpose -> opus (never local, whatever the model);
2. an opus-class model -> opus;
3. a cheap-task purpose (classify, triage, extract, ...) -> haiku-eligible, even on a
   bigger model: the point of the audit is to find work a cheap model can do;
4. the model's family;
5. a generation/analysis purpose -> sonnet;
6. otherwise unknown.
"""

from __future__ import annotations

import re

from llmcontrol.audit.models import Hint

# (regex on lower-cased text, what it means)
OPUS_HINTS = (
    (r"secur", "security work"),
    (r"vulnerab", "vulnerability analysis"),
    (r"critical", "critical work"),
    (r"exploit", "exploit analysis"),
    (r"threat", "threat analysis"),
)
HAIKU_HINTS = (
    (r"classif", "classification"),
    (r"triage", "triage"),
    (r"label", "labelling"),
    (r"extract", "extraction"),
    (r"screen", "screening"),
    (r"categori[sz]", "categorization"),
    (r"sentiment", "sentiment classification"),
    (r"(short|brief|one[ _-]?(line|sentence))[ _-]*summar|summar\w*[ _-]+(short|brief)|tl;?dr",
     "a short summary"),
)
SONNET_HINTS = (
    (r"generat", "generation"),
    (r"analy[sz]", "analysis"),
    (r"validat", "validation"),
    (r"design", "design"),
    (r"review", "review"),
)

HAIKU_MODEL_TOKENS = frozenset({"haiku", "mini", "flash", "nano", "lite", "instant"})
SONNET_MODEL_TOKENS = frozenset({"sonnet", "4o", "pro", "turbo"})
LOCAL_FAMILIES = (
    "llama", "qwen", "mistral", "mixtral", "phi", "gemma", "smollm", "tinyllama", "deepseek",
    "codellama", "granite", "olmo", "starcoder",
)
LOCAL_SMALL_MAX_BILLIONS = 14.0
OPENAI_REASONING = re.compile(r"^o[134](-pro|-preview)?(-\d{4}-\d{2}-\d{2})?$")


def model_family(model: str) -> tuple[str, str] | None:
    """(tier, why) for a model name, or None when the name says nothing."""
    name = model.lower().strip()
    tokens = set(re.split(r"[-_:/\s@]+", name))
    if "opus" in tokens or OPENAI_REASONING.match(name):
        return "opus", "an opus model"
    size = re.search(r"[:\-_](\d+(?:\.\d+)?)b\b", name)
    if is_local_model(name):
        if size is None or float(size.group(1)) <= LOCAL_SMALL_MAX_BILLIONS:
            return "haiku", "a small local model"
        return "sonnet", "a large local model"
    if tokens & HAIKU_MODEL_TOKENS or name.startswith("gpt-3.5"):
        return "haiku", "a haiku model"
    if tokens & SONNET_MODEL_TOKENS or re.match(r"(chat)?gpt-[45]", name) or "gemini" in name:
        return "sonnet", "a sonnet model"
    return None


def is_local_model(model: str | None) -> bool:
    """An open-weights model name as Ollama or LiteLLM spell it (`llama3.2:3b`, `ollama/qwen3`)."""
    if not model:
        return False
    name = model.lower().rpartition("/")[2]
    return any(name.startswith(family) for family in LOCAL_FAMILIES)


def is_local_call(sdk: str, call: str, model: str | None) -> bool:
    """Already served by a local model: nothing to save by moving it."""
    return sdk == "ollama" or call.endswith(("/api/chat", "/api/generate")) or is_local_model(
        model)


def _find(patterns: tuple[tuple[str, str], ...], hints: list[Hint]) -> tuple[Hint, str, str] | None:
    for hint in hints:
        text = hint.text.lower()
        for pattern, meaning in patterns:
            found = re.search(pattern, text)
            if found:
                return hint, meaning, found.group(0)
    return None


def _describe(found: tuple[Hint, str, str]) -> str:
    hint, meaning, _ = found
    if hint.source == "prompt text":
        word = re.search(r"[\w;-]*" + re.escape(found[2]) + r"[\w-]*", hint.text.lower())
        shown = word.group(0) if word else found[2]
        return f"prompt text mentions '{shown}', suggesting {meaning}"
    return f"{hint.source} '{hint.text}' suggests {meaning}"


def estimate_tier(model: str | None, hints: list[Hint]) -> tuple[str, str]:
    """(tier, reason): tier is haiku, sonnet, opus or unknown; reason is one readable line."""
    family = model_family(model) if model else None
    model_part = f"model '{model}' is {family[1]}" if family and model else None
    opus = _find(OPUS_HINTS, hints)
    if opus:
        parts = [f"{_describe(opus)} (opus, never local)", model_part]
        return "opus", "; ".join(p for p in parts if p)
    if family and family[0] == "opus":
        return "opus", f"{model_part} (never local)"
    haiku = _find(HAIKU_HINTS, hints)
    if haiku:
        if family and family[0] != "haiku":
            return "haiku", f"{_describe(haiku)}; haiku-eligible although {model_part}"
        return "haiku", "; ".join(p for p in (model_part, _describe(haiku)) if p)
    if family:
        return family[0], model_part or ""
    sonnet = _find(SONNET_HINTS, hints)
    if sonnet:
        return "sonnet", _describe(sonnet)
    if model:
        return "unknown", f"model '{model}' has no known family and no purpose hint was found"
    return "unknown", "model not visible in the source and no purpose hint was found"

"""Suite files: benchmark cases as data, shipped in `benchmarks/suites/*.toml`.

Plain Python, no Django. A file holds cases of one or more categories:

    [defaults]                       # optional; merged into every case of the file
    category = "classify"
    system = "Answer with exactly one label: bug, feature, refactor or docs."
    max_tokens = 8
    check = { kind = "label", labels = ["bug", "feature", "refactor", "docs"] }

    [[cases]]
    key = "classify-export-empty-list"    # unique across all suites
    prompt = "The export button does nothing when the list is empty."
    check = { expected = "bug" }          # merged over defaults.check

Fields: key, category, prompt, system, check, max_tokens, response (text, json,
schema), variants (for "{variant}" in speed prompts), note. The loader
(`benchmarks.actions.load_suites`) stores them as BenchmarkCase rows, which the
admin can then edit; `SuiteError` names the file, the case and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.checks import CheckError, parse_check
from benchmarks.runner import CATEGORIES, CaseSpec

SUITES_DIR = Path(__file__).parent / "suites"
RESPONSES = ("text", "json", "schema")
FIELDS = frozenset({"key", "category", "prompt", "system", "check", "max_tokens", "response",
                    "variants", "note"})


class SuiteError(ValueError):
    pass


@dataclass(frozen=True)
class CaseDefinition:
    """One case as written in a file (its check still a dict), in file order."""

    key: str
    category: str
    prompt: str
    check: dict[str, Any]
    system: str = ""
    max_tokens: int = 256
    response: str = "text"
    variants: tuple[str, ...] = ()
    note: str = ""
    source: str = ""
    position: int = 0


def validate_case(*, key: str, category: str, prompt: str, check: Any, max_tokens: int,
                  response: str, variants: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Problems with one case, by field name (empty when it is usable). Shared by the
    file loader and the admin's form validation."""
    problems: dict[str, str] = {}
    if category not in CATEGORIES:
        problems["category"] = f"unknown category {category!r}; expected one of " \
                               f"{', '.join(CATEGORIES)}"
    if not prompt.strip():
        problems["prompt"] = "the user prompt is empty"
    try:
        parsed = parse_check(check)
    except CheckError as error:
        problems["check"] = str(error)
    else:
        if response == "schema" and parsed.kind != "json_schema":
            problems["response"] = "response 'schema' sends the check's schema: " \
                                   "use a json_schema check"
    if response not in RESPONSES:
        problems["response"] = f"unknown response {response!r}; expected one of " \
                               f"{', '.join(RESPONSES)}"
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        problems["max_tokens"] = "max_tokens must be a positive integer"
    if "{variant}" in prompt and not variants:
        problems["variants"] = "the prompt uses {variant} but there are no variants"
    if any(not isinstance(v, str) or not v.strip() for v in variants):
        problems["variants"] = "variants must be non-empty strings"
    if not key.strip():
        problems["key"] = "every case needs a key"
    return problems


def to_spec(definition: CaseDefinition) -> CaseSpec:
    return CaseSpec(key=definition.key, category=definition.category,
                    prompt=definition.prompt, check=parse_check(definition.check),
                    system=definition.system, max_tokens=definition.max_tokens,
                    response=definition.response, variants=definition.variants)


def read_suite(path: Path) -> list[CaseDefinition]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SuiteError(f"{path.name}: {error}") from None
    defaults = data.get("defaults", {})
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases:
        raise SuiteError(f"{path.name}: no [[cases]]")
    return [_definition(path.name, position, defaults, raw)
            for position, raw in enumerate(cases)]


def read_suites(directory: Path = SUITES_DIR) -> list[CaseDefinition]:
    """Every case of every `*.toml` file in the directory; keys must be unique."""
    definitions: list[CaseDefinition] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        for definition in read_suite(path):
            if definition.key in seen:
                raise SuiteError(f"{path.name}: case {definition.key!r} is also in "
                                 f"{seen[definition.key]}")
            seen[definition.key] = path.name
            definitions.append(definition)
    return definitions


def _definition(source: str, position: int, defaults: dict[str, Any],
                raw: dict[str, Any]) -> CaseDefinition:
    where = f"{source}: case {raw.get('key', position + 1)!r}"
    unknown = set(raw) - FIELDS
    if unknown:
        raise SuiteError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    merged = {**defaults, **raw}
    check = {**defaults.get("check", {}), **raw.get("check", {})}
    fields = {
        "key": str(merged.get("key", "")), "category": str(merged.get("category", "")),
        "prompt": str(merged.get("prompt", "")).strip(), "check": check,
        "max_tokens": merged.get("max_tokens", 256),
        "response": str(merged.get("response", "text")),
        "variants": tuple(merged.get("variants", ())),
    }
    problems = validate_case(**fields)
    if problems:
        field, problem = next(iter(problems.items()))
        raise SuiteError(f"{where}: {field}: {problem}")
    return CaseDefinition(**fields, system=str(merged.get("system", "")).strip(),
                          note=str(merged.get("note", "")), source=source, position=position)

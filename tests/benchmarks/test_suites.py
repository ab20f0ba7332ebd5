"""The shipped suites, the file format's errors, and loading into the database."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks.actions import load_suites
from benchmarks.models import BenchmarkCase, VerdictPolicy
from benchmarks.runner import AGENT_CATEGORIES, CORE_CATEGORIES
from benchmarks.suites import SuiteError, read_suite, read_suites, to_spec


def test_shipped_suites_cover_every_category() -> None:
    definitions = read_suites()
    counts = Counter(d.category for d in definitions)
    assert all(counts[c] >= 8 for c in CORE_CATEGORIES), counts
    assert all(counts[c] >= 3 for c in AGENT_CATEGORIES), counts
    for definition in definitions:  # every case builds a runnable spec
        spec = to_spec(definition)
        assert spec.request(0).temperature == 0.0
    speed = [d for d in definitions if d.category == "speed"]
    assert all("{variant}" in d.prompt and len(d.variants) >= 3 for d in speed)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("[defaults]\ncategory = 'classify'\n", "suite.toml: no [[cases]]"),
    ("[[cases]]\nkey = 'a'\ncategory = 'poetry'\nprompt = 'p'\ncheck = {kind = 'equals', "
     "value = 'x'}\n",
     "suite.toml: case 'a': category: unknown category 'poetry'; expected one of speed, "
     "classify, json, instruct, rca, design, quickfix, schema, review"),
    ("[[cases]]\nkey = 'a'\ncategory = 'json'\nprompt = 'p'\nresponse = 'schema'\n"
     "check = {kind = 'equals', value = 'x'}\n",
     "suite.toml: case 'a': response: response 'schema' sends the check's schema: "
     "use a json_schema check"),
    ("[[cases]]\nkey = 'a'\ncategory = 'speed'\nprompt = 'About {variant}'\n"
     "check = {kind = 'regex', pattern = 'x'}\n",
     "suite.toml: case 'a': variants: the prompt uses {variant} but there are no variants"),
    ("[[cases]]\nkey = 'a'\ncategory = 'instruct'\nprompt = 'p'\ncheck = {kind = 'equals'}\n",
     "suite.toml: case 'a': check: equals: 'value' must be a non-empty string"),
    ("[[cases]]\nkey = 'a'\ncategory = 'instruct'\nprompt = 'p'\ntypo = 1\n"
     "check = {kind = 'equals', value = 'x'}\n",
     "suite.toml: case 'a': unknown field(s) typo"),
    ("[[cases]\n", "suite.toml: Expected ']]' at the end of an array declaration (at line 1, "
                   "column 8)"),
])
def test_suite_errors_name_the_file_case_and_field(tmp_path: Path, text: str,
                                                   message: str) -> None:
    with pytest.raises(SuiteError) as raised:
        read_suite(write(tmp_path, text))
    assert str(raised.value) == message


def test_defaults_merge_into_cases_and_their_checks(tmp_path: Path) -> None:
    [case] = read_suite(write(tmp_path, """
[defaults]
category = "classify"
system = "One label."
max_tokens = 8
check = { kind = "label", labels = ["bug", "docs"] }

[[cases]]
key = "c"
prompt = "  Typo in README.  "
check = { expected = "docs" }
"""))
    assert (case.category, case.system, case.max_tokens, case.prompt) == (
        "classify", "One label.", 8, "Typo in README.")
    assert case.check == {"kind": "label", "labels": ["bug", "docs"], "expected": "docs"}


def test_duplicate_keys_across_files_are_refused(tmp_path: Path) -> None:
    case = "[[cases]]\nkey = 'same'\ncategory = 'instruct'\nprompt = 'p'\n" \
           "check = {kind = 'equals', value = 'x'}\n"
    (tmp_path / "a.toml").write_text(case)
    (tmp_path / "b.toml").write_text(case)
    with pytest.raises(SuiteError, match=r"^b.toml: case 'same' is also in a.toml$"):
        read_suites(tmp_path)


def test_loading_keeps_admin_edits_unless_updating(db: None) -> None:
    total = len(read_suites())
    assert load_suites() == {"created": total, "updated": 0, "kept": 0}
    assert VerdictPolicy.objects.count() == 2
    BenchmarkCase.objects.filter(key="classify-dark-mode").update(user_prompt="edited")
    BenchmarkCase.objects.create(key="mine", category="instruct", user_prompt="p",
                                 check_spec={"kind": "equals", "value": "x"})
    assert load_suites() == {"created": 0, "updated": 0, "kept": total}
    assert BenchmarkCase.objects.get(key="classify-dark-mode").user_prompt == "edited"
    assert load_suites(update=True, keys={"classify-dark-mode"}) == {
        "created": 0, "updated": 1, "kept": 0}
    assert BenchmarkCase.objects.get(key="classify-dark-mode").user_prompt.startswith(
        "Please add a dark mode")
    assert BenchmarkCase.objects.get(key="mine").user_prompt == "p"
    assert BenchmarkCase.objects.count() == total + 1


def test_a_case_edited_in_the_admin_is_validated(db: None) -> None:
    from django.core.exceptions import ValidationError

    case = BenchmarkCase(key="bad", category="speed", user_prompt="About {variant}",
                         check_spec={"kind": "regex", "pattern": "("}, variants=[])
    with pytest.raises(ValidationError) as raised:
        case.full_clean()
    assert raised.value.message_dict == {
        "check_spec": ["regex: bad pattern: missing ), unterminated subpattern at position 0"],
        "variants": ["the prompt uses {variant} but there are no variants"],
    }

"""Import and export of the seed's routing file: lossless, atomic, precise errors."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registry.defaults import ROUTING_FILE
from registry.models import RegistryState, RoutingRule

pytestmark = pytest.mark.usefixtures("seeded_registry")


def export(*args: str) -> str:
    out = StringIO()
    call_command("export_routing", *args, stdout=out)
    return out.getvalue()


def rules_state() -> list:
    return sorted(
        RoutingRule.objects.values_list("kind", "phase", "sub_agent", "purpose", "tier", "position")
    )


def test_export_of_an_import_reproduces_the_seed_file_byte_for_byte(tmp_path: Path) -> None:
    call_command("import_routing", str(ROUTING_FILE), stdout=StringIO())
    assert export() == ROUTING_FILE.read_text()


def test_a_file_in_the_seeds_own_shape_round_trips(tmp_path: Path) -> None:
    seed_shape = {
        "version": "1.0",
        "_comment": "kept as is",
        "phaseOverrides": {
            "EXEC": {"TESTING": "sonnet", "DOCMON": "haiku"},
            "LEAD": {"RISK": "opus"},
        },
        "defaults": {"RCA": "sonnet", "QUICKFIX": "haiku"},
        "metadata": {"owner": "platform", "reviewed": ["2026-01-02"]},
    }
    path = tmp_path / "phase-model-routing.json"
    path.write_text(json.dumps(seed_shape, indent=2) + "\n")
    purposes_before = RoutingRule.objects.filter(kind="purpose").count()

    call_command("import_routing", str(path), stdout=StringIO())

    text = export()
    assert json.loads(text) == seed_shape
    assert list(json.loads(text)) == list(seed_shape)  # key order kept too
    assert text == path.read_text()
    # Sections absent from the file are left alone.
    assert RoutingRule.objects.filter(kind="purpose").count() == purposes_before


def test_export_all_adds_the_sections_the_file_lacked(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"defaults": {"RCA": "sonnet"}}))
    call_command("import_routing", str(path), stdout=StringIO())
    exported = json.loads(export("--all"))
    assert list(exported) == ["defaults", "phaseOverrides", "purposes", "defaultTier"]
    assert exported["purposes"]["classification"] == "haiku"


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "{not json",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1",
        ),
        ("[]", "top level: expected an object, got list"),
        ('{"defaults": {"RCA": "gpt-5"}}', "defaults.RCA: unknown tier 'gpt-5'"),
        ('{"defaults": {"RCA": 3}}', "defaults.RCA: expected a tier name, got int"),
        (
            '{"phaseOverrides": {"EXEC": "haiku"}}',
            "phaseOverrides.EXEC: expected an object, got str",
        ),
        (
            '{"phaseOverrides": {"EXEC": {"QA": "Haiku"}}}',
            "phaseOverrides.EXEC.QA: unknown tier 'Haiku'",
        ),
        (
            '{"defaults": {"RCA": "haiku", "rca": "sonnet"}}',
            "defaults.rca: duplicates defaults.RCA",
        ),
        ('{"defaultTier": ["haiku"]}', "defaultTier: expected a tier name, got list"),
    ],
)
def test_a_bad_file_is_rejected_with_file_key_and_reason_and_nothing_is_written(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    before, version = rules_state(), RegistryState.objects.get(pk=1).version
    with pytest.raises(CommandError) as excinfo:
        call_command("import_routing", str(path))
    assert str(excinfo.value).startswith(f"{path}: {message}")
    assert str(excinfo.value).endswith("nothing imported")
    assert rules_state() == before
    assert RegistryState.objects.get(pk=1).version == version


def test_a_valid_section_before_a_bad_one_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "half.json"
    path.write_text(
        json.dumps({"phaseOverrides": {"EXEC": {"NEW": "haiku"}}, "defaults": {"RCA": "mythos"}})
    )
    before = rules_state()
    with pytest.raises(CommandError, match="defaults.RCA: unknown tier 'mythos'"):
        call_command("import_routing", str(path))
    assert rules_state() == before


def test_a_rule_for_a_tier_without_cloud_models_is_refused_atomically(tmp_path: Path) -> None:
    from registry.models import Model

    RoutingRule.objects.filter(tier="opus").delete()
    Model.objects.filter(tier="opus").update(status="inactive")
    path = tmp_path / "opus.json"
    path.write_text(json.dumps({"defaults": {"RCA": "haiku", "SECURITY": "opus"}}))
    before = rules_state()
    with pytest.raises(CommandError, match="Tier 'opus' has no active cloud model"):
        call_command("import_routing", str(path))
    assert rules_state() == before


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="missing.json: cannot read"):
        call_command("import_routing", str(tmp_path / "missing.json"))


def test_import_bumps_the_version_once() -> None:
    version = RegistryState.objects.get(pk=1).version
    call_command("import_routing", str(ROUTING_FILE), stdout=StringIO())
    assert RegistryState.objects.get(pk=1).version == version + 1

"""Registry invariants, enforced in the model layer; refused changes leave the DB unchanged."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from registry import actions
from registry.models import Model, ModelStatus, Provider, RegistryState, RoutingRule

pytestmark = pytest.mark.usefixtures("seeded_registry")


def db_state() -> tuple:
    return (
        sorted(Model.objects.values_list("provider__key", "model_key", "tier", "status")),
        sorted(Provider.objects.values_list("key", "enabled", "is_local")),
        RoutingRule.objects.count(),
        RegistryState.objects.get(pk=1).version,
    )


def test_an_opus_model_can_never_be_local() -> None:
    ollama = Provider.objects.get(key="ollama")
    model = Model(provider=ollama, model_key="qwen-opus", display_name="x", tier="opus",
                  input_price_per_mtok=Decimal(0), output_price_per_mtok=Decimal(0))
    with pytest.raises(ValidationError) as excinfo:
        model.full_clean()
    assert excinfo.value.message_dict["tier"] == [
        "An opus model can never be local: pick a cloud provider or another tier."]


def test_a_provider_serving_opus_cannot_become_local() -> None:
    anthropic = Provider.objects.get(key="anthropic")
    anthropic.is_local = True
    with pytest.raises(ValidationError, match="opus can never be local"):
        anthropic.full_clean()


def test_model_keys_are_unique_per_provider() -> None:
    existing = Model.objects.get(model_key="claude-sonnet-4-20250514")
    duplicate = Model(provider=existing.provider, model_key=existing.model_key, display_name="d",
                      tier="sonnet", input_price_per_mtok=1, output_price_per_mtok=1)
    with pytest.raises(ValidationError, match="already exists"):
        duplicate.full_clean()


def test_deactivating_the_last_cloud_model_of_a_busy_tier_is_refused() -> None:
    before = db_state()
    sonnet = Model.objects.filter(model_key="claude-sonnet-4-20250514")
    with pytest.raises(ValidationError) as excinfo:
        actions.set_models_status(sonnet, ModelStatus.INACTIVE)
    assert "would leave tier 'sonnet' without an active cloud model" in excinfo.value.messages[0]
    assert db_state() == before


def test_deactivating_one_of_several_cloud_models_is_allowed() -> None:
    count = actions.set_models_status(Model.objects.filter(model_key="gpt-4o-mini"),
                                      ModelStatus.INACTIVE)
    assert count == 1
    assert Model.objects.get(model_key="gpt-4o-mini").status == "inactive"


def test_deactivating_all_cloud_haiku_models_at_once_is_refused_whole() -> None:
    before = db_state()
    cloud_haiku = Model.objects.filter(tier="haiku", provider__is_local=False)
    assert cloud_haiku.count() == 3
    with pytest.raises(ValidationError, match="tier 'haiku'"):
        actions.set_models_status(cloud_haiku, ModelStatus.INACTIVE)
    assert db_state() == before


def test_moving_the_last_opus_model_to_another_tier_is_refused() -> None:
    opus = Model.objects.get(model_key="claude-opus-4-5-20251101")
    opus.tier = "sonnet"
    with pytest.raises(ValidationError, match="tier 'opus'"):
        opus.full_clean()


def test_disabling_the_only_sonnet_provider_is_refused() -> None:
    anthropic = Provider.objects.get(key="anthropic")
    anthropic.enabled = False
    with pytest.raises(ValidationError, match="Disabling or localising anthropic would leave tier"):
        anthropic.full_clean()


def test_deleting_the_last_cloud_model_is_refused() -> None:
    before = db_state()
    with pytest.raises(ValidationError):
        actions.delete_models(Model.objects.filter(model_key="claude-opus-4-5-20251101"))
    assert db_state() == before


def test_a_tier_without_traffic_may_lose_its_cloud_models() -> None:
    RoutingRule.objects.filter(tier="opus").delete()
    actions.set_models_status(Model.objects.filter(tier="opus"), ModelStatus.INACTIVE)
    assert not Model.objects.filter(tier="opus", status="active").exists()


def test_a_rule_cannot_target_a_tier_without_a_cloud_model() -> None:
    RoutingRule.objects.filter(tier="opus").delete()
    actions.set_models_status(Model.objects.filter(tier="opus"), ModelStatus.INACTIVE)
    rule = RoutingRule(purpose="audit", tier="opus")
    with pytest.raises(ValidationError, match="Tier 'opus' has no active cloud model"):
        rule.full_clean()


def test_every_action_bumps_the_registry_version() -> None:
    version = RegistryState.objects.get(pk=1).version
    actions.set_models_status(Model.objects.filter(model_key="gpt-4o-mini"), ModelStatus.INACTIVE)
    assert RegistryState.objects.get(pk=1).version == version + 1


@pytest.mark.parametrize("fields, message", [
    ({"phase": "EXEC"}, "A phase rule needs a sub-agent."),
    ({"purpose": "triage", "sub_agent": "RCA"}, "A purpose rule matches on purpose alone"),
])
def test_rule_shapes_are_checked(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RoutingRule(tier="haiku", **fields).full_clean()

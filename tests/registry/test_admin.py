"""The registry admin, as a platform engineer uses it: list, filter, edit, refuse, audit."""

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from registry.models import Model, Provider, RegistryState

pytestmark = pytest.mark.usefixtures("seeded_registry")

SECRET = "sk-ant-test-DO-NOT-LEAK-0123456789"


@pytest.fixture
def admin_client_logged_in(admin_client: Client) -> Client:
    return admin_client


def test_model_list_filters_and_search(admin_client: Client) -> None:
    url = reverse("admin:registry_model_changelist")
    assert admin_client.get(url).status_code == 200
    local = admin_client.get(url, {"provider__is_local__exact": "1"})
    assert list(
        local.context["cl"].queryset.values_list("model_key", flat=True).order_by("model_key")
    ) == ["llama3.2:3b", "qwen3-coder:30b", "smollm2-135m-instruct"]
    found = admin_client.get(url, {"q": "sonnet"})
    assert [m.model_key for m in found.context["cl"].queryset] == ["claude-sonnet-4-20250514"]
    assert admin_client.get(url, {"tier__exact": "opus"}).context["cl"].result_count == 1


def test_model_list_makes_a_fixed_number_of_queries(
    admin_client: Client, django_assert_max_num_queries
) -> None:
    url = reverse("admin:registry_model_changelist")
    with django_assert_max_num_queries(12):
        admin_client.get(url)


def test_editing_a_model_saves_logs_history_and_bumps_the_version(admin_client: Client) -> None:
    model = Model.objects.get(model_key="gpt-4o-mini")
    version = RegistryState.objects.get(pk=1).version
    url = reverse("admin:registry_model_change", args=[model.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "provider": model.provider_id,
            "priority": 5,
            "display_name": "GPT-4o mini (fast)",
            "supports_json": "on",
            "supports_streaming": "on",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    model.refresh_from_db()
    assert (model.priority, model.display_name) == (5, "GPT-4o mini (fast)")
    assert RegistryState.objects.get(pk=1).version == version + 1
    assert LogEntry.objects.filter(object_id=str(model.pk)).count() == 1


def test_an_opus_model_on_a_local_provider_is_a_form_error(admin_client: Client) -> None:
    ollama = Provider.objects.get(key="ollama")
    url = reverse("admin:registry_model_add")
    response = admin_client.post(
        url,
        {
            "provider": ollama.pk,
            "model_key": "local-opus",
            "display_name": "nope",
            "tier": "opus",
            "status": "active",
            "priority": 1,
            "context_window": 8192,
            "input_price_per_mtok": "0",
            "output_price_per_mtok": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tier"] == [
        "An opus model can never be local: pick a cloud provider or another tier."
    ]
    assert not Model.objects.filter(model_key="local-opus").exists()


def test_deactivate_action_reports_counts_and_refuses_the_last_cloud_model(
    admin_client: Client,
) -> None:
    url = reverse("admin:registry_model_changelist")
    mini = Model.objects.get(model_key="gpt-4o-mini")
    response = admin_client.post(
        url, {"action": "deactivate", "_selected_action": [mini.pk]}, follow=True
    )
    assert "1 model(s) set inactive; 0 already were." in response.content.decode()
    assert LogEntry.objects.filter(object_id=str(mini.pk)).count() == 1

    opus = Model.objects.get(model_key="claude-opus-4-5-20251101")
    response = admin_client.post(
        url, {"action": "deactivate", "_selected_action": [opus.pk]}, follow=True
    )
    assert (
        "would leave tier &#x27;opus&#x27; without an active cloud model"
        in response.content.decode()
    )
    opus.refresh_from_db()
    assert opus.status == "active"


def test_deleting_the_last_cloud_model_is_refused_on_the_confirmation_page(
    admin_client: Client,
) -> None:
    opus = Model.objects.get(model_key="claude-opus-4-5-20251101")
    url = reverse("admin:registry_model_delete", args=[opus.pk])
    page = admin_client.get(url).content.decode()
    assert "would leave tier &#x27;opus&#x27; without an active cloud model" in page
    admin_client.post(url, {"post": "yes"})
    assert Model.objects.filter(pk=opus.pk).exists()


def test_routing_rules_are_a_table_with_editable_tiers(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:registry_routingrule_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 39
    assert "tier" in response.context["cl"].list_editable


def test_provider_page_shows_its_models_inline(admin_client: Client) -> None:
    anthropic = Provider.objects.get(key="anthropic")
    page = admin_client.get(reverse("admin:registry_provider_change", args=[anthropic.pk]))
    assert page.status_code == 200
    assert "claude-sonnet-4-20250514" in page.content.decode()


def test_no_api_key_appears_in_the_database_the_admin_or_the_logs(
    admin_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    django_db_blocker,
) -> None:
    from django.db import connection

    from llmcontrol.client.pool import provider_config
    from registry.snapshot import refresh_snapshot

    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    anthropic = Provider.objects.get(key="anthropic")
    pages = [
        admin_client.get(reverse("admin:registry_provider_changelist")),
        admin_client.get(reverse("admin:registry_provider_change", args=[anthropic.pk])),
        admin_client.get(reverse("admin:registry_model_changelist")),
    ]
    snapshot = refresh_snapshot()
    config = provider_config(
        snapshot.providers["anthropic"],
        __import__("llmcontrol.switches", fromlist=["read_switches"]).read_switches(),
    )
    assert config.api_key == SECRET  # the key is read from the environment...
    logging.getLogger("test").info("provider config %r", config)
    # ...and appears nowhere else.
    for page in pages:
        assert SECRET not in page.content.decode()
    assert SECRET not in repr(config) and SECRET not in str(snapshot.to_dict())
    assert SECRET not in caplog.text
    with connection.cursor() as cursor:
        for table in (
            "registry_provider",
            "registry_model",
            "registry_routingrule",
            "registry_registrystate",
            "django_admin_log",
        ):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            assert SECRET not in repr(cursor.fetchall()), table


def test_the_api_key_field_takes_a_variable_name_not_a_key(admin_client: Client) -> None:
    anthropic = Provider.objects.get(key="anthropic")
    url = reverse("admin:registry_provider_change", args=[anthropic.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, bool)}
    data.update(
        {
            "api_key_env": SECRET,
            "enabled": "on",
            "models-TOTAL_FORMS": "0",
            "models-INITIAL_FORMS": "0",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Give the name of an environment variable" in str(
        response.context["adminform"].form.errors["api_key_env"]
    )
    anthropic.refresh_from_db()
    assert anthropic.api_key_env == "ANTHROPIC_API_KEY"


def test_provider_retries_are_bounded() -> None:
    """The metric row's count (and the metrics endpoint) stop at 100; a burst is better
    failed over than waited out through dozens of Retry-Afters."""
    from django.core.exceptions import ValidationError

    anthropic = Provider.objects.get(key="anthropic")
    anthropic.max_retries = 11
    with pytest.raises(ValidationError) as refused:
        anthropic.full_clean()
    assert "max_retries" in refused.value.message_dict
    assert Provider.objects.get(key="anthropic").max_retries == 2
    anthropic.max_retries = 10
    anthropic.full_clean()

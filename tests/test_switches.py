import pytest

from llmcontrol.switches import ConfigError, Switches, read_api_key, read_switches


def test_defaults_when_nothing_is_set() -> None:
    assert read_switches({}) == Switches(
        use_local_llm=False,
        ollama_fallback_enabled=True,
        ollama_base_url=None,
        ollama_model=None,
        ollama_timeout_ms=None,
    )


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("true", True),
        ("1", True),
        ("YES", True),
        (" on ", True),
        ("false", False),
        ("0", False),
        ("Off", False),
        ("no", False),
    ],
)
def test_booleans_accept_the_usual_words(raw: str, expected: bool) -> None:
    assert read_switches({"USE_LOCAL_LLM": raw}).use_local_llm is expected


@pytest.mark.parametrize(
    "name, raw, message",
    [
        ("USE_LOCAL_LLM", "yes please", "USE_LOCAL_LLM='yes please' is not a boolean"),
        ("OLLAMA_FALLBACK_ENABLED", "maybe", "OLLAMA_FALLBACK_ENABLED='maybe' is not a boolean"),
        ("OLLAMA_TIMEOUT_MS", "30s", "OLLAMA_TIMEOUT_MS='30s' is not an integer"),
        ("OLLAMA_TIMEOUT_MS", "-5", "OLLAMA_TIMEOUT_MS='-5' must be a positive integer"),
        (
            "OLLAMA_BASE_URL",
            "localhost:11434",
            "OLLAMA_BASE_URL='localhost:11434' is not an http(s) URL",
        ),
    ],
)
def test_bad_values_are_errors_that_name_the_variable(name: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        read_switches({name: raw})
    assert str(excinfo.value).startswith(message)


def test_switches_are_read_at_call_time_not_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USE_LOCAL_LLM", "false")
    assert read_switches().use_local_llm is False
    monkeypatch.setenv("USE_LOCAL_LLM", "true")  # e.g. a .env loaded after import
    assert read_switches().use_local_llm is True
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://gpu-box:11434/")
    assert read_switches().ollama_base_url == "http://gpu-box:11434"


def test_api_keys_are_read_by_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PROVIDER_KEY", "  sk-test-123  ")
    assert read_api_key("SOME_PROVIDER_KEY") == "sk-test-123"
    assert read_api_key("UNSET_PROVIDER_KEY_XYZ") is None
    assert read_api_key("") is None


def test_a_bad_switch_fails_the_system_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    monkeypatch.setenv("USE_LOCAL_LLM", "yes please")
    with pytest.raises(SystemCheckError, match="USE_LOCAL_LLM='yes please' is not a boolean"):
        call_command("check")

"""Settings that are dangerous or missing are caught at start, with a clear message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("server", ["llmcontrol.asgi", "llmcontrol.wsgi"])
def test_the_web_server_refuses_to_start_without_secret_key(server: str) -> None:
    result = run_python(f"import {server}", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_commands_that_sign_nothing_run_without_secret_key() -> None:
    """A CI job checking migrations has no secret to give."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], cwd=ROOT,
        env={**clean, "DEBUG": "false"}, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout.strip()) == (0, "No changes detected"), (
        result.stderr[-2000:])


def test_a_bad_debug_value_is_an_error() -> None:
    result = run_python("import llmcontrol.settings", DEBUG="sure")
    assert "DEBUG='sure' is not a boolean" in result.stderr


def test_development_defaults_need_debug_on() -> None:
    result = run_python(
        "import llmcontrol.settings as s; print(s.SECRET_KEY == s.DEV_SECRET_KEY)", DEBUG="true"
    )
    assert result.stdout.strip() == "True", result.stderr


@pytest.mark.parametrize(
    "overrides, check_id",
    [
        ({"DEBUG": True, "ALLOWED_HOSTS": ["llm.example.com"]}, "llmcontrol.W001"),
        ({"ALLOWED_HOSTS": ["*"]}, "llmcontrol.W002"),
        (
            {"DEBUG": False, "SECRET_KEY": "django-insecure-llmcontrol-development-only"},
            "llmcontrol.W003",
        ),
        (
            {
                "DEBUG": False,
                "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"}},
            },
            "llmcontrol.W004",
        ),
        ({"REGISTRY_POLL_INTERVAL": 5.0}, "llmcontrol.W005"),
    ],
)
def test_dangerous_settings_warn(overrides: dict, check_id: str) -> None:
    with override_settings(**overrides):
        ids = {m.id for m in run_checks(include_deployment_checks=False)}
    assert check_id in ids


@override_settings(DEBUG=True, ALLOWED_HOSTS=["127.0.0.1", "localhost"])  # as `make run`
def test_the_development_configuration_passes_the_checks() -> None:
    ids = {m.id for m in run_checks()}
    assert not {i for i in ids if i and i.startswith("llmcontrol.")}

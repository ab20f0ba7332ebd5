"""System checks for configurations that work but are dangerous."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from llmcontrol.switches import ConfigError, read_switches


def require_secret_key() -> None:
    """The web server's entry points call this: without SECRET_KEY (and DEBUG off) it
    refuses to start, naming the variable, rather than failing at the first signed
    cookie. Commands that sign nothing (makemigrations, migrate) do not need one."""
    try:
        settings.SECRET_KEY  # noqa: B018 - Django raises when it is empty
    except ImproperlyConfigured:
        raise ConfigError("SECRET_KEY is required when DEBUG is off (set DEBUG=true for "
                          "development)") from None


@register(Tags.security, deploy=False)
def check_dangerous_settings(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    from llmcontrol.settings import DEV_SECRET_KEY

    found: list[Warning] = []
    local_hosts = {"127.0.0.1", "localhost", "::1", "[::1]"}
    if settings.DEBUG and set(settings.ALLOWED_HOSTS) - local_hosts:
        found.append(
            Warning(
                "DEBUG is on while ALLOWED_HOSTS admits non-local hosts.",
                hint="Turn DEBUG off for anything reachable from other machines.",
                id="llmcontrol.W001",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        found.append(
            Warning(
                "ALLOWED_HOSTS contains '*'.",
                hint="List the host names this service answers to.",
                id="llmcontrol.W002",
            )
        )
    try:
        secret_key = settings.SECRET_KEY
    except ImproperlyConfigured:  # none set: the web server refuses to start (above)
        secret_key = ""
    if secret_key == DEV_SECRET_KEY and not settings.DEBUG:
        found.append(
            Warning("The development SECRET_KEY is in use.", id="llmcontrol.W003")
        )
    if (
        not settings.DEBUG
        and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    ):
        found.append(
            Warning(
                "SQLite is the database while DEBUG is off.",
                hint="Use PostgreSQL (DATABASE_URL=postgres://...) for several processes "
                "and for the row locks rollouts rely on.",
                id="llmcontrol.W004",
            )
        )
    if settings.REGISTRY_POLL_INTERVAL > 1.0:
        found.append(
            Warning(
                f"REGISTRY_POLL_INTERVAL={settings.REGISTRY_POLL_INTERVAL} s: registry "
                "changes will take longer than a second to reach running processes.",
                id="llmcontrol.W005",
            )
        )
    return found


@register()
def check_switches(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    try:
        read_switches()
    except ConfigError as exc:
        return [Error(str(exc), id="llmcontrol.E001")]
    return []

"""Settings for llmcontrol: every deploy-time value comes from the environment.

The seed's routing switches (USE_LOCAL_LLM, OLLAMA_*) and provider API keys are
deliberately *not* read here; `llmcontrol.switches` reads them at call time.
"""

from __future__ import annotations

import re
from pathlib import Path

import environ

from llmcontrol.switches import ConfigError, env_bool

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env_bool("DEBUG", default=False)

DEV_SECRET_KEY = "django-insecure-llmcontrol-development-only"
# Empty when DEBUG is off and none is set: the web server refuses to start then
# (llmcontrol.checks.require_secret_key), while commands that sign nothing
# (makemigrations, migrate) still run.
SECRET_KEY = env.str("SECRET_KEY", default="") or (DEV_SECRET_KEY if DEBUG else "")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not from a CDN
    "django_q",
    "llmcontrol",
    "registry",
    "canary",
    "benchmarks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "llmcontrol.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "llmcontrol.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "llmcontrol.wsgi.application"
ASGI_APPLICATION = "llmcontrol.asgi.application"

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'llmcontrol.sqlite3'}"
    ),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database behind a network partition must fail a connection attempt in seconds,
    # not after the kernel's SYN retries (about two minutes): processes then route on
    # their last snapshot instead of waiting.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3)
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs a web server, a cluster and a metric writer
    # against one file: WAL and a busy timeout keep them from locking each other out.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}



def throttle_rate(name: str, default: str) -> str | None:
    """A DRF rate ("100/s", "6000/min") from the environment; "off" disables the limit."""
    raw = env.str(name, default=default).strip()
    if raw.lower() == "off":
        return None
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", raw):
        raise ConfigError(f"{name}={raw!r} is not a rate like 100/s, 6000/min or off")
    return raw


# The API and the gateway: API keys only (Authorization: Bearer), closed by default.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["llmcontrol.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["llmcontrol.api.permissions.HasRouteScope"],
    "DEFAULT_THROTTLE_CLASSES": ["llmcontrol.api.throttles.ApiKeyRateThrottle"],
    # Per key and scope, per process with the default local-memory cache.
    "DEFAULT_THROTTLE_RATES": {
        "route": throttle_rate("API_RATE_ROUTE", "100/s"),
        "metrics": throttle_rate("API_RATE_METRICS", "20/s"),
        "read": throttle_rate("API_RATE_READ", "20/s"),
        "admin": throttle_rate("API_RATE_ADMIN", "60/min"),
        "gateway": throttle_rate("API_RATE_GATEWAY", "500/s"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["llmcontrol.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "llmcontrol.api.parsers.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "llmcontrol API",
    "DESCRIPTION": "Routing decisions, the remote client's routing table and metrics, rollouts "
                   "and the registry. The OpenAI-compatible gateway lives at /v1/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],  # the schema holds no secret
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TierEnum": "registry.models.Tier",
        "ModelStatusEnum": "registry.models.ModelStatus",
        "RolloutStatusEnum": "canary.models.RolloutStatus",
    },
}
# A verified API key is remembered this long per process: revocation takes effect within it.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=1.0)
# The gateway refuses larger request bodies with 413.
GATEWAY_MAX_BODY_BYTES = env.int("GATEWAY_MAX_BODY_BYTES", default=1_048_576)

REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER: dict[str, object] = {
    "name": "llmcontrol",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 120,
    "retry": 180,
    "catch_up": False,
    "label": "Django Q2",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# How often a process checks whether the registry moved (seconds). Changes are
# seen within this interval plus one query; REGISTRY_SNAPSHOT_TTL is the backstop.
REGISTRY_POLL_INTERVAL = env.float("REGISTRY_POLL_INTERVAL", default=0.5)
REGISTRY_SNAPSHOT_TTL = env.float("REGISTRY_SNAPSHOT_TTL", default=300.0)

# Metrics are buffered and written by a background thread in batches.
METRICS_FLUSH_INTERVAL = env.float("METRICS_FLUSH_INTERVAL", default=0.5)
METRICS_BATCH_SIZE = env.int("METRICS_BATCH_SIZE", default=500)
# Records a process holds while the database is unreachable; past it new ones are
# dropped, counted and reported (a MetricLoss row) once the database is back.
METRICS_MAX_BUFFER = env.int("METRICS_MAX_BUFFER", default=100_000)
# At shutdown (SIGTERM) a process waits this long for its buffered metrics to be written.
METRICS_SHUTDOWN_TIMEOUT = env.float("METRICS_SHUTDOWN_TIMEOUT", default=30.0)
METRICS_RETENTION_DAYS = env.int("METRICS_RETENTION_DAYS", default=30)
METRICS_ROLLUP_RETENTION_DAYS = env.int("METRICS_ROLLUP_RETENTION_DAYS", default=400)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

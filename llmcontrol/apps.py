from django.apps import AppConfig


class LlmcontrolConfig(AppConfig):
    name = "llmcontrol"
    verbose_name = "llmcontrol"

    def ready(self) -> None:
        from llmcontrol import checks  # noqa: F401  (registers the system checks)

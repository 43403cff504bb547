"""Django app config for observability: connects the Celery signal receivers (task counts, request ids)."""

from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "appliance.observability"
    label = "observability"

    def ready(self) -> None:
        from appliance.observability import receivers  # noqa: F401 - connects the receivers

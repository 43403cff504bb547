"""Django app config for active health checks."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "appliance.health"
    label = "health"

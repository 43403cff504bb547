"""Django app config for the browser UI."""

from django.apps import AppConfig


class WebuiConfig(AppConfig):
    name = "webui"

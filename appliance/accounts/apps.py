"""Django app config for accounts."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "appliance.accounts"
    label = "accounts"

    def ready(self) -> None:
        from appliance.accounts import receivers, schema  # noqa: F401 - audit receivers, OpenAPI extension

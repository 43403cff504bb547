"""Django app config for the load-balancing domain."""

from django.apps import AppConfig


class LbConfig(AppConfig):
    name = "appliance.lb"
    label = "lb"

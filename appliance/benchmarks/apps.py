"""Django app config for benchmark runs."""

from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "appliance.benchmarks"
    label = "benchmarks"

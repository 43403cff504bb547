"""Starting a benchmark run: scenario, target virtual server, bounded duration, concurrency and applies.

Whether the target fits the scenario is `services.run_errors`, the API serializer's check too.
"""

from __future__ import annotations

from typing import Any

from django import forms

from appliance.benchmarks import services
from appliance.benchmarks.models import BenchmarkRun
from appliance.lb.models import VirtualServer


class BenchmarkRunForm(forms.ModelForm):
    class Meta:
        model = BenchmarkRun
        fields = ["scenario", "virtual_server", "duration_s", "concurrency", "applies"]
        labels = {
            "virtual_server": "Target virtual server",
            "duration_s": "Duration (s)",
            "applies": "Config applies (reload only)",
        }
        help_texts = {
            "duration_s": "3 to 120 seconds (a TLS run: each handshake phase, at most 30).",
            "concurrency": "Open connections, 1 to 256 (autoscale: load-generator workers).",
            "applies": "Reload scenario only: how many times the configuration is applied, 1 to 50.",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["virtual_server"]
        field.required = True
        field.queryset = VirtualServer.objects.exclude(default_upstream=None).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if {"scenario", "virtual_server", "duration_s"} <= set(data):
            for name, message in services.run_errors(
                data["scenario"], data["virtual_server"], data["duration_s"]
            ).items():
                self.add_error(name, message)
        return data

"""Starting a benchmark run: scenario, target virtual server, bounded duration and concurrency."""

from __future__ import annotations

from django import forms

from appliance.benchmarks.models import BenchmarkRun
from appliance.lb.models import VirtualServer


class BenchmarkRunForm(forms.ModelForm):
    class Meta:
        model = BenchmarkRun
        fields = ["scenario", "virtual_server", "duration_s", "concurrency"]
        labels = {"virtual_server": "Target virtual server", "duration_s": "Duration (s)"}
        help_texts = {
            "duration_s": "3 to 120 seconds.",
            "concurrency": "Open connections, 1 to 256.",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["virtual_server"]
        field.required = True
        field.queryset = VirtualServer.objects.exclude(default_upstream=None).order_by("name")

    def clean_virtual_server(self) -> VirtualServer:
        vs = self.cleaned_data["virtual_server"]
        if not vs.http_ports:
            raise forms.ValidationError("This virtual server has no plain-HTTP port to send load to.")
        return vs

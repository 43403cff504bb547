"""Benchmark runs over the API: scenario, target, bounded duration, concurrency and applies in; progress out.

Whether the target fits the scenario (an HTTPS port for `tls`, a scaling policy for `autoscale`...) is
answered by `services.run_errors`, the same check as the UI form's, as field-level errors.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from appliance.benchmarks.choices import APPLIES, CONCURRENCY, DURATION_S, Scenario
from appliance.benchmarks.models import BenchmarkRun
from appliance.lb.models import VirtualServer


class BenchmarkRunSerializer(serializers.ModelSerializer):
    scenario = serializers.ChoiceField(choices=Scenario.choices)
    virtual_server = serializers.PrimaryKeyRelatedField(queryset=VirtualServer.objects.all())
    duration_s = serializers.IntegerField(min_value=DURATION_S[0], max_value=DURATION_S[1], default=10)
    concurrency = serializers.IntegerField(min_value=CONCURRENCY[0], max_value=CONCURRENCY[1], default=32)
    applies = serializers.IntegerField(
        min_value=APPLIES[0], max_value=APPLIES[1], default=10, help_text="Config applies of a reload run."
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    has_report = serializers.SerializerMethodField()
    has_pdf = serializers.SerializerMethodField()

    class Meta:
        model = BenchmarkRun
        fields = [
            "id",
            "scenario",
            "virtual_server",
            "target_name",
            "duration_s",
            "concurrency",
            "applies",
            "status",
            "progress",
            "message",
            "cancel_requested",
            "created_by",
            "created",
            "started_at",
            "finished_at",
            "has_report",
            "has_pdf",
            "figures",
            "error",
        ]
        read_only_fields = [
            "target_name",
            "status",
            "progress",
            "message",
            "cancel_requested",
            "created",
            "started_at",
            "finished_at",
            "figures",
            "error",
        ]

    def get_has_report(self, run: BenchmarkRun) -> bool:
        return bool(run.report_key)

    def get_has_pdf(self, run: BenchmarkRun) -> bool:
        return bool(run.pdf_key)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from appliance.benchmarks import services

        errors = services.run_errors(attrs["scenario"], attrs["virtual_server"], attrs["duration_s"])
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated: dict[str, Any]) -> BenchmarkRun:
        from appliance.benchmarks import services

        return services.start_run(
            self.context["request"].user,
            validated["scenario"],
            validated["virtual_server"],
            validated["duration_s"],
            validated["concurrency"],
            validated["applies"],
        )

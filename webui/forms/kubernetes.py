"""Kubernetes forms: clusters, service bindings and scaling policies, checked by the API's serializers.

A cluster's kubeconfig is parsed and sealed by `ClusterSerializer` exactly as over the API, and never
rendered back. A binding's identity (upstream, cluster, namespace, Service, port) cannot change once
made; the serializer says so next to the field, as the API does.
"""

from __future__ import annotations

from typing import Any

from django import forms

from appliance.k8s.api import serializers as s
from appliance.k8s.choices import ClusterSource, Metric
from appliance.k8s.models import Cluster, ScalingPolicy, ServiceBinding
from appliance.lb.models import Upstream
from webui.forms.serialized import InstanceForm, SecretTextarea


class ClusterForm(InstanceForm):
    serializer_class = s.ClusterSerializer

    name = forms.CharField(max_length=63)
    source = forms.ChoiceField(choices=ClusterSource.choices, initial=ClusterSource.KUBECONFIG)
    kubeconfig = forms.CharField(
        required=False,
        strip=False,
        widget=SecretTextarea(attrs={"rows": 10, "cols": 66, "spellcheck": "false", "autocomplete": "off"}),
        help_text="YAML with inline credentials only; stored encrypted and never shown. "
        "When editing, leave empty to keep the stored one.",
    )
    context = forms.CharField(required=False, max_length=253, help_text="Empty = its current context.")
    unreachable_grace_s = forms.IntegerField(
        initial=30,
        label="Unreachable grace (s)",
        help_text=Cluster._meta.get_field("unreachable_grace_s").help_text,
    )

    def to_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        data = super().to_data(cleaned)
        if not data.get("kubeconfig"):
            data.pop("kubeconfig", None)  # absent = keep (edit) or required (new), as over the API
        return data


class ServiceBindingForm(InstanceForm):
    serializer_class = s.ServiceBindingSerializer

    upstream = forms.ModelChoiceField(queryset=Upstream.objects.only("id", "name"))
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.only("id", "name"))
    namespace = forms.CharField(max_length=63)
    service = forms.CharField(max_length=63, label="Service")
    port_name = forms.CharField(
        required=False, max_length=15, help_text=ServiceBinding._meta.get_field("port_name").help_text
    )
    weight = forms.IntegerField(initial=1, help_text="Weight of each server this binding creates.")


class ScalingPolicyForm(InstanceForm):
    serializer_class = s.ScalingPolicySerializer

    binding = forms.ModelChoiceField(
        queryset=ServiceBinding.objects.select_related("cluster"), label="Service binding"
    )
    deployment = forms.CharField(
        max_length=253, help_text="The Deployment to scale (its namespace is the binding's)."
    )
    enabled = forms.BooleanField(required=False, initial=True)
    metric = forms.ChoiceField(choices=Metric.choices, initial=Metric.RPS_PER_REPLICA)
    target = forms.FloatField(help_text=ScalingPolicy._meta.get_field("target").help_text)
    min_replicas = forms.IntegerField(initial=1)
    max_replicas = forms.IntegerField(initial=10)
    scale_up_window_s = forms.IntegerField(initial=0, label="Scale-up window (s)")
    scale_down_window_s = forms.IntegerField(initial=300, label="Scale-down window (s)")
    max_step = forms.IntegerField(initial=4, help_text=ScalingPolicy._meta.get_field("max_step").help_text)
    interval_s = forms.IntegerField(initial=15, label="Interval (s)")
    metric_window_s = forms.IntegerField(
        initial=30,
        label="Metric window (s)",
        help_text=ScalingPolicy._meta.get_field("metric_window_s").help_text,
    )

"""Upstream and server forms. Field validators and the models' cross-field `clean()` run on save."""

from __future__ import annotations

from django import forms

from appliance.lb.choices import RetryCondition
from appliance.lb.models import Server, Upstream
from webui.forms.base import CleanModelForm


class UpstreamForm(CleanModelForm):
    retry_conditions = forms.MultipleChoiceField(
        choices=RetryCondition.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=Upstream._meta.get_field("retry_conditions").get_default,
        help_text="When nginx tries the next server.",
    )

    class Meta:
        model = Upstream
        fields = [
            "name",
            "algorithm",
            "hash_key",
            "hash_key_name",
            "hash_consistent",
            "keepalive",
            "connect_timeout_ms",
            "read_timeout_s",
            "send_timeout_s",
            "retry_conditions",
            "retry_tries",
            "retry_timeout_s",
            "retry_non_idempotent",
        ]


class ServerForm(CleanModelForm):
    """A member of the upstream given as the form's instance (`Server(upstream=...)` when adding)."""

    class Meta:
        model = Server
        fields = ["address", "port", "weight", "max_fails", "fail_timeout_s", "max_conns", "backup", "state"]

    def clean(self) -> dict:
        cleaned = super().clean()
        # The (upstream, address, port) constraint is skipped by the model form because `upstream` is not
        # one of its fields; checked here so the operator sees a field error instead of a server error.
        address, port = cleaned.get("address"), cleaned.get("port")
        taken = Server.objects.filter(upstream_id=self.instance.upstream_id, address=address, port=port)
        if address and port and taken.exclude(pk=self.instance.pk).exists():
            self.add_error("port", f"{address}:{port} is already a member of this upstream")
        return cleaned

"""Filters of the audit log: actor, action, object, outcome, request id and a time range."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget

from appliance.audit.choices import ActorKind, Outcome
from appliance.audit.models import AuditEvent


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601, converted to UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts."""

    def to_python(self, value):  # type: ignore[no-untyped-def]
        parsed = super().to_python(value)
        try:
            return parsed.astimezone(UTC) if parsed is not None else None
        except OverflowError:
            raise ValidationError("out of range", code="invalid") from None


class UtcIsoDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__((UtcIsoDateTimeField(), UtcIsoDateTimeField()), *args, **kwargs)


class UtcIsoDateTimeFromToRangeFilter(django_filters.RangeFilter):
    field_class = UtcIsoDateTimeRangeField


class AuditEventFilterSet(django_filters.FilterSet):
    action_prefix = django_filters.CharFilter(field_name="action", lookup_expr="startswith")
    actor_kind = django_filters.ChoiceFilter(choices=ActorKind.choices)
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    time = UtcIsoDateTimeFromToRangeFilter(help_text="`time_after` / `time_before` (ISO 8601)")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object_type", "object_id", "request_id", "api_token"]

"""The audit log, read-only and for admins: it names every account that tried to sign in."""

from rest_framework import viewsets

from appliance.accounts.roles import Role
from appliance.audit.api.serializers import AuditEventSerializer
from appliance.audit.filtersets import AuditEventFilterSet
from appliance.audit.models import AuditEvent


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    ordering_fields = ["time", "action", "actor"]
    read_role = Role.ADMIN
    required_role = Role.ADMIN

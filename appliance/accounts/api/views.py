"""API tokens (everyone: their own; admins: all) and users (admins only)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from appliance.accounts import filtersets, services
from appliance.accounts.api import serializers as s
from appliance.accounts.models import ApiToken
from appliance.accounts.permissions import CredentialPermission
from appliance.accounts.roles import Role, has_role


class ApiTokenViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Create answers with the token text, once. DELETE and `revoke/` revoke; the record stays."""

    queryset = ApiToken.objects.select_related("user")
    serializer_class = s.ApiTokenSerializer
    filterset_class = filtersets.ApiTokenFilterSet
    ordering_fields = ["created", "name", "last_used", "expires"]
    permission_classes = [CredentialPermission]
    required_role = Role.VIEWER

    def get_queryset(self) -> QuerySet[ApiToken]:
        tokens = super().get_queryset()
        if getattr(self, "swagger_fake_view", False) or has_role(self.request.user, Role.ADMIN):
            return tokens
        return tokens.filter(user=self.request.user)

    @extend_schema(responses={201: s.IssuedApiTokenSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = serializer.save()
        issued = s.IssuedApiTokenSerializer(token, context=self.get_serializer_context()).data
        issued["token"] = serializer.token_text
        return Response(issued, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        services.revoke_token(self.request, instance)

    @extend_schema(request=None, responses={200: s.ApiTokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        token = services.revoke_token(request, self.get_object())
        return Response(self.get_serializer(token).data)


class UserViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Users and their role; deactivate with `{"is_active": false}` (which also revokes their tokens)."""

    queryset = get_user_model().objects.prefetch_related("groups").order_by("username")
    serializer_class = s.UserSerializer
    filterset_class = filtersets.UserFilterSet
    ordering_fields = ["username", "date_joined", "last_login"]
    read_role = Role.ADMIN
    required_role = Role.ADMIN

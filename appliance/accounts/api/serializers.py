"""Serializers of API tokens and users; the token text appears only in the answer to its creation."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from appliance.accounts import services
from appliance.accounts.models import ROLE_CHOICES, ApiToken
from appliance.accounts.roles import ROLE_NAMES, Role, account_role, has_role, role_of


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        help_text="Whose token (admins only; default: yourself).",
    )
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "user",
            "name",
            "role",
            "prefix",
            "created",
            "expires",
            "revoked_at",
            "last_used",
            "active",
        ]
        read_only_fields = ["prefix", "created", "revoked_at", "last_used"]

    def get_fields(self) -> dict[str, serializers.Field]:
        """Non-admins can name only themselves, so the error never tells them which other users exist."""
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and not has_role(request.user, Role.ADMIN):
            fields["user"].queryset = get_user_model().objects.filter(pk=request.user.pk)
        return fields

    def get_active(self, token: ApiToken) -> bool:
        return token.revoked_at is None and not token.is_expired() and token.user.is_active

    def validate_expires(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("must be in the future")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        requester = self.context["request"].user
        owner = attrs.setdefault("user", requester)
        role = ROLE_NAMES[attrs["role"]]
        ceiling = role_of(requester)
        if ceiling is None or role > ceiling:
            raise serializers.ValidationError({"role": ["cannot exceed the role you are acting with"]})
        held = account_role(owner)
        if held is None or role > held:
            raise serializers.ValidationError({"role": [f"{owner.get_username()} does not hold this role"]})
        return attrs

    def create(self, validated: dict[str, Any]) -> ApiToken:
        token, self.token_text = services.issue_token(
            self.context["request"],
            validated["user"],
            ROLE_NAMES[validated["role"]],
            validated["name"],
            validated.get("expires"),
        )
        return token


class IssuedApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token text. Shown this once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class RoleField(serializers.ChoiceField):
    """The account's role; null for an account that holds none (never accepted as input)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ROLE_CHOICES, allow_null=True, **kwargs)

    def get_attribute(self, user: Any) -> str | None:
        role = account_role(user)
        return role.label if role else None

    def to_internal_value(self, data: Any) -> str:
        if data is None:
            self.fail("invalid_choice", input=data)
        return str(super().to_internal_value(data))


class UserSerializer(serializers.ModelSerializer):
    role = RoleField()
    password = serializers.CharField(
        write_only=True, required=False, style={"input_type": "password"}, trim_whitespace=False
    )

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "role", "is_active", "password", "last_login", "date_joined"]
        read_only_fields = ["last_login", "date_joined"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and "password" not in attrs:
            raise serializers.ValidationError({"password": ["This field is required."]})
        if "password" in attrs:
            candidate = self.instance or get_user_model()(username=attrs.get("username", ""))
            try:
                password_validation.validate_password(attrs["password"], candidate)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": list(exc.messages)}) from None
        if (
            self.instance is not None
            and attrs.get("username", self.instance.username) != self.instance.username
        ):
            raise serializers.ValidationError({"username": ["a user name cannot be changed"]})
        if self.instance is not None and self.instance == self.context["request"].user:
            demoted = "role" in attrs and ROLE_NAMES[attrs["role"]] < Role.ADMIN
            if demoted or attrs.get("is_active") is False:
                raise serializers.ValidationError({"role": ["you cannot demote or deactivate yourself"]})
        return attrs

    def create(self, validated: dict[str, Any]) -> Any:
        return services.create_user(
            self.context["request"],
            validated["username"],
            validated["password"],
            ROLE_NAMES[validated["role"]],
            validated.get("email", ""),
        )

    def update(self, user: Any, validated: dict[str, Any]) -> Any:
        return services.update_user(
            self.context["request"],
            user,
            role=ROLE_NAMES[validated["role"]] if "role" in validated else None,
            is_active=validated.get("is_active"),
            password=validated.get("password"),
            email=validated.get("email"),
        )

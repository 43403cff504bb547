"""User and API-token forms for admins; the accounts services do the work (and the auditing)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils import timezone

from appliance.accounts.models import ROLE_CHOICES
from appliance.accounts.roles import ROLE_NAMES, Role, account_role


class RoleField(forms.TypedChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=ROLE_CHOICES, coerce=ROLE_NAMES.__getitem__, **kwargs)


class UserCreateForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]{1,150}\Z", max_length=150)
    email = forms.EmailField(required=False)
    role = RoleField(initial=Role.VIEWER.label)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("a user with this name already exists")
        return username

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("username"):
            candidate = get_user_model()(username=cleaned["username"], email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(cleaned["password"], candidate)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class UserEditForm(forms.Form):
    email = forms.EmailField(required=False)
    role = RoleField()
    is_active = forms.BooleanField(
        required=False, label="Active", help_text="Deactivating revokes the tokens."
    )
    password = forms.CharField(
        widget=forms.PasswordInput,
        strip=False,
        required=False,
        help_text="Empty = keep the current password.",
    )

    def __init__(self, *args: object, user: object, acting: object, **kwargs: object) -> None:
        role = account_role(user)
        initial = {"email": user.email, "role": role.label if role else "", "is_active": user.is_active}  # type: ignore[attr-defined]
        super().__init__(*args, initial=initial, **kwargs)
        self.user, self.acting = user, acting

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if password:
            password_validation.validate_password(password, self.user)
        return password

    def clean(self) -> dict:
        cleaned = super().clean()
        # As in the API: an admin cannot lock themselves out (and leave no admin behind by mistake).
        role = cleaned.get("role")
        if self.user == self.acting and (
            (role is not None and role < Role.ADMIN) or not cleaned["is_active"]
        ):
            self.add_error("role", "you cannot demote or deactivate yourself")
        return cleaned


class TokenIssueForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username")
    )
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. ci-deploy.")
    role = RoleField(initial=Role.VIEWER.label, help_text="At most the user's own role.")
    expires = forms.DateTimeField(required=False, help_text="Optional, e.g. 2030-01-31 12:00 (UTC).")

    def clean_expires(self) -> object:
        expires = self.cleaned_data["expires"]
        if expires is not None and expires <= timezone.now():
            raise forms.ValidationError("must be in the future")
        return expires

    def clean(self) -> dict:
        cleaned = super().clean()
        user, role = cleaned.get("user"), cleaned.get("role")
        held = account_role(user) if user else None
        if user and role and (held is None or role > held):
            self.add_error("role", f"{user.get_username()} does not hold the {role.label} role")
        return cleaned

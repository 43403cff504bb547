"""Users and API tokens, for admins. Every change goes through `appliance.accounts.services` (audited)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from appliance.accounts import services
from appliance.accounts.filtersets import ApiTokenFilterSet, UserFilterSet
from appliance.accounts.models import ApiToken
from webui.access import admin_required
from webui.forms.accounts import TokenIssueForm, UserCreateForm, UserEditForm
from webui.views.common import filtered_page


@require_safe
@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    users = (
        get_user_model()
        .objects.prefetch_related("groups")
        .annotate(active_tokens=Count("api_tokens", filter=Q(api_tokens__revoked_at__isnull=True)))
        .order_by("username")
    )
    filterset, page = filtered_page(request, UserFilterSet, users)
    return render(request, "webui/accounts/user_list.html", {"filter": filterset, "page": page})


@admin_required
def user_add(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        user = services.create_user(request, data["username"], data["password"], data["role"], data["email"])
        messages.success(request, f"User {user.get_username()} created with the {data['role'].label} role.")
        return redirect("webui:user-list")
    return render(request, "webui/accounts/user_form.html", {"form": form})


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model().objects.prefetch_related("groups"), pk=pk)
    form = UserEditForm(request.POST if request.method == "POST" else None, user=user, acting=request.user)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        services.update_user(
            request,
            user,
            role=data["role"],
            is_active=data["is_active"],
            password=data["password"] or None,
            email=data["email"],
        )
        messages.success(request, f"User {user.get_username()} saved.")
        return redirect("webui:user-list")
    return render(request, "webui/accounts/user_form.html", {"form": form, "edited": user})


@require_safe
@admin_required
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = ApiToken.objects.select_related("user")
    filterset, page = filtered_page(request, ApiTokenFilterSet, tokens)
    return render(request, "webui/accounts/token_list.html", {"filter": filterset, "page": page})


@never_cache
@admin_required
def token_issue(request: HttpRequest) -> HttpResponse:
    """The token text is in this one response only (not stored, not cached); the list never shows it."""
    form = TokenIssueForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        token, text = services.issue_token(request, data["user"], data["role"], data["name"], data["expires"])
        return render(request, "webui/accounts/token_issued.html", {"token": token, "text": text})
    return render(request, "webui/accounts/token_form.html", {"form": form})


@admin_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if request.method == "POST":
        services.revoke_token(request, token)
        messages.success(request, f"Token {token} of {token.user.get_username()} revoked.")
        return redirect("webui:token-list")
    return render(request, "webui/accounts/token_revoke.html", {"token": token})

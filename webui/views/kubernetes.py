"""Kubernetes pages: clusters, service bindings (with their endpoints), scaling policies and decisions.

Roles follow the API: everyone reads; clusters (they hold credentials) change for admins only, bindings
and policies for operators. Each change is checked by the API's serializer and audited with its output;
like the API, only a binding's weight change and its removal touch desired state (its servers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Model, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_safe
from rest_framework.serializers import ModelSerializer

from appliance.audit import services as audit
from appliance.k8s import services
from appliance.k8s.api import serializers as s
from appliance.k8s.models import Cluster, ScalingDecision, ScalingPolicy, ServiceBinding
from webui import filtersets as f
from webui.access import admin_required, operator_required, viewer_required
from webui.forms.kubernetes import ClusterForm, ScalingPolicyForm, ServiceBindingForm
from webui.forms.serialized import SerializerForm
from webui.views.common import confirm_delete, filtered_page, save_serialized

BINDINGS = ServiceBinding.objects.select_related("upstream", "cluster").annotate(
    endpoint_count=Count("endpoints", distinct=True),
    ready_count=Count("endpoints", filter=Q(endpoints__server__state="enabled"), distinct=True),
)
POLICIES = ScalingPolicy.objects.select_related("binding__cluster", "binding__upstream")
DECISIONS = ScalingDecision.objects.select_related("policy")
LISTS = {
    ClusterForm: "webui:cluster-list",
    ServiceBindingForm: "webui:service-binding-list",
    ScalingPolicyForm: "webui:scaling-policy-list",
}


def _edit(
    request: HttpRequest,
    form_class: type[SerializerForm],
    instance: Model | None,
    kind: str,
    done: Callable[[Model], str],
    mark: Callable[[Model], object] | None = None,
) -> HttpResponse:
    """The add/edit view of one Kubernetes object: form, serializer check, save + audit, redirect."""
    before = dict(form_class.serializer_class(instance).data) if instance is not None else None
    # A new object may be pre-filled from the query string (e.g. a policy for the binding one came from).
    initial = request.GET.dict() if instance is None else None
    form = form_class(request.POST if request.method == "POST" else None, instance=instance, initial=initial)
    if form.is_bound and form.is_valid():
        assert form.serializer is not None
        obj = save_serialized(request, "update" if instance else "create", form.serializer, before, mark)
        messages.success(request, f"{kind.capitalize()} {obj} saved.")
        return redirect(done(obj))
    cancel = done(instance) if instance is not None else reverse(LISTS[form_class])
    context = {"form": form, "kind": kind, "object": instance, "cancel": cancel}
    return render(request, "webui/kubernetes/form.html", context)


def _delete(
    request: HttpRequest, obj: Model, kind: str, cancel: str, done: str, remove: Callable[[], Any]
) -> HttpResponse:
    def audited() -> None:
        with transaction.atomic():
            audit.record("delete", request, obj=obj, before=_snapshot(obj))
            remove()

    return confirm_delete(request, obj, kind, cancel, done, audited, then="remove those first")


def _snapshot(obj: Model) -> dict[str, Any]:
    serializers: dict[type[Model], type[ModelSerializer]] = {
        Cluster: s.ClusterSerializer,
        ServiceBinding: s.ServiceBindingSerializer,
        ScalingPolicy: s.ScalingPolicySerializer,
    }
    return dict(serializers[type(obj)](obj).data)


# -- clusters ------------------------------------------------------------------------------------
@require_safe
@viewer_required
def cluster_list(request: HttpRequest) -> HttpResponse:
    queryset = Cluster.objects.annotate(binding_count=Count("bindings")).order_by("name")
    filterset, page = filtered_page(request, f.ClusterSearchFilterSet, queryset)
    return render(request, "webui/kubernetes/cluster_list.html", {"filter": filterset, "page": page})


@require_safe
@viewer_required
def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(Cluster.objects.defer("credentials"), pk=pk)
    bindings = BINDINGS.filter(cluster=cluster).order_by("namespace", "service", "upstream__name")
    page = Paginator(bindings, 50).get_page(request.GET.get("page"))
    return render(request, "webui/kubernetes/cluster_detail.html", {"cluster": cluster, "page": page})


def _cluster_url(obj: Model) -> str:
    return reverse("webui:cluster-detail", args=[obj.pk])


@sensitive_variables()
@sensitive_post_parameters("kubeconfig")
@admin_required
def cluster_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, ClusterForm, None, "cluster", _cluster_url)


@sensitive_variables()
@sensitive_post_parameters("kubeconfig")
@admin_required
def cluster_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, ClusterForm, get_object_or_404(Cluster, pk=pk), "cluster", _cluster_url)


@admin_required
def cluster_delete(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(Cluster, pk=pk)
    cancel, done = _cluster_url(cluster), reverse("webui:cluster-list")
    return _delete(request, cluster, "cluster", cancel, done, cluster.delete)


# -- service bindings ----------------------------------------------------------------------------
@require_safe
@viewer_required
def service_binding_list(request: HttpRequest) -> HttpResponse:
    queryset = BINDINGS.order_by("upstream__name", "cluster__name", "namespace", "service")
    filterset, page = filtered_page(request, f.ServiceBindingSearchFilterSet, queryset)
    return render(request, "webui/kubernetes/binding_list.html", {"filter": filterset, "page": page})


@require_safe
@viewer_required
def service_binding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    binding = get_object_or_404(BINDINGS, pk=pk)
    endpoints = binding.endpoints.select_related("server").order_by("address", "port")
    context = {
        "binding": binding,
        "page": Paginator(endpoints, 50).get_page(request.GET.get("page")),
        "policy": POLICIES.filter(binding=binding).first(),
    }
    return render(request, "webui/kubernetes/binding_detail.html", context)


def _binding_url(obj: Model) -> str:
    return reverse("webui:service-binding-detail", args=[obj.pk])


@operator_required
def service_binding_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, ServiceBindingForm, None, "service binding", _binding_url)


@operator_required
def service_binding_edit(request: HttpRequest, pk: int) -> HttpResponse:
    binding = get_object_or_404(ServiceBinding.objects.select_related("cluster"), pk=pk)
    author = request.user.get_username()
    # A new weight goes to the binding's servers at once, as over the API.
    mark = lambda obj: services.apply_binding_weight(obj, author)  # noqa: E731
    return _edit(request, ServiceBindingForm, binding, "service binding", _binding_url, mark)


@operator_required
def service_binding_delete(request: HttpRequest, pk: int) -> HttpResponse:
    binding = get_object_or_404(ServiceBinding.objects.select_related("cluster"), pk=pk)
    author = request.user.get_username()
    done = reverse("webui:service-binding-list")
    remove = lambda: services.delete_binding(binding, author)  # noqa: E731 - removes its servers too
    return _delete(request, binding, "service binding (and its servers)", _binding_url(binding), done, remove)


# -- scaling policies and decisions --------------------------------------------------------------
@require_safe
@viewer_required
def scaling_policy_list(request: HttpRequest) -> HttpResponse:
    filterset, page = filtered_page(request, f.ScalingPolicySearchFilterSet, POLICIES)
    return render(request, "webui/kubernetes/policy_list.html", {"filter": filterset, "page": page})


@require_safe
@viewer_required
def scaling_policy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(POLICIES, pk=pk)
    filterset, page = filtered_page(
        request, f.ScalingDecisionSearchFilterSet, DECISIONS.filter(policy=policy)
    )
    context = {"policy": policy, "filter": filterset, "page": page}
    return render(request, "webui/kubernetes/policy_detail.html", context)


def _policy_url(obj: Model) -> str:
    return reverse("webui:scaling-policy-detail", args=[obj.pk])


@operator_required
def scaling_policy_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, ScalingPolicyForm, None, "scaling policy", _policy_url)


@operator_required
def scaling_policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(ScalingPolicy, pk=pk)
    return _edit(request, ScalingPolicyForm, policy, "scaling policy", _policy_url)


@operator_required
def scaling_policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(ScalingPolicy, pk=pk)
    done = reverse("webui:scaling-policy-list")
    return _delete(request, policy, "scaling policy", _policy_url(policy), done, policy.delete)


@require_safe
@viewer_required
def scaling_decision_list(request: HttpRequest) -> HttpResponse:
    filterset, page = filtered_page(request, f.ScalingDecisionSearchFilterSet, DECISIONS, per_page=50)
    return render(request, "webui/kubernetes/decision_list.html", {"filter": filterset, "page": page})

"""Least privilege for the appliance's Kubernetes identity, computed from what is configured on a cluster.

What the appliance calls (`kube.py`) and so all it needs:
- discovery: `get`, `list`, `watch` on `endpointslices` (discovery.k8s.io) in each namespace a binding
  watches — slices carry their Service's name as a label, so Services themselves are never read;
- autoscaling, only in namespaces where a scaling policy exists: `list` on `horizontalpodautoscalers`
  (autoscaling; to refuse to fight an HPA) and `get`, `patch` on `deployments/scale` (apps), limited by
  `resourceNames` to the Deployments the policies name.
Everything is namespaced (Roles, never a ClusterRole); no Secrets, no Pods, no Deployments themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from appliance.k8s.models import Cluster, ScalingPolicy, ServiceBinding


@dataclass(frozen=True, order=True)
class Rule:
    namespace: str
    api_group: str
    resource: str
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()


def rules(watched: Iterable[str], scaled: Iterable[tuple[str, str]]) -> list[Rule]:
    """The rules for `watched` namespaces and `scaled` (namespace, Deployment) pairs."""
    found = [Rule(ns, "discovery.k8s.io", "endpointslices", ("get", "list", "watch")) for ns in set(watched)]
    deployments: dict[str, set[str]] = {}
    for namespace, deployment in scaled:
        deployments.setdefault(namespace, set()).add(deployment)
    for namespace, names in deployments.items():
        found.append(Rule(namespace, "autoscaling", "horizontalpodautoscalers", ("list",)))
        found.append(Rule(namespace, "apps", "deployments/scale", ("get", "patch"), tuple(sorted(names))))
    return sorted(found)


def rules_for(cluster: Cluster) -> list[Rule]:
    """What the bindings and scaling policies configured on `cluster` use."""
    watched = ServiceBinding.objects.filter(cluster=cluster).values_list("namespace", flat=True)
    scaled = ScalingPolicy.objects.filter(binding__cluster=cluster).values_list(
        "binding__namespace", "deployment"
    )
    return rules(watched, scaled)


def manifests(
    cluster: Cluster, account: str = "lb-appliance", account_namespace: str = "lb-system"
) -> list[dict]:
    """A Role and a RoleBinding per namespace, for `kubectl apply -f`, granting exactly `rules_for`."""
    by_namespace: dict[str, list[Rule]] = {}
    for rule in rules_for(cluster):
        by_namespace.setdefault(rule.namespace, []).append(rule)
    documents: list[dict] = []
    for namespace, rules in sorted(by_namespace.items()):
        meta = {"name": account, "namespace": namespace}
        role_rules = []
        for rule in rules:
            entry: dict = {
                "apiGroups": [rule.api_group],
                "resources": [rule.resource],
                "verbs": list(rule.verbs),
            }
            if rule.resource_names:
                entry["resourceNames"] = list(rule.resource_names)
            role_rules.append(entry)
        documents.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": meta,
                "rules": role_rules,
            }
        )
        documents.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
            }
        )
    return documents

"""The appliance's ServiceAccount gets least privilege: discovery reads, the payment Deployment's scale, and
nothing else — no Secrets, no wildcards, nothing cluster-wide.

`may` evaluates the rendered Roles and RoleBindings with Kubernetes' RBAC semantics (union of the rules
bound to the account in the request's namespace; resourceNames narrow a rule to named objects).
"""

from __future__ import annotations

import pytest

from tests.charts.manifests import OVERLAYS, label, of_kind

READ_VERBS = {"get", "list", "watch"}
DISCOVERY = {
    ("", "services"),
    ("discovery.k8s.io", "endpointslices"),
    ("autoscaling", "horizontalpodautoscalers"),
}
SCALE = ("apps", "deployments/scale")

# overlay -> (the appliance's ServiceAccount, namespaces it watches, namespace of the payment Deployment)
ACCOUNTS = {
    "single-node": (("lb-demo", "lb-appliance"), {"lb-demo"}, "lb-demo"),
    "production": (("lb-system", "lb-appliance"), {"payments"}, "payments"),
    "multi-cluster": (("payments", "lb-appliance"), {"payments"}, "payments"),
}


def may(
    docs: list[dict],
    account: tuple[str, str],
    verb: str,
    group: str,
    resource: str,
    namespace: str,
    name: str = "",
) -> bool:
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in of_kind(docs, "Role")}
    for binding in of_kind(docs, "RoleBinding"):
        if binding["metadata"]["namespace"] != namespace:
            continue
        subjects = {
            (s.get("namespace"), s["name"]) for s in binding["subjects"] if s["kind"] == "ServiceAccount"
        }
        if account not in subjects:
            continue
        role = roles.get((namespace, binding["roleRef"]["name"]))
        for rule in (role or {}).get("rules", []):
            if (
                verb in rule["verbs"]
                and group in rule["apiGroups"]
                and resource in rule["resources"]
                and (not rule.get("resourceNames") or name in rule["resourceNames"])
            ):
                return True
    return False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nothing_is_granted_cluster_wide(rendered, overlay):
    assert not of_kind(rendered[overlay], "ClusterRole", "ClusterRoleBinding")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rules_name_no_secrets_and_no_wildcards(rendered, overlay):
    rules = [(label(role), rule) for role in of_kind(rendered[overlay], "Role") for rule in role["rules"]]
    assert rules
    for where, rule in rules:
        for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            assert "*" not in rule.get(key, []), (where, rule)
        assert not any(r.split("/")[0] == "secrets" for r in rule["resources"]), (where, rule)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_discovery_is_read_only_and_scaling_is_the_scale_subresource_of_named_deployments(rendered, overlay):
    for role in of_kind(rendered[overlay], "Role"):
        for rule in role["rules"]:
            granted = {(group, resource) for group in rule["apiGroups"] for resource in rule["resources"]}
            if granted == {SCALE}:
                assert set(rule["verbs"]) <= {"get", "patch"}
                assert rule["resourceNames"] == ["payment"]
            else:
                assert granted <= DISCOVERY, (label(role), rule)
                assert set(rule["verbs"]) <= READ_VERBS, (label(role), rule)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_bindings_name_only_the_appliance_account_the_overlay_renders(rendered, overlay):
    docs = rendered[overlay]
    accounts = {
        (sa["metadata"]["namespace"], sa["metadata"]["name"]) for sa in of_kind(docs, "ServiceAccount")
    }
    appliance, _, _ = ACCOUNTS[overlay]
    assert appliance in accounts
    bindings = of_kind(docs, "RoleBinding")
    assert bindings
    for binding in bindings:
        assert [(s["kind"], s.get("namespace"), s["name"]) for s in binding["subjects"]] == [
            ("ServiceAccount", *appliance)
        ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_appliance_can_discover_and_scale_payment_and_nothing_more(rendered, overlay):
    docs = rendered[overlay]
    account, watched, payments = ACCOUNTS[overlay]
    for namespace in watched:
        for group, resource in DISCOVERY:
            for verb in READ_VERBS:
                assert may(docs, account, verb, group, resource, namespace), (verb, resource, namespace)
    assert may(docs, account, "get", *SCALE, payments, "payment")
    assert may(docs, account, "patch", *SCALE, payments, "payment")

    refused = [
        ("get", "", "secrets", payments, "payment-secrets"),
        ("list", "", "secrets", payments, ""),
        ("patch", *SCALE, payments, "lb-web"),
        ("update", *SCALE, payments, "payment"),
        ("patch", "apps", "deployments", payments, "payment"),
        ("delete", "", "pods", payments, ""),
        ("create", "", "pods/exec", payments, ""),
        ("list", "discovery.k8s.io", "endpointslices", "kube-system", ""),
        ("patch", *SCALE, "kube-system", "payment"),
    ]
    allowed = [request for request in refused if may(docs, account, *request)]
    assert not allowed

"""Every rendered object is valid Kubernetes for 1.29 and 1.33, and every name it refers to exists."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.charts.manifests import OVERLAYS, containers, label, of_kind, pod_template

# Secrets the operator creates before applying (README, "Deploy on Kubernetes"): never in git.
OPERATOR_SECRETS = {
    "single-node": set(),
    "production": {("lb-system", "lb-secrets"), ("payments", "payment-secrets")},
    "multi-cluster": {("payments", "payment-secrets")},
}


@pytest.mark.parametrize("version", ["1.29", "1.33"])
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_passes_strict_schema_validation(rendered, overlay, version):
    errors = []
    for doc in rendered[overlay]:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{label(doc)}: {exc.message}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_but_namespaces_has_a_namespace_the_overlay_creates(rendered, overlay):
    docs = rendered[overlay]
    created = {d["metadata"]["name"] for d in of_kind(docs, "Namespace")}
    namespaced = [d for d in docs if d["kind"] != "Namespace"]
    assert namespaced
    assert all(d["metadata"].get("namespace") in created for d in namespaced), [
        label(d) for d in namespaced if d["metadata"].get("namespace") not in created
    ]


def _references(pod_spec: dict) -> set[tuple[str, str]]:
    refs = set()
    for volume in pod_spec.get("volumes", []):
        if "secret" in volume:
            refs.add(("Secret", volume["secret"]["secretName"]))
        if "configMap" in volume:
            refs.add(("ConfigMap", volume["configMap"]["name"]))
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                refs.add(("Secret", source["secret"]["name"]))
    for container in containers(pod_spec):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                refs.add(("ConfigMap", source["configMapRef"]["name"]))
        for item in container.get("env", []):
            value_from = item.get("valueFrom", {})
            if "secretKeyRef" in value_from:
                refs.add(("Secret", value_from["secretKeyRef"]["name"]))
    return refs


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_operator_created_secrets_are_referenced_without_being_rendered(rendered, overlay):
    docs = rendered[overlay]
    present = {
        (d["kind"], d["metadata"]["namespace"], d["metadata"]["name"])
        for d in docs
        if "namespace" in d["metadata"]
    }
    missing = set()
    for workload in of_kind(docs, "Deployment", "StatefulSet", "Job"):
        namespace = workload["metadata"]["namespace"]
        for kind, name in _references(pod_template(workload)["spec"]):
            if (kind, namespace, name) not in present:
                missing.add((kind, namespace, name))
    assert missing == {("Secret", ns, name) for ns, name in OPERATOR_SECRETS[overlay]}

"""Validation of every written object: the official OpenAPI schemas, then the rules they miss.

The schemas are the ones shipped by ``kubernetes-validate`` (strict variant: unknown fields are
errors). JSON Schema cannot express name syntax, selector/label agreement or the kubesim
annotations, so a few of the real server's semantic checks are added on top. Every finding is
reported as a ``StatusCause`` so a 422 lists all problems at once, like the real server.
"""

from __future__ import annotations

import functools
import json
import re

import jsonschema
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource

from . import selectors
from .resources import KUBE_MAJOR, KUBE_MINOR

SCHEMA_DIR = f"kubernetes-json-schema/v{KUBE_MAJOR}.{KUBE_MINOR}.0-local-strict"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_PORT_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")

_DEFAULT_NAME_RULE = (_DNS_SUBDOMAIN, 253, "a lowercase RFC 1123 subdomain")
# Which name syntax each kind requires (apimachinery's ValidateNameFunc per resource).
_NAME_RULES = {
    "Namespace": (_DNS_LABEL, 63, "a lowercase RFC 1123 label"),
    "Service": (_DNS_1035, 63, "a DNS-1035 label"),
}


def cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict:
    return {"reason": reason, "message": message, "field": field}


@functools.lru_cache(maxsize=32)
def _validator(kind: str, api_version: str) -> jsonschema.protocols.Validator:
    # Same file layout and $ref registry that kubernetes_validate.validate() builds, but cached and
    # used with iter_errors so that every violation becomes a cause, not just the first.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = schema_contents(f"{SCHEMA_DIR}/{kind.lower()}-{group_version}.json", KUBE_MINOR)
    definitions = schema_contents(f"{SCHEMA_DIR}/_definitions.json", KUBE_MINOR)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def schema_causes(obj: dict) -> list[dict]:
    validator = _validator(obj["kind"], obj["apiVersion"])
    causes = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path))):
        field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error.path).replace(".[", "[")
        causes.append(cause(field, error.message))
    return causes


def validate(obj: dict) -> list[dict]:
    """All problems with ``obj`` as a list of causes; empty means valid."""
    causes = schema_causes(obj)
    if causes:
        return causes  # semantic checks assume the shape is right
    causes += _metadata_causes(obj)
    checker = _KIND_CHECKS.get(obj["kind"])
    if checker:
        causes += checker(obj)
    return causes


def _metadata_causes(obj: dict) -> list[dict]:
    meta = obj["metadata"]
    name = meta.get("name", "")
    pattern, limit, what = _NAME_RULES.get(obj["kind"], _DEFAULT_NAME_RULE)
    causes = []
    if not name:
        message = "Required value: name or generateName is required"
        causes.append(cause("metadata.name", message, "FieldValueRequired"))
    elif len(name) > limit or not pattern.match(name):
        causes.append(cause("metadata.name", f'Invalid value: "{name}": must be {what}'))
    for key, value in (meta.get("labels") or {}).items():
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            message = f'Invalid value: "{value}": not a valid label value'
            causes.append(cause(f"metadata.labels[{key}]", message))
    return causes


def _deployment_causes(obj: dict) -> list[dict]:
    spec = obj["spec"]
    causes = []
    if (spec.get("replicas") or 0) < 0:
        causes.append(cause("spec.replicas", "Invalid value: must be greater than or equal to 0"))
    requirements = selectors.from_label_selector_object(spec.get("selector"))
    template_meta = spec["template"].get("metadata") or {}
    if not requirements:
        causes.append(cause("spec.selector", "Invalid value: empty selector is invalid for deployment"))
    elif not selectors.matches(requirements, template_meta.get("labels")):
        causes.append(
            cause(
                "spec.template.metadata.labels",
                "Invalid value: `selector` does not match template `labels`",
            )
        )
    if not (spec["template"].get("spec") or {}).get("containers"):
        causes.append(cause("spec.template.spec.containers", "Required value", "FieldValueRequired"))
    causes += kubesim_annotation_causes(template_meta.get("annotations") or {})
    return causes


def kubesim_annotation_causes(annotations: dict) -> list[dict]:
    """The pod-template annotations that tell the simulated kubelet what to run."""
    base = "spec.template.metadata.annotations"
    causes = []
    if "kubesim.lb/command" in annotations:
        try:
            argv = json.loads(annotations["kubesim.lb/command"])
            ok = isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)
        except ValueError:
            ok = False
        if not ok:
            message = "Invalid value: must be a JSON list of strings"
            causes.append(cause(f"{base}[kubesim.lb/command]", message))
        if "kubesim.lb/port-range" not in annotations:
            causes.append(cause(f"{base}[kubesim.lb/port-range]", "Required value", "FieldValueRequired"))
    if "kubesim.lb/port-range" in annotations:
        m = _PORT_RANGE.match(annotations["kubesim.lb/port-range"])
        if not m or not 1024 <= int(m.group(1)) <= int(m.group(2)) <= 65535:
            message = 'Invalid value: must be "LOW-HIGH" within 1024-65535'
            causes.append(cause(f"{base}[kubesim.lb/port-range]", message))
    if "kubesim.lb/env" in annotations:
        try:
            env = json.loads(annotations["kubesim.lb/env"])
            ok = isinstance(env, dict) and all(isinstance(v, str) for v in env.values())
        except ValueError:
            ok = False
        if not ok:
            causes.append(cause(f"{base}[kubesim.lb/env]", "Invalid value: must be a JSON object of strings"))
    return causes


def _service_causes(obj: dict) -> list[dict]:
    spec = obj["spec"]
    causes = []
    if spec.get("type", "ClusterIP") != "ExternalName" and not spec.get("ports"):
        causes.append(cause("spec.ports", "Required value", "FieldValueRequired"))
    for i, port in enumerate(spec.get("ports") or []):
        if not 1 <= port.get("port", 0) <= 65535:
            message = "Invalid value: must be between 1 and 65535, inclusive"
            causes.append(cause(f"spec.ports[{i}].port", message))
    names = [p.get("name", "") for p in spec.get("ports") or []]
    if len(names) > 1 and (len(set(names)) != len(names) or "" in names):
        message = "Invalid value: ports must have unique, non-empty names when there are several"
        causes.append(cause("spec.ports", message))
    return causes


def _hpa_causes(obj: dict) -> list[dict]:
    spec = obj["spec"]
    if spec.get("minReplicas", 1) > spec["maxReplicas"]:
        return [cause("spec.maxReplicas", "Invalid value: must be greater than or equal to `minReplicas`")]
    return []


_KIND_CHECKS = {
    "Deployment": _deployment_causes,
    "Service": _service_causes,
    "HorizontalPodAutoscaler": _hpa_causes,
}

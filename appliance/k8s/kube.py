"""The few Kubernetes API calls the appliance makes, on the official client, returning plain JSON.

Reads: `/version`, `/api` (discovery, to check the credentials), the EndpointSlices of some Services in
one namespace (list + watch), the HPAs of a namespace, a Deployment's `scale`. Write: the `scale`
subresource, with the resourceVersion read as a precondition.
Nothing else — which is what the least-privilege rules in `rbac.py` grant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes import client, watch

from appliance.k8s.kubeconfig import REQUEST_TIMEOUT

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SIMULATOR_SUFFIX = "-kubesim"
ApiException = client.exceptions.ApiException


@dataclass(frozen=True)
class Version:
    git_version: str

    @property
    def simulated(self) -> bool:
        return self.git_version.endswith(SIMULATOR_SUFFIX)


@dataclass(frozen=True)
class Scale:
    replicas: int
    resource_version: str


def _json(response: Any) -> dict[str, Any]:
    try:
        return dict(json.loads(response.data))
    finally:
        response.release_conn()


def message(exc: ApiException) -> str:
    """The API server's own words from an error answer (its Status), else the HTTP reason."""
    try:
        return str(json.loads(exc.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(exc.reason)


def _get(api: client.ApiClient, path: str) -> dict[str, Any]:
    # The generated VersionApi/CoreApi ask for "/version/" and "/api/"; the canonical paths (what
    # kubectl asks for) are the ones every API server answers, kubesim included.
    serialized = api.param_serialize(
        "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
    )
    response = api.call_api(*serialized, _request_timeout=REQUEST_TIMEOUT)
    response.read()
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(
            http_resp=response, body=response.data.decode(errors="replace"), data=None
        )
    return dict(json.loads(response.data))


def version(api: client.ApiClient) -> Version:
    return Version(str(_get(api, "/version")["gitVersion"]))


def check_credentials(api: client.ApiClient) -> None:
    """GET /api: any authenticated caller may read discovery, so a 401 here means the credentials."""
    _get(api, "/api")


def slice_selector(services: frozenset[str]) -> str:
    return f"{SERVICE_NAME_LABEL} in ({','.join(sorted(services))})"


def list_slices(api: client.ApiClient, namespace: str, services: frozenset[str]) -> tuple[list[dict], str]:
    """Every EndpointSlice of `services` in `namespace`, and the list's resourceVersion."""
    response = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        namespace,
        label_selector=slice_selector(services),
        _preload_content=False,
        _request_timeout=REQUEST_TIMEOUT,
    )
    body = _json(response)
    return list(body.get("items") or []), str(body["metadata"]["resourceVersion"])


def watch_slices(
    api: client.ApiClient,
    namespace: str,
    services: frozenset[str],
    resource_version: str,
    stream: watch.Watch,
    timeout_s: int,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(type, raw object) events after `resource_version`, bookmarks included, until the server ends it.

    Raises `ApiException` with status 410 when that resourceVersion is too old: the caller relists.
    """
    events = stream.stream(
        client.DiscoveryV1Api(api).list_namespaced_endpoint_slice,
        namespace,
        label_selector=slice_selector(services),
        resource_version=resource_version,
        allow_watch_bookmarks=True,
        timeout_seconds=timeout_s,
        # A silent connection (no event, no bookmark) for this long is dead: reconnect.
        _request_timeout=(REQUEST_TIMEOUT[0], timeout_s + 15),
    )
    for event in events:
        yield str(event["type"]), event["raw_object"]


def hpas_targeting(api: client.ApiClient, namespace: str, deployment: str) -> list[str]:
    """Names of the HorizontalPodAutoscalers that scale this Deployment."""
    response = client.AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler(
        namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
    )
    names = []
    for hpa in _json(response).get("items") or []:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name") == deployment:
            names.append(str(hpa["metadata"]["name"]))
    return sorted(names)


def read_scale(api: client.ApiClient, namespace: str, deployment: str) -> Scale:
    response = client.AppsV1Api(api).read_namespaced_deployment_scale(
        deployment, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
    )
    body = _json(response)
    return Scale(int((body.get("spec") or {}).get("replicas") or 0), str(body["metadata"]["resourceVersion"]))


def patch_scale(api: client.ApiClient, namespace: str, deployment: str, replicas: int, read: Scale) -> None:
    """Set the replica count, but only if the Deployment is still as `read` saw it (else 409 Conflict)."""
    body = {"metadata": {"resourceVersion": read.resource_version}, "spec": {"replicas": replicas}}
    _json(
        client.AppsV1Api(api).patch_namespaced_deployment_scale(
            deployment, namespace, body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
        )
    )

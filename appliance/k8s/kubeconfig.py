"""Uploaded kubeconfigs: strict parsing down to one context, and API clients built from stored clusters.

A kubeconfig can make its reader run programs (`exec`, `auth-provider`) or read local files (`tokenFile`,
`client-key`, `certificate-authority` paths). An uploaded one must do neither on the appliance, so only
inline credentials are accepted: a bearer token, or client certificate and key data. Only the chosen
context is kept (cluster, user, context), so nothing else of the upload is stored, even sealed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings
from kubernetes import client, config

from appliance.k8s.choices import ClusterSource
from appliance.tls import crypto

MAX_BYTES = 256 * 1024
CLUSTER_KEYS = frozenset(
    {"server", "certificate-authority-data", "insecure-skip-tls-verify", "tls-server-name"}
)
USER_KEYS = frozenset({"token", "client-certificate-data", "client-key-data"})
IGNORED_KEYS = frozenset({"extensions"})  # informational only; dropped
# Per request: connect, then read. A watch sets its own read timeout (longer than its bookmark interval).
REQUEST_TIMEOUT = (3.0, 10.0)


class KubeconfigError(ValueError):
    """The upload cannot be used; `field` is the API field the message belongs to."""

    def __init__(self, message: str, field: str = "kubeconfig") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ParsedKubeconfig:
    context: str
    server: str
    document: dict[str, Any]  # a one-context kubeconfig

    def sealed(self, cluster_id: int) -> bytes:
        """The document, sealed by the appliance's envelope encryption (`appliance.tls.crypto`)."""
        return crypto.encrypt(json.dumps(self.document, sort_keys=True).encode(), owner(cluster_id))


def owner(cluster_id: int) -> str:
    """The envelope's authenticated owner: credentials copied onto another cluster do not open."""
    return f"k8s-cluster:{cluster_id}"


def _named(document: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    for entry in document.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(section[:-1])
            if isinstance(body, dict):
                return body
    raise KubeconfigError(f"the kubeconfig has no {section[:-1]} named {name!r}")


def _only(body: dict[str, Any], allowed: frozenset[str], what: str) -> dict[str, Any]:
    refused = sorted(set(body) - allowed - IGNORED_KEYS)
    if refused:
        raise KubeconfigError(
            f"{what} uses {', '.join(refused)}; only inline credentials are accepted "
            f"({', '.join(sorted(allowed))}): no programs to run and no local files to read"
        )
    return {k: v for k, v in body.items() if k in allowed}


def _check_server(cluster: dict[str, Any], user: dict[str, Any]) -> str:
    server = cluster.get("server")
    parts = urlsplit(server) if isinstance(server, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        raise KubeconfigError("the cluster's server must be an http(s) URL")
    if parts.scheme == "http" and user:
        raise KubeconfigError("credentials are never sent over plain HTTP: use an https server URL")
    return str(server)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong and where, never the text itself: PyYAML's message quotes the offending line, which
    may hold a token or a key."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem or 'syntax error'} at line {mark.line + 1}, column {mark.column + 1}"
    return "syntax error"


def parse(text: str, context: str = "") -> ParsedKubeconfig:
    """Validate an uploaded kubeconfig and reduce it to `context` (default: its current context)."""
    if len(text.encode()) > MAX_BYTES:
        raise KubeconfigError(f"larger than {MAX_BYTES // 1024} KiB")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(document, dict):
        raise KubeconfigError("not a kubeconfig (expected a mapping with clusters, users and contexts)")
    name = context or document.get("current-context") or ""
    if not isinstance(name, str) or not name:
        raise KubeconfigError("no context given and the kubeconfig has no current-context", "context")
    try:
        ctx = _named(document, "contexts", name)
    except KubeconfigError as exc:
        raise KubeconfigError(str(exc), "context") from None
    cluster = _only(_named(document, "clusters", str(ctx.get("cluster"))), CLUSTER_KEYS, "the cluster")
    user_name = ctx.get("user")
    user = _only(_named(document, "users", str(user_name)), USER_KEYS, "the user") if user_name else {}
    if bool(user.get("client-certificate-data")) != bool(user.get("client-key-data")):
        raise KubeconfigError("client-certificate-data and client-key-data go together")
    server = _check_server(cluster, user)
    minimal = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": cluster}],
        "users": [{"name": "user", "user": user}],
        "contexts": [{"name": name, "context": {"cluster": "cluster", "user": "user"}}],
        "current-context": name,
    }
    return ParsedKubeconfig(context=name, server=server, document=minimal)


def _private_dir() -> str:
    # The client writes CA and client-key data to files for the TLS layer; keep them in a private directory.
    path = settings.STACK.path("run", "k8s-tls")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return str(path)


def api_client(cluster_id: int, source: str, sealed: bytes, context: str) -> client.ApiClient:
    """An API client for a stored cluster; requests fail fast instead of retrying in the background."""
    configuration = client.Configuration()
    if source == ClusterSource.IN_CLUSTER:
        config.load_incluster_config(client_configuration=configuration)
    else:
        document = json.loads(crypto.decrypt(sealed, owner(cluster_id)))
        config.load_kube_config_from_dict(
            document,
            context=context,
            client_configuration=configuration,
            persist_config=False,
            temp_file_path=_private_dir(),
        )
    configuration.retries = False
    return client.ApiClient(configuration)

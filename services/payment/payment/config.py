"""Environment readers for the payment service's settings.

The service is configured by environment variables only (see services/payment/README.md). Secrets have no
defaults: a missing one stops the process at start-up with a message naming the variable, instead of
surfacing later as a confusing connection error. Every reader also accepts `NAME_FILE` (a path, the
Kubernetes-secret style), which wins over `NAME`.

This module imports nothing from Django, so the gunicorn hooks can use it before Django is configured.
"""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message names the variable and what is expected."""


def _raw(name: str) -> str | None:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name)


def env_required(name: str) -> str:
    value = _raw(name)
    if value is None or not value.strip():
        raise ConfigError(
            f"{name} is required but not set: set {name} (or {name}_FILE) in the environment "
            "(see services/payment/README.md)"
        )
    return value.strip()


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None or value == "" else value.strip()


def env_int(name: str, default: int, low: int, high: int) -> int:
    raw = env_str(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def env_float(name: str, default: float, low: float, high: float) -> float:
    raw = env_str(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")

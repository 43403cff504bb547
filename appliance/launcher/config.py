"""Stack configuration: every port, path and secret of the local appliance, read from the environment.

This module is the single source of truth for defaults. The launcher uses it to start services and the
Django settings use it to connect to them, so the two can never disagree about a port. It imports nothing
from Django so that it can run before Django is configured.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_STATE_DIR = "/var/tmp/lb-appliance"  # noqa: S108 - fixed, documented location, not a temp file


class ConfigError(ValueError):
    """A setting has a value the appliance cannot use; the message names the variable."""


def env_str(name: str, default: str) -> str:
    """A string setting; `NAME_FILE` (a path, Kubernetes-secret style) wins over `NAME`."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def env_int(name: str, default: int, low: int = 0, high: int = 65535) -> int:
    raw = env_str(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is outside {low}..{high}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name, "1" if default else "0").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


@dataclass(frozen=True)
class Ports:
    """Every TCP port the local stack listens on (all on `StackConfig.bind`)."""

    web: int = 8000
    postgres: int = 15432
    redis: int = 16379
    s3: int = 18333
    weed_master: int = 19333
    weed_volume: int = 18380
    weed_filer: int = 18888
    status: int = 8099
    demo_http: int = 8080
    demo_https: int = 8443
    payment_base: int = 9101
    kubesim: int = 16443
    # SeaweedFS gives every listener a gRPC twin; left to itself it picks port+10000 and collides.
    weed_master_grpc: int = 29333
    weed_volume_grpc: int = 28380
    weed_filer_grpc: int = 28888
    s3_grpc: int = 28333

    @classmethod
    def from_env(cls) -> Ports:
        defaults = cls()
        return cls(
            **{
                name: env_int(f"LB_{name.upper()}_PORT", getattr(defaults, name), 1)
                for name in defaults.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class StackConfig:
    """Where the appliance keeps its state and how its parts reach each other."""

    state_dir: Path
    bind: str
    ports: Ports
    db_name: str = "lb"
    db_user: str = "lb"
    payment_db_name: str = "payment"
    node_name: str = "node1"
    payment_replicas: int = 3
    s3_region: str = "us-east-1"
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> StackConfig:
        state_dir = Path(env_str("LB_STATE_DIR", DEFAULT_STATE_DIR)).resolve()
        if str(state_dir).startswith("/root"):
            raise ConfigError("LB_STATE_DIR must not be under /root: PostgreSQL's user cannot reach it")
        return cls(
            state_dir=state_dir,
            bind=env_str("LB_BIND", "127.0.0.1"),
            ports=Ports.from_env(),
            db_name=env_str("LB_DB_NAME", "lb"),
            db_user=env_str("LB_DB_USER", "lb"),
            payment_db_name=env_str("LB_PAYMENT_DB_NAME", "payment"),
            node_name=env_str("LB_NODE_NAME", "node1"),
            payment_replicas=env_int("LB_PAYMENT_REPLICAS", 3, 0, 32),
        )

    # -- derived locations -------------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        return self.state_dir.joinpath(*parts)

    @property
    def db_host(self) -> str:
        return env_str("LB_DB_HOST", self.bind)

    @property
    def db_port(self) -> int:
        return env_int("LB_DB_PORT", self.ports.postgres, 1)

    @property
    def redis_url(self) -> str:
        if os.environ.get("LB_REDIS_URL"):
            return os.environ["LB_REDIS_URL"]
        return f"redis://:{self.secret('redis-password')}@{self.bind}:{self.ports.redis}/0"

    @property
    def s3_endpoint(self) -> str:
        return env_str("LB_S3_ENDPOINT", f"{self.bind}:{self.ports.s3}")

    @property
    def s3_secure(self) -> bool:
        return env_bool("LB_S3_SECURE", False)

    @property
    def status_url(self) -> str:
        return f"http://{self.bind}:{self.ports.status}"

    def secret(self, name: str) -> str:
        """A secret: `LB_<NAME>` / `LB_<NAME>_FILE` if set, else the generated file in the state dir.

        Generated secrets are created once (mode 0600) and reused, so restarts keep the data readable.
        """
        env_name = "LB_" + name.upper().replace("-", "_")
        if os.environ.get(env_name) or os.environ.get(f"{env_name}_FILE"):
            return env_str(env_name, "")
        path = self.path("secrets", name)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first; read theirs below
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))  # 64 characters: enough for any key
        return path.read_text().strip()


def isolated_environment(prefix: str) -> Path:
    """Point this process (and its children) at a fresh state dir and free loopback ports.

    Used by the test suite and the benchmarks so they never touch a running `make run`. Idempotent per
    process tree: a child that inherits the environment keeps it.
    """
    if os.environ.get("LB_ISOLATED"):
        return Path(os.environ["LB_STATE_DIR"])
    os.environ["LB_ISOLATED"] = "1"
    os.environ["LB_STATE_DIR"] = tempfile.mkdtemp(prefix=prefix, dir="/var/tmp")
    names = list(Ports.__dataclass_fields__)
    sockets = []
    try:
        for _ in names:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        for name, sock in zip(names, sockets, strict=True):
            os.environ[f"LB_{name.upper()}_PORT"] = str(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return Path(os.environ["LB_STATE_DIR"])

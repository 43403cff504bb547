"""Bearer-token authentication and a minimal RBAC check.

The token given on the command line belongs to ``kubesim-admin``, who may do everything. A
rules file (JSON or YAML) adds other users, each with a token and rules like an RBAC Role::

    users:
      - name: autoscaler
        token: s3cret
        rules:
          - apiGroups: ["apps"]
            resources: ["deployments", "deployments/scale"]
            verbs: ["get", "list", "watch", "patch"]
            namespaces: ["shop"]        # omitted or ["*"]: every namespace and cluster scope

A rule limited to namespaces never grants cluster-scoped requests (including lists across all
namespaces), which mirrors the difference between a Role and a ClusterRole.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import errors
from .resources import ResourceType

ADMIN_USER = "kubesim-admin"


@dataclass(frozen=True)
class Rule:
    """One allow rule; ``"*"`` in any list matches everything."""

    api_groups: frozenset[str]
    resources: frozenset[str]
    verbs: frozenset[str]
    namespaces: frozenset[str]

    def allows(self, verb: str, group: str, resource: str, namespace: str) -> bool:
        def has(values: frozenset[str], value: str) -> bool:
            return "*" in values or value in values

        if not (has(self.verbs, verb) and has(self.api_groups, group) and has(self.resources, resource)):
            return False
        return "*" in self.namespaces or (bool(namespace) and namespace in self.namespaces)


@dataclass(frozen=True)
class User:
    """An authenticated caller; ``rules is None`` means unrestricted (the admin)."""

    name: str
    token: str
    rules: tuple[Rule, ...] | None


def _rule(raw: dict) -> Rule:
    def values(key: str, default: list[str] | None = None) -> frozenset[str]:
        found = raw.get(key, default)
        if not isinstance(found, list) or not all(isinstance(v, str) for v in found):
            raise ValueError(f"RBAC rule field {key!r} must be a list of strings: {raw!r}")
        return frozenset(found)

    return Rule(values("apiGroups"), values("resources"), values("verbs"), values("namespaces", ["*"]))


def load_users(path: Path) -> list[User]:
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    users = []
    for raw in (data or {}).get("users", []):
        if not raw.get("name") or not raw.get("token"):
            raise ValueError(f"every RBAC user needs a name and a token: {raw!r}")
        users.append(User(raw["name"], raw["token"], tuple(_rule(r) for r in raw.get("rules", []))))
    return users


class Authorizer:
    """Maps bearer tokens to users and answers "may this user do this?"."""

    def __init__(self, admin_token: str, rules_file: Path | None = None):
        self.users = [User(ADMIN_USER, admin_token, None)]
        if rules_file:
            self.users += load_users(rules_file)

    def authenticate(self, authorization: str | None) -> User:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and token:
            for user in self.users:
                # Constant-time comparison: tokens are secrets even in a simulator's logs and timings.
                if hmac.compare_digest(user.token.encode(), token.strip().encode()):
                    return user
        raise errors.unauthorized()

    @staticmethod
    def authorize(
        user: User, verb: str, rt: ResourceType, sub: str | None, namespace: str, name: str
    ) -> None:
        if user.rules is None:
            return
        resource = f"{rt.plural}/{sub}" if sub else rt.plural
        if any(rule.allows(verb, rt.group, resource, namespace) for rule in user.rules):
            return
        raise errors.forbidden(user.name, verb, rt, resource, name, namespace)

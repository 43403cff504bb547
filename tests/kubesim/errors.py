"""Kubernetes ``Status`` failures as Python exceptions.

Every error kubesim returns is a ``Status`` object shaped like the real API server's, because
clients branch on ``reason`` and ``code`` (the official client's ``ApiException.status``,
client-go's ``IsConflict``/``IsNotFound``) rather than on message text.
"""

from __future__ import annotations

from .resources import ResourceType


class ApiError(Exception):
    """A failure that the HTTP layer turns into a ``Status`` response with ``code``."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        return failure_status(self.code, self.reason, self.message, self.details)


def failure_status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def success_status(rt: ResourceType, name: str, uid: str) -> dict:
    details = {"name": name, "group": rt.group, "kind": rt.plural, "uid": uid}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def _details(rt: ResourceType, name: str) -> dict:
    return {"name": name, "group": rt.group, "kind": rt.plural}


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rt.group_resource} "{name}" not found', _details(rt, name))


def namespace_not_found(name: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


def no_such_route() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(rt: ResourceType, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{rt.group_resource} "{name}" already exists', _details(rt, name))


def conflict(rt: ResourceType, name: str, why: str | None = None) -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    message = f'Operation cannot be fulfilled on {rt.group_resource} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(rt, name))


def invalid(group: str, kind: str, name: str, causes: list[dict]) -> ApiError:
    summary = ", ".join(f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes)
    group_kind = f"{kind}.{group}" if group else kind
    message = f'{group_kind} "{name}" is invalid: {summary}'
    details = {"name": name, "group": group, "kind": kind, "causes": causes}
    return ApiError(422, "Invalid", message, details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user: str, verb: str, rt: ResourceType, resource: str, name: str, namespace: str) -> ApiError:
    target = f'{rt.group_resource} "{name}"' if name else rt.group_resource
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = (
        f'{target} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "{rt.group}"{where}'
    )
    return ApiError(403, "Forbidden", message, _details(rt, name))


def method_not_allowed(method: str) -> ApiError:
    message = f"the server does not allow this method on the requested resource: {method}"
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    message = f"the body of the request was in an unknown format: {content_type}"
    return ApiError(415, "UnsupportedMediaType", message)

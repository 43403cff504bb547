"""OpenAPI post-processing: document the error answers every operation can give, and ETag/If-Match.

drf-spectacular documents success answers from the serializers; the errors come from the API's
cross-cutting rules (authentication, roles, lockout, validation, `If-Match`), so they are added here for
every operation at once and the schema matches what clients (and schemathesis) actually receive.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "`{field path: [messages]}` for invalid input; `{detail: message}` otherwise.",
    "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
}
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "Version of the object, for If-Match."}}
METHODS = ("get", "post", "put", "patch", "delete")


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _errors_for(method: str, path: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    errors: dict[str, dict[str, Any]] = {
        "401": _error("Not authenticated, or the API token is invalid, expired or revoked."),
        "403": _error("The role acting does not allow this."),
        "429": _error("Too many failed sign-ins or token attempts from this address; see Retry-After."),
    }
    errors["400"] = _error("Invalid input (body or query parameters).")
    errors["404"] = _error("No such object (or not yours), or no such page of a list.")
    if method in ("post", "put", "patch"):
        errors["415"] = _error("The body's media type is not one the operation accepts, or is malformed.")
    if method == "delete" and _has_if_match(operation):
        errors["409"] = _error("The object is still used by others.")
    if _has_if_match(operation) or path.endswith("/change-sets/"):
        errors["412"] = _error("If-Match does not match the object's current ETag.")
    return errors


def _has_if_match(operation: dict[str, Any]) -> bool:
    return any(
        p.get("in") == "header" and p.get("name") == "If-Match" for p in operation.get("parameters", [])
    )


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorBody"] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        versioned = any(_has_if_match(item.get(m, {})) for m in ("put", "patch", "delete"))
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in _errors_for(method, path, operation).items():
                responses.setdefault(status, response)
            if versioned and method in ("get", "put", "patch"):
                for status, response in responses.items():
                    if status.startswith("2"):
                        response.setdefault("headers", {}).update(ETAG_HEADER)
    return result

"""OpenAPI post-processing: every operation documents the API's one error shape."""

ERROR_RESPONSES = {
    "400": "Invalid input: `errors` holds the messages per field or rule.",
    "401": "Not authenticated: no credentials, or a token refused with the reason (unknown, expired, revoked).",
    "403": "Not permitted, with the reason (also a read token on a write operation: `token_scope`).",
    "404": "Not found (also another organisation's object).",
}
WRITE_ERROR_RESPONSES = {
    "409": "Conflict with the object's state or a limit.",
    "413": "The body is larger than the service accepts (5 MB; an upload is bounded by its file's rule).",
}

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["detail", "code", "errors"],
}


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    reference = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            documented = operation["responses"]
            wanted = dict(ERROR_RESPONSES)
            if method.lower() not in ("get", "head", "options"):
                wanted.update(WRITE_ERROR_RESPONSES)
            for status, description in wanted.items():
                documented.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result

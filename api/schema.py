"""drf-spectacular extensions for our own classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token issued by an administrator in the Django admin (API tokens).",
        }


ERROR_SCHEMA = {
    "type": "object",
    "description": "`{\"detail\": \"...\"}`, or for invalid input the invalid fields and their messages.",
    "additionalProperties": True,
}

_ERRORS = {
    "400": "Invalid input",
    "401": "No or invalid credentials",
    "403": "Not allowed for this role (or CSRF check failed for a session)",
    "404": "Does not exist or is outside the caller's scope",
    "405": "Method not allowed",
    "429": "Too many requests",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the errors it can
    answer, so clients (and schemathesis) know them. 404 only where the path names an
    object, 400 only where there is input to get wrong."""
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            codes = ["401", "403", "405", "429"]
            if "{" in path:
                codes.append("404")
            if operation.get("requestBody") or any(p.get("in") == "query" for p in operation.get("parameters", [])):
                codes.append("400")
            for code in codes:
                responses.setdefault(code, {
                    "description": _ERRORS[code],
                    "content": {"application/json": {"schema": ERROR_SCHEMA}},
                })
    return result

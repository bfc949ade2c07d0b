"""The error answers of the API, in its OpenAPI schema.

drf-spectacular documents what a view answers when it succeeds, and the
errors a view names in its @extend_schema. The errors that DRF itself gives
every view are left out, and a client generated from the schema would not
expect them: 401 (no or a bad token), 403 (a role, or a company, that may not),
404 (an id of no row the caller may see, or a cursor that is not one), 400 (a
filter, a parameter or a body that is not valid) and 429 (throttling). This
postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds them
to each operation that can answer them, with the body DRF sends; a view's own
description of a code is kept. tests/fuzz proves the list complete.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

ERROR_SCHEMA = "Error"
VALIDATION_ERROR_SCHEMA = "ValidationError"
METHODS = {"get", "put", "post", "patch", "delete"}


def _error(description: str, schema: str, media_types: set[str]) -> dict[str, Any]:
    # DRF renders an error with the view's renderers: JSON, or the format of a
    # view that answers only a file (the CSV of an export), as a string.
    content: dict[str, Any] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    content.update({media_type: {"schema": {"type": "string"}} for media_type in sorted(media_types)})
    return {"description": description, "content": content}


def add_error_responses(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Every operation documents the errors DRF answers for it (a view's own description wins)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_SCHEMA] = {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    }
    # DRF's validation errors: field names (or non_field_errors) to their messages,
    # or a list of messages for an error that concerns no field.
    schemas[VALIDATION_ERROR_SCHEMA] = {
        "oneOf": [
            {"type": "object", "additionalProperties": True},
            {"type": "array", "items": {"type": "string"}},
        ]
    }
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            media_types = {
                media_type
                for response in responses.values()
                for media_type in response.get("content", {})
                if media_type != "application/json"
            }
            names = {(parameter["in"], parameter["name"]) for parameter in operation.get("parameters", [])}
            public = {} in operation.get("security", [])
            writes = method != "get"
            errors: dict[str, tuple[str, str]] = {
                "401": (_("Credentials were not sent, or are not valid."), ERROR_SCHEMA),
                "429": (_("Too many requests: try again later."), ERROR_SCHEMA),
            }
            if not public:
                errors["403"] = (_("The caller may not do this."), ERROR_SCHEMA)
            # An id in the path or the body, a cursor, or a format (?format=) that is not one.
            if (
                writes
                or any(place == "path" for place, _name in names)
                or {
                    ("query", "cursor"),
                    ("query", "format"),
                }
                & names
            ):
                errors["404"] = (_("No such object the caller may see."), ERROR_SCHEMA)
            # A write can be refused by a rule of the service, besides its body.
            if writes or any(place == "query" for place, _name in names):
                errors["400"] = (
                    _("The request is not valid: the errors, by field."),
                    VALIDATION_ERROR_SCHEMA,
                )
            for code, (description, schema) in errors.items():
                responses.setdefault(code, _error(description, schema, media_types))
            for parameter in operation.get("parameters", []):
                _empty_choice_allowed(parameter)
    return result


def _empty_choice_allowed(parameter: dict[str, Any]) -> None:
    """A query filter with choices takes an empty value too, meaning any (django-filter's reading).

    `?status=` is what a form with "all" chosen sends; the API answers it as if
    the filter were left out, and the schema says so rather than calling it invalid.
    """
    schema = parameter.get("schema", {})
    choices = schema.get("enum")
    if parameter["in"] != "query" or schema.get("type") != "string" or not choices or "" in choices:
        return
    schema["enum"] = [*choices, ""]
    parameter["description"] = " ".join(filter(None, [parameter.get("description", ""), _("Empty: any.")]))

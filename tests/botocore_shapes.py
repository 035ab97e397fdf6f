"""Offline checks of AWS API parameters against the service models bundled with botocore.

botocore's ParamValidator checks types, required members and unknown keys, but not enums (nor
lengths or ranges): `problems` adds the enum check by walking the shape beside the parameters, and
fields the API requires without its model saying so (`extra_required`, keyed by shape name).
Reusable for any operation: `problems(params, "ecs", "CreateService")`.
"""
import re
from functools import cache

import botocore.session
from botocore.validate import ParamValidator


@cache
def service_model(service):
    return botocore.session.get_session().get_service_model(service)


def input_shape(service, operation):
    return service_model(service).operation_model(operation).input_shape


def member(service, shape_name, name):
    """A member of a named shape (its documentation is the member's own)."""
    return service_model(service).shape_for(shape_name).members[name]


def documented_values(shape):
    """The 'Valid values: "a" | "b"' a member's documentation lists where the model has no enum."""
    text = re.sub(r"<[^>]+>", "", shape.documentation or "")
    match = re.search(r"Valid values:\s*((?:\"[^\"]*\"\s*\|?\s*)+)", text)
    assert match, f"no 'Valid values' in the documentation of {shape.name}"
    return tuple(re.findall(r"\"([^\"]*)\"", match[1]))


def shape_errors(value, shape, path="", extra_required=None):
    """Enum violations (and missing `extra_required` members) in `value`, walked beside `shape`."""
    errors, extra_required = [], extra_required or {}
    if shape.type_name == "structure" and isinstance(value, dict):
        errors += [f"{path or shape.name}: missing required {name!r} (ECS API reference)"
                   for name in extra_required.get(shape.name, ()) if name not in value]
        for name, item in value.items():
            if name in shape.members:
                errors += shape_errors(item, shape.members[name], f"{path}.{name}".lstrip("."), extra_required)
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            errors += shape_errors(item, shape.member, f"{path}[{i}]", extra_required)
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += shape_errors(key, shape.key, f"{path} key", extra_required)
            errors += shape_errors(item, shape.value, f"{path}[{key!r}]", extra_required)
    elif shape.type_name == "string" and getattr(shape, "enum", None) and isinstance(value, str):
        if value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.enum} ({shape.name})")
    return errors


def problems(params, service, operation, extra_required=None):
    """Every problem with `params` for `service`.`operation`, as readable lines; [] when it is valid."""
    shape = input_shape(service, operation)
    report = ParamValidator().validate(params, shape)
    found = [report.generate_report()] if report.has_errors() else []
    return found + shape_errors(params, shape, extra_required=extra_required)

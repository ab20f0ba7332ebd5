"""Is a JSON answer usable as it stands? Strictly: what a program would parse.

The answer must be one JSON document and nothing else. Surrounding whitespace
is fine (JSON allows it), but a ```json fenced block, a preamble ("Here is the
JSON:") or NaN/Infinity are NOT valid: an application calling json.loads on the
answer would fail or misread it, and a rollout gate must see that. With a
schema, the document must also validate against it (jsonschema, the schema's
own draft).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import exceptions as schema_exceptions
from jsonschema import validators


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is exactly one strict JSON document."""
    try:
        return True, json.loads(text, parse_constant=_refuse_constant)
    except ValueError:  # JSONDecodeError is a ValueError
        return False, None


def json_valid(text: str, schema: dict[str, Any] | None = None) -> bool:
    ok, value = parse_json(text)
    if not ok:
        return False
    if schema is None:
        return True
    return _validator(json.dumps(schema, sort_keys=True)).is_valid(value)


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a usable JSON Schema, or None when it is."""
    if not isinstance(schema, dict):
        return f"expected an object, got {type(schema).__name__}"
    try:
        _validator(json.dumps(schema, sort_keys=True))
    except schema_exceptions.SchemaError as error:
        return error.message
    except (TypeError, ValueError) as error:  # not serialisable as JSON
        return str(error)
    return None


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Any:
    # Keyed by canonical text: the same schema arrives as a new dict on every call,
    # and building a validator is far costlier than validating a small answer.
    schema = json.loads(schema_text)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)

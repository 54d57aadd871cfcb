"""Validation against a published CRD's ``openAPIV3Schema`` (tests/data/crds), strict about unknown fields.

JSON Schema checks types, enums, required keys and bounds; structural schemas drop unknown fields
silently on a real API server, so ``unknown_fields`` walks the object to catch a misspelt field here.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

CRDS = Path(__file__).resolve().parent.parent / "data" / "crds"


@cache
def crd(plural: str) -> dict[str, Any]:
    with gzip.open(CRDS / f"{plural}.schema.json.gz", "rt") as f:
        data: dict[str, Any] = json.load(f)
    return data


def unknown_fields(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    out: list[str] = []
    if isinstance(obj, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, value in obj.items():
            if props is not None and key in props:
                out += unknown_fields(value, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                out += unknown_fields(value, extra, f"{path}.{key}")
            elif props is not None and not (path == "" and key in ("apiVersion", "kind", "metadata")):
                out.append(f"{path}.{key}")
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(obj):
            out += unknown_fields(item, schema["items"], f"{path}[{i}]")
    return out


def validate(obj: dict[str, Any], plural: str) -> None:
    """Raise ``AssertionError`` (or ``jsonschema.ValidationError``) when ``obj`` does not fit the CRD."""
    c = crd(plural)
    assert obj["apiVersion"] == f"{c['group']}/{c['version']}", obj["apiVersion"]
    assert obj["kind"] == c["kind"], obj["kind"]
    schema = c["openAPIV3Schema"]
    jsonschema.Draft7Validator(schema).validate(obj)
    unknown = unknown_fields(obj, schema)
    assert not unknown, f"fields the {c['kind']} CRD does not know: {unknown}"

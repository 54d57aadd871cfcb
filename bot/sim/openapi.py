"""OpenAPI v3 for the served kinds, and the schema walk behind server-side field validation.

The schemas come from the kubernetes client's models, which are generated from the apiserver's own
OpenAPI: the field names and nesting are the real ones. kubectl reads ``/openapi/v3`` to learn that
PATCH takes ``fieldValidation``; it then leaves validation to the server (``fieldValidation=Strict``)
instead of failing with "failed to download openapi".
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from typing import Any

from bot.domain.cluster.objects import Obj
from bot.sim.status import RESOURCES, Resource

ROOTS = {"pods": "V1Pod", "jobs": "V1Job", "nodes": "V1Node", "events": "CoreV1Event", "services": "V1Service",
         "namespaces": "V1Namespace"}
_COMMON = ("V1DeleteOptions", "V1Status")
_META = {"ObjectMeta", "ListMeta", "OwnerReference", "ManagedFieldsEntry", "LabelSelector",
         "LabelSelectorRequirement", "Status", "StatusDetails", "StatusCause", "DeleteOptions", "Preconditions",
         "Condition", "Time", "MicroTime"}
_BATCH = ("Job", "CronJob", "PodFailurePolicy", "SuccessPolicy", "UncountedTerminatedPods")
_QUANTITY_MAPS = {"limits", "requests", "capacity", "allocatable", "hard", "used"}
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_MODEL = re.compile(r"^(?:CoreV1|V1)([A-Z][A-Za-z0-9]*)$")
NO_KEY = ""  # a merge list of primitives (finalizers): union, not replace
# (model, JSON field) → merge key, as the Go types declare with +patchStrategy=merge / +patchMergeKey
MERGE_KEYS: dict[tuple[str, str], str] = {
    ("V1PodSpec", "containers"): "name",
    ("V1PodSpec", "initContainers"): "name",
    ("V1PodSpec", "ephemeralContainers"): "name",
    ("V1PodSpec", "volumes"): "name",
    ("V1PodSpec", "imagePullSecrets"): "name",
    ("V1PodSpec", "hostAliases"): "ip",
    ("V1Container", "env"): "name",
    ("V1Container", "ports"): "containerPort",
    ("V1Container", "volumeMounts"): "mountPath",
    ("V1Container", "volumeDevices"): "devicePath",
    ("V1ServiceSpec", "ports"): "port",
    ("V1ObjectMeta", "ownerReferences"): "uid",
    ("V1ObjectMeta", "finalizers"): NO_KEY,
    ("V1PodStatus", "conditions"): "type",
    ("V1NodeStatus", "conditions"): "type",
    ("V1NodeStatus", "addresses"): "type",
}


def go_name(model: str) -> str:
    """``V1JobSpec`` → ``io.k8s.api.batch.v1.JobSpec``, ``V1ObjectMeta`` → ``io.k8s.apimachinery…ObjectMeta``."""
    m = _MODEL.match(model)
    if m is None:
        return f"io.k8s.api.{model}"  # alpha/beta types the served kinds only reach through new fields
    short = m.group(1)
    if short in _META:
        return f"io.k8s.apimachinery.pkg.apis.meta.v1.{short}"
    if short.startswith(_BATCH):
        return f"io.k8s.api.batch.v1.{short}"
    return f"io.k8s.api.core.v1.{short}"


@cache
def _models() -> Any:
    # Imported on first use: the client's ~800 model modules take a second or two to load.
    from kubernetes.client import models

    return models


def _model(name: str) -> Any:
    return getattr(_models(), name, None)


def _field_types(model: str | None) -> dict[str, str]:
    cls = _model(model) if model else None
    if cls is None:
        return {}
    return {cls.attribute_map[a]: t for a, t in cls.openapi_types.items()}


def field_type(model: str | None, field: str) -> str | None:
    """The model of ``model``'s field ``field`` when it is an object of a known kind, else None."""
    t = _field_types(model).get(field)
    return t if t is not None and _model(t) is not None else None


def item_model(model: str | None, field: str) -> str | None:
    """The model of the items of the list field ``field``, else None."""
    t = _field_types(model).get(field) or ""
    inner = t[5:-1] if t.startswith("List[") else ""
    return inner if _model(inner) is not None else None


def _type_schema(py_type: str, field: str, refs: set[str]) -> Obj:
    if py_type.startswith("List[") and py_type.endswith("]"):
        return {"type": "array", "items": _type_schema(py_type[5:-1], field, refs)}
    if py_type.startswith("Dict[str, ") and py_type.endswith("]"):
        inner = py_type[len("Dict[str, "):-1]
        if inner == "str" and field in _QUANTITY_MAPS:
            return {"type": "object", "additionalProperties": {"$ref": f"#/components/schemas/{_QUANTITY}"}}
        return {"type": "object", "additionalProperties": _type_schema(inner, field, refs)}
    scalar = {"str": {"type": "string"}, "int": {"type": "integer", "format": "int64"},
              "bool": {"type": "boolean"}, "float": {"type": "number", "format": "double"},
              "datetime": {"type": "string", "format": "date-time"}, "date": {"type": "string", "format": "date"}}
    if py_type in scalar:
        return dict(scalar[py_type])
    if py_type == "object":
        return {}  # IntOrString, RawExtension: any JSON value
    if _model(py_type) is not None:
        refs.add(py_type)
        return {"allOf": [{"$ref": f"#/components/schemas/{go_name(py_type)}"}]}
    return {}


def _gvk(res: Resource) -> Obj:
    return {"group": res.group, "version": "v1", "kind": res.kind}


@cache
def schemas() -> dict[str, Obj]:
    """Every schema reachable from the served kinds, by Go definition name."""
    out: dict[str, Obj] = {_QUANTITY: {"description": "A fixed-point number: 1, 500m, 64Gi.",
                                       "oneOf": [{"type": "string"}, {"type": "number"}]}}
    todo = [*ROOTS.values(), *_COMMON, *(f"{r}List" for r in ROOTS.values())]
    done: set[str] = set()
    gvk_of = {ROOTS[r.plural]: r for r in RESOURCES.values() if r.plural in ROOTS}
    while todo:
        name = todo.pop()
        cls = _model(name)
        if name in done or cls is None:
            continue
        done.add(name)
        refs: set[str] = set()
        props = {cls.attribute_map[attr]: _type_schema(t, cls.attribute_map[attr], refs)
                 for attr, t in cls.openapi_types.items()}
        for field, prop in props.items():
            key = MERGE_KEYS.get((name, field))
            if key is not None:  # what kubectl apply builds its strategic merge patches from
                prop["x-kubernetes-patch-strategy"] = "merge"
                if key:
                    prop["x-kubernetes-patch-merge-key"] = key
        schema: Obj = {"type": "object", "properties": props}
        if name in gvk_of:
            schema["x-kubernetes-group-version-kind"] = [_gvk(gvk_of[name])]
        out[go_name(name)] = schema
        todo += sorted(refs - done)
    return out


def _param(name: str, where: str = "query", required: bool = False) -> Obj:
    p: Obj = {"name": name, "in": where, "schema": {"type": "string", "uniqueItems": True}}
    if required:
        p["required"] = True
    return p


_WRITE_PARAMS = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json")


def _op(res: Resource, action: str, schema: str, params: list[Obj], body: tuple[str, ...] = ()) -> Obj:
    ref = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    op: Obj = {
        "operationId": f"{action}{res.kind}",
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": ref}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(res),
    }
    if body:
        op["requestBody"] = {"content": {t: {"schema": {"type": "object"}} for t in body}, "required": True}
    return op


def _paths(group: str) -> Obj:
    paths: Obj = {}
    for res in RESOURCES.values():
        if res.group != group:
            continue
        base = f"/apis/{res.api_version}" if res.group else "/api/v1"
        kind = go_name(ROOTS[res.plural])
        listing = f"{kind}List"
        scope = [_param("namespace", "path", True)] if res.namespaced else []
        collection = f"{base}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"{base}/{res.plural}"
        named = [*scope, _param("name", "path", True)]
        paths[collection] = {
            "get": _op(res, "list", listing, [*scope, _param("labelSelector"), _param("fieldSelector")]),
            "post": _op(res, "post", kind, [*scope, *_WRITE_PARAMS], ("*/*",)),
        }
        paths[f"{collection}/{{name}}"] = {
            "get": _op(res, "get", kind, named),
            "put": _op(res, "put", kind, [*named, *_WRITE_PARAMS], ("*/*",)),
            "patch": _op(res, "patch", kind, [*named, *_WRITE_PARAMS, _param("force")], _PATCH_TYPES),
            "delete": _op(res, "delete", "io.k8s.apimachinery.pkg.apis.meta.v1.Status", named),
        }
        if res.namespaced:
            paths[f"{base}/{res.plural}"] = {"get": _op(res, "list", listing, [_param("labelSelector")])}
    return paths


@cache
def document(group_version: str) -> bytes | None:
    """The OpenAPI v3 document of ``api/v1`` or ``apis/batch/v1``; None for others."""
    group = {"api/v1": "", "apis/batch/v1": "batch"}.get(group_version)
    if group is None:
        return None
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.31.0"},
        "paths": _paths(group),
        "components": {"schemas": schemas()},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def index() -> Obj:
    """``/openapi/v3``: where each group-version's document is, with its content hash."""
    paths: Obj = {}
    for gv in ("api/v1", "apis/batch/v1"):
        body = document(gv)
        assert body is not None
        digest = hashlib.sha512(body).hexdigest().upper()
        paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
    return {"paths": paths}


def _prune_value(py_type: str, value: Any, path: str, patch: bool) -> list[str]:
    if py_type.startswith("List[") and isinstance(value, list):
        inner = py_type[5:-1]
        return [u for i, item in enumerate(value) for u in _prune_value(inner, item, f"{path}[{i}]", patch)]
    if py_type.startswith("Dict[str, ") and isinstance(value, dict):
        inner = py_type[len("Dict[str, "):-1]
        return [u for k, item in value.items() for u in _prune_value(inner, item, f"{path}[{k}]", patch)]
    if _model(py_type) is not None and isinstance(value, dict):
        return _prune(py_type, value, path, patch)
    return []


def _prune(model: str, obj: Obj, path: str, patch: bool) -> list[str]:
    types = _field_types(model)
    unknown: list[str] = []
    for key in list(obj):
        where = f"{path}.{key}" if path else key
        if patch and key.startswith("$"):
            continue  # a strategic-merge directive ($patch, $setElementOrder/…), not a field
        if key not in types:
            unknown.append(where)
            del obj[key]
        else:
            unknown += _prune_value(types[key], obj[key], where, patch)
    return unknown


def prune_unknown(plural: str, obj: Obj, patch: bool = False) -> list[str]:
    """Drop the fields the kind does not have, as decoding into the Go type does; their paths, in order."""
    return _prune(ROOTS[plural], obj, "", patch) if plural in ROOTS else []

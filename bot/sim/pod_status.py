"""The parts of a pod's status as the kubelet writes them: conditions, container statuses, image IDs."""

from __future__ import annotations

import hashlib

from bot.domain.cluster.objects import Obj


def condition(kind: str, value: bool, now: str, reason: str | None = None) -> Obj:
    c: Obj = {
        "type": kind,
        "status": "True" if value else "False",
        "lastProbeTime": None,
        "lastTransitionTime": now,
    }
    if reason:
        c["reason"] = reason
    return c


def image_id(image: str) -> str:
    return f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def container_status(c: Obj, state: Obj, ready: bool, image_id: str = "") -> Obj:
    return {
        "name": c.get("name", ""),
        "image": c.get("image", ""),
        "imageID": image_id,
        "ready": ready,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
    }


def gpus_of(pod: Obj) -> int:
    total = 0
    for c in pod.get("spec", {}).get("containers") or []:
        limits = (c.get("resources") or {}).get("limits") or {}
        value = str(limits.get("nvidia.com/gpu", "0"))
        total += int(value) if value.isdigit() else 0
    return total

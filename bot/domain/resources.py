"""CPU and memory per node beyond the GPU defaults: ``--memory``/``--cpus`` values and node sizes.

Pure. A job's pods get ``job_defaults`` per GPU (``cpu_per_gpu``, ``memory_per_gpu``) unless the
launch asks for more (or less) per node; what is asked is checked against the largest node of the
GPU type (its allocatable CPU and memory), so a request no node can hold is refused up front.
"""

from __future__ import annotations

import re
from decimal import Decimal

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_QUANTITY = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?)(?P<suffix>Ki|Mi|Gi|Ti|Pi|k|M|G|T|P|m)?")
# what people write for binary sizes: 256GB, 256gb, 256GiB, 256g
_LOOSE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[kmgtp])(?:i?b|i)?", re.IGNORECASE)


def quantity_value(text: str) -> Decimal:
    """A Kubernetes quantity in base units (bytes, cores): ``64Gi`` → 68719476736, ``500m`` → 0.5."""
    m = _QUANTITY.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"'{text}' is not a Kubernetes quantity")
    suffix = m["suffix"] or ""
    if suffix == "m":
        return Decimal(m["num"]) / 1000
    return Decimal(m["num"]) * (_BINARY.get(suffix) or _DECIMAL.get(suffix) or 1)


def memory_problem(text: str) -> tuple[str, str | None] | None:
    """None when ``text`` is a memory size to ask for; else (what is wrong, a corrected value or None)."""
    t = text.strip()
    m = _QUANTITY.fullmatch(t)
    if m is not None and (m["suffix"] or "") not in ("", "m"):
        return None if quantity_value(t) > 0 else ("a memory size must be more than 0", None)
    loose = _LOOSE.fullmatch(t)
    if loose is not None:
        return "memory sizes use Kubernetes units", f"{loose['num']}{loose['unit'].upper()}i"
    if t.replace(".", "", 1).isdigit():
        return "a memory size needs a unit", f"{t}Gi"
    return "a memory size looks like `256Gi`", None


def format_memory(size_bytes: int) -> str:
    """Bytes → the largest binary unit that keeps the size whole: 1133871366144 → ``1056Gi``."""
    for unit in ("Ti", "Gi", "Mi", "Ki"):
        if size_bytes and size_bytes % _BINARY[unit] == 0:
            return f"{size_bytes // _BINARY[unit]}{unit}"
    return str(size_bytes)

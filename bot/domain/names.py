"""Names and references as Kubernetes and registries accept them."""

from __future__ import annotations

import re

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
MAX_JOB_NAME = 52  # Job name + "-" + pod suffix must stay within 63; Indexed pods add an index too

# A pragmatic form of the distribution reference grammar: [host[:port]/]path[:tag][@digest]
_IMAGE = re.compile(
    r"(?:(?P<host>[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def job_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid job name, or None when it is."""
    if not name:
        return "a job name cannot be empty"
    if len(name) > MAX_JOB_NAME:
        return f"'{name}' is {len(name)} characters long; job names may have at most {MAX_JOB_NAME}"
    if not DNS1123_LABEL.fullmatch(name):
        return (
            f"'{name}' is not a valid job name: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return None


def suggest_job_name(name: str) -> str:
    """A valid name close to ``name`` (for the corrected command in a refusal)."""
    s = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    s = re.sub(r"-{2,}", "-", s)[:MAX_JOB_NAME].strip("-")
    return s or "my-job"


def image_problem(image: str) -> str | None:
    """Why ``image`` is not a valid image reference, or None when it is."""
    if not image or len(image) > 255 or not _IMAGE.fullmatch(image):
        return f"'{image}' is not a valid image reference (expected e.g. ghcr.io/acme/train:1.4)"
    return None

"""A job as one ``jobset.x-k8s.io/v1alpha2`` JobSet (policy ``job_kind: jobset``).

One replicated job of one Indexed Job with a pod per node. ``network.enableDNSHostnames`` makes the
JobSet controller give every pod the stable name ``<jobset>-<rjob>-<jobIndex>-<podIndex>.<subdomain>``
and create the headless Service itself, so torchrun's rendezvous master is
``<jobset>-node-0-0.<jobset>`` and the bot owns no Service. Field names follow the JobSet API
(``api/jobset/v1alpha2/jobset_types.go``); the owner labels ride on the JobSet and, through the pod
template, on every pod (the controller copies the Job template's labels, not the JobSet's, to child Jobs).
"""

from __future__ import annotations

from typing import Any

from bot.domain.cluster.manifests import (
    TTL_AFTER_FINISHED_S,
    job_annotations,
    job_labels,
    object_metadata,
    pod_spec,
)
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy

API_VERSION = "jobset.x-k8s.io/v1alpha2"
KIND = "JobSet"
PLURAL = "jobsets"
GROUP = "jobset.x-k8s.io"
VERSION = "v1alpha2"
REPLICATED_JOB = "node"  # the replicated job's name, as Trainer's torch runtime calls it too

LABEL_JOBSET_NAME = "jobset.sigs.k8s.io/jobset-name"
LABEL_REPLICATED_JOB = "jobset.sigs.k8s.io/replicatedjob-name"
LABEL_JOB_INDEX = "jobset.sigs.k8s.io/job-index"
LABEL_RESTART_ATTEMPT = "jobset.sigs.k8s.io/restart-attempt"


def pod_hostname(jobset: str, rjob: str, job_index: int, pod_index: int, subdomain: str) -> str:
    """The DNS name JobSet gives a pod: ``<jobset>-<rjob>-<jobIndex>-<podIndex>.<subdomain>``."""
    return f"{jobset}-{rjob}-{job_index}-{pod_index}.{subdomain}"


def master_addr(record: JobRecord) -> str:
    """Rank 0's name: the first pod of the first Job; the subdomain defaults to the JobSet's name."""
    return pod_hostname(record.name, REPLICATED_JOB, 0, 0, record.name)


def render_jobset(record: JobRecord, policy: Policy) -> dict[str, Any]:
    """The JobSet for ``record``: N pods in one Indexed Job, restarted as a whole up to the policy's limit."""
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,  # a failed pod fails its Job; the JobSet's failurePolicy decides on restarts
        "activeDeadlineSeconds": record.time_limit_s,
        "completions": record.nodes,
        "parallelism": record.nodes,
        # Indexed: the pods' hostnames carry their index (JobSet requires it for DNS hostnames)
        "completionMode": "Indexed",
        "template": {
            "metadata": {"labels": job_labels(record), "annotations": job_annotations(record)},
            "spec": pod_spec(record, policy, master_addr=master_addr(record)),
        },
    }
    spec: dict[str, Any] = {
        "replicatedJobs": [{"name": REPLICATED_JOB, "replicas": 1, "template": {"spec": job_spec}}],
        # Rendezvous happens before any pod is Ready: the names must resolve from the start.
        "network": {"enableDNSHostnames": True, "publishNotReadyAddresses": True},
        "failurePolicy": {"maxRestarts": policy.jobset.max_restarts},
        "successPolicy": {"operator": "All"},
        "startupPolicy": {"startupPolicyOrder": "AnyOrder"},
        "suspend": False,
        "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
    }
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": object_metadata(record), "spec": spec}

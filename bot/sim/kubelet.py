"""The simulated kubelets: pod status through ContainerCreating → Running → Succeeded/Failed, and logs."""

from __future__ import annotations

import zlib
from collections.abc import Callable

from bot.domain.cluster.objects import Obj
from bot.sim.clock import SimClock
from bot.sim.events import EventRecorder
from bot.sim.logs import PodRun, container_settings, exit_code, gpu_memory_gib, render_log
from bot.sim.pod_status import condition, container_status, gpus_of, image_id
from bot.sim.status import ApiError, bad_request
from bot.sim.store import Store

Timer = Callable[[float, str, str, str, str], None]  # (sim time, action, namespace, name, pod uid)
CREATE_SECONDS = 3.0  # simulated image pull + container start


class Kubelet:
    def __init__(self, store: Store, clock: SimClock, events: EventRecorder, timer: Timer) -> None:
        self.store = store
        self.clock = clock
        self.events = events
        self.timer = timer
        self.runs: dict[tuple[str, str], PodRun] = {}

    def _product(self, node: str) -> str:
        found = self.store.get("nodes", "", node)
        labels = (found or {}).get("metadata", {}).get("labels") or {}
        return str(labels.get("nvidia.com/gpu.product", ""))

    def bind(self, namespace: str, name: str, node: str) -> None:
        pod = self.store.get("pods", namespace, name)
        if pod is None:
            return
        now, iso = self.clock.now(), self.clock.iso()
        containers = pod["spec"]["containers"]
        duration, fail = container_settings(containers[0])
        labels = pod["metadata"].get("labels") or {}
        index = int(labels.get("batch.kubernetes.io/job-completion-index", "0") or 0)
        run = PodRun(
            namespace,
            name,
            pod["metadata"]["uid"],
            node,
            gpus_of(pod),
            containers[0].get("image", ""),
            containers[0].get("name", ""),
            tuple(c.get("name", "") for c in containers),
            duration,
            fail,
            index,
            self._world_size(pod),
            now,
            gpu_memory_gib=gpu_memory_gib(self._product(node)),
        )
        self.runs[(namespace, name)] = run
        node_obj = self.store.get("nodes", "", node) or {}
        addresses = (node_obj.get("status") or {}).get("addresses") or []
        host_ip = next((a["address"] for a in addresses if a.get("type") == "InternalIP"), "10.0.0.1")

        def bound(p: Obj) -> None:
            p["spec"]["nodeName"] = node
            p["status"].update(
                {
                    "phase": "Pending",
                    "hostIP": host_ip,
                    "hostIPs": [{"ip": host_ip}],
                    "startTime": iso,
                    "conditions": [
                        condition("PodScheduled", True, iso),
                        condition("Initialized", True, iso),
                        condition("Ready", False, iso, "ContainersNotReady"),
                    ],
                    "containerStatuses": [
                        container_status(c, {"waiting": {"reason": "ContainerCreating"}}, False)
                        for c in containers
                    ],
                }
            )

        pod = self.store.mutate("pods", namespace, name, bound)
        if pod is not None:
            self.events.record(
                pod,
                "Normal",
                "Scheduled",
                f"Successfully assigned {namespace}/{name} to {node}",
                "default-scheduler",
            )
            self.timer(now + CREATE_SECONDS, "start", namespace, name, run.uid)

    def _world_size(self, pod: Obj) -> int:
        for owner in pod["metadata"].get("ownerReferences") or []:
            if owner.get("kind") == "Job":
                job = self.store.get("jobs", pod["metadata"]["namespace"], owner.get("name", ""))
                if job is not None:
                    return int(job["spec"].get("completions") or 1)
        return 1

    def unschedulable(self, namespace: str, name: str, message: str) -> None:
        iso = self.clock.iso()

        def mark(p: Obj) -> None:
            cond = condition("PodScheduled", False, iso, "Unschedulable")
            cond["message"] = message
            p["status"]["conditions"] = [cond]

        pod = self.store.mutate("pods", namespace, name, mark)
        if pod is not None:
            self.events.record(pod, "Warning", "FailedScheduling", message, "default-scheduler")

    def start(self, namespace: str, name: str) -> None:
        run = self.runs.get((namespace, name))
        pod = self.store.get("pods", namespace, name)
        if run is None or pod is None:
            return
        iso, host = self.clock.iso(), run.node
        containers = pod["spec"]["containers"]
        if run.fail == "imagepull":
            msg = (
                f'Failed to pull image "{run.image}": rpc error: code = NotFound desc = failed to pull and '
                f'unpack image "{run.image}": not found'
            )
            self.events.record(pod, "Normal", "Pulling", f'Pulling image "{run.image}"', "kubelet", host)
            self.events.record(pod, "Warning", "Failed", msg, "kubelet", host)
            self.events.record(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet", host)
            self.events.record(
                pod, "Normal", "BackOff", f'Back-off pulling image "{run.image}"', "kubelet", host
            )
            self.events.record(pod, "Warning", "Failed", "Error: ImagePullBackOff", "kubelet", host)
            waiting = {
                "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{run.image}"'}
            }
            self.store.mutate(
                "pods",
                namespace,
                name,
                lambda p: p["status"].__setitem__(
                    "containerStatuses", [container_status(c, waiting, False) for c in containers]
                ),
            )
            return
        run.started_at = self.clock.now()
        for c in containers:
            image = c.get("image", "")
            self.events.record(
                pod,
                "Normal",
                "Pulled",
                f'Container image "{image}" already present on machine',
                "kubelet",
                host,
            )
            self.events.record(
                pod, "Normal", "Created", f"Created container {c.get('name')}", "kubelet", host
            )
            self.events.record(
                pod, "Normal", "Started", f"Started container {c.get('name')}", "kubelet", host
            )

        pod_ip = f"10.244.{zlib.crc32(name.encode()) % 250}.{zlib.crc32(namespace.encode()) % 250 + 2}"

        def running(p: Obj) -> None:
            state = {"running": {"startedAt": iso}}
            p["status"].update(
                {
                    "phase": "Running",
                    "podIP": pod_ip,
                    "podIPs": [{"ip": pod_ip}],
                    "conditions": [
                        condition(t, True, iso)
                        for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
                    ],
                    "containerStatuses": [
                        container_status(c, state, True, image_id(c.get("image", ""))) for c in containers
                    ],
                }
            )

        self.store.mutate("pods", namespace, name, running)
        self.timer(run.started_at + run.duration, "finish", namespace, name, run.uid)

    def finish(self, namespace: str, name: str) -> None:
        run = self.runs.get((namespace, name))
        if run is None or run.started_at is None or run.ended_at is not None:
            return
        run.ended_at = self.clock.now()
        code, reason = exit_code(run.fail)
        self.terminate(namespace, name, code, reason, None)

    def terminate(
        self,
        namespace: str,
        name: str,
        code: int,
        reason: str,
        pod_reason: str | None,
        message: str | None = None,
    ) -> Obj | None:
        """Container(s) ended with ``code``; the pod becomes Succeeded (0) or Failed."""
        iso = self.clock.iso()
        run = self.runs.get((namespace, name))
        if run is not None and run.ended_at is None:
            run.ended_at = self.clock.now()
        started = self.clock.iso(run.started_at) if run and run.started_at else iso

        def ended(p: Obj) -> None:
            state: Obj = {
                "terminated": {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": iso}
            }
            if message:
                state["terminated"]["message"] = message
            p["status"]["phase"] = "Succeeded" if code == 0 else "Failed"
            if pod_reason:
                p["status"]["reason"] = pod_reason
                p["status"]["message"] = message or pod_reason
            p["status"]["conditions"] = [
                condition("PodScheduled", True, iso),
                condition("Initialized", True, iso),
                condition("ContainersReady", False, iso, "PodCompleted"),
                condition("Ready", False, iso, "PodCompleted"),
            ]
            p["status"]["containerStatuses"] = [
                container_status(c, state, False, image_id(c.get("image", "")))
                for c in p["spec"]["containers"]
            ]

        return self.store.mutate("pods", namespace, name, ended)

    def kill(self, pod: Obj) -> None:
        """Stop the containers and delete the pod, as the job controller does for surplus pods."""
        meta = pod["metadata"]
        if pod.get("status", {}).get("phase") in ("Pending", "Running") and pod["spec"].get("nodeName"):
            for c in pod["spec"]["containers"]:
                self.events.record(
                    pod,
                    "Normal",
                    "Killing",
                    f"Stopping container {c.get('name')}",
                    "kubelet",
                    pod["spec"]["nodeName"],
                )
        self.store.delete("pods", meta["namespace"], meta["name"])

    def forget(self, namespace: str, name: str) -> None:
        self.runs.pop((namespace, name), None)

    def read_log(self, namespace: str, name: str, container: str | None, tail: int | None) -> str:
        pod = self.store.get("pods", namespace, name)
        run = self.runs.get((namespace, name))
        names = [c.get("name", "") for c in (pod or {}).get("spec", {}).get("containers") or []]
        if container is None and len(names) > 1:
            raise bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
            )
        if container is not None and container not in names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        if run is None or run.started_at is None:
            why = (
                "trying and failing to pull image" if run and run.fail == "imagepull" else "ContainerCreating"
            )
            raise ApiError(
                400,
                "BadRequest",
                f'container "{container or names[0]}" in pod "{name}" is waiting to start: {why}',
            )
        if container is not None and container != run.container:
            return ""  # sidecars are silent
        lines = render_log(run, self.clock.now())
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        return "".join(line + "\n" for line in lines)

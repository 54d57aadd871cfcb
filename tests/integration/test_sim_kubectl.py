"""The real kubectl against ``chatops sim``: what a platform engineer points at the demo first.

Namespaces, server-side Tables (STATUS, READY, NODE), apply with kubectl's default validation (no
``--validate=false``), describe, logs, wait, delete — and a sim that prints nothing when clients hang up.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.waiting import wait

POLICY_FILE = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (`make test` installs it)")

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: ghcr.io/acme/train:1.4
        {extra}env:
        - name: SIM_DURATION
          value: "{duration}"
        resources:
          limits:
            nvidia.com/gpu: "1"
"""


@dataclass
class Sim:
    proc: subprocess.Popen[str]
    url: str
    env: dict[str, str]
    tmp: Path

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        out = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
        return out

    def job_file(self, name: str, duration: str = "1h", extra: str = "") -> str:
        path = self.tmp / f"{name}.yaml"
        path.write_text(JOB.format(name=name, duration=duration, extra=extra))
        return str(path)


@contextmanager
def running_sim(tmp: Path) -> Iterator[Sim]:
    kubeconfig = tmp / "kubeconfig"
    exe = Path(sys.executable).with_name("chatops")
    errors = (tmp / "sim.stderr").open("w")  # a file, not a pipe: a full pipe would block the sim
    proc = subprocess.Popen(
        [str(exe), "sim", "--port", "0", "--speed", "60", "--kubeconfig-out", str(kubeconfig),
         "--namespace", "ml-x", "--config", str(POLICY_FILE)],
        stdout=subprocess.PIPE, stderr=errors, text=True,
    )
    assert proc.stdout is not None
    url = ""
    try:
        while not url:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"the sim did not start: {(tmp / 'sim.stderr').read_text()}")
            if m := re.search(r"listening on (\S+)", line):
                url = m.group(1)
        # a fresh HOME: kubectl's discovery and OpenAPI caches from other runs must not answer for this sim
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp), "KUBECACHEDIR": str(tmp / "cache")}
        yield Sim(proc, url, env, tmp)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        errors.close()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    with running_sim(tmp_path_factory.mktemp("kubectl")) as s:
        yield s


def _row(output: str, name: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.split() and line.split()[0] == name)
    return re.split(r"\s{2,}", line.strip())


def test_namespaces_exist_are_created_and_guard_their_content(sim: Sim) -> None:
    names = sim.kubectl("get", "namespaces", "-o", "name").stdout.split()
    # the system ones, --namespace, and every team namespace of --config
    assert {"namespace/default", "namespace/kube-system", "namespace/ml-x", "namespace/ml-research",
            "namespace/ml-vision"} <= set(names)
    table = sim.kubectl("get", "ns").stdout
    assert table.split("\n")[0].split() == ["NAME", "STATUS", "AGE"]
    assert _row(table, "ml-x")[1] == "Active"

    refused = sim.kubectl("apply", "-n", "nope", "-f", sim.job_file("lost"), check=False)
    assert refused.returncode != 0
    assert 'namespaces "nope" not found' in refused.stderr

    assert "namespace/team-z created" in sim.kubectl("create", "namespace", "team-z").stdout
    assert "created" in sim.kubectl("apply", "-n", "team-z", "-f", sim.job_file("inside")).stdout
    sim.kubectl("delete", "namespace", "team-z")
    gone = sim.kubectl("get", "namespace", "team-z", check=False)
    assert gone.returncode != 0 and 'namespaces "team-z" not found' in gone.stderr
    assert "No resources found" in sim.kubectl("get", "jobs", "-n", "team-z").stderr  # its content went with it

    forbidden = sim.kubectl("delete", "namespace", "default", check=False)
    assert forbidden.returncode != 0 and "this namespace may not be deleted" in forbidden.stderr


def test_apply_validates_on_the_server_without_validate_false(sim: Sim) -> None:
    path = sim.job_file("applied")
    assert "job.batch/applied created" in sim.kubectl("apply", "-n", "ml-x", "-f", path).stdout
    # nothing changed: the three-way merge with the server's defaults is empty
    assert "job.batch/applied unchanged" in sim.kubectl("apply", "-n", "ml-x", "-f", path).stdout
    # an env change merges into the container by name and keeps what the server filled in
    changed = sim.job_file("applied", duration="2h")
    assert "configured" in sim.kubectl("apply", "-n", "ml-x", "-f", changed).stdout
    out = sim.kubectl("get", "job", "applied", "-n", "ml-x", "-o",
                      "jsonpath={.spec.template.spec.containers[0].env[0].value} "
                      "{.spec.template.spec.containers[0].resources.limits}").stdout
    assert out.startswith("2h ") and "nvidia.com/gpu" in out

    typo = sim.job_file("typo", extra="imagePullPolcy: Always\n        ")
    strict = sim.kubectl("apply", "-n", "ml-x", "-f", typo, check=False)
    assert strict.returncode != 0
    assert ('strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolcy"'
            in strict.stderr), strict.stderr
    warned = sim.kubectl("apply", "-n", "ml-x", "--validate=warn", "-f", typo)
    assert "job.batch/typo created" in warned.stdout
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolcy"' in warned.stderr


def test_get_shows_server_side_tables_describe_logs_wait_delete(sim: Sim) -> None:
    sim.kubectl("apply", "-n", "ml-x", "-f", sim.job_file("short", duration="10m"))  # 10 s at speed 60

    def running() -> list[str] | None:
        out = sim.kubectl("get", "pods", "-n", "ml-x", "-l", "job-name=short", "-o", "wide").stdout
        rows = [r for r in out.splitlines()[1:] if r.strip()]
        return out.splitlines()[0].split() if rows and "Running" in rows[0] else None

    header = wait(running, timeout=30, what="the pod Running in kubectl get pods")
    assert header[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    pods = sim.kubectl("get", "pods", "-n", "ml-x", "-l", "job-name=short", "-o", "wide").stdout
    pod = pods.splitlines()[1].split()[0]
    cells = _row(pods, pod)
    assert cells[1] == "1/1" and cells[2] == "Running" and cells[3] == "0"
    assert cells[6].startswith("gpu-h100-")  # NODE
    jobs = sim.kubectl("get", "jobs", "-n", "ml-x").stdout
    assert jobs.splitlines()[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert _row(jobs, "short")[1:3] == ["Running", "0/1"]
    nodes = sim.kubectl("get", "nodes").stdout
    assert nodes.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert "Ready" in nodes.splitlines()[1]
    events = sim.kubectl("get", "events", "-n", "ml-x").stdout
    assert events.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert f"pod/{pod}" in events and "Scheduled" in events

    described = sim.kubectl("describe", "pod", pod, "-n", "ml-x").stdout
    assert "Status:" in described and "Running" in described and "nvidia.com/gpu" in described
    assert "Successfully assigned" in sim.kubectl("describe", "job", "short", "-n", "ml-x").stdout + described
    assert sim.kubectl("logs", pod, "-n", "ml-x").stdout.strip()
    sim.kubectl("wait", "--for=condition=complete", "job/short", "-n", "ml-x", "--timeout=60s", timeout=90)
    done = sim.kubectl("get", "jobs", "short", "-n", "ml-x").stdout
    assert _row(done, "short")[1:3] == ["Complete", "1/1"]
    assert _row(sim.kubectl("get", "pod", pod, "-n", "ml-x").stdout, pod)[1:3] == ["0/1", "Completed"]
    assert 'job.batch "short" deleted' in sim.kubectl("delete", "job", "short", "-n", "ml-x").stdout
    assert "No resources found" in sim.kubectl("get", "pods", "-n", "ml-x", "-l", "job-name=short").stderr


def test_clients_hanging_up_print_nothing(tmp_path: Path) -> None:
    assert KUBECTL is not None
    with running_sim(tmp_path) as sim:
        _hang_up_in_every_way(sim)
        sim.kubectl("get", "ns")  # still serving
        sim.proc.terminate()
        sim.proc.wait(timeout=20)
    printed = (tmp_path / "sim.stderr").read_text()
    assert "Traceback" not in printed and "ConnectionResetError" not in printed, printed


def _hang_up_in_every_way(sim: Sim) -> None:
    assert KUBECTL is not None
    # a watch the client abandons, and connections reset mid-request
    watcher = subprocess.Popen([KUBECTL, "get", "pods", "-A", "-w"], env=sim.env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    watcher.kill()
    watcher.wait()
    host, port = sim.url.removeprefix("http://").rsplit(":", 1)
    requests = (b"", b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n", b"GET /api/v1/pods?watch=1 HTTP/1.1\r\n\r\n")
    for request in requests:
        s = socket.create_connection((host, int(port)))
        s.sendall(request)
        time.sleep(0.1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        s.close()
